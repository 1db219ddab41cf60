"""Every figure of clv.plots, drawn from small frames: it returns the Axes it drew on, with a
short noun for a title and labelled axes, on a new figure or on the ``ax`` it is given."""

import datetime as dt

import matplotlib as mpl
import matplotlib.pyplot
import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import clv.plots as plots
from clv.analysis import profile

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
    """The shape of the matrices' frames: 5 frequencies x 8 recencies at T = 7 weeks."""
    rows = [(f, float(r), 7.0, (f + 1) * r / 10) for f in range(5) for r in range(8)]
    return pl.DataFrame(
        rows, schema=["frequency", "recency", "T", value], orient="row"
    ).with_columns(t=pl.lit(1.0), time_unit=pl.lit("W"))


MONTHS = [dt.date(2024, m, 1) for m in range(1, 7)]
WEEKS = pl.date_range(dt.date(2024, 1, 7), dt.date(2024, 6, 30), interval="1w", eager=True)


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


def _tracking() -> pl.DataFrame:
    """The shape of :func:`clv.analysis.validation.tracking`: weekly, calibration to March."""
    actual = RNG.poisson(20, WEEKS.len()).astype(float)
    expected = actual + RNG.normal(0, 2, WEEKS.len())
    return pl.DataFrame(
        {
            "date": WEEKS,
            "period": ["calibration" if d < dt.date(2024, 4, 1) else "holdout" for d in WEEKS],
            "actual": actual,
            "expected": expected,
            "actual_cumulative": actual.cumsum(),
            "expected_cumulative": expected.cumsum(),
        }
    )


def _heterogeneity() -> pl.DataFrame:
    x = np.linspace(0.01, 1, 50)
    return pl.DataFrame(
        {
            "quantity": ["purchase_rate"] * 50 + ["dropout"] * 50,
            "value": np.concatenate([x, x]),
            "density": np.concatenate([np.exp(-3 * x), 2 * (1 - x) + 0.01]),
            "mean": [0.3] * 50 + [0.33] * 50,
            "dropout_kind": "probability",
            "time_unit": "W",
        }
    )


def _migration() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "tier_before": ["good", "middle", "bad", "new"],
            "good": [80, 12, 1, 20],
            "middle": [20, 330, 1, 5],
            "bad": [0, 6, 114, 2],
            "gone": [1, 4, 9, None],
        }
    )


def _reviewed_months() -> pl.DataFrame:
    from clv.analysis.loyalty_series import add_month, with_noise

    series = None
    for month, member in ((9, 40.0), (10, 41.0), (11, 60.0)):
        row = {
            "month": dt.date(2024, month, 1),
            "run": "r",
            "members_active": 100,
            "non_members_active": 200,
            "member_margin_per_active": member,
            "member_margin_per_active_se": 2.0,
            "non_member_margin_per_active": 30.0,
            "non_member_margin_per_active_se": 1.5,
        }
        series = add_month(series, row)
    noise = with_noise(series)
    assert noise is not None
    return noise


CASES = {
    "frequency_recency_matrix": lambda: plots.frequency_recency_matrix(_grid("expected_purchases")),
    "probability_alive_matrix": lambda: plots.probability_alive_matrix(_grid("p_alive")),
    "period_transactions": lambda: plots.period_transactions(
        pl.DataFrame(
            {
                "frequency": ["0", "1", "2", "3+"],
                "observed": [100, 50, 20, 10],
                "expected": [98.0, 52.0, 21.0, 9.0],
            }
        )
    ),
    "calibration_purchases_vs_holdout": lambda: plots.calibration_purchases_vs_holdout(
        pl.DataFrame(
            {
                "frequency_bin": ["0", "1", "2+"],
                "actual_purchases": [0.2, 0.8, 1.5],
                "predicted_purchases": [0.25, 0.7, 1.6],
            }
        )
    ),
    "cumulative_transactions": lambda: plots.cumulative_transactions(_tracking()),
    "incremental_transactions": lambda: plots.incremental_transactions(_tracking()),
    "history_alive": lambda: plots.history_alive(
        pl.DataFrame(
            {
                "date": pl.date_range(dt.date(2024, 1, 1), dt.date(2024, 1, 10), eager=True),
                "p_alive": np.linspace(1.0, 0.4, 10),
                "purchase": [True] + [False] * 8 + [True],
            }
        )
    ),
    "heterogeneity": lambda: plots.heterogeneity(_heterogeneity()),
    "spend_distribution": lambda: plots.spend_distribution(
        pl.DataFrame(
            {
                "low": [0.0, 10, 20, 30],
                "high": [10.0, 20, 30, 40],
                "observed": [5, 20, 12, 4],
                "expected": [6.0, 18, 13, 3],
            }
        )
    ),
    "gamma_gamma_independence": lambda: plots.gamma_gamma_independence(_scores()),
    "clv_distribution": lambda: plots.clv_distribution(_scores()),
    "p_alive_distribution": lambda: plots.p_alive_distribution(_scores()),
    "frequency_histogram": lambda: plots.frequency_histogram(_scores()),
    "lorenz_curves": lambda: plots.lorenz_curves(
        _lorenz(revenue=_scores()["revenue"].to_list(), clv=_scores()["clv"].to_list())
    ),
    "tier_shares": lambda: plots.tier_shares(
        pl.DataFrame(
            {
                "tier": ["top 20 %", "middle 60 %", "bottom 20 %"],
                "customers_share": [0.2, 0.6, 0.2],
                "revenue_share": [0.6, 0.35, 0.05],
            }
        )
    ),
    "aov_new_vs_returning": lambda: plots.aov_new_vs_returning(_monthly()),
    "cohort_retention": lambda: plots.cohort_retention(
        pl.DataFrame(
            [(c, p, 1.0 if p == 0 else 0.3 / p) for c in MONTHS for p in range(4)],
            schema=["cohort", "months_since", "retention"],
            orient="row",
        )
    ),
    "channel_quality": lambda: plots.channel_quality(
        pl.DataFrame(
            {
                "channel": ["search", "<script>alert(1)</script>"],
                "share_good": [0.2, 0.1],
                "customers": [50, 30],
                "mean_clv": [40.0, 20.0],
            }
        )
    ),
    "loyalty_by_month": lambda: plots.loyalty_by_month(_monthly_loyalty()),
    "loyalty_program_net": lambda: plots.loyalty_program_net(_monthly_loyalty()),
    "revenue_by_month": lambda: plots.revenue_by_month(_monthly()),
    "tier_migration": lambda: plots.tier_migration(_migration()),
    "reviewed_months": lambda: plots.reviewed_months(_reviewed_months()),
}
"""One drawing of each figure function from a frame (the report's way)."""

