"""The Spark engine: RFM summaries, the fit and scores where the data lives, same numbers.

Spark does what grows with rows and customers: the checks (:mod:`clv.engines.spark_read`),
the customer-day aggregation, the table of distinct (frequency, recency days, T days) rows
with their customer counts, and the scores. The fit runs on the driver over those collected
rows with the numpy fitters of :mod:`clv.models` (a few hundred thousand rows even for huge
shops), and the scores call :meth:`clv.models.model.ClvModel.score` on Arrow batches
(``mapInArrow``): one implementation of every formula.

The engine is registered as ``engine="spark"`` (:mod:`clv.data.engines`) by
:mod:`clv.engines.spark_analysis`, which adds the analysis; :func:`clv.analyze`,
:func:`clv.rfm_summary` and :func:`clv.fit` look it up.

>>> from clv.engines import spark as cs  # doctest: +SKIP
>>> tx = cs.read_transactions("s3a://lake/orders/", customer_col="user_id")  # doctest: +SKIP
>>> summary = cs.rfm_summary(tx, observation_end="2024-12-31")  # doctest: +SKIP
>>> model = cs.fit(summary)  # doctest: +SKIP
>>> cs.score(model, summary, horizon=12).write.parquet("s3a://lake/clv/")  # doctest: +SKIP
"""

import datetime as dt
import warnings
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, cast

import numpy as np
import polars as pl
import pyarrow as pa

from clv.analysis.pipeline import warn_rows_after
from clv.data.period import period_between
from clv.data.rfm import (
    SUMMARY_COLUMNS,
    TIME_UNIT_DAYS,
    DateLike,
    TimeUnit,
    _rfm_summary,
    as_date,
    unit_days,
)
from clv.engines.spark_read import (
    _spark_type,
    load_transactions,
    read_checked,
    read_transactions,
)
from clv.engines.spark_session import Column, DataFrame, Row, sf, spark_session
from clv.errors import DataError, UsageError
from clv.models.cashflows import MoneyOptions
from clv.models.diagnostics import Diagnostic
from clv.models.fitting import fit_distinct_rows
from clv.models.groups import GroupedClvModel
from clv.models.intervals import CustomerIntervals
from clv.models.model import MONTH_DAYS, ClvModel

__all__ = [
    "calibration_holdout",
    "fit",
    "load_transactions",
    "read_checked",
    "read_transactions",
    "rfm_summary",
    "score",
    "spark_session",
    "to_polars",
]

SCORE_SCHEMA_DOUBLES = (
    "recency",
    "T",
    "monetary_value",
    "p_alive",
    "expected_purchases",
    "expected_order_value",
    "clv",
)
"""The float columns of :func:`score` after ``customer_id`` and ``frequency`` (those of
:meth:`ClvModel.score`)."""

PREDICTION_RANGE = ("clv_pred_low", "clv_pred_high")
"""The columns :func:`score` adds with a ``prediction_interval``."""

INTERVAL_COLUMNS = (
    "expected_purchases_low",
    "expected_purchases_high",
    "clv_low",
    "clv_high",
    "p_top",
)
"""The columns :func:`score` adds with ``intervals``."""


def _spark_frame(frame: object, what: str) -> DataFrame:
    if not isinstance(frame, DataFrame):
        raise UsageError(
            f"the Spark engine needs {what} as a Spark DataFrame, not {type(frame).__name__}; "
            "read the data with clv.engines.spark.read_transactions"
        )
    return frame


def _date_range(transactions: DataFrame) -> tuple[dt.date, dt.date]:
    first, last = cast(Row, transactions.agg(sf.min("date"), sf.max("date")).first())  # one row
    if first is None:
        raise DataError("no transactions to summarize")
    return first, last


