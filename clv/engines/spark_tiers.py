"""The value tiers, the top customers and the middle tier, summed by Spark.

Each function aggregates :func:`clv.engines.spark_tables.ranked` (a row per customer, kept
by Spark, with exact ranks by revenue and by CLV) into the compact numbers that one
function of :mod:`clv.analysis` finishes for both engines (named in each docstring): a row
per tier, the Lorenz curves' 101 sums, two rows of top-vs-rest means, a few counts, and
the head of the middle tier the report shows. The driver never holds a row per customer
or per transaction.
"""

from collections.abc import Sequence
from typing import cast

import numpy as np
import polars as pl

from clv.analysis import risk
from clv.analysis.findings import CLOSE_TO_TOP, MiddleCounts
from clv.analysis.profile import (
    CHANNEL_SHARE,
    LACKS,
    PROFILE_METRICS,
    GoodTier,
    gini_of,
    lorenz_of,
    lorenz_positions,
)
from clv.analysis.segments import TIERS, SegmentTotals, top_count
from clv.engines.spark import to_polars
from clv.engines.spark_session import Column, DataFrame, Row, sf
from clv.engines.spark_tables import _tier, quantile

RANKS = {"revenue": "rank", "clv": "clv_rank"}
"""The value columns of :func:`clv.engines.spark_tables.ranked` and their ranks (1 = the
highest value, ties by ``customer_id``)."""


def tiered(
    ranked: DataFrame, customers: int, *, tiers: Sequence[tuple[str, float]], top_share: float
) -> DataFrame:
    """:func:`clv.engines.spark_tables.ranked` (``customers`` rows) with the ``top`` flag,
    the ``tier`` by revenue and the ``value_tier`` by CLV of
    :func:`clv.analysis.segments.segment_table`."""
    rank, clv_rank = sf.col("rank"), sf.col("clv_rank")
    return ranked.withColumns(
        {
            "top": rank <= top_count(customers, top_share),
            "tier": _tier(rank, tiers, customers),
            "value_tier": _tier(clv_rank, tiers, customers),
        }
    )


def _total(values: Column) -> Column:
    return sf.coalesce(sf.sum(values), sf.lit(0.0))


def segment_totals(table: DataFrame) -> SegmentTotals:
    """:func:`clv.analysis.segments.segment_totals` of :func:`tiered`, in one pass."""
    top = sf.col("top")
    row = cast(
        Row,
        table.agg(
            sf.count(sf.lit(1)).alias("customers"),
            sf.count(sf.when(top, 1)).alias("top"),
            _total(sf.col("revenue")).alias("revenue"),
            _total(sf.when(top, sf.col("revenue"))).alias("top_revenue"),
            _total(sf.col("clv")).alias("clv"),
            _total(sf.when(top, sf.col("clv"))).alias("top_clv"),
            sf.min("p_alive").alias("lowest_p_alive"),
            sf.count(sf.when(sf.col("frequency") == 0, 1)).alias("one_time"),
            sf.count(sf.when(sf.col("revenue") <= 0, 1)).alias("refunded"),
        ).first(),
    )
    return SegmentTotals(**row.asDict())


def tier_stats(table: DataFrame, *, value_col: str, tier_col: str) -> pl.DataFrame:
    """:func:`clv.analysis.segments.tier_stats` of :func:`tiered`'s customers with a positive
    revenue (those :func:`clv.analysis.tables.tier_tables` keeps): a row per tier."""
    value = sf.col(value_col)
    stats = (
        table.filter(sf.col("revenue") > 0)
        .groupBy(sf.col(tier_col).alias("tier"))
        .agg(
            sf.count(sf.lit(1)).alias("customers"),
            sf.sum(value).alias("value"),
            sf.avg(value).alias("mean_value"),
            sf.min(value).alias("min_value"),
        )
    )
    return to_polars(stats, sort_by="tier")


def kept_totals(table: DataFrame) -> tuple[int, float, float]:
    """The customers with a positive revenue (those of the tier tables), their revenue and
    their predicted CLV."""
    kept = table.filter(sf.col("revenue") > 0)
    row = cast(
        Row,
        kept.agg(sf.count(sf.lit(1)), _total(sf.col("revenue")), _total(sf.col("clv"))).first(),
    )
    return int(row[0]), float(row[1]), float(row[2])


