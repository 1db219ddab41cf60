"""The order tables of an analysis, aggregated by Spark: months, cohorts, first vs later
orders, retention, the loyalty programme by month.

:func:`orders` is :func:`clv.analysis.orders.order_table` as a Spark DataFrame; every other
function aggregates it (or the transactions) into the compact table the polars function it
names makes from the one-machine rows: a row per month, per cohort and month, per number of
days, or a few numbers. The tables are finished by the same polars code on both engines.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, cast

import polars as pl

from clv.analysis.kpis import COHORT_COUNTS
from clv.analysis.loyalty import LAUNCH_SUMS, MONTH_SUMS
from clv.analysis.loyalty_series import MONTH_MARGINS
from clv.analysis.retention import year_flags
from clv.analysis.tables import MONTH_COUNTS
from clv.engines.spark_session import Column, DataFrame, Row, Window, sf


def _polars(frame: DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """A compact Spark table on the driver, with the polars columns' types."""
    table = cast(pl.DataFrame, pl.from_arrow(frame.toArrow()))
    return table.select(list(schema)).cast(dict(schema))  # type: ignore[arg-type]


def _total(condition: Column, value: Column) -> Column:
    """The sum of ``value`` where ``condition`` holds, 0.0 without such rows (polars')."""
    return sf.coalesce(sf.sum(sf.when(condition, value)), sf.lit(0.0))


def _month(column: str = "date") -> Column:
    return sf.trunc(sf.col(column), "month")


def orders(transactions: DataFrame) -> DataFrame:
    """:func:`clv.analysis.orders.order_table` of checked transactions: one row per order
    (an ``order_id``, else a customer-day) with ``customer_id``, ``order`` (the order key),
    ``date`` (its first row's), ``amount`` and, when present, ``margin`` (sums) and
    ``loyalty`` (any row flagged), ``order_number`` (1 = the customer's earliest order, ties
    by the order key) and ``is_first``."""
    key = "order_id" if "order_id" in transactions.columns else "date"
    aggs = [sf.min("date").alias("date"), sf.sum("amount").alias("amount")]
    if "margin" in transactions.columns:
        aggs.append(sf.sum("margin").alias("margin"))
    if "loyalty" in transactions.columns:
        aggs.append(sf.coalesce(sf.max("loyalty"), sf.lit(False)).alias("loyalty"))
    grouped = transactions.groupBy("customer_id", sf.col(key).alias("order")).agg(*aggs)
    number = sf.row_number().over(Window.partitionBy("customer_id").orderBy("date", "order"))
    return grouped.withColumn("order_number", number.cast("bigint")).withColumn(
        "is_first", sf.col("order_number") == 1
    )


def order_counts(orders: DataFrame) -> dict[str, Any]:
    """The counts :func:`clv.analysis.kpis.returning_from_counts` reads, of :func:`orders`
    (:func:`clv.analysis.orders.order_counts` and the customers with a second order)."""
    first = sf.col("is_first")
    amount = sf.col("amount")
    row = cast(
        Row,
        orders.agg(
            sf.count(sf.lit(1)).alias("orders"),
            _total(sf.lit(True), amount).alias("revenue"),
            sf.count(sf.when(first, 1)).alias("new_orders"),
            _total(first, amount).alias("new_revenue"),
            sf.count(sf.when(~first, 1)).alias("returning_orders"),
            _total(~first, amount).alias("returning_revenue"),
            sf.count(sf.when(sf.col("order_number") == 2, 1)).alias("repeaters"),
        ).first(),
    )
    return row.asDict() | {"customers": row["new_orders"]}


def second_order_days(orders: DataFrame) -> pl.DataFrame:
    """The days from the first to the second order of each customer with two, counted by
    number of days: ``days``, ``customers`` (the input of
    :func:`clv.analysis.kpis.second_order_days`; a row per number of days)."""
    first_two = orders.filter(sf.col("order_number") <= 2).groupBy("customer_id")
    days = first_two.agg(
        sf.count(sf.lit(1)).alias("n"), sf.datediff(sf.max("date"), sf.min("date")).alias("days")
    ).filter(sf.col("n") == 2)
    counts = days.groupBy("days").agg(sf.count(sf.lit(1)).alias("customers"))
    return _polars(counts, {"days": pl.Int64(), "customers": pl.Int64()})


