"""The notebook steps, on tiny frames with hand-computed answers."""

import datetime as dt

import polars as pl
import pytest

from clv import sections
from clv.errors import UsageError


def test_tiers_from_cuts() -> None:
    assert sections.tiers_from_cuts([0.2, 0.8]) == (("good", 0.2), ("middle", 0.6), ("bad", 0.2))
    assert sections.tiers_from_cuts((0.1, 0.9), ("a", "b", "c")) == (
        ("a", 0.1),
        ("b", 0.8),
        ("c", 0.1),
    )
    with pytest.raises(UsageError, match="tier_cuts"):
        sections.tiers_from_cuts([0.8, 0.2])


def test_month_comparison_picks_last_month_and_year_before() -> None:
    months = [dt.date(2023, 1, 1), dt.date(2023, 12, 1), dt.date(2024, 1, 1)]
    by_month = pl.DataFrame({"month": months, "revenue": [1.0, 2.0, 3.0]})
    table = sections.month_comparison(by_month)
    assert table["period"].to_list() == ["this month", "last month", "a year before"]
    assert table["month"].to_list() == [months[2], months[1], months[0]]
    assert table["revenue"].to_list() == [3.0, 2.0, 1.0]
    picked = sections.month_comparison(by_month, "2023-12-15")
    assert picked["month"].to_list() == [months[1], dt.date(2023, 11, 1), dt.date(2022, 12, 1)]
    assert picked["revenue"].to_list() == [2.0, None, None]
    assert sections.month_comparison(None) is None


def test_as_table_and_headline_cards() -> None:
    table = sections.as_table({"orders": 1234, "aov": 12.5, "share": 0.25, "nested": {"a": 1}})
    assert table.rows() == [("orders", "1,234"), ("aov", "12.50"), ("share", "0.250")]
    kpis = {"customers": 2357, "repeat_customer_rate": 0.4, "predicted_clv_total": float("nan")}
    assert sections.headline_cards(kpis, horizon=12, horizon_unit="M") == {
        "customers": "2,357",
        "repeat customer rate": "40.0%",
        "predicted CLV, next 12 months": "-",
    }


def test_members_only_and_with_scores() -> None:
    customers = pl.DataFrame(
        {"customer_id": ["a", "b", "c"], "orders": [1, 2, 3], "loyalty": [True, False, True]}
    )
    frame = pl.DataFrame({"customer_id": ["c", "b", "a"], "x": [3, 2, 1]})
    assert sections.members_only(frame, customers)["customer_id"].to_list() == ["c", "a"]
    assert sections.members_only(frame, customers.drop("loyalty")).equals(frame)
    table = pl.DataFrame({"customer_id": ["a", "c"], "clv": [10.0, 30.0], "orders": [9, 9]})
    joined = sections.with_scores(customers, table)
    assert joined.columns == ["customer_id", "orders", "loyalty", "clv"]
    assert joined["clv"].to_list() == [10.0, None, 30.0]


def test_steps_without_their_input_are_skipped() -> None:
    assert sections.before_after(pl.DataFrame(), None) is None
    assert sections.holdout_check(pl.DataFrame(), calibration_end=None) is None
