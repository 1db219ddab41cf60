"""The customers of the previous run and of this one compared on Spark.

:func:`customer_changes` states :func:`clv.analysis.changes.customer_changes` in Spark's
terms: Spark reads the previous run's ``scores.parquet`` and ``at_risk.csv``, joins them with
this run's segments and at-risk list by id as text (:func:`clv.analysis.changes.matched`),
and brings back the counts and the first rows of the lists
(:class:`clv.analysis.changes.CustomerChanges`); :func:`clv.analysis.changes.document`
finishes ``changes.json`` as for the polars engine. The run folders must be readable by
Spark's workers (a local session, or a shared file system).
"""

import os
from pathlib import Path
from typing import cast

import polars as pl

from clv.analysis import changes
from clv.analysis.changes import GONE, LIST_ROWS, NEW
from clv.engines.spark import to_polars
from clv.engines.spark_session import Column, DataFrame, Row, SparkSession, sf

PREVIOUS = {
    "value_tier": "previous_value_tier",
    "clv": "previous_clv",
    "p_alive": "previous_p_alive",
}
"""The previous run's columns, as :func:`clv.analysis.changes.matched` names them."""


def customer_changes(
    previous: str | os.PathLike[str], segments: DataFrame, at_risk: DataFrame, *, top_tier: str
) -> changes.CustomerChanges:
    """:func:`clv.analysis.changes.customer_changes` of the run in folder ``previous`` and
    this run's ``segments`` and ``at_risk`` list (Spark DataFrames). A previous run Spark's
    workers cannot read (its folder not on their file system, a file damaged inside) is the
    polars engine's one line (:func:`clv.analysis.changes.unreadable`)."""
    from py4j.protocol import Py4JJavaError
    from pyspark.errors import PySparkException

    try:
        return _changes(Path(previous), segments, at_risk, top_tier=top_tier)
    except PySparkException as e:
        raise changes.unreadable(Path(previous), e) from None
    except Py4JJavaError as e:  # a task failed: its innermost cause, without the JVM's stack
        cause = e.java_exception
        while cause.getCause() is not None:
            cause = cause.getCause()
        name = cause.getClass().getSimpleName()
        error = RuntimeError(f"{name}: {cause.getMessage()}")
        raise changes.unreadable(Path(previous), error) from None


def _changes(
    previous: Path, segments: DataFrame, at_risk: DataFrame, *, top_tier: str
) -> changes.CustomerChanges:
    scores, before_ids = _read(segments.sparkSession, previous)
    now_ids = at_risk.select(sf.col("customer_id").cast("string").alias("customer_id"))
    now_ids = now_ids.dropna().distinct()
    both = _matched(scores, segments, now_ids).cache()
    try:
        was_top = sf.col("previous_value_tier") == top_tier
        is_top = sf.col("value_tier") == top_tier
        slipped = both.filter(was_top & (~is_top | sf.col("at_risk")))
        new = both.filter(is_top & ~was_top)
        counts = cast(
            Row,
            both.agg(
                sf.count(sf.when(was_top & (~is_top | sf.col("at_risk")), 1)).alias("slipped"),
                sf.count(sf.when(was_top & ~is_top, 1)).alias("left_tier"),
                sf.count(sf.when(is_top & ~was_top, 1)).alias("new_top"),
                sf.count(
                    sf.when(is_top & ~was_top & (sf.col("previous_value_tier") == NEW), 1)
                ).alias("new_customers"),
                sf.count(sf.when(is_top & ~was_top & (sf.col("orders") == 1), 1)).alias("once"),
            ).first(),
        )
        migration = both.groupBy("previous_value_tier", "value_tier").count().collect()
        return changes.CustomerChanges(
            migration={(r[0], r[1]): int(r[2]) for r in migration},
            slipped_top=_head(slipped, "previous_clv"),
            slipped_counts={
                "slipped": counts["slipped"],
                "left_tier": counts["left_tier"],
                "at_risk_in_tier": counts["slipped"] - counts["left_tier"],
            },
            new_top=_head(new, "clv"),
            new_top_counts={
                "new_top": counts["new_top"],
                "new_customers": counts["new_customers"],
                "bought_once": counts["once"],
            },
            at_risk=_at_risk_counts(before_ids, now_ids),
        )
    finally:
        both.unpersist()


def _read(spark: SparkSession, run: Path) -> tuple[DataFrame, DataFrame]:
    """The previous run's scores and its at-risk ids (none without ``at_risk.csv``), read by
    Spark from this machine's file system (``file://``: a cluster's workers need the runs
    folder where the driver has it, e.g. a shared mount)."""
    scores = spark.read.parquet(_local(run / changes.SCORES_FILE))
    changes.check_scores(run, scores.columns)
    path = run / changes.AT_RISK_FILE
    if path.is_file():
        options = {"header": "true", "escape": '"', "multiLine": "true"}
        ids = spark.read.options(**options).csv(_local(path)).select("customer_id")
    else:
        ids = spark.createDataFrame([], "customer_id string")
    return scores, ids.dropna().distinct()


def _local(path: Path) -> str:
    """``path`` on this machine's file system as Spark reads it: ``file://`` and the path as
    written (Hadoop takes a path's characters unescaped: no ``%20`` for a space)."""
    return "file://" + path.resolve().as_posix()


def _matched(scores: DataFrame, segments: DataFrame, at_risk: DataFrame) -> DataFrame:
    """:func:`clv.analysis.changes.matched`: every customer of either run, with the two
    tiers, CLVs and P(alive)s, this run's orders and whether on this run's at-risk list."""
    before = scores.select(
        sf.col("customer_id").cast("string").alias("customer_id"),
        *(
            (sf.col(c) if c in scores.columns else sf.lit(None))
            .cast("string" if c == "value_tier" else "double")
            .alias(name)
            for c, name in PREVIOUS.items()
        ),
    )
    now = segments.select(
        sf.col("customer_id").cast("string").alias("customer_id"),
        sf.col("value_tier").cast("string"),
        sf.col("clv").cast("double"),
        sf.col("p_alive").cast("double"),
        sf.col("orders").cast("bigint"),
    )
    listed = at_risk.select("customer_id", sf.lit(True).alias("at_risk"))
    both = before.join(now, "customer_id", "full").join(listed, "customer_id", "left")
    return both.select(
        "customer_id",
        sf.coalesce("previous_value_tier", sf.lit(NEW)).alias("previous_value_tier"),
        "previous_clv",
        "previous_p_alive",
        sf.coalesce("value_tier", sf.lit(GONE)).alias("value_tier"),
        "clv",
        "p_alive",
        "orders",
        sf.coalesce("at_risk", sf.lit(False)).alias("at_risk"),
    )


def _head(rows: DataFrame, by: str) -> pl.DataFrame:
    """The first :data:`~clv.analysis.changes.LIST_ROWS` of ``rows``, largest ``by`` first
    (nulls last, ties by id), with ``clv_change`` (:func:`clv.analysis.changes.slipped_top`)."""
    change: Column = sf.col("clv") - sf.col("previous_clv")
    top = rows.withColumn("clv_change", change)
    top = top.orderBy(sf.desc_nulls_last(by), sf.asc("customer_id")).limit(LIST_ROWS)
    return to_polars(top, sort_by=None)


def _at_risk_counts(before: DataFrame, now: DataFrame) -> dict[str, int]:
    """:func:`clv.analysis.changes.at_risk_changes` of the two lists' ids."""
    return {
        "previous": before.count(),
        "current": now.count(),
        "still": before.join(now, "customer_id").count(),
    }
