"""The report's captions: the verdict each figure's numbers support, no more."""

import numpy as np
import polars as pl
from test_plots import MONTHS, RNG, _lorenz, _scores

import clv.plots as plots
from clv.report import captions


def test_bad_fits_get_non_reassuring_captions() -> None:
    counts = pl.DataFrame(
        {"frequency": ["0", "1", "2+"], "observed": [100, 50, 50], "expected": [160.0, 30, 10]}
    )
    assert "does NOT reproduce" in captions.period_transactions(counts)
    good = counts.with_columns(expected=pl.Series([99.0, 51, 50]))
    assert captions.period_transactions(good).startswith("The model reproduces")
    holdout = pl.DataFrame(
        {
            "frequency_bin": ["0", "1", "2+"],
            "customers": [100, 50, 20],
            "actual_purchases": [0.2, 0.8, 1.5],
            "predicted_purchases": [0.6, 1.5, 3.0],
        }
    )
    text = captions.calibration_purchases_vs_holdout(holdout)
    assert "miss" in text and "overstated" in text and "track" not in text
    close = holdout.with_columns(predicted_purchases=pl.Series([0.22, 0.75, 1.6]))
    assert "track" in captions.calibration_purchases_vs_holdout(close)


def test_the_tracking_caption_reports_the_error_sign() -> None:
    frame = pl.DataFrame(
        {"date": MONTHS[:2], "actual_cumulative": [10.0, 20.0], "expected_cumulative": [10.0, 22.0]}
    )
    assert "+10.0%" in captions.cumulative_transactions(frame)


def test_concentration_and_skew_follow_the_numbers() -> None:
    assert "concentrated in few" in captions.lorenz_curves(_lorenz(revenue=[1.0, 2, 3, 10, 50]))
    flat = captions.lorenz_curves(_lorenz(revenue=[5.0] * 100))
    assert "evenly" in flat and "concentrated in few" not in flat
    assert "much of the value" not in captions.clv_distribution(
        pl.DataFrame({"clv": np.linspace(90, 110, 200)})
    )
    left = captions.clv_distribution(pl.DataFrame({"clv": [0.0] * 20 + [100.0] * 80}))
    assert "much of the value" not in left and "below the median" in left
    skewed = captions.clv_distribution(_scores().with_columns(clv=pl.col("clv") ** 2))
    # defect 18: a skewed distribution says what the ratio shows, not "worth little"
    assert "A few customers hold much of the value" in skewed and "worth little" not in skewed


def test_gamma_gamma_caption_uses_the_models_threshold() -> None:
    from clv.models.diagnostics import CORRELATION_WARNING

    f = np.arange(1, 101, dtype=np.int64)
    m = 10 + 0.5 * f + RNG.normal(0, 1, 100)  # strongly correlated
    assert CORRELATION_WARNING < 0.9
    frame = pl.DataFrame({"frequency": f, "monetary_value": m})
    assert "NOT independent" in captions.gamma_gamma_independence(frame)
    few = pl.DataFrame({"frequency": [0, 0, 1], "monetary_value": [0.0, 0.0, 5.0]})
    assert "Too few" in captions.gamma_gamma_independence(few)


def test_tier_cohort_and_channel_captions_follow_the_numbers() -> None:
    even = pl.DataFrame(
        {
            "tier": ["good", "middle", "low"],
            "customer_share": [0.2, 0.6, 0.2],
            "value_share": [0.22, 0.6, 0.18],
        }
    )
    text = captions.tier_shares(even)
    assert "far more" not in text and "about its share" in text
    top_heavy = even.with_columns(value_share=pl.Series([0.7, 0.25, 0.05]))
    assert "far more" in captions.tier_shares(top_heavy)
    loyal = pl.DataFrame(
        [(c, p, 1.0 if p == 0 else 0.8) for c in MONTHS for p in range(3)],
        schema=["cohort", "months_since", "retention"],
        orient="row",
    )
    assert (
        captions.cohort_retention(loyal)
        == "Most of a cohort (80%) buys again the month after joining."
    )
    channels = pl.DataFrame({"channel": ["search", "social"], "share_good": [0.3, 0.1]})
    assert captions.channel_quality(channels).startswith("search brings")
    same = channels.with_columns(share_good=pl.Series([0.1, 0.1]))
    assert "about the same" in captions.channel_quality(same)


def test_the_loyalty_captions_claim_no_pay_off_without_costs() -> None:
    monthly = pl.DataFrame({"month": MONTHS[:2], "net": [20.0, -5.0]})
    assert "no verdict" in captions.loyalty_program_net(monthly, costed=False)
    assert "positive in 1 of 2 months" in captions.loyalty_program_net(monthly, costed=True)
    aov = pl.DataFrame({"member_aov": [40.0, 44.0], "non_member_aov": [40.0, 40.0]})
    assert "+5% vs non-members (self-selected" in captions.loyalty_by_month(aov)


def test_a_caption_is_found_by_the_figure_it_goes_with() -> None:
    scores = pl.DataFrame({"p_alive": [0.1, 0.2, 0.9, 0.95]})
    assert captions.caption(plots.p_alive_distribution, scores) == (
        "50% of customers are more likely gone than active (P(alive) < 0.5)."
    )
    assert captions.caption(plots.history_alive, scores) is None  # nothing to conclude
    drawn = {n for n in plots.__all__ if not n.endswith("_frame")}
    assert set(captions.CAPTIONS) <= drawn


def test_the_matrix_captions_name_the_age_in_its_unit() -> None:
    from test_plots import _grid

    assert "first seen 7 weeks before" in captions.probability_alive_matrix(_grid("p_alive"))


def test_the_run_to_run_captions() -> None:
    from test_plots import _migration, _reviewed_months

    kept = (80 + 330 + 114) / (101 + 352 + 125)  # the diagonal over the previous run's rows
    assert captions.caption(plots.tier_migration, _migration()) == (
        f"{kept:.0%} of the previous run's customers kept their value tier."
    )
    assert captions.caption(plots.reviewed_months, _reviewed_months()).startswith(
        "1 of 2 monthly changes of the members' gap"
    )