def lorenz(
    table: DataFrame, customers: int, columns: Sequence[str]
) -> dict[str, tuple[float, pl.DataFrame]]:
    """Each column's :func:`clv.analysis.profile.gini` and
    :func:`clv.analysis.profile.lorenz_curve` of :func:`clv.engines.spark_tables.ranked`
    (``customers`` rows; ``columns`` of :data:`RANKS`, never null). Each customer falls
    between two of the curve's points by their rank (the ``k``-th point holds the ``k``
    lowest, those ranked below ``n - k``): Spark sums the values, clipped at 0, between
    points (at most :data:`clv.analysis.profile.LORENZ_POINTS` rows) with the Gini's
    weighted sum, and the driver adds them up."""
    n = customers
    k = lorenz_positions(n)
    out = {}
    for column in columns:
        rank = sf.col(RANKS[column])
        clipped = sf.greatest(sf.col(column), sf.lit(0.0))
        position = sf.lit(n + 1) - rank  # 1 = the lowest value
        point: Column = sf.lit(None)
        for j in reversed(range(len(k))):
            point = sf.when(position <= int(k[j]), sf.lit(j)).otherwise(point)
        sums = table.groupBy(point.alias("point")).agg(
            sf.sum(clipped).alias("value"),
            sf.sum((sf.lit(n + 1) - 2 * rank) * clipped).alias("weighted"),
        )
        between = to_polars(sums, sort_by="point")
        held = np.zeros(len(k))
        held[between["point"].to_numpy()] = between["value"].to_numpy()
        held = np.cumsum(held)
        total = float(held[-1]) if len(k) else 0.0
        gini = gini_of(n, total, float(between["weighted"].sum()))
        out[column] = (gini, lorenz_of(n, k, held, total))
    return out


def good_tier(table: DataFrame) -> GoodTier:
    """:func:`clv.analysis.profile.good_tier` of :func:`tiered`: the lowest CLV, and the
    medians found by Spark's sort (:func:`clv.engines.spark_tables.quantile`)."""
    good = table.filter(sf.col("value_tier") == TIERS[0][0])
    row = cast(Row, good.agg(sf.count(sf.lit(1)), sf.min("clv")).first())
    if not row[0]:
        return GoodTier(None, None, None)
    return GoodTier(
        threshold=row[1],
        aov=quantile(good, sf.col("revenue") / sf.col("orders"), 0.5),
        p_alive=quantile(good, "p_alive", 0.5),
    )


def _middle(table: DataFrame) -> DataFrame:
    """The middle tier by CLV, full refunds left out (:attr:`Analysis.middle_tier`)."""
    return table.filter((sf.col("value_tier") == TIERS[1][0]) & (sf.col("revenue") > 0))


def _gone() -> Column:
    """:func:`clv.analysis.risk.gone`: P(alive) below the lost cut (False when null)."""
    return sf.coalesce(sf.col("p_alive") < sf.lit(risk.LOST_P_ALIVE), sf.lit(False))


def middle_counts(table: DataFrame, good: GoodTier, *, close: float = CLOSE_TO_TOP) -> MiddleCounts:
    """:func:`clv.analysis.findings.middle_counts` of the middle tier of :func:`tiered`
    against ``good`` (:func:`good_tier`), in one pass. Where each lack is first met is its
    first customer's CLV rank, then its place in :data:`clv.analysis.profile.LACKS` (the
    order of the middle tier's lists)."""
    clv = sf.col("clv")
    gap = sf.lit(good.threshold).cast("double") - clv  # clv_gap of middle_to_top
    near = gap <= sf.lit(close) * (clv + gap)
    kept = near & ~_gone()
    aov = sf.col("revenue") / sf.col("orders")
    lacks = {LACKS[0]: sf.col("orders") < 2}
    if good.aov is not None:
        lacks[LACKS[1]] = aov < sf.lit(good.aov)
    if good.p_alive is not None:
        lacks[LACKS[2]] = sf.col("p_alive") < sf.lit(good.p_alive)
    aggs = [
        sf.count(sf.lit(1)).alias("middle"),
        sf.count(sf.when(kept, 1)).alias("close"),
        sf.count(sf.when(near & _gone(), 1)).alias("gone"),
    ]
    for i, lack in enumerate(lacks.values()):
        aggs += [
            sf.count(sf.when(kept & lack, 1)).alias(f"n{i}"),
            sf.min(sf.when(kept & lack, sf.col("clv_rank"))).alias(f"first{i}"),
        ]
    row = cast(Row, _middle(table).agg(*aggs).first())
    counted = [
        (code, row[f"n{i}"], row[f"first{i}"] * len(LACKS) + LACKS.index(code))
        for i, code in enumerate(lacks)
        if row[f"n{i}"]
    ]
    return MiddleCounts(
        middle=row["middle"],
        close=row["close"],
        gone=row["gone"],
        lacks=pl.DataFrame(
            counted, schema={"what": pl.String, "n": pl.Int64, "first": pl.Int64}, orient="row"
        ),
    )