def warn_rows_after_end(transactions: DataFrame, end: dt.date) -> None:
    """:func:`clv.analysis.pipeline.warn_rows_after` of the rows after the observation
    ``end``, counted by Spark (the one-machine engine's warning)."""
    after = sf.col("date") > sf.lit(end)
    counts = transactions.groupBy("customer_id").agg(
        sf.count(sf.when(after, 1)).alias("later"), sf.count(sf.lit(1)).alias("rows")
    )
    rows, customers = cast(
        Row,
        counts.agg(
            sf.sum("later"), sf.count(sf.when(sf.col("later") == sf.col("rows"), 1))
        ).first(),
    )
    warn_rows_after(rows, customers, end)


def _occasions(transactions: DataFrame) -> DataFrame:
    """Each customer's purchase occasions (customer-days, amounts summed) in day order:
    ``customer_id, days`` (an array of ``date, amount`` structs)."""
    per_day = transactions.groupBy("customer_id", "date").agg(sf.sum("amount").alias("amount"))
    return per_day.groupBy("customer_id").agg(
        sf.array_sort(sf.collect_list(sf.struct("date", "amount"))).alias("days")
    )


def _total(days: str | Column) -> Column:
    """The sum of the amounts of an array of occasions, added in day order (as polars does)."""
    return sf.aggregate(days, sf.lit(0.0), lambda total, day: total + day["amount"])


def _summary(transactions: DataFrame, end: dt.date, time_unit: TimeUnit) -> DataFrame:
    length = unit_days(time_unit)  # days per unit
    observed = transactions.filter(sf.col("date") <= sf.lit(end))
    n = sf.size("days")
    summary = _occasions(observed).select(
        "customer_id",
        (n - 1).cast("bigint").alias("frequency"),
        (sf.datediff(sf.element_at("days", -1)["date"], sf.col("days")[0]["date"]) / length).alias(
            "recency"
        ),
        (sf.datediff(sf.lit(end), sf.col("days")[0]["date"]) / length).alias("T"),
        sf.when(n > 1, _total(sf.slice("days", 2, n - 1)) / (n - 1))
        .otherwise(0.0)
        .alias("monetary_value"),
        sf.col("days")[0]["date"].alias("first_purchase"),
        sf.element_at("days", -1)["date"].alias("last_purchase"),
        n.cast("bigint").alias("orders"),
        _total("days").alias("revenue"),
        sf.lit(end).alias("observation_end"),
        sf.lit(time_unit).alias("time_unit"),
    )
    if "order_id" in observed.columns:
        orders = observed.groupBy("customer_id").agg(
            sf.count_distinct("order_id").cast("bigint").alias("orders")
        )
        summary = summary.drop("orders").join(orders, "customer_id")
        return summary.select(*SUMMARY_COLUMNS)
    return summary


SUMMARY_ARROW = pa.schema(
    [
        ("customer_id", pa.string()),
        ("frequency", pa.int64()),
        ("recency", pa.float64()),
        ("T", pa.float64()),
        ("monetary_value", pa.float64()),
        ("first_purchase", pa.date32()),
        ("last_purchase", pa.date32()),
        ("orders", pa.int64()),
        ("revenue", pa.float64()),
        ("observation_end", pa.date32()),
        ("time_unit", pa.string()),
    ]
)
"""The columns of an RFM summary (:data:`clv.data.rfm.SUMMARY_COLUMNS`) as Spark holds them
(the time unit as text)."""


def summary_in_file_order(rows: DataFrame, end: dt.date, time_unit: TimeUnit) -> DataFrame:
    """The RFM summary of checked rows that keep ``_row`` (their order in the source,
    :func:`clv.engines.spark_read.read_checked`) up to ``end``, made by the one-machine
    function itself: Spark gathers each customer's rows, and each Arrow batch of whole
    customers goes through :func:`clv.data.rfm._rfm_summary` in source order, so every sum
    is added in the same order and the summary is bit-identical to :func:`clv.rfm_summary`'s
    (ranks and ties included)."""
    kept = [c for c in ("date", "amount", "order_id", "_row") if c in rows.columns]
    grouped = (
        rows.filter(sf.col("date") <= sf.lit(end))
        .groupBy("customer_id")
        .agg(sf.collect_list(sf.struct(*kept)).alias("rows"))
    )

    def summarize(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                customers = cast(pl.DataFrame, pl.from_arrow(batch))
                flat = customers.explode("rows").unnest("rows").sort("_row").drop("_row")
                summary = _rfm_summary(flat, end=end, time_unit=time_unit)
                summary = summary.with_columns(pl.col("time_unit").cast(pl.String))
                yield from summary.to_arrow().cast(SUMMARY_ARROW).to_batches()

    schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in SUMMARY_ARROW)
    return grouped.mapInArrow(summarize, schema)


