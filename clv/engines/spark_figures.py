"""The figures' compact tables of the summary and the scores, aggregated by Spark.

Each function is the per-customer step of one table of :mod:`clv.analysis.distributions`
in Spark's terms (the polars function it matches is named) and hands the driver a table
bounded by bins, distinct values or the points a figure shows; the finishing code is the
polars engine's own. ``tests/test_spark_figures.py`` checks each against the polars engine.
"""

from collections.abc import Sequence
from typing import cast

import numpy as np
import polars as pl

from clv.analysis import distributions as dist
from clv.engines.spark_session import Column, DataFrame, Row, Window, sf


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    return cast(pl.DataFrame, pl.from_arrow(frame.toArrow()))


def value_counts(frame: DataFrame, *columns: str) -> pl.DataFrame:
    """:func:`clv.analysis.distributions.value_counts`: ``columns`` and ``customers``, one
    row per distinct combination of non-null values, sorted by the columns."""
    kept = frame
    for column in columns:
        kept = kept.filter(sf.col(column).isNotNull())
    counts = kept.groupBy(*columns).agg(sf.count(sf.lit(1)).cast("bigint").alias("customers"))
    return _to_polars(counts).sort(columns)


def order_statistics(
    frame: DataFrame, positions: dict[str, Sequence[int]]
) -> dict[str, dict[int, float]]:
    """The sorted values of each column at the 0-based ``positions`` asked for it (nulls
    left out): one sort per column on the workers, a row per position to the driver."""
    columns = list(positions)
    if not any(positions.values()):
        return {c: {} for c in columns}
    stacked = frame.select(
        sf.explode(
            sf.array(
                *(
                    sf.struct(sf.lit(c).alias("name"), sf.col(c).cast("double").alias("value"))
                    for c in columns
                )
            )
        ).alias("s")
    ).select("s.name", "s.value")
    stacked = stacked.filter(sf.col("value").isNotNull())
    number = sf.row_number().over(Window.partitionBy("name").orderBy("value")) - 1
    wanted = sf.lit(False)
    for c, at in positions.items():
        if at:
            wanted |= (sf.col("name") == c) & sf.col("i").isin(*at)
    rows = stacked.withColumn("i", number).filter(wanted).collect()
    out: dict[str, dict[int, float]] = {c: {} for c in columns}
    for row in rows:
        out[row["name"]][int(row["i"])] = float(row["value"])
    return out


def describe(summary: DataFrame) -> pl.DataFrame:
    """:func:`clv.analysis.distributions.describe` of a Spark summary: the counts and means
    in one pass, the order statistics in one sort per column."""
    columns = [c for c in dist.DESCRIBED if c in summary.columns]
    row = cast(
        Row,
        summary.agg(
            *(sf.count(c).alias(f"n_{c}") for c in columns),
            *(sf.avg(sf.col(c).cast("double")).alias(f"mean_{c}") for c in columns),
        ).first(),
    )
    n = {c: int(row[f"n_{c}"]) for c in columns}
    at = order_statistics(summary, {c: dist.describe_positions(n[c]) for c in columns})
    return dist.describe_table(
        [dist.describe_row(c, n[c], row[f"mean_{c}"], at[c]) for c in columns]
    )


def p_alive_histogram(ranked: DataFrame) -> pl.DataFrame:
    """:func:`clv.analysis.distributions.p_alive_histogram` of the scores' ``p_alive``
    (a Spark frame): the driver gets each distinct P(alive) with its customers (P(alive)
    depends on frequency, recency and T only: no more rows than the fit's)."""
    return dist.p_alive_histogram(value_counts(ranked, "p_alive"))


def clv_histogram(ranked: DataFrame, *, column: str = "clv") -> pl.DataFrame:
    """:func:`clv.analysis.distributions.clv_histogram` of the scores' ``column`` (a Spark
    frame): the count, mean and minimum in one pass, the order statistics around the median
    and the 99th percentile in one sort, then each bin counted by the workers (a value in
    bin ``i`` when ``edges[i] <= value < edges[i + 1]``, the last bin closed, as
    :func:`numpy.histogram` bins it)."""
    values = ranked.select(sf.col(column).cast("double").alias("v")).filter(sf.col("v").isNotNull())
    row = cast(Row, values.agg(sf.count("v"), sf.avg("v"), sf.min("v")).first())
    n = int(row[0])
    if n == 0:
        return dist.clv_histogram_table(np.zeros(1), np.zeros(0), median=np.nan, mean=np.nan)
    at = order_statistics(values, {"v": dist.clv_positions(n)})["v"]
    median, top, highest = dist.clv_cut(n, at)
    edges = dist.clv_edges(float(row[2]), highest)
    bin_of: Column = sf.lit(0)
    for edge in edges[1:-1]:
        bin_of += sf.when(sf.col("v") >= sf.lit(float(edge)), 1).otherwise(0)
    counts = (
        values.filter(sf.col("v") <= sf.lit(top))
        .groupBy(bin_of.alias("bin"))
        .agg(sf.count(sf.lit(1)).alias("customers"))
        .collect()
    )
    customers = np.zeros(dist.CLV_BINS, dtype=np.int64)
    for bin_row in counts:
        customers[int(bin_row["bin"])] = int(bin_row["customers"])
    return dist.clv_histogram_table(edges, customers, median=median, mean=float(row[1]))


def sample_key(index: Column) -> Column:
    """:func:`clv.analysis.distributions.sample_key` in Spark's 64-bit integers."""
    a, b, c, d = dist.SAMPLE_SEED
    p = dist.SAMPLE_PRIME
    y = (index.cast("bigint") * a + b) % p
    cube = ((y * y) % p) * y % p
    return (cube * c + d) % p


def order_value_sample(ranked: DataFrame, *, points: int = dist.SCATTER_POINTS) -> pl.DataFrame:
    """:func:`clv.analysis.distributions.order_value_sample` of a Spark summary with each
    customer's ``rank`` by revenue (:func:`clv.engines.spark_tables.ranked`): the
    correlation over every repeat buyer in one pass, the ``points`` shown to the driver."""
    repeat = ranked.filter(sf.col("frequency") > 0).select(
        "customer_id",
        sf.col("frequency").cast("double").alias("f"),
        sf.col("monetary_value").cast("double").alias("m"),
        sample_key(sf.col("rank")).alias("_key"),
    )
    row = cast(
        Row,
        repeat.agg(
            sf.count(sf.lit(1)),
            sf.corr("f", "m"),
            sf.min("f") < sf.max("f"),
            sf.min("m") < sf.max("m"),
        ).first(),
    )
    n = int(row[0])
    shown = _to_polars(
        repeat.orderBy("_key")
        .limit(points)
        .select("customer_id", sf.col("f").alias("frequency"), sf.col("m").alias("monetary_value"))
    )
    varies = bool(row[2]) and bool(row[3])
    return dist.order_value_table(
        shown, correlation=dist.correlation_of(n, varies, row[1]), repeat_buyers=n
    )
