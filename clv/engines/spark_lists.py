"""The at-risk and win-back lists on Spark: who is listed, in list order, and their totals.

:func:`at_risk` and :func:`lost` state :func:`clv.analysis.risk.at_risk` and
:func:`clv.analysis.risk.lost` in Spark's terms: the same rule and thresholds (the
thresholds are quantiles Spark sorts for, :func:`clv.engines.spark_tables.quantile`), the
same columns and types, the same order (ties by ``customer_id``). The lists stay Spark
DataFrames: the driver takes their totals (:func:`totals`), a head to show, or their rows
batch by batch to write (:mod:`clv.engines.spark_batches`).
"""

from typing import cast

import polars as pl

from clv.analysis import risk
from clv.analysis.findings import ListCounts, at_risk_totals
from clv.engines.spark import to_polars
from clv.engines.spark_orders import member_flags
from clv.engines.spark_session import Column, DataFrame, Row, sf
from clv.engines.spark_tables import quantile

SHOWN = ("clv_pred_low", "clv_pred_high", "value_tier", "rfm_cell")
"""The columns the at-risk list keeps when its table has them (:func:`risk.at_risk`)."""


def at_risk(
    table: DataFrame,
    *,
    rule: risk.AtRiskRule,
    min_value_quantile: float,
    max_p_alive: float,
    overdue: risk.Overdue | None,
) -> DataFrame:
    """:func:`clv.analysis.risk.at_risk` of ``table`` (Spark's segments, or
    :func:`clv.engines.spark_tables.ranked`): the listed customers by value at stake,
    descending, ties by ``customer_id``."""
    p_alive, revenue = sf.col("p_alive"), sf.col("revenue")
    alive = p_alive >= risk.LOST_P_ALIVE
    table = table.withColumn("value_if_stays", sf.when(p_alive > 0, sf.col("clv") / p_alive))
    cut = quantile(table.filter(alive & (revenue > 0)), "value_if_stays", min_value_quantile)
    high = (revenue > 0) & alive
    high &= sf.col("value_if_stays") >= sf.lit(float("inf") if cut is None else cut)
    keep = ["customer_id", "revenue", "orders", "last_purchase", "p_alive", "clv"]
    keep += ["value_if_stays", "value_at_stake", *(c for c in SHOWN if c in table.columns)]
    if rule == "p_alive":
        listed = table.filter(high & (p_alive <= max_p_alive))
        listed = listed.withColumn("value_at_stake", (1 - p_alive) * sf.col("value_if_stays"))
    else:
        overdue = overdue or risk.overdue_threshold(None)
        lapse = 1.0 if overdue.lapse_rate is None else overdue.lapse_rate
        overdue_now = sf.col("gaps_since_last_purchase") > overdue.gaps
        listed = with_silence(table).filter(high & overdue_now)
        listed = listed.withColumn("value_at_stake", sf.col("value_if_stays") * lapse)
        keep += list(risk.RECENCY_COLUMNS)
    return in_list_order(listed.select(*keep))


def list_order() -> list[Column]:
    """The at-risk list's order: by value at stake, descending, ties by ``customer_id``."""
    return [sf.desc("value_at_stake"), sf.asc("customer_id")]


def in_list_order(listed: DataFrame) -> DataFrame:
    """``listed`` in :func:`list_order`."""
    return listed.orderBy(*list_order())


def members(listed: DataFrame, transactions: DataFrame) -> DataFrame:
    """The loyalty members of the at-risk list ``listed`` (:func:`at_risk`), in its order
    (:func:`clv.analysis.tables.members_only`; a member has any row flagged)."""
    flagged = member_flags(transactions).filter(sf.col("loyalty")).select("customer_id")
    return in_list_order(listed.join(flagged, "customer_id", "left_semi"))