def monthly_counts(orders: DataFrame) -> pl.DataFrame:
    """:func:`clv.analysis.tables.monthly_counts` of :func:`orders`: a row per month."""
    first, amount = sf.col("is_first"), sf.col("amount")
    counts = orders.groupBy(_month().alias("month")).agg(
        sf.count(sf.when(first, 1)).alias("new_orders"),
        _total(first, amount).alias("new_revenue"),
        sf.count(sf.when(~first, 1)).alias("returning_orders"),
        _total(~first, amount).alias("returning_revenue"),
    )
    return _polars(counts, MONTH_COUNTS)


def cohort_counts(orders: DataFrame) -> pl.DataFrame:
    """:func:`clv.analysis.kpis.cohort_counts` of :func:`orders`: a row per cohort month
    and month since it."""
    months = orders.select("customer_id", "amount", _month().alias("month")).withColumn(
        "cohort", sf.min("month").over(Window.partitionBy("customer_id"))
    )
    since = (sf.year("month") - sf.year("cohort")) * 12 + sf.month("month") - sf.month("cohort")
    sizes = months.groupBy("cohort").agg(sf.count_distinct("customer_id").alias("cohort_customers"))
    counts = (
        months.groupBy("cohort", since.alias("months_since"))
        .agg(
            sf.count_distinct("customer_id").alias("active_customers"),
            sf.count(sf.lit(1)).alias("orders"),
            sf.sum("amount").alias("revenue"),
        )
        .join(sizes, "cohort")
    )
    return _polars(counts, COHORT_COUNTS)


def retention_counts(
    orders: DataFrame, *, end: dt.date, window: int, margin_rate: float
) -> dict[str, Any]:
    """:func:`clv.analysis.retention.retention_counts` of :func:`orders`."""
    year_ago, two_years_ago = year_flags(end, window)
    date, amount = sf.col("date"), sf.col("amount")
    margin = sf.col("margin") if "margin" in orders.columns else amount * sf.lit(margin_rate)
    last = date > sf.lit(year_ago)
    before = (date > sf.lit(two_years_ago)) & ~last
    per = (
        orders.filter(date <= sf.lit(end))
        .groupBy("customer_id")
        .agg(
            sf.max(before).alias("before"),
            sf.max(last).alias("last"),
            sf.count(sf.when(last, 1)).alias("orders_last"),
            _total(last, amount).alias("revenue_last"),
            _total(last, margin).alias("margin_last"),
        )
    )
    row = cast(
        Row,
        per.agg(
            sf.count(sf.when(sf.col("before"), 1)).alias("before"),
            sf.count(sf.when(sf.col("before") & sf.col("last"), 1)).alias("retained"),
            sf.count(sf.when(sf.col("last"), 1)).alias("active"),
            sf.coalesce(sf.sum("orders_last"), sf.lit(0)).alias("orders"),
            sf.coalesce(sf.sum("revenue_last"), sf.lit(0.0)).alias("revenue"),
            sf.coalesce(sf.sum("margin_last"), sf.lit(0.0)).alias("margin"),
        ).first(),
    )
    return row.asDict()


def member_month_sums(
    orders: DataFrame, *, costs: Mapping[int, float], margin_rate: float | None
) -> pl.DataFrame:
    """:func:`clv.analysis.loyalty.member_month_sums` of :func:`orders` (with
    ``loyalty``): a row per month."""
    rate = 1.0 if margin_rate is None else margin_rate
    amount, member = sf.col("amount"), sf.col("loyalty")
    margin = sf.col("margin") if "margin" in orders.columns else amount * sf.lit(rate)
    number = sf.col("order_number")
    reward_cost = sf.lit(0.0)
    for k, cost in costs.items():
        reward_cost = reward_cost + sf.when(number == k, sf.lit(cost)).otherwise(0.0)
    is_reward = number.isin(list(costs)) & member if costs else sf.lit(False)
    month = orders.withColumn("month", _month())
    sums = month.groupBy("month").agg(
        sf.count(sf.when(member, 1)).alias("member_orders"),
        sf.count(sf.when(~member, 1)).alias("non_member_orders"),
        _total(member, amount).alias("member_revenue"),
        _total(~member, amount).alias("non_member_revenue"),
        _total(member, margin).alias("member_margin"),
        _total(~member, margin).alias("non_member_margin"),
        sf.count(sf.when(is_reward, 1)).alias("rewards"),
        _total(member, reward_cost).alias("reward_cost"),
    )
    per_customer = month.groupBy("month", "customer_id").agg(
        sf.max(member).alias("member"), sf.max(~member).alias("non_member")
    )
    active = per_customer.groupBy("month").agg(
        sf.count(sf.when(sf.col("member"), 1)).alias("members_active"),
        sf.count(sf.when(sf.col("non_member"), 1)).alias("non_members_active"),
    )
    return _polars(sums.join(active, "month", "left"), MONTH_SUMS)


