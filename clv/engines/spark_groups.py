"""Customer groups on Spark: each customer's channel (or loyalty group), the channels'
table, and the models of each group fitted from distinct rows.

Each function states a definition of :mod:`clv.analysis` or :mod:`clv.models` in Spark's
terms (the one-machine function it matches is named) and brings back a compact table: a row
per channel, or the distinct (group, frequency, recency, T, spend) rows a fit or an interval
needs, with their customer counts; never a row per customer.
"""

from collections.abc import Iterator, Mapping
from typing import cast

import polars as pl
import pyarrow as pa

from clv.analysis.orders import customer_table
from clv.analysis.segments import TIERS, top_count
from clv.data.groups import UNKNOWN, GroupBy
from clv.engines.spark import _collect, fit_tables, fit_tables_model, score, time_unit_of
from clv.engines.spark_session import DataFrame, Window, sf
from clv.engines.spark_tables import _tier
from clv.models.groups import GroupedClvModel, fit_groups
from clv.models.model import ClvModel


def customer_groups(rows: DataFrame, *, by: GroupBy) -> DataFrame:
    """:func:`clv.data.groups.customer_groups` of checked rows that keep ``_row`` (their
    order in the source): ``customer_id`` and ``by``, the channel of the customer's first
    order (earliest date, then smallest ``order_id``, then the first row in the source;
    :data:`~clv.data.groups.UNKNOWN` when missing), or ``"member"`` / ``"non_member"``."""
    if by == "loyalty":
        member = sf.coalesce(sf.max("loyalty"), sf.lit(False))
        group = sf.when(member, sf.lit("member")).otherwise(sf.lit("non_member"))
        return rows.groupBy("customer_id").agg(group.alias(by))
    order = [c for c in ("date", "order_id", "_row") if c in rows.columns]
    first = sf.min(sf.struct(*order, sf.col("channel").cast("string").alias("channel")))
    return rows.groupBy("customer_id").agg(sf.coalesce(first["channel"], sf.lit(UNKNOWN)).alias(by))


def with_group(summary: DataFrame, rows: DataFrame, *, by: GroupBy) -> DataFrame:
    """:func:`clv.data.groups.with_customer_group` on Spark: ``summary`` with the column
    ``by`` of :func:`customer_groups` of ``rows`` (last)."""
    return summary.join(customer_groups(rows, by=by), "customer_id", "left")


def fit_by_group(
    summary: DataFrame,
    *,
    by: str,
    penalizer: float | Mapping[str, float],
    purchase_model: str,
    pooled: ClvModel | None = None,
) -> GroupedClvModel:
    """:func:`clv.models.fitting.fit` with ``by`` (:func:`clv.models.groups.fit_by_group`)
    for a Spark summary with the column ``by``: Spark groups each group's customers into
    distinct rows (:func:`clv.engines.spark.fit_tables`), the driver fits each group, and
    the pooled model on the groups' rows added up (unless ``pooled`` is given)."""
    bg, gg = fit_tables(summary, by=by)
    unit = time_unit_of(bg)
    sizes = {
        str(name): (int(n), int(repeat))
        for name, n, repeat in bg.group_by(by)
        .agg(pl.col("w").sum(), pl.col("w").filter(pl.col("x") > 0).sum().alias("repeat"))
        .iter_rows()
    }
    options = {"penalizer": penalizer, "purchase_model": purchase_model, "time_unit": unit}

    def fit_group(name: str, group: str) -> ClvModel:
        rows = [t.filter(pl.col(by) == name).drop(by) for t in (bg, gg)]
        return fit_tables_model(*rows, **options, group=group, _warn=False)  # type: ignore[arg-type]

    def fit_pooled(group: str) -> ClvModel:
        rows = [
            t.group_by([c for c in t.columns if c not in (by, "w")]).agg(pl.col("w").sum())
            for t in (bg, gg)
        ]
        return fit_tables_model(*rows, **options, group=group, _warn=False)  # type: ignore[arg-type]

    return fit_groups(sizes, by=by, fit_group=fit_group, fit_pooled=fit_pooled, pooled=pooled)


