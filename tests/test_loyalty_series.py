"""The loyalty review's monthly series: each run adds its month to the runs folder's series.

A month's row is recomputed with pandas (margin per active customer of each group, its
standard error); the series keeps one row per month (the latest run's); ``within_noise`` is
checked by hand; two loyalty review runs leave a series of two months.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import polars as pl
import pytest

import clv
from clv.analysis import loyalty_series
from clv.report.loyalty_months import SERIES_FILE, read_series
from clv.report.runner import run_report


@pytest.fixture(scope="module")
def shop():
    return clv.analyze(dataset="synthetic_shop", synthetic_customers=1500, loyalty_col="loyalty")


def test_a_months_row_is_the_margin_per_active_customer_and_its_standard_error(shop) -> None:
    month = dt.date(2024, 11, 1)
    row = loyalty_series.month_row(shop.orders, dt.date(2024, 11, 17), margin_rate=None)
    orders = shop.orders.to_pandas()
    orders = orders[orders["date"].dt.strftime("%Y-%m") == "2024-11"]
    for prefix, flag in (("member", True), ("non_member", False)):
        per = orders[orders["loyalty"] == flag].groupby("customer_id")["margin"].sum()
        assert row[f"{prefix}_margin_per_active"] == pytest.approx(per.mean())
        assert row[f"{prefix}_margin_per_active_se"] == pytest.approx(
            per.std(ddof=1) / math.sqrt(len(per))
        )
    assert row["month"] == month
    by_month = shop.loyalty_by_month.filter(pl.col("month") == month)
    assert row["members_active"] == by_month["members_active"][0]
    assert row["member_margin_per_active"] == pytest.approx(by_month["member_margin_per_active"][0])


def test_the_series_keeps_one_row_per_month_and_judges_changes_by_their_noise() -> None:
    def row(month: int, member: float, se: float = 2.0) -> dict:
        return {
            "month": dt.date(2024, month, 1),
            "run": f"r{month}",
            "members_active": 100,
            "non_members_active": 200,
            "member_margin_per_active": member,
            "member_margin_per_active_se": se,
            "non_member_margin_per_active": 30.0,
            "non_member_margin_per_active_se": se,
        }

    series = None
    for r in (row(9, 40.0), row(10, 41.0), row(11, 60.0), row(10, 42.0)):
        series = loyalty_series.add_month(series, r)
    assert series["month"].to_list() == [dt.date(2024, m, 1) for m in (9, 10, 11)]
    assert series["member_margin_per_active"].to_list() == [40.0, 42.0, 60.0]  # latest run
    noise = loyalty_series.with_noise(series)
    se = math.sqrt(2 * (2.0**2 + 2.0**2))  # each gap's error, two months combined
    assert noise["z"].to_list()[1:] == pytest.approx([2.0 / se, 18.0 / se])
    assert noise["within_noise"].to_list() == [None, True, False]


@pytest.mark.slow
def test_each_loyalty_review_run_adds_its_month_to_the_runs_folders_series(tmp_path) -> None:
    runs = tmp_path / "runs"
    seen = []
    for month in ("2024-11-10", "2024-12-10"):
        run = run_report(
            notebook="loyalty_review",
            out_dir=runs,
            progress=False,
            parameters={"review_month": month, "synthetic_customers": 800},
        )
        seen.append(run)
    series = read_series(runs)
    assert series is not None and (runs / SERIES_FILE).is_file()
    assert series["month"].to_list() == [dt.date(2024, 11, 1), dt.date(2024, 12, 1)]
    assert series["run"].to_list() == [r.name for r in seen]
    page = (seen[1] / "loyalty_review.html").read_text()
    assert "Every reviewed month of this runs folder" in page
    assert re.search(r"[01] of 1 monthly changes of the members", page)  # the caption