def rfm_summary(
    transactions: DataFrame,
    *,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "W",
) -> DataFrame:
    """:func:`clv.data.rfm.rfm_summary` on Spark: one row per customer, the same columns.

    ``transactions`` comes from :func:`read_transactions`. The rows are not sorted (sort or
    write them partitioned); ``monetary_value`` and ``revenue`` add each customer's
    occasions in day order, as the one-machine engine does.
    """
    first, last = _date_range(_spark_frame(transactions, "the transactions"))
    end = period_between(
        first, last, observation_end=observation_end, time_unit=time_unit
    ).observation_end
    if end < last:
        late = (
            transactions.groupBy("customer_id")
            .agg(sf.min("date").alias("first"))
            .filter(sf.col("first") > sf.lit(end))
            .count()
        )
        if late:
            warnings.warn(
                f"{late:,} customers whose purchases all fall after the observation end "
                f"{end} are left out of the summary",
                UserWarning,
                stacklevel=2,
            )
    return _summary(transactions, end, time_unit)


def calibration_holdout(
    transactions: DataFrame,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "W",
) -> DataFrame:
    """:func:`clv.data.rfm.calibration_holdout` on Spark: the calibration summary plus
    ``frequency_holdout``, ``monetary_value_holdout`` and ``duration_holdout``."""
    first, last = _date_range(_spark_frame(transactions, "the transactions"))
    period = period_between(
        first,
        last,
        observation_end=observation_end,
        time_unit=time_unit,
        calibration_end=as_date(calibration_end, "calibration_end"),
    )
    cal_end, end = cast(dt.date, period.calibration_end), period.observation_end
    calibration = _summary(transactions, cal_end, time_unit)
    in_holdout = (sf.col("date") > sf.lit(cal_end)) & (sf.col("date") <= sf.lit(end))
    holdout = _occasions(transactions.filter(in_holdout)).select(
        "customer_id",
        sf.size("days").cast("bigint").alias("frequency_holdout"),
        (_total("days") / sf.size("days")).alias("monetary_value_holdout"),
    )
    duration = (end - cal_end).days / unit_days(time_unit)
    return (
        calibration.join(holdout, "customer_id", "left")
        .fillna({"frequency_holdout": 0, "monetary_value_holdout": 0.0})
        .withColumn("duration_holdout", sf.lit(duration))
    )


def _time_unit(age_days: np.ndarray, T: np.ndarray) -> TimeUnit | None:
    """The time unit of ``T`` (read off whole days, as :func:`clv.data.rfm.time_unit_of`
    does); ``None`` when every customer has ``T = 0``."""
    ratio = age_days[T > 0] / T[T > 0]
    if ratio.size == 0:
        return None
    for unit, length in TIME_UNIT_DAYS.items():
        if np.all(np.abs(ratio - length) < 1e-9 * length):
            return cast(TimeUnit, unit)
    raise DataError("cannot tell the summary's time unit: T does not match D, W or M")


def fit(
    summary: DataFrame,
    *,
    penalizer: float | Mapping[str, float] = 0.0,
    purchase_model: str = "bgnbd",
    group: str | None = None,
) -> ClvModel:
    """:func:`clv.models.fitting.fit` for a summary from :func:`rfm_summary`: BG/NBD,
    MBG/NBD or Pareto/NBD (``purchase_model``) and Gamma-Gamma; ``group`` names who the
    customers are in the warnings, as :func:`clv.models.fitting.fit`'s.

    Spark groups the customers into distinct (frequency, recency days, T days) rows with
    their counts (about 430 k rows for 1 M customers) and the repeat buyers into distinct
    (frequency, monetary value) rows; the driver collects them and fits with the numpy
    fitters (:func:`clv.models.fitting.fit_distinct_rows`). The model records
    ``engine="spark"``.
    """
    _check_distributed(purchase_model)
    bg, gg = fit_tables(_spark_frame(summary, "the summary"))
    return fit_tables_model(bg, gg, penalizer=penalizer, purchase_model=purchase_model, group=group)


