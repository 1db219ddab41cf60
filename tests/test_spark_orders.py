"""The order tables on Spark (months, cohorts, first vs later orders, retention, the
loyalty programme, the data overview) equal the polars engine's, on the three shapes of
``tests/conftest.py``, with the driver never holding a row per customer or transaction."""

import json
from typing import Any

import polars as pl
import pytest

from tests.spark_checks import (
    Collected,
    analyze_keywords,
    assert_close,
    assert_same_numbers,
    both_engines,
    refuse_per_row,
)

pytestmark = pytest.mark.spark

ORDER_TABLES = (
    "monthly",
    "cohorts",
    "loyalty",
    "loyalty_by_month",
    "month_comparison",
    "before_after",
    "reward_milestones",
)
"""The attributes that are frames (or None without a loyalty column)."""

ORDER_NUMBERS = (
    "overview_values",
    "returning_vs_new",
    "last_year_value",
    "retention",
    "reviewed_month",
)
"""The attributes that are numbers, dates and words."""


MONEY = {  # the programme's and retention's costs, so every term is computed
    "cost_per_reward": 2.5,
    "member_discount_rate": 0.1,
    "margin_after_member_discount": False,
    "retention_cost": 3.0,
    "acquisition_cost": 40.0,
    "review_month": "2024-03-15",
}

LAUNCH = {"cdnow": "1997-06-01", "shop": "2023-10-01", "steady": "2024-10-01"}
"""A launch day inside each shape's period (the before/after table)."""


@pytest.fixture(scope="module")
def analyses(cs, spark_shapes):
    """Per shape, the polars analysis and the Spark one (each made once for the module)."""
    made: dict[str, tuple[Any, Any]] = {}

    def make(shape: str) -> tuple[Any, Any]:
        if shape not in made:
            path, options = spark_shapes[shape]
            keywords = analyze_keywords(options) | (MONEY if shape == "shop" else {})
            keywords["launch_date"] = LAUNCH[shape]
            made[shape] = both_engines(path, keywords)
        return made[shape]

    return make


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_the_order_tables_on_spark_equal_the_polars_ones(cs, analyses, shape, monkeypatch):
    from clv.engines.spark_analysis import SparkAnalysis

    want, got = analyses(shape)
    assert isinstance(got, SparkAnalysis) and got.on_spark
    refuse_per_row(monkeypatch)
    assert got.model is not None  # the fit's distinct rows: tests/test_spark.py bounds them
    collected = Collected(monkeypatch, cs.spark_session())

    for name in ORDER_TABLES:
        expected, table = getattr(want, name), getattr(got, name)
        if expected is None:
            assert table is None, name
        else:
            assert_close(table, expected, 1e-9)
    for name in ORDER_NUMBERS:
        assert_same_numbers(getattr(got, name), getattr(want, name), 1e-9)
    assert got.overview.equals(want.overview)

    # a row per cohort and month, or per distinct (frequency, recency, T) as the fit's
    cohorts, summary = want.cohorts, want.summary
    distinct = summary.select("frequency", "recency", "T").n_unique()
    assert cohorts.height < summary.height
    assert collected.rows and max(collected.rows) <= max(cohorts.height, distinct)
    # the tables are not empty: every shape has returning customers and months
    assert want.returning_vs_new["median_days_to_second_order"] is not None
    assert want.monthly.height > 10 and cohorts["months_since"].max() > 10
    assert want.before_after["customers"].min() > 0
    assert want.reward_milestones["expected_to_reach"].min() > 0
    if shape == "shop":
        assert want.loyalty_by_month["reward_cost"].sum() > 0
        assert want.retention["net_uplift_value"] is not None
        assert want.reviewed_month["month"].isoformat() == "2024-03-01"


def test_the_loyalty_review_on_spark_writes_the_polars_findings(cs, shop, tmp_path):
    """``clv report --notebook loyalty_review --engine spark``: the same findings.json (the
    month, members, programme totals) and kpis.json as the polars engine's."""
    from clv.cli import main

    path = tmp_path / "shop.csv"
    shop[0].filter(pl.col("customer_id") < "C0001000").write_csv(path)
    args = [str(path), "--notebook", "loyalty_review", "--order-col", "order_id"]
    args += ["--loyalty-col", "loyalty", "--margin-col", "margin", "-p", "launch_date=2024-01-01"]
    runs = {}
    for engine in ("polars", "spark"):
        out = tmp_path / engine
        assert main(["report", *args, "--engine", engine, "--out", str(out)]) == 0
        (runs[engine],) = out.glob("*-loyalty_review")
    for name in ("findings.json", "kpis.json"):
        want, got = (json.loads((runs[e] / name).read_text()) for e in ("polars", "spark"))
        assert_same_numbers(got, want)
    found = json.loads((runs["spark"] / "findings.json").read_text())
    assert any(r["section"] == "4" for r in found["findings"])  # the programme's totals


MODEL_FREE = ("monthly", "cohorts", "loyalty_by_month", "month_comparison", "before_after")
"""The order tables that read no model: Spark's with a channel column too."""


def test_with_a_channel_column_the_model_free_order_tables_stay_on_spark(
    cs, shop, tmp_path, monkeypatch
):
    """With a channel column (the channels' own models fitted too) the order tables read no
    model and no per-row table."""
    from clv.engines.spark_analysis import SparkAnalysis

    path = tmp_path / "channels.csv"
    columns = ["customer_id", "date", "amount", "order_id", "margin", "loyalty", "channel"]
    shop[0].filter(pl.col("customer_id") < "C0001500").select(columns).write_csv(path)
    keywords = {"order_col": "order_id", "margin_col": "margin", "loyalty_col": "loyalty"}
    keywords |= {"channel_col": "channel", "launch_date": LAUNCH["shop"]}
    want, got = both_engines(path, keywords)
    assert isinstance(got, SparkAnalysis)
    refuse_per_row(monkeypatch, "model")
    collected = Collected(monkeypatch, cs.spark_session())

    for name in MODEL_FREE:
        assert_close(getattr(got, name), getattr(want, name), 1e-9)
    for name in ("overview_values", "returning_vs_new", "last_year_value", "reviewed_month"):
        assert_same_numbers(getattr(got, name), getattr(want, name), 1e-9)
    assert "channel" in want.transactions.columns and want.monthly.height > 10
    assert collected.rows and max(collected.rows) <= want.cohorts.height