def with_silence(table: DataFrame) -> DataFrame:
    """:func:`clv.analysis.risk.with_silence`: days since the last purchase, the usual gap
    between purchase days (a one-time buyer's: the repeat buyers' median) and the silence
    in usual gaps."""
    days = sf.datediff("observation_end", "last_purchase")
    span = sf.datediff("last_purchase", "first_purchase")
    own = sf.when(sf.col("frequency") > 0, span / sf.col("frequency")).cast("double")
    typical = quantile(table, own, 0.5)
    gap = sf.coalesce(own, sf.lit(typical).cast("double"))
    return table.select(
        "*",
        days.cast("bigint").alias("days_since_last_purchase"),
        gap.alias("usual_gap_days"),
        (days / gap).alias("gaps_since_last_purchase"),
    )


def lost(table: DataFrame, *, min_value_quantile: float, rule: risk.AtRiskRule) -> DataFrame:
    """:attr:`clv.analysis.results.Analysis.lost` (:func:`clv.analysis.risk.lost`) of
    ``table``: customers already gone with a net revenue at least its
    ``min_value_quantile``, by revenue descending, ties by ``customer_id``; no rows under
    the recency rule."""
    columns = ("customer_id", "revenue", "orders", "last_purchase", "p_alive")
    if rule == "recency":
        return table.select(*columns).limit(0)
    p_alive, revenue = sf.col("p_alive"), sf.col("revenue")
    cut = quantile(table.filter(revenue > 0), "revenue", min_value_quantile)
    gone = (p_alive < risk.LOST_P_ALIVE) & (revenue > 0)
    gone &= revenue >= sf.lit(float("inf") if cut is None else cut)
    listed = table.filter(gone).select(*columns)
    return in_lost_order(listed)


def lost_order() -> list[Column]:
    """The win-back list's order: by revenue, descending, ties by ``customer_id``."""
    return [sf.desc("revenue"), sf.asc("customer_id")]


def in_lost_order(listed: DataFrame) -> DataFrame:
    """``listed`` in :func:`lost_order`."""
    return listed.orderBy(*lost_order())


def head(listed: DataFrame, n: int, *, lost: bool = False) -> pl.DataFrame:
    """The first ``n`` rows of the at-risk list (or, ``lost``, the win-back list)
    ``listed``: sorted again right before the limit, so that Spark takes the top ``n`` of
    every partition and merges them in order (a limit of a cached sorted list may take its
    partitions in any order)."""
    ordered = in_lost_order(listed) if lost else in_list_order(listed)
    return to_polars(ordered.limit(n), sort_by=None)


def totals(
    listed: DataFrame,
    gone: DataFrame,
    *,
    rule: risk.AtRiskRule,
    min_value_quantile: float,
    max_p_alive: float,
    overdue: risk.Overdue | None,
) -> dict[str, object]:
    """:func:`clv.analysis.findings.at_risk` of the lists :func:`at_risk` (``listed``) and
    :func:`lost` (``gone``), counted and summed by Spark."""
    at = cast(
        Row,
        listed.agg(
            sf.count(sf.lit(1)).alias("customers"),
            sf.sum("value_at_stake").alias("value_at_stake"),
            sf.sum("value_if_stays").alias("value_if_stays"),
        ).first(),
    )
    away = cast(
        Row, gone.agg(sf.count(sf.lit(1)).alias("n"), sf.sum("revenue").alias("revenue")).first()
    )
    return at_risk_totals(
        customers=at["customers"],
        value_at_stake=float(at["value_at_stake"] or 0.0),
        value_if_stays=float(at["value_if_stays"] or 0.0),
        lost=away["n"],
        lost_revenue=float(away["revenue"] or 0.0),
        rule=rule,
        min_value_quantile=min_value_quantile,
        max_p_alive=max_p_alive,
        overdue=overdue if rule == "recency" else None,
    )


def counts(listed: DataFrame) -> ListCounts:
    """:func:`clv.analysis.findings.list_counts` of the list ``listed``, by Spark."""
    row = cast(
        Row,
        listed.agg(
            sf.count(sf.lit(1)).alias("customers"),
            sf.sum("value_at_stake").alias("value_at_stake"),
        ).first(),
    )
    return ListCounts(row["customers"], float(row["value_at_stake"] or 0.0))
