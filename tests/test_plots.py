"""Every figure function returns a Figure with a title and labelled axes, on small frames."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from clv import plots

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


def _orders() -> pl.DataFrame:
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=int(d)) for d in RNG.integers(0, 180, N)]
    return pl.DataFrame(
        {"date": days, "amount": RNG.gamma(3, 10, N), "is_first": RNG.uniform(0, 1, N) < 0.4}
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
    "lorenz_curves": lambda: plots.lorenz_curves(_scores()),
    "tier_shares": lambda: plots.tier_shares(
        pl.DataFrame(
            {
                "tier": ["top 20 %", "middle 60 %", "bottom 20 %"],
                "customers_share": [0.2, 0.6, 0.2],
                "revenue_share": [0.6, 0.35, 0.05],
            }
        )
    ),
    "aov_new_vs_returning": lambda: plots.aov_new_vs_returning(_orders()),
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
    "revenue_by_month": lambda: plots.revenue_by_month(_orders()),
    "frequency_histogram": lambda: plots.frequency_histogram(_scores()),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_figure_has_title_and_labelled_axes(name: str) -> None:
    fig = CASES[name]()
    assert isinstance(fig, Figure)
    ax = fig.get_axes()[0]
    assert ax.get_title(), name
    assert ax.get_xlabel() and ax.get_ylabel(), name
    fig.canvas.draw()  # renders without error


def test_at_least_twelve_figures() -> None:
    public = [n for n in dir(plots) if not n.startswith("_") and callable(getattr(plots, n))]
    figures = [n for n in CASES if n in public]
    assert len(figures) >= 12


def test_draws_on_given_axes() -> None:
    fig = Figure()
    ax = fig.add_subplot()
    out = plots.p_alive_distribution(_scores(), ax=ax)
    assert out is fig and ax.get_title()


def test_lorenz_gini_of_equal_values_is_zero() -> None:
    frame = pl.DataFrame({"revenue": [5.0] * 100})
    fig = plots.lorenz_curves(frame, columns=["revenue"])
    label = fig.get_axes()[0].get_legend_handles_labels()[1][0]
    assert "Gini 0.00" in label or "Gini -0.00" in label


def test_holdout_title_reports_error_sign() -> None:
    frame = pl.DataFrame(
        {"date": MONTHS[:2], "actual_cumulative": [10.0, 20.0], "expected_cumulative": [10.0, 22.0]}
    )
    fig = plots.cumulative_tracking(frame)
    assert "+10.0%" in fig.get_axes()[0].get_title()