def middle_head(table: DataFrame, n: int) -> pl.DataFrame:
    """The first ``n`` customers of the middle tier of :func:`tiered` by CLV (ties by id),
    the customers already gone left out: the columns
    :func:`clv.analysis.profile.middle_candidates` reads, at most ``n`` rows."""
    head = (
        _middle(table)
        .filter(~_gone())
        .orderBy("clv_rank")
        .limit(n)
        .select("clv_rank", "customer_id", "clv", "orders", "revenue", "p_alive")
    )
    return to_polars(head, sort_by="clv_rank").drop("clv_rank")


def _order_key(transactions: DataFrame) -> str:
    return "order_id" if "order_id" in transactions.columns else "date"


def profile_stats(
    table: DataFrame, transactions: DataFrame, channels: DataFrame | None = None
) -> pl.DataFrame:
    """:func:`clv.analysis.profile.profile_stats` of :func:`tiered` and the transactions:
    each customer's orders, order value, days from first to last order, days between
    orders, products and membership as :func:`clv.analysis.orders.customer_table` defines
    them (an order is an ``order_id``, else a customer-day, dated by its first row), and the
    share of each channel of ``channels`` (``customer_id``, first-order ``channel``), their
    mean for the top customers and the rest. Two rows."""
    key = _order_key(transactions)
    order_aggs = [sf.min("date").alias("date"), sf.sum("amount").alias("amount")]
    if "loyalty" in transactions.columns:
        order_aggs.append(sf.max("loyalty").alias("loyalty"))
    orders = transactions.groupBy("customer_id", sf.col(key).alias("_order")).agg(*order_aggs)
    orders_n = sf.count(sf.lit(1))
    customer_aggs = [
        orders_n.alias("orders"),
        (sf.sum("amount") / orders_n).alias("aov"),
        sf.datediff(sf.max("date"), sf.min("date")).alias("tenure_days"),
    ]
    if "loyalty" in transactions.columns:
        customer_aggs.append(sf.coalesce(sf.max("loyalty"), sf.lit(False)).alias("loyalty"))
    customers = orders.groupBy("customer_id").agg(*customer_aggs)
    customers = customers.withColumn(
        "days_between_orders",
        sf.when(sf.col("orders") > 1, sf.col("tenure_days") / (sf.col("orders") - 1)),
    )
    if "product" in transactions.columns:
        spans = sf.min(key) != sf.max(key)  # the product is in two or more orders
        products = (
            transactions.groupBy("customer_id", "product")
            .agg(spans.alias("spans"))
            .groupBy("customer_id")
            .agg(
                sf.count(sf.lit(1)).alias("distinct_products"),
                sf.max("spans").alias("reordered_product"),
            )
        )
        customers = customers.join(products, "customer_id")
    scored = table.select("customer_id", "top", "p_alive", "clv")
    customers = customers.join(scored, "customer_id")
    means = [
        sf.avg(sf.col(column).cast("double")).alias(name)
        for name, column, _, _ in PROFILE_METRICS
        if column in customers.columns
    ]
    if channels is not None:
        customers = customers.join(channels.select("customer_id", "channel"), "customer_id")
        names = sorted(r[0] for r in channels.select("channel").dropna().distinct().collect())
        means += [  # a customer without a channel counts in no channel's share
            sf.avg((sf.col("channel") == sf.lit(name)).cast("double")).alias(CHANNEL_SHARE + name)
            for name in names
        ]
    stats = customers.groupBy("top").agg(*means, sf.count(sf.lit(1)).cast("double").alias("_n"))
    return to_polars(stats, sort_by="top")
