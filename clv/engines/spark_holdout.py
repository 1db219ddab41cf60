"""The holdout check on Spark: the calibration refit, its predictions and the tracking
counts where the data lives.

:func:`holdout_check` is :func:`clv.analysis.validation.holdout_check` in Spark's terms:
the calibration/holdout summary (:func:`clv.engines.spark.calibration_holdout`) is fitted
from its distinct rows (:func:`clv.engines.spark.fit`), each Arrow batch of customers is
predicted by the model's own code and summed by calibration frequency on the workers
(:func:`clv.analysis.validation.holdout_sums`), and the tracking figure's counts are the
customers first seen and the repeat occasions of each day. The driver gets a row per bin
and a row per day; the finishing code is the polars engine's.
"""

import datetime as dt
from collections.abc import Iterator, Mapping
from typing import Any, cast

import numpy as np
import polars as pl
import pyarrow as pa

from clv.analysis import validation
from clv.data.rfm import TimeUnit
from clv.engines.spark import _date_range, calibration_holdout, fit
from clv.engines.spark_session import DataFrame, sf
from clv.errors import ModelError
from clv.models.model import ClvModel

_PREDICTED = (
    "customer_id",
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "frequency_holdout",
    "monetary_value_holdout",
    "duration_holdout",
    "time_unit",
)
_SUMS = ("actual_purchases", "predicted_purchases", "actual_spend", "predicted_spend")
_ERRORS = tuple(f"{kind}_{q}" for q in ("purchases", "spend") for kind in ("abs", "squared"))


def holdout_sums(calibration: DataFrame, model: ClvModel) -> pl.DataFrame:
    """:func:`clv.analysis.validation.holdout_sums` of the predictions of ``model`` for a
    Spark calibration/holdout summary: each batch predicted and summed by bin on a worker
    (:func:`clv.analysis.validation.holdout_predictions`), the bins' sums added by Spark."""
    fields = [("bin", pa.int64()), ("customers", pa.int64())]
    fields += [(c, pa.float64()) for c in (*_SUMS, *_ERRORS)]
    schema = pa.schema(fields)

    def sums(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                predictions = validation.holdout_predictions(pl.DataFrame(batch), model)
                table = validation.holdout_sums(predictions).to_arrow().cast(schema)
                yield from table.to_batches()

    spark_schema = ", ".join(
        f"`{f.name}` {'bigint' if f.type == pa.int64() else 'double'}" for f in schema
    )
    per_batch = calibration.select(*_PREDICTED).mapInArrow(sums, spark_schema)
    totals = per_batch.groupBy("bin").agg(
        sf.sum("customers").cast("bigint").alias("customers"),
        *(sf.sum(c).alias(c) for c in (*_SUMS, *_ERRORS)),
    )
    return cast(pl.DataFrame, pl.from_arrow(totals.toArrow())).sort("bin")


def daily_counts(rows: DataFrame, start: dt.date, n_days: int) -> tuple[np.ndarray, np.ndarray]:
    """The customers first seen, and the repeat purchase occasions (customer-days after a
    customer's first), on each day ``0 .. n_days - 1`` from ``start``, counted by Spark
    (:func:`clv.analysis.validation.tracking`'s counts): a row per day to the driver."""
    occasions = rows.select("customer_id", "date").distinct()
    first = occasions.groupBy("customer_id").agg(sf.min("date").alias("first"))
    is_first = sf.col("date") == sf.col("first")
    per_day = (
        occasions.join(first, "customer_id")
        .groupBy(sf.datediff("date", sf.lit(start)).alias("day"))
        .agg(
            sf.count(sf.when(is_first, 1)).alias("new"),
            sf.count(sf.when(~is_first, 1)).alias("repeat"),
        )
        .filter(sf.col("day") < n_days)
    )
    new, repeat = np.zeros(n_days), np.zeros(n_days)
    for row in per_day.collect():
        new[row["day"]], repeat[row["day"]] = row["new"], row["repeat"]
    return new, repeat


def holdout_check(
    rows: DataFrame,
    *,
    calibration_end: dt.date,
    observation_end: dt.date,
    time_unit: TimeUnit,
    penalizer: float | Mapping[str, float],
    purchase_model: str,
) -> dict[str, Any]:
    """:func:`clv.analysis.validation.holdout_check` of checked rows up to
    ``observation_end`` on Spark, for a purchase model :func:`clv.engines.spark.fit` fits
    (BG/NBD, MBG/NBD or Pareto/NBD): the same record, the same failure when the
    calibration period cannot be fitted."""
    calibration = calibration_holdout(
        rows,
        calibration_end=calibration_end,
        observation_end=observation_end,
        time_unit=time_unit,
    ).cache()
    try:
        try:
            model = fit(
                calibration,
                penalizer=penalizer,
                purchase_model=purchase_model,
                group=validation.holdout_group(calibration_end),
            )
        except ModelError as e:
            return validation.holdout_failure(calibration_end, observation_end, str(e))
        sums = holdout_sums(calibration, model)
    finally:
        calibration.unpersist()
    start, _ = _date_range(rows)
    new, repeat = daily_counts(rows, start, (observation_end - start).days + 1)
    track = validation.tracking_from_counts(
        new, repeat, start=start, model=model, calibration_end=calibration_end
    )
    return validation.holdout_result(calibration_end, observation_end, model, sums, track)
