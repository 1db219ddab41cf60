"""Every figure function returns a Figure with a title and labelled axes, on small frames."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from clv.analysis import profile
from clv.report import plots, plots_kpis

RNG = np.random.default_rng(7)
N = 200


def _scores() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(N)],
            "frequency": RNG.poisson(2, N),
            "monetary_value": RNG.gamma(4, 10, N),
            "p_alive": RNG.uniform(0, 1, N),
            "clv": RNG.gamma(1, 50, N),
            "revenue": RNG.gamma(1.5, 40, N),
        }
    )


def _grid(value: str) -> pl.DataFrame:
    rows = [(f, r, (f + 1) * r / 10) for f in range(5) for r in range(0, 40, 5)]
    return pl.DataFrame(rows, schema=["frequency", "recency", value], orient="row").with_columns(
        pl.col("recency").cast(pl.Float64)
    )


MONTHS = [dt.date(2024, m, 1) for m in range(1, 7)]


def _monthly() -> pl.DataFrame:
    """The shape of :func:`clv.analysis.tables.monthly_new_returning`."""
    new, ret = RNG.integers(5, 30, 6), RNG.integers(5, 30, 6)
    aov_new, aov_ret = RNG.gamma(3, 10, 6), RNG.gamma(3, 12, 6)
    return pl.DataFrame(
        {
            "month": MONTHS,
            "new_orders": new,
            "returning_orders": ret,
            "aov_new": aov_new,
            "aov_returning": aov_ret,
            "new_revenue": aov_new * new,
            "returning_revenue": aov_ret * ret,
        }
    )


def _lorenz(**columns: list[float]) -> pl.DataFrame:
    """The shape of :func:`clv.analysis.tables.lorenz_table`, from the segments functions."""
    return pl.concat(
        profile.lorenz_curve(pl.Series(values)).select(
            pl.lit(label).alias("label"),
            pl.lit(profile.gini(pl.Series(values))).alias("gini"),
            "customer_share",
            "value_share",
        )
        for label, values in columns.items()
    )


def _monthly_loyalty() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month": MONTHS,
            "member_aov": [40.0, 41, 42, 40, 43, 44],
            "non_member_aov": [30.0, 31, 30, 29, 32, 30],
            "extra_margin": [50.0] * 6,
            "program_cost": [30.0, 40, 60, 45, 20, 70],
            "net": [20.0, 10, -10, 5, 30, -20],
        }
    )


CASES = {
    "purchase_count_fit": lambda: plots.purchase_count_fit(
        pl.DataFrame(
            {
                "frequency": ["0", "1", "2", "3+"],
                "observed": [100, 50, 20, 10],
                "expected": [98.0, 52.0, 21.0, 9.0],
            }
        )
    ),
    "expected_purchases_matrix": lambda: plots.expected_purchases_matrix(
        _grid("expected_purchases")
    ),
    "p_alive_matrix": lambda: plots.p_alive_matrix(_grid("p_alive")),
    "gamma_gamma_independence": lambda: plots.gamma_gamma_independence(_scores()),
    "holdout_by_frequency": lambda: plots.holdout_by_frequency(
        pl.DataFrame(
            {
                "frequency_bin": ["0", "1", "2+"],
                "actual_purchases": [0.2, 0.8, 1.5],
                "predicted_purchases": [0.25, 0.7, 1.6],
            }
        )
    ),
    "cumulative_tracking": lambda: plots.cumulative_tracking(
        pl.DataFrame(
            {
                "date": MONTHS,
                "actual_cumulative": [1.0, 3, 6, 9, 12, 15],
                "expected_cumulative": [1.0, 3.2, 6.1, 9.5, 12.2, 15.5],
            }
        ),
        calibration_end="2024-03-31",
    ),
    "clv_distribution": lambda: plots.clv_distribution(_scores()),
    "p_alive_distribution": lambda: plots.p_alive_distribution(_scores()),
    "lorenz_curves": lambda: plots_kpis.lorenz_curves(
        _lorenz(revenue=_scores()["revenue"].to_list(), clv=_scores()["clv"].to_list())
    ),
    "tier_shares": lambda: plots_kpis.tier_shares(
        pl.DataFrame(
            {
                "tier": ["top 20 %", "middle 60 %", "bottom 20 %"],
                "customers_share": [0.2, 0.6, 0.2],
                "revenue_share": [0.6, 0.35, 0.05],
            }
        )
    ),
    "aov_new_vs_returning": lambda: plots_kpis.aov_new_vs_returning(_monthly(), overall_ratio=1.3),
    "cohort_retention": lambda: plots_kpis.cohort_retention(
        pl.DataFrame(
            [(c, p, 1.0 if p == 0 else 0.3 / p) for c in MONTHS for p in range(4)],
            schema=["cohort", "months_since", "retention"],
            orient="row",
        )
    ),
    "channel_quality": lambda: plots_kpis.channel_quality(
        pl.DataFrame(
            {
                "channel": ["search", "<script>alert(1)</script>"],
                "share_good": [0.2, 0.1],
                "customers": [50, 30],
                "mean_clv": [40.0, 20.0],
            }
        )
    ),
    "loyalty_by_month": lambda: plots_kpis.loyalty_by_month(_monthly_loyalty()),
    "loyalty_program_net": lambda: plots_kpis.loyalty_program_net(_monthly_loyalty()),
    "revenue_by_month": lambda: plots_kpis.revenue_by_month(_monthly()),
    "frequency_histogram": lambda: plots_kpis.frequency_histogram(_scores()),
    "p_alive_history": lambda: plots.p_alive_history(
        pl.DataFrame(
            {
                "date": pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 10), eager=True),
                "p_alive": np.linspace(1.0, 0.4, 10),
                "purchase": [True] + [False] * 8 + [True],
            }
        )
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_has_title_and_labelled_axes(name: str) -> None:
    fig = CASES[name]()
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert ax.get_title(), name
    assert ax.get_xlabel() and ax.get_ylabel(), name
    fig.canvas.draw()  # renders without error


def test_every_figure_is_tested_and_themed_per_figure() -> None:
    import matplotlib as mpl

    before = dict(mpl.rcParams)
    public = {
        n
        for module in (plots, plots_kpis)
        for n, f in vars(module).items()
        if callable(f) and getattr(f, "__module__", "") == module.__name__ and n[0] != "_"
    }
    assert public == set(CASES) and len(public) >= 12
    for draw in CASES.values():
        draw()
    assert dict(mpl.rcParams) == before  # the house theme never leaks into global settings


def test_draws_on_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    out = plots.p_alive_distribution(_scores(), ax=ax)
    assert out is fig and ax.get_title()


def _title(fig: Figure) -> str:
    return fig.get_axes()[0].get_title()


def test_lorenz_draws_the_segments_curve_and_gini() -> None:
    values = [1.0, 2.0, 3.0, 10.0, 50.0]
    fig = plots_kpis.lorenz_curves(_lorenz(revenue=values))
    line = fig.get_axes()[0].get_lines()[0]
    curve = profile.lorenz_curve(pl.Series(values))
    assert np.array_equal(line.get_ydata(), curve["value_share"].to_numpy())
    label = fig.get_axes()[0].get_legend_handles_labels()[1][0]
    assert f"Gini {profile.gini(pl.Series(values)):.2f}" in label
    assert "concentrated in few" in _title(fig)


def test_flat_value_gets_no_concentration_verdict() -> None:
    fig = plots_kpis.lorenz_curves(_lorenz(revenue=[5.0] * 100))
    assert "Gini 0.00" in fig.get_axes()[0].get_legend_handles_labels()[1][0]
    assert "evenly" in _title(fig) and "concentrated in few" not in _title(fig)
    flat = pl.DataFrame({"clv": np.linspace(90, 110, 200)})
    assert "much of the value" not in _title(plots.clv_distribution(flat))
    skew_left = pl.DataFrame({"clv": [0.0] * 20 + [100.0] * 80})
    title = _title(plots.clv_distribution(skew_left))
    assert "much of the value" not in title and "below the median" in title
    skewed = _title(plots.clv_distribution(_scores().with_columns(clv=pl.col("clv") ** 2)))
    # defect 18: a skewed distribution says what the ratio shows, not "worth little"
    assert "A few customers hold much of the value" in skewed and "worth little" not in skewed


def test_bad_fits_get_non_reassuring_titles() -> None:
    counts = pl.DataFrame(
        {"frequency": ["0", "1", "2+"], "observed": [100, 50, 50], "expected": [160.0, 30, 10]}
    )
    assert "does NOT reproduce" in _title(plots.purchase_count_fit(counts))
    good = counts.with_columns(expected=pl.Series([99.0, 51, 50]))
    assert _title(plots.purchase_count_fit(good)).startswith("The model reproduces")
    holdout = pl.DataFrame(
        {
            "frequency_bin": ["0", "1", "2+"],
            "customers": [100, 50, 20],
            "actual_purchases": [0.2, 0.8, 1.5],
            "predicted_purchases": [0.6, 1.5, 3.0],
        }
    )
    title = _title(plots.holdout_by_frequency(holdout))
    assert "miss" in title and "overstated" in title and "track" not in title
    assert "track" in _title(plots.holdout_by_frequency(CASES_FRAMES["holdout"]))


def test_gamma_gamma_verdict_uses_the_models_threshold() -> None:
    from clv.models.fitting import CORRELATION_WARNING

    f = np.arange(1, 101, dtype=np.int64)
    m = 10 + 0.5 * f + RNG.normal(0, 1, 100)  # strongly correlated
    frame = pl.DataFrame({"frequency": f, "monetary_value": m})
    assert CORRELATION_WARNING < 0.9
    assert "NOT independent" in _title(plots.gamma_gamma_independence(frame))
    few = pl.DataFrame({"frequency": [0, 0, 1], "monetary_value": [0.0, 0.0, 5.0]})
    assert "too few" in _title(plots.gamma_gamma_independence(few))


def test_a_large_scatter_draws_a_sample_and_says_so() -> None:
    n = plots.SCATTER_POINTS + 5_000
    f = RNG.integers(1, 20, n)
    frame = pl.DataFrame({"frequency": f, "monetary_value": 10 + 0.5 * f + RNG.gamma(2, 5, n)})
    fig = plots.gamma_gamma_independence(frame)
    (points,) = fig.axes[0].collections
    assert len(points.get_offsets()) == plots.SCATTER_POINTS
    assert f"a random 20,000 of {n:,} shown" in fig.axes[0].get_xlabel()
    r = np.corrcoef(f, frame["monetary_value"].to_numpy())[0, 1]  # of everyone, not the sample
    assert f"correlation {r:.2f}" in _title(fig)


def test_tier_and_cohort_titles_follow_the_numbers() -> None:
    even = pl.DataFrame(
        {
            "tier": ["good", "middle", "low"],
            "customer_share": [0.2, 0.6, 0.2],
            "value_share": [0.22, 0.6, 0.18],
        }
    )
    title = _title(plots_kpis.tier_shares(even))
    assert "far more" not in title and "about its share" in title
    top_heavy = even.with_columns(value_share=pl.Series([0.7, 0.25, 0.05]))
    assert "far more" in _title(plots_kpis.tier_shares(top_heavy))
    loyal = pl.DataFrame(
        [(c, p, 1.0 if p == 0 else 0.8) for c in MONTHS for p in range(3)],
        schema=["cohort", "months_since", "retention"],
        orient="row",
    )
    title = _title(plots_kpis.cohort_retention(loyal))
    assert not title.startswith("Only") and "80%" in title


def test_channel_label_follows_the_good_share() -> None:
    channels = pl.DataFrame(
        {
            "channel": ["search", "social"],
            "customers": [60, 40],
            "good_customers": [8, 2],
            "share_good": [8 / 60, 2 / 40],
        }
    )
    assert "top 10%" in plots_kpis.channel_quality(channels).get_axes()[0].get_xlabel()
    fig = plots_kpis.channel_quality(channels, good_share=0.25)
    assert "top 25%" in fig.get_axes()[0].get_xlabel()
    assert _title(fig).startswith("search brings")
    same = channels.with_columns(share_good=pl.Series([0.1, 0.1]))
    assert "about the same" in _title(plots_kpis.channel_quality(same))


CASES_FRAMES = {
    "holdout": pl.DataFrame(
        {
            "frequency_bin": ["0", "1", "2+"],
            "actual_purchases": [0.2, 0.8, 1.5],
            "predicted_purchases": [0.22, 0.75, 1.6],
        }
    )
}


def test_holdout_title_reports_error_sign() -> None:
    frame = pl.DataFrame(
        {"date": MONTHS[:2], "actual_cumulative": [10.0, 20.0], "expected_cumulative": [10.0, 22.0]}
    )
    fig = plots.cumulative_tracking(frame)
    assert "+10.0%" in fig.get_axes()[0].get_title()