MAX_TITLE_WORDS = 4
"""A title is a short noun: the verdict is the report's caption (:mod:`clv.report.captions`)."""


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_figure_returns_its_axes_with_a_short_title_and_labelled_axes(name: str) -> None:
    ax = CASES[name]()
    assert isinstance(ax, Axes)
    title = ax.get_title()
    assert title and len(title.split()) <= MAX_TITLE_WORDS, title
    assert not title.endswith("."), title
    assert ax.get_xlabel() and ax.get_ylabel(), name
    ax.get_figure(root=True).canvas.draw()  # renders without error


def test_every_figure_is_tested_and_themed_per_figure() -> None:
    drawn = {n for n in plots.__all__ if not n.endswith("_frame")}
    frames = {n for n in plots.__all__ if n.endswith("_frame")}
    assert drawn == set(CASES) and len(drawn) == 23
    assert {f.removesuffix("_frame") for f in frames} <= drawn
    before = dict(mpl.rcParams)
    for draw in CASES.values():
        mpl.pyplot.close(draw().get_figure(root=True))
    assert dict(mpl.rcParams) == before  # the house theme never leaks into global settings


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_figure_draws_on_the_axes_it_is_given(name: str, monkeypatch) -> None:
    fig = Figure()
    given = fig.add_subplot()
    draw = CASES[name]
    original = getattr(plots, name)
    monkeypatch.setattr(plots, name, lambda *a, **k: original(*a, **{**k, "ax": given}))
    ax = draw()
    assert ax is given and ax.get_title()
    assert ax.get_figure(root=True) is fig and len(fig.axes) in (1, 2)  # 2: a colorbar


def test_a_new_figure_is_themed_and_sized_and_the_global_settings_are_untouched() -> None:
    ax = CASES["period_transactions"]()
    fig = ax.get_figure(root=True)
    assert tuple(fig.get_size_inches()) == (6.0, 4.0)
    assert ax.title.get_fontweight() == "bold"
    assert mpl.rcParams["axes.titleweight"] != "bold"


def test_lorenz_draws_the_segments_curve_and_gini() -> None:
    values = [1.0, 2.0, 3.0, 10.0, 50.0]
    ax = plots.lorenz_curves(_lorenz(revenue=values))
    line = ax.get_lines()[0]
    curve = profile.lorenz_curve(pl.Series(values))
    assert np.array_equal(line.get_ydata(), curve["value_share"].to_numpy())
    label = ax.get_legend_handles_labels()[1][0]
    assert f"Gini {profile.gini(pl.Series(values)):.2f}" in label


def test_a_large_scatter_draws_a_sample_and_says_so() -> None:
    from clv.plots.fit import SCATTER_POINTS

    n = SCATTER_POINTS + 5_000
    f = RNG.integers(1, 20, n)
    frame = pl.DataFrame({"frequency": f, "monetary_value": 10 + 0.5 * f + RNG.gamma(2, 5, n)})
    ax = plots.gamma_gamma_independence(frame)
    (points,) = ax.collections
    assert len(points.get_offsets()) == SCATTER_POINTS
    assert f"a random 20,000 of {n:,} shown" in ax.get_xlabel()
    r = np.corrcoef(f, frame["monetary_value"].to_numpy())[0, 1]  # of everyone, not the sample
    assert ax.get_legend_handles_labels()[1] == [f"correlation {r:.2f}"]


def test_channel_label_follows_the_good_share() -> None:
    channels = pl.DataFrame(
        {
            "channel": ["search", "social"],
            "customers": [60, 40],
            "good_customers": [8, 2],
            "share_good": [8 / 60, 2 / 40],
        }
    )
    assert "top 10%" in plots.channel_quality(channels).get_xlabel()
    assert "top 25%" in plots.channel_quality(channels, good_share=0.25).get_xlabel()


def test_the_tracking_figures_mark_the_holdout_and_draw_their_columns() -> None:
    frame = _tracking()
    cumulative = plots.cumulative_transactions(frame)
    incremental = plots.incremental_transactions(frame)
    for ax, column in ((cumulative, "actual_cumulative"), (incremental, "actual")):
        assert np.array_equal(ax.get_lines()[0].get_ydata(), frame[column].to_numpy())
        (mark,) = [t for t in ax.texts if t.get_text() == "holdout"]
        last = frame.filter(pl.col("period") == "calibration")["date"].max()
        assert ax.get_lines()[2].get_xdata()[0] == last  # the line at the calibration end
        assert mark.get_visible()
