"""The parameters' CLV intervals (``interval``) of customers Spark holds.

:func:`clv.models.intervals.interval_scores` draws each model's parameters once and sets
each draw's top-tier cut on a seeded sample of customers; every customer's bounds and
``p_top`` then depend on their own numbers only. Here the driver makes that shared part
(:func:`clv.models.intervals.customer_intervals`) from two compact tables, the distinct
(group, frequency, T) rows and the sample's distinct rows with their counts, and the
workers apply it to their batches (:func:`clv.engines.spark.score` with ``intervals``).
"""

import numpy as np
import polars as pl

from clv.data.rfm import TimeUnit
from clv.engines.spark import _collect
from clv.engines.spark_session import DataFrame, Window, sf
from clv.models.cashflows import MONTH_DAYS, MoneyOptions, cash_flow_grid
from clv.models.groups import GroupedClvModel
from clv.models.intervals import CustomerIntervals, customer_intervals, top_sample
from clv.models.model import ClvModel

INPUTS = ("frequency", "recency", "T", "monetary_value")
"""The summary columns a customer's scores and interval are made of."""


def _sample(summary: DataFrame, customers: int, seed: int) -> DataFrame:
    """The customers of :func:`clv.models.intervals.top_sample`: its positions are rows of
    the summary sorted by ``customer_id`` (the one-machine summary's order)."""
    positions = top_sample(customers, seed)
    if positions.size == customers:
        return summary
    chosen = summary.sparkSession.createDataFrame(
        [(int(p),) for p in np.sort(positions)], "_position long"
    )
    position = sf.row_number().over(Window.orderBy("customer_id")) - 1
    numbered = summary.withColumn("_position", position.cast("long"))
    return numbered.join(sf.broadcast(chosen), "_position").drop("_position")


def intervals(
    model: ClvModel | GroupedClvModel,
    summary: DataFrame,
    customers: int,
    *,
    horizon: float,
    horizon_unit: TimeUnit = "M",
    discount_rate_annual: float = 0.10,
    margin: float = 1.0,
    interval: float = 0.9,
    seed: int = 1,
) -> CustomerIntervals:
    """:func:`clv.models.intervals.customer_intervals` of the ``customers`` of a Spark
    ``summary`` (with the column ``model.by`` for a model per group), as
    :meth:`ClvModel.score` draws them (``interval``, normal draws, ``seed``; the money
    keywords as its): Spark brings back the distinct (group, frequency, T) rows and the
    sample's distinct rows with their counts; the sample's point CLV is scored here."""
    pooled: ClvModel = model if isinstance(model, ClvModel) else model.pooled
    by, group_models = None, None
    if isinstance(model, GroupedClvModel):
        by, group_models = model.by, model.groups
    keys = [] if by is None else [by]
    groups = _collect(summary.select(*keys, "frequency", "T").distinct())
    counted = (
        _sample(summary, customers, seed)
        .groupBy(*keys, *INPUTS)
        .agg(sf.count(sf.lit(1)).alias("_customers"))
    )
    distinct = _collect(counted)
    sample = distinct.select(
        pl.all()
        .exclude("_customers")
        .gather(np.repeat(np.arange(distinct.height), distinct["_customers"].to_numpy()))
    )
    money: MoneyOptions = {
        "horizon": horizon,
        "horizon_unit": horizon_unit,
        "discount_rate_annual": discount_rate_annual,
        "month_days": MONTH_DAYS,
    }
    scored = model.score(sample, margin=margin, time_unit=model.time_unit, **money)
    return customer_intervals(
        pooled,
        groups,
        sample.with_columns(clv=scored["clv"]),
        grid=cash_flow_grid(model_unit=model.time_unit, **money),
        interval=interval,
        seed=seed,
        by=by,
        group_models=group_models,
    )
