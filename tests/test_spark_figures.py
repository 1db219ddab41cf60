"""The report's figures and the holdout check on Spark: every compact table equals the polars
engine's on the three shapes (the sample of the order-value scatter the same customers), with
the per-customer tables never made and nothing collected beyond the fit's distinct rows, the
days tracked or the points drawn."""

import warnings

import polars as pl
import pytest

import clv
from clv.analysis import distributions as dist
from tests.spark_checks import (
    Collected,
    analyze_keywords,
    assert_close,
    both_engines,
    refuse_per_row,
)

pytestmark = pytest.mark.spark

FRAMES = (
    "summary_statistics",
    "frequency_age_counts",
    "p_alive_histogram",
    "clv_histogram",
    "order_value_sample",
)
HOLDOUT_TABLES = ("parameters", "by_frequency", "metrics", "tracking")


@pytest.fixture(scope="module")
def analyses(cs, spark_shapes):
    """Per shape: the polars analysis and the Spark one (nothing computed yet)."""
    return {
        shape: both_engines(path, analyze_keywords(options))
        for shape, (path, options) in spark_shapes.items()
    }


def _fit_rows(summary: pl.DataFrame) -> int:
    """The most rows the fit collects: distinct (frequency, recency, T), or repeat buyers'
    distinct (frequency, monetary value)."""
    return max(
        summary.select("frequency", "recency", "T").n_unique(),
        summary.filter(pl.col("frequency") > 0).select("frequency", "monetary_value").n_unique(),
    )


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_the_figures_and_the_holdout_on_spark_are_the_polars_ones(
    cs,
    analyses,
    shape,
    monkeypatch,
):

    want, got = analyses[shape]
    assert got.on_spark
    refuse_per_row(monkeypatch)
    collected = Collected(monkeypatch, cs.spark_session())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frames = {name: getattr(got, name) for name in FRAMES}
        grid, holdout = got.matrix_grid, got.holdout
        want_holdout = want.holdout

    for name, frame in frames.items():
        assert_close(frame, getattr(want, name), 1e-9)
    sample = frames["order_value_sample"].drop("correlation")
    assert sample.equals(want.order_value_sample.drop("correlation"))  # the same points
    assert grid == want.matrix_grid

    assert holdout is not None and want_holdout is not None
    assert holdout["error"] is want_holdout["error"] is None
    for key in ("calibration_end", "holdout_days"):
        assert holdout[key] == want_holdout[key]
    assert holdout["model"].engine == "spark"
    for table in HOLDOUT_TABLES:
        assert_close(holdout[table], want_holdout[table], 1e-9)

    # the driver holds the fits' distinct rows, a row per day tracked, the points drawn
    summary = want.summary
    days = (want.period.observation_end - want.period.first_day).days + 1
    bound = max(_fit_rows(summary), days, sample.height)
    assert collected.rows and max(collected.rows) <= bound
    if shape == "cdnow":
        assert bound < summary.height


def test_a_sample_smaller_than_the_repeat_buyers_is_the_polars_one(
    cs,
    analyses,
    monkeypatch,
):
    """The seeded sample itself (not everyone): the same customers on both engines, and the
    driver gets only the points drawn."""
    from clv.engines import spark_figures

    want, got = analyses["shop"]
    repeat = want.summary.filter(pl.col("frequency") > 0).height
    assert repeat > 300
    ranked = got.ranked  # the fit (its distinct rows) before the count starts
    collected = Collected(monkeypatch, cs.spark_session())
    sample = spark_figures.order_value_sample(ranked, points=300)
    assert max(collected.rows) <= 300
    expected = dist.order_value_sample(want.summary, points=300)
    assert_close(sample, expected, 1e-9)
    assert sample.drop("correlation").equals(expected.drop("correlation"))
    assert sample["repeat_buyers"][0] == repeat


def test_a_calibration_period_that_cannot_be_fitted_is_the_polars_failure(
    cs,
    spark_shapes,
    monkeypatch,
):
    """Nobody repeats before the calibration end: the same record, the same one-line error,
    and no per-customer table made."""

    path, options = spark_shapes["steady"]
    keywords = analyze_keywords(options) | {"calibration_end": "2024-01-20"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = clv.analyze(path, **keywords).holdout
        got = clv.analyze(path, engine="spark", **keywords)
        assert got.on_spark
        refuse_per_row(monkeypatch)
        holdout = got.holdout
    assert want is not None and want["error"] is not None
    assert "made a repeat purchase" in want["error"]
    assert holdout == want