def _check_distributed(purchase_model: str) -> None:
    if purchase_model not in ("bgnbd", "mbgnbd", "pareto_nbd"):
        raise UsageError(
            f"the Spark engine fits bgnbd, mbgnbd or pareto_nbd, not {purchase_model!r}; "
            "auto chooses on a holdout: use clv.analyze(..., engine='spark')"
        )


def fit_tables(summary: DataFrame, *, by: str | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """What a fit sees, grouped by Spark and collected: the distinct (``x`` frequency,
    ``rec`` recency days, ``age`` T days, ``T``, ``observation_end``) rows with ``w`` their
    customers, and the repeat buyers' distinct (``x``, ``m`` monetary value) rows with ``w``;
    with ``by``, per value of that column of ``summary`` too (its first column)."""
    keys = [] if by is None else [sf.col(by)]
    count = sf.count(sf.lit(1)).cast("double").alias("w")
    bg = _collect(
        summary.groupBy(
            *keys,
            sf.col("frequency").cast("double").alias("x"),
            sf.datediff("last_purchase", "first_purchase").alias("rec"),
            sf.datediff("observation_end", "first_purchase").alias("age"),
            sf.col("T").cast("double").alias("T"),  # one T per age: no more groups
            "observation_end",
        ).agg(count)
    )
    spenders = summary.filter((sf.col("frequency") > 0) & (sf.col("monetary_value") > 0))
    gg = _collect(
        spenders.groupBy(
            *keys,
            sf.col("frequency").cast("double").alias("x"),
            sf.col("monetary_value").cast("double").alias("m"),
        ).agg(count)
    )
    return bg, gg


def fit_tables_model(
    bg: pl.DataFrame,
    gg: pl.DataFrame,
    *,
    penalizer: float | Mapping[str, float] = 0.0,
    purchase_model: str = "bgnbd",
    time_unit: TimeUnit | None = None,
    comparison: list[dict[str, Any]] | None = None,
    notes: Sequence[Diagnostic] = (),
    group: str | None = None,
    _warn: bool = True,
) -> ClvModel:
    """The model of :func:`fit_tables`' two tables (without ``by``): sorted, in the time
    unit read off ``T`` (or ``time_unit``), fitted by
    :func:`clv.models.fitting.fit_distinct_rows` (``comparison``, ``notes``, ``group``,
    ``_warn``: as its)."""
    bg, gg = bg.sort("x", "rec", "age"), gg.sort("x", "m")
    unit = time_unit or time_unit_of(bg) or "W"  # all T = 0: the fit says so
    days = np.full(bg.height, TIME_UNIT_DAYS[unit])
    end = bg["observation_end"].max()
    bg_rows = (
        bg["x"].to_numpy(),
        bg["rec"].to_numpy() / days,
        bg["T"].to_numpy(),
        bg["w"].to_numpy(),
    )
    gg_rows = (gg["x"].to_numpy(), gg["m"].to_numpy(), gg["w"].to_numpy())
    return fit_distinct_rows(
        bg_rows,
        gg_rows,
        time_unit=unit,
        observation_end=end.isoformat() if isinstance(end, dt.date) else None,
        penalizer=penalizer,
        engine="spark",
        purchase_model=purchase_model,
        comparison=comparison,
        notes=notes,
        group=group,
        _warn=_warn,
    )


def time_unit_of(bg: pl.DataFrame) -> TimeUnit | None:
    """The time unit of :func:`fit_tables`' ``T`` (read off whole days, as
    :func:`clv.data.rfm.time_unit_of` does); ``None`` when every customer has ``T = 0``."""
    return _time_unit(bg["age"].to_numpy(), bg["T"].to_numpy())


class _ScoreOptions(MoneyOptions):
    margin: float
    time_unit: TimeUnit


def score(
    model: ClvModel | GroupedClvModel,
    summary: DataFrame,
    *,
    horizon: float,
    horizon_unit: TimeUnit = "M",
    discount_rate_annual: float = 0.10,
    margin: float = 1.0,
    month_days: float = MONTH_DAYS,
    prediction_interval: float | None = None,
    seed: int = 1,
    intervals: CustomerIntervals | None = None,
) -> DataFrame:
    """:meth:`ClvModel.score` on Spark: each Arrow batch of ``summary`` is scored by the
    model's own numpy code on the workers (``mapInArrow``); columns ``customer_id``,
    ``frequency`` and :data:`SCORE_SCHEMA_DOUBLES`.
    A :class:`~clv.models.groups.GroupedClvModel` scores each customer by the model of their
    group (``summary`` carries its column ``by``, which the scores leave out).
    ``prediction_interval`` adds ``clv_pred_low`` and ``clv_pred_high``: each customer's
    range is drawn per distinct (frequency, age, spend) key with ``seed``
    (:mod:`clv.models.prediction`), so it does not depend on the batch it is scored in.
    ``intervals`` (:func:`clv.engines.spark_intervals.intervals`) adds the parameters'
    intervals and ``p_top`` (:data:`INTERVAL_COLUMNS`), as ``interval=`` does.

    The options are checked on the driver first, so a bad one is a one-line error, not a
    failed Spark job.
    """
    options: _ScoreOptions = {
        "horizon": horizon,
        "horizon_unit": horizon_unit,
        "discount_rate_annual": discount_rate_annual,
        "margin": margin,
        "month_days": month_days,
        "time_unit": model.time_unit,
    }
    by = [model.by] if isinstance(model, GroupedClvModel) else []
    probe = pl.DataFrame({"frequency": [0], "recency": [0.0], "T": [1.0], "monetary_value": [0.0]})
    probe = probe.with_columns(pl.lit("").alias(c) for c in by)
    model.score(
        probe, **options, prediction_interval=prediction_interval, seed=seed
    )  # the library's errors for bad options or model

    doubles = [*SCORE_SCHEMA_DOUBLES, *([] if prediction_interval is None else PREDICTION_RANGE)]
    doubles += [] if intervals is None else INTERVAL_COLUMNS
    arrow_schema = pa.schema(
        [("customer_id", pa.string()), ("frequency", pa.int64())]
        + [(c, pa.float64()) for c in doubles]
    )

    def score_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            if batch.num_rows:
                rows = pl.DataFrame(batch)
                scores = model.score(
                    rows, **options, prediction_interval=prediction_interval, seed=seed
                )
                if intervals is not None:
                    scores = intervals.scores(rows, scores)
                scores = scores.drop(by)
                yield from scores.to_arrow().cast(arrow_schema).to_batches()

    columns = _spark_frame(summary, "the summary").select(
        "customer_id", "frequency", "recency", "T", "monetary_value", *by
    )
    schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in arrow_schema)
    return columns.mapInArrow(score_batches, schema)


def to_polars(frame: DataFrame, *, sort_by: str | None = "customer_id") -> pl.DataFrame:
    """Collect a (small) Spark DataFrame to polars through Arrow, sorted like the
    one-machine results."""
    out = polars_types(pl.DataFrame(frame.toArrow()))
    return out.sort(sort_by) if sort_by else out


def polars_types(frame: pl.DataFrame) -> pl.DataFrame:
    """Rows Spark sent through Arrow with the one-machine types (``time_unit`` an enum)."""
    if "time_unit" in frame.columns:  # the one-machine summary's type
        return frame.with_columns(pl.col("time_unit").cast(pl.Enum(list(TIME_UNIT_DAYS))))
    return frame


def _collect(frame: DataFrame) -> pl.DataFrame:
    return to_polars(frame, sort_by=None)