def overview(transactions: DataFrame) -> dict[str, Any]:
    """The aggregates :func:`clv.analysis.tables.overview_values` reads, of checked
    transactions: ``rows``, ``customers``, ``first`` and ``last`` day, ``total`` and
    ``mean`` amount (currency)."""
    amount = sf.col("amount")
    row = cast(
        Row,
        transactions.agg(
            sf.count(sf.lit(1)).alias("rows"),
            sf.count_distinct("customer_id").alias("customers"),
            sf.min("date").alias("first"),
            sf.max("date").alias("last"),
            sf.coalesce(sf.sum(amount), sf.lit(0.0)).alias("total"),
            sf.avg(amount).alias("mean"),
        ).first(),
    )
    return row.asDict()


def value_since(transactions: DataFrame, start: dt.date, column: str) -> float:
    """The sum of ``column`` (``amount`` or ``margin``, currency) of the transactions dated
    ``start`` or later."""
    total = sf.coalesce(sf.sum(column), sf.lit(0.0))
    row = cast(Row, transactions.filter(sf.col("date") >= sf.lit(start)).agg(total).first())
    return float(row[0])


def month_margins(orders: DataFrame, first: dt.date, *, margin_rate: float | None) -> pl.DataFrame:
    """:func:`clv.analysis.loyalty_series.month_margins` of :func:`orders` (with
    ``loyalty``) in the month starting on ``first``: a row per group."""
    rate = 1.0 if margin_rate is None else margin_rate
    margin = sf.col("margin") if "margin" in orders.columns else sf.col("amount") * sf.lit(rate)
    month = orders.filter((_month() == sf.lit(first)) & sf.col("loyalty").isNotNull())
    per = month.groupBy("customer_id", "loyalty").agg(sf.sum(margin).alias("margin"))
    n = sf.count(sf.lit(1))
    stats = per.groupBy("loyalty").agg(
        n.alias("customers"),
        sf.avg("margin").alias("mean"),
        sf.when(n > 1, sf.stddev_samp("margin")).alias("sd"),
    )
    return _polars(stats, MONTH_MARGINS)


def launch_sums(orders: DataFrame, *, launch: dt.date) -> pl.DataFrame:
    """:func:`clv.analysis.loyalty.launch_sums` of :func:`orders`: a row per period."""
    before = sf.col("date") < sf.lit(launch)
    period = sf.when(before, sf.lit("before")).otherwise(sf.lit("after"))
    per = orders.groupBy(period.alias("period"), "customer_id").agg(
        sf.count(sf.lit(1)).alias("n"),
        sf.sum("amount").alias("revenue"),
        sf.max("is_first").alias("new"),
        sf.min("date").alias("first"),
        sf.max("date").alias("last"),
    )
    sums = per.groupBy("period").agg(
        (sf.datediff(sf.max("last"), sf.min("first")) + 1).alias("days"),
        sf.count(sf.lit(1)).alias("customers"),
        sf.sum("n").alias("orders"),
        sf.sum("revenue").alias("revenue"),
        sf.count(sf.when(sf.col("n") > 1, 1)).alias("repeaters"),
        sf.count(sf.when(sf.col("new"), 1)).alias("new_customers"),
    )
    return _polars(sums, LAUNCH_SUMS)


def member_flags(transactions: DataFrame) -> DataFrame:
    """Each customer's ``loyalty``: a member when any of their rows is flagged
    (:func:`clv.analysis.orders.customer_table`)."""
    return transactions.groupBy("customer_id").agg(
        sf.coalesce(sf.max("loyalty"), sf.lit(False)).alias("loyalty")
    )


def milestone_counts(
    table: DataFrame, transactions: DataFrame, *, milestones: Sequence[int], keys: Sequence[str]
) -> pl.DataFrame:
    """:func:`clv.analysis.loyalty.milestone_counts` of the summary rows of ``table``
    (:func:`clv.engines.spark_tables.ranked`: ``orders`` and the ``keys``), the members'
    only when the transactions have a ``loyalty`` column: a row per distinct ``keys``."""
    if "loyalty" in transactions.columns:
        members = member_flags(transactions).filter(sf.col("loyalty")).select("customer_id")
        table = table.join(members, "customer_id")
    reached = {f"reached_{k}": sf.count(sf.when(sf.col("orders") >= k, 1)) for k in milestones}
    counts = table.groupBy(*keys).agg(
        sf.count(sf.lit(1)).alias("customers"), *(c.alias(n) for n, c in reached.items())
    )
    return cast(pl.DataFrame, pl.from_arrow(counts.toArrow()))
