"""The KPIs, the at-risk threshold and the segments of an analysis, computed by Spark.

Each function states one definition of :mod:`clv.analysis` in Spark's terms (the polars
function it matches is named), runs on the workers and brings back numbers or a few rows,
never a row per customer or per transaction. Ranks are exact: a window over the whole
table, which Spark sorts on one worker (not the driver). ``tests/test_spark.py`` checks
every number against the polars engine.
"""

from collections.abc import Mapping, Sequence
from typing import cast

import polars as pl

from clv.analysis import risk
from clv.analysis.kpis import CONCENTRATION, top_share_key
from clv.analysis.segments import (
    ACTIVE_CELLS,
    ACTIVE_MIN_P_ALIVE,
    RFM_CELLS,
    SCORE_COLUMNS,
    tier_bounds,
    top_count,
)
from clv.data.rfm import SUMMARY_COLUMNS
from clv.engines.spark_orders import member_flags
from clv.engines.spark_session import Column, DataFrame, Row, Window, sf

SCORES = ("p_alive", "expected_purchases", "expected_order_value", "clv")
"""The score columns of :func:`ranked` (those :func:`clv.analysis.segments.segment_table`
takes from point scores)."""


def ranked(summary: DataFrame, scores: DataFrame) -> DataFrame:
    """The summary with the point scores (``clv`` null as 0; any of the ranges of
    :data:`~clv.analysis.segments.SCORE_COLUMNS` the scores have) and each customer's ``rank``
    by revenue and ``clv_rank`` by CLV: 1 = highest, ties by ``customer_id``
    (:func:`clv.analysis.segments.value_tiers`)."""
    ranges = [c for c in SCORE_COLUMNS if c in scores.columns and c not in SCORES]
    table = summary.join(scores.select("customer_id", *SCORES, *ranges), "customer_id", "left")
    table = table.withColumn("clv", sf.coalesce(sf.col("clv"), sf.lit(0.0)))
    for column, rank in (("revenue", "rank"), ("clv", "clv_rank")):
        order = Window.orderBy(sf.desc_nulls_last(column), sf.asc("customer_id"))
        table = table.withColumn(rank, sf.row_number().over(order).cast("bigint"))
    return table


def value_totals(table: DataFrame, customers: int) -> tuple[float, float, dict[str, float | None]]:
    """Of :func:`ranked` (``customers`` rows): total revenue, total CLV, and
    :func:`clv.analysis.kpis.concentration`: the top shares by rank and the Gini
    coefficient ``sum_i (n + 1 - 2 r_i) x_i / (n sum x)`` over values clipped at 0, ``r``
    the rank from the top (:func:`clv.analysis.profile.gini`)."""
    n = customers
    aggs: list[Column] = []
    for column, shares in CONCENTRATION:
        x = sf.col(column)
        rank = sf.col("rank" if column == "revenue" else "clv_rank")
        clipped = sf.greatest(x, sf.lit(0.0))
        aggs += [
            sf.sum(x).alias(f"{column}_total"),
            sf.sum(clipped).alias(f"{column}_clipped"),
            sf.sum((sf.lit(n + 1) - 2 * rank) * clipped).alias(f"{column}_weighted"),
        ]
        aggs += [
            sf.coalesce(sf.sum(sf.when(rank <= top_count(n, s), x)), sf.lit(0.0)).alias(
                top_share_key(column, s)
            )
            for s in shares
        ]
    row = cast(Row, table.agg(*aggs).first())
    out: dict[str, float | None] = {}
    for column, shares in CONCENTRATION:
        total = float(row[f"{column}_total"] or 0.0)
        for s in shares:
            key = top_share_key(column, s)
            out[key] = float(row[key]) / total if total else None
        positive = float(row[f"{column}_clipped"] or 0.0)
        gini = 0.0
        if n and positive > 0:
            gini = min(max(float(row[f"{column}_weighted"]) / (n * positive), 0.0), 1.0)
        out[f"gini_{column}"] = gini
    return float(row["revenue_total"] or 0.0), float(row["clv_total"] or 0.0), out


def quantile(frame: DataFrame, column: str | Column, q: float) -> float | None:
    """:meth:`polars.Series.quantile` (linear) of the non-null values of ``column``: Spark
    sorts them and brings back the two around the quantile
    (:func:`clv.analysis.risk.quantile_between`). None without values."""
    values = frame.select(sf.col(column) if isinstance(column, str) else column)
    values = values.toDF("v").filter(sf.col("v").isNotNull())
    n = values.count()
    if n == 0:
        return None
    lower, fraction = risk.quantile_position(n, q)
    numbered = values.withColumn("r", sf.row_number().over(Window.orderBy("v")))
    around = numbered.filter(sf.col("r").between(lower + 1, lower + 2)).orderBy("r")
    return risk.quantile_between([row["v"] for row in around.collect()], fraction)


