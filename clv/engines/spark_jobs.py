"""The ``clv summarize/fit/score --engine spark`` jobs: read, summarize, fit, score, write.

A ``--out`` ending in ``.csv`` or ``.parquet`` is one file, written atomically as the
one-machine engine writes it (sorted by customer id), from Spark's sorted rows brought to the
driver a batch at a time (:func:`clv.engines.spark_batches.batches`); any other path is a
Parquet folder written by Spark's workers (one part per partition).
"""

import datetime as dt
import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any, cast

from clv.data.period import period_between
from clv.data.rfm import TimeUnit
from clv.data.write import write_frame
from clv.engines import spark as cs
from clv.engines.spark_batches import batches
from clv.engines.spark_session import DataFrame, Row, sf, spark_session
from clv.errors import DataError, UsageError
from clv.models.model import ClvModel

COMMANDS = ("summarize", "fit", "score")


def write(frame: DataFrame, out: str | os.PathLike[str], *, overwrite: bool = False) -> int:
    """Write ``frame`` to ``out`` (one ``.csv``/``.parquet`` file sorted by customer id, or a
    Parquet folder); returns the number of rows. Neither holds the rows on the driver."""
    out = Path(out)
    frame = frame.cache()
    if out.suffix.lower() in (".csv", ".parquet"):
        height = frame.count()
        rows = batches(frame, height=height, order=[sf.asc("customer_id")])
        write_frame(rows, out, overwrite=overwrite)
        return height
    frame.write.mode("overwrite" if overwrite else "errorifexists").parquet(str(out))
    return frame.count()


def observed(transactions: DataFrame, observation_end: str | None) -> tuple[DataFrame, dt.date]:
    """The rows up to the observation end, and the end; the rows after it are counted in
    the warning of :func:`clv.analysis.pipeline.analyze`."""
    first, last = cast(Row, transactions.agg(sf.min("date"), sf.max("date")).first())
    if first is None:
        raise DataError("no transactions to summarize")
    end = period_between(first, last, observation_end=observation_end).observation_end
    if end < last:
        cs.warn_rows_after_end(transactions, end)
        transactions = transactions.filter(sf.col("date") <= sf.lit(end))
    return transactions, end


def spark_job(
    command: str,
    source: str | os.PathLike[str],
    *,
    read: dict[str, Any],
    observation_end: str | None,
    time_unit: TimeUnit | None,
    out: Path,
    overwrite: bool = False,
    penalizer: float | Mapping[str, float] = 0.0,
    purchase_model: str = "bgnbd",
    model_path: Path | None = None,
    score: dict[str, Any] | None = None,
    master: str | None = None,
    conf: dict[str, str] | None = None,
) -> str:
    """Run ``command`` (summarize, fit or score) on Spark; returns what was written, in words.

    ``read`` holds :func:`clv.engines.spark_read.read_checked` keywords; ``score`` the
    keywords of :func:`clv.engines.spark.score` (horizon, horizon_unit,
    discount_rate_annual, margin).
    """
    if command not in COMMANDS:
        raise UsageError(f"--engine spark runs {', '.join(COMMANDS)}, not {command}")
    model = ClvModel.load(model_path) if model_path is not None else None
    if model is not None and time_unit not in (None, model.time_unit):
        raise UsageError(
            f"{model_path}: the model was fitted in time unit {model.time_unit}, not "
            f"{time_unit}; leave out --time-unit or refit with clv fit --time-unit {time_unit}"
        )
    unit = model.time_unit if model is not None else time_unit or "W"
    start = partial(spark_session, master=master, conf=conf)  # once the options are checked
    transactions = cs.read_transactions(source, spark=start, **read)
    transactions, end = observed(transactions, observation_end)
    summary = cs.rfm_summary(transactions, observation_end=end, time_unit=unit)
    if command == "summarize":
        return f"{write(summary, out, overwrite=overwrite):,} customers"
    summary = summary.cache()  # fit and score read it again
    if model is None:
        model = cs.fit(summary, penalizer=penalizer, purchase_model=purchase_model)
    if command == "fit":
        model.save(out, overwrite=overwrite)
        params = " ".join(f"{k}={v:.4g}" for k, v in model.purchase.items())
        gg = " ".join(f"{k}={v:.4g}" for k, v in model.gamma_gamma.items())
        return f"{model.spec.title} {params}; Gamma-Gamma {gg}"  # a limit fit's own parameters
    scores = cs.score(model, summary, **(score or {}))
    return f"{write(scores, out, overwrite=overwrite):,} customers"
