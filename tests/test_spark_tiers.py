"""The tier tables, the Lorenz curves, the top customers' profile, the middle tier and the
first page's numbers computed by Spark equal the polars engine's, on CDNOW, the shop (order
ids, margins, loyalty, rows after the end) and the steady shop (at-risk by recency), with
the per-customer and per-transaction tables of the Spark analysis out of reach and nothing
bigger than the shown head of the middle tier collected."""

import dataclasses
from pathlib import Path

import polars as pl
import pytest

import clv
from clv.analysis import findings, profile
from clv.engines.spark_analysis import SparkAnalysis
from tests.spark_checks import (
    Collected,
    analyze_keywords,
    assert_close,
    assert_same_numbers,
    both_engines,
    refuse_per_row,
)

pytestmark = pytest.mark.spark

MIDDLE = ("middle_tier", "middle_to_top")
"""The middle tier's per-customer tables (:attr:`middle_counts` and the head shown are
Spark's)."""

OTHER_PARTS = (
    "returning_vs_new",
    "channels",
    "loyalty_totals",
    "holdout",
    "last_year_value",
    "at_risk_findings",
)
"""What :attr:`Analysis.findings` reads besides the tiers (orders, channels, loyalty, the
holdout check, last year's value, the at-risk numbers: tested on Spark in test_spark.py):
given the polars values in the findings' test."""


@pytest.fixture(scope="module", params=["cdnow", "shop", "steady"])
def engines(request, cs, spark_shapes) -> tuple[clv.Analysis, SparkAnalysis, int]:
    """The polars and the Spark analysis of one shape, the Spark one fitted and ranked
    already (its model's distinct rows are collected before the tests look)."""
    path: Path
    path, options = spark_shapes[request.param]
    want, got = both_engines(path, analyze_keywords(options))
    assert isinstance(got, SparkAnalysis) and got.on_spark
    _ = got.ranked, got.customer_count
    return want, got, want.summary.height


@pytest.fixture
def spark_only(engines, monkeypatch, cs) -> tuple[clv.Analysis, SparkAnalysis, Collected]:
    """The pair, the Spark analysis' per-row tables failing when touched, and what is
    collected from now on."""
    want, got, _ = engines
    refuse_per_row(monkeypatch, *MIDDLE)
    return want, got, Collected(monkeypatch, cs.spark_session())


def _fresh(analysis: SparkAnalysis, *names: str) -> None:
    """Forget what ``analysis`` computed of ``names`` (each test computes its own)."""
    for name in names:
        analysis.__dict__.pop(name, None)


def _small(collected: Collected, bound: int = profile.MIDDLE_TO_TOP_SHOWN) -> None:
    """Something was collected, and never more than ``bound`` rows at once."""
    assert collected.rows, "nothing was collected"
    assert max(collected.rows) <= bound


def test_tier_tables_and_lorenz_curves(spark_only):
    want, got, collected = spark_only
    _fresh(got, "tier_tables", "lorenz", "spark_tiered")
    for mine, theirs in zip(got.tier_tables, want.tier_tables, strict=True):
        assert_close(mine, theirs, 1e-9)
    assert got.lorenz["label"].unique(maintain_order=True).to_list() == ["revenue", "clv"]
    assert got.lorenz.height == want.lorenz.height == 202
    assert_close(got.lorenz, want.lorenz, 1e-9)
    _small(collected, profile.LORENZ_POINTS)  # the sums between the curve's points


def test_segment_totals_and_the_top_profile(spark_only):
    want, got, collected = spark_only
    _fresh(got, "segment_totals", "top_profile")
    mine, theirs = dataclasses.asdict(got.segment_totals), dataclasses.asdict(want.segment_totals)
    assert_same_numbers(mine, theirs, 1e-9)
    assert mine["top"] == round(want.options.top_share * mine["customers"])
    assert_close(got.top_profile, want.top_profile, 1e-9)
    assert got.top_profile["biggest"].sum() > 0
    _small(collected)


def test_the_middle_tier(spark_only):
    want, got, collected = spark_only
    _fresh(got, "middle_counts", "middle_to_top_shown", "good_tier")
    mine, theirs = got.middle_counts, want.middle_counts
    assert (mine.middle, mine.close, mine.gone) == (theirs.middle, theirs.close, theirs.gone)
    assert mine.middle > 0 and mine.close > 0
    assert findings.most_common(mine.lacks) == findings.most_common(theirs.lacks)
    shown = got.middle_to_top_shown
    assert shown.height == profile.MIDDLE_TO_TOP_SHOWN
    assert_close(shown, want.middle_to_top_shown, 1e-9)
    _small(collected)


def test_the_first_page_numbers(spark_only):
    """:attr:`Analysis.findings` whole: the tiers' parts from Spark, the other parts (orders,
    channels, loyalty, holdout, last year's value) given as polars computes them."""
    want, got, collected = spark_only
    for name in OTHER_PARTS:
        got.__dict__[name] = getattr(want, name)
    _fresh(got, "findings", "segment_totals", "top_profile", "middle_counts")
    assert_same_numbers(got.findings, want.findings, 1e-9)
    _small(collected)


def test_the_top_profile_with_products_and_days_as_orders(cs, shop, tmp_path, monkeypatch):
    """Products (distinct, re-ordered in another order: a product's rows on two days) and a
    customer-day as the order (no order id), on 1,500 of the shop's customers."""
    path = tmp_path / "products.csv"
    rows = shop[0].filter(pl.col("customer_id") < "C0001500")
    rows.select("customer_id", "date", "amount", "product", "loyalty").write_csv(path)
    options = {"product_col": "product", "loyalty_col": "loyalty"}
    want = clv.analyze(path, observation_end="2024-06-30", **options).top_profile
    got = clv.analyze(path, engine="spark", observation_end="2024-06-30", **options)
    _ = got.ranked
    refuse_per_row(monkeypatch, *MIDDLE)
    collected = Collected(monkeypatch, cs.spark_session())
    assert_close(got.top_profile, want, 1e-9)
    metrics = want["metric"].to_list()
    assert {"share_reordered_same_product", "distinct_products"} <= set(metrics)
    _small(collected, 2)