def overdue(calibration: DataFrame, *, gaps: float | None) -> risk.Overdue:
    """:func:`clv.analysis.risk.overdue_threshold` of a calibration summary with holdout
    columns (:func:`clv.engines.spark.calibration_holdout`): the calibration customers
    beyond each ``k`` of :data:`~clv.analysis.risk.OVERDUE_GRID` (and ``gaps``) and how
    many bought again, counted in one pass (:func:`clv.analysis.risk.calibration_gaps`)."""
    if calibration.isEmpty():
        return risk.overdue_threshold(None, gaps=gaps)
    own = sf.when(sf.col("frequency") > 0, sf.col("recency") / sf.col("frequency"))
    typical = quantile(calibration, own, 0.5)
    silent = sf.col("T") - sf.col("recency")
    table = calibration.select(
        (silent / sf.coalesce(own, sf.lit(typical).cast("double"))).alias("gaps"),
        (sf.col("frequency_holdout") > 0).alias("bought_again"),
    ).filter(sf.col("gaps").isNotNull())
    ks = sorted({*risk.OVERDUE_GRID, *([] if gaps is None else [float(gaps)])})
    beyond = {k: sf.col("gaps") > k for k in ks}
    row = cast(
        Row,
        table.agg(
            *(sf.count(sf.when(b, 1)).alias(f"n{i}") for i, b in enumerate(beyond.values())),
            *(
                sf.count(sf.when(b & sf.col("bought_again"), 1)).alias(f"b{i}")
                for i, b in enumerate(beyond.values())
            ),
        ).first(),
    )
    counts = {k: (row[f"n{i}"], row[f"b{i}"]) for i, k in enumerate(ks)}

    def at(k: float) -> tuple[int, float | None]:
        n, bought = counts[k]
        return n, bought / n if n else None

    return risk.choose_overdue(at, gaps=gaps)


def member_sums(table: DataFrame, transactions: DataFrame) -> pl.DataFrame:
    """The sums :func:`clv.analysis.loyalty.member_table` reads, of :func:`ranked` and the
    transactions' ``loyalty`` flags: a customer is a member when any of their rows is
    flagged (:func:`clv.analysis.orders.customer_table`). Two rows."""
    flags = member_flags(transactions)
    member = sf.when(sf.col("loyalty"), sf.lit("members")).otherwise(sf.lit("non_members"))
    sums = (
        table.join(flags, "customer_id")
        .groupBy(member.alias("group"))
        .agg(
            sf.count(sf.lit(1)).alias("customers"),
            sf.sum("orders").alias("orders"),
            sf.count(sf.when(sf.col("orders") > 1, 1)).alias("repeaters"),
            sf.sum("revenue").alias("revenue"),
            sf.sum("clv").alias("clv"),
            sf.count("clv").alias("scored"),
        )
    )
    return cast(pl.DataFrame, pl.from_arrow(sums.toArrow()))


def segments(
    table: DataFrame,
    customers: int,
    *,
    tiers: Sequence[tuple[str, float]],
    top_share: float,
    cells: Sequence[tuple[str, Mapping[str, tuple[int, int]]]] = RFM_CELLS,
    by: str | None = None,
) -> DataFrame:
    """:func:`clv.analysis.segments.segment_table` of :func:`ranked` (``customers`` rows),
    with the same columns and types, sorted by ``customer_id``; ``by``: the summary's
    group column, after its other columns (as with a model per group)."""
    n = customers
    quintiles = {"R": "last_purchase", "F": "orders", "M": "revenue"}
    for score, column in quintiles.items():
        rank = sf.rank().over(Window.orderBy(sf.asc(column)))  # ties share the lowest rank
        quintile = sf.lit(1) + sf.floor((rank - 1) * 5 / n)
        table = table.withColumn(score, sf.least(sf.greatest(quintile, sf.lit(1)), sf.lit(5)))
    cell = sf.lit("others")
    for name, rule in reversed(cells):  # the first cell that matches wins
        matches = sf.lit(True)
        for score, (lo, hi) in rule.items():
            matches &= sf.col(score).between(lo, hi)
        cell = sf.when(matches, sf.lit(name)).otherwise(cell)
    gone = cell.isin(*ACTIVE_CELLS) & (sf.col("p_alive") < ACTIVE_MIN_P_ALIVE)
    top = top_count(n, top_share)
    return table.select(
        *SUMMARY_COLUMNS,
        *([] if by is None else [by]),
        "rank",
        (sf.col("rank") <= top).alias("top"),
        _tier(sf.col("rank"), tiers, n).alias("tier"),
        *(sf.col(score).cast("tinyint").alias(score) for score in quintiles),
        sf.when(gone, sf.lit("at_risk")).otherwise(cell).alias("rfm_cell"),
        *(c for c in SCORE_COLUMNS if c in table.columns),
        "clv_rank",
        (sf.col("clv_rank") <= top).alias("clv_top"),
        _tier(sf.col("clv_rank"), tiers, n).alias("value_tier"),
    ).orderBy("customer_id")


def _tier(rank: Column, tiers: Sequence[tuple[str, float]], n: int) -> Column:
    """The tier of each rank (:func:`clv.analysis.segments.tier_bounds`)."""
    tier = sf.lit(tiers[-1][0])
    for (name, _), bound in reversed(list(zip(tiers, tier_bounds(tiers, n), strict=True))):
        tier = sf.when(rank <= bound, sf.lit(name)).otherwise(tier)
    return tier