def value_rows(
    model: GroupedClvModel, summary: DataFrame, customers: int, **money: float | str
) -> pl.DataFrame:
    """The distinct rows :func:`clv.analysis.group_value.group_value` totals with
    ``weights``: each customer scored by their group's model on the workers, tiered by
    point CLV as :func:`clv.analysis.segments.value_tiers` does (rank by CLV, ties by
    ``customer_id``, ``customers`` of them; :data:`~clv.analysis.segments.TIERS`), then
    grouped by (group, ``tier``, frequency, recency, T, monetary value, time unit) with
    ``customers`` each."""
    scores = score(model, summary, **money)  # type: ignore[arg-type]
    rank = sf.row_number().over(Window.orderBy(sf.desc_nulls_last("clv"), sf.asc("customer_id")))
    inputs = ("frequency", "recency", "T", "monetary_value")
    table = (
        summary.select("customer_id", model.by, "time_unit")
        .join(scores, "customer_id")
        .withColumn("tier", _tier(rank, TIERS, customers))
        .groupBy(model.by, "tier", *inputs, "time_unit")
        .agg(sf.count(sf.lit(1)).alias("customers"))
    )
    return _collect(table).sort(model.by, "tier", *inputs)


def channel_sums(
    table: DataFrame, customers: int, *, value: str, good_share: float
) -> pl.DataFrame:
    """:func:`clv.analysis.kpis.channel_sums` of :func:`clv.engines.spark_tables.ranked`
    with ``channel`` and the column ``value`` (the basis' historical value of each
    customer), ``customers`` rows: good = in the top ``top_count(customers, good_share)``
    by ``value`` (ties by ``customer_id``, nulls last), ``good_clv`` the same by CLV
    (``clv_rank``). One row per channel."""
    top = top_count(customers, good_share)
    if value == "revenue":
        rank = sf.col("rank")
    else:
        order = Window.orderBy(sf.desc_nulls_last(value), sf.asc("customer_id"))
        rank = sf.row_number().over(order)
    good = table.withColumn("_good", rank <= top)
    sums = good.groupBy("channel").agg(
        sf.count(sf.lit(1)).alias("customers"),
        sf.count(sf.when(sf.col("_good"), 1)).alias("good_customers"),
        sf.count(sf.when(sf.col("orders") > 1, 1)).alias("repeaters"),
        sf.sum("revenue").alias("revenue"),
        sf.sum("orders").alias("orders"),
        sf.coalesce(sf.sum(value), sf.lit(0.0)).alias("value"),
        sf.count(value).alias("valued"),
        sf.coalesce(sf.sum("clv"), sf.lit(0.0)).alias("clv"),
        sf.count("clv").alias("scored"),
        sf.count(sf.when(sf.col("clv_rank") <= top, 1)).alias("good_clv"),
    )
    frame = _collect(sums)
    return frame.with_columns(
        pl.col(c).cast(pl.Int64)
        for c in ("customers", "good_customers", "repeaters", "orders", "valued", "scored")
    ).with_columns(pl.col("good_clv").cast(pl.Int64), pl.col("value").cast(pl.Float64))


MARGINS_ARROW = pa.schema([("customer_id", pa.string()), ("margin", pa.float64())])
"""The rows :func:`customer_margins` makes."""


def customer_margins(rows: DataFrame) -> DataFrame:
    """Each customer's ``margin`` of the checked rows (with ``_row``, their order in the
    source), made by :func:`clv.analysis.orders.customer_table` itself: Spark gathers each
    customer's rows, and each Arrow batch of whole customers goes through it in source
    order, so every margin is added per order, then per customer, in the polars engine's
    order (bit-identical: a rank by margin keeps the polars engine's ties)."""
    kept = [c for c in ("date", "amount", "margin", "order_id", "_row") if c in rows.columns]
    grouped = rows.groupBy("customer_id").agg(sf.collect_list(sf.struct(*kept)).alias("rows"))

    def margins(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                customers = cast(pl.DataFrame, pl.from_arrow(batch))
                flat = customers.explode("rows").unnest("rows").sort("_row").drop("_row")
                table = customer_table(flat).select("customer_id", "margin")
                yield from table.to_arrow().cast(MARGINS_ARROW).to_batches()

    return grouped.mapInArrow(margins, "customer_id string, margin double")
