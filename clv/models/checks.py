"""Checks of an RFM summary before a fit or a score: columns, values, time unit."""

from __future__ import annotations

import polars as pl

from clv.data.period import TimeUnit
from clv.data.rfm import time_unit_of
from clv.errors import DataError

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def check_summary(summary: pl.DataFrame, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> None:
    """``DataError`` naming the first missing column or bad row (customer) of ``summary``."""
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary: missing column(s) {', '.join(missing)}; make it with clv.rfm.rfm_summary"
        )
    if summary.height == 0:
        raise DataError("summary: no customers")
    bad = summary.select(
        nulls=pl.any_horizontal(
            pl.col(c).is_null() | ~pl.col(c).cast(pl.Float64).is_finite() for c in columns
        ),
        negative=(pl.col("frequency") < 0) | (pl.col("recency") < 0),
        late=pl.col("recency") > pl.col("T"),
        fractional=pl.col("frequency").cast(pl.Float64)
        != pl.col("frequency").cast(pl.Float64).round(),
        one_time=(pl.col("frequency") == 0) & (pl.col("recency") != 0),
    )
    problems = {
        "nulls": "a missing or non-finite value",
        "negative": "a negative frequency or recency",
        "late": "recency greater than T",
        "fractional": "a fractional frequency",
        "one_time": "recency > 0 with frequency 0",
    }
    for column, what in problems.items():
        rows = bad.select(pl.arg_where(pl.col(column))).to_series()
        if rows.len():
            row = int(rows[0])
            who = summary["customer_id"][row] if "customer_id" in summary.columns else row
            raise DataError(
                f"summary row {row} (customer {who}): {what}; rebuild it with clv.rfm.rfm_summary"
            )


def summary_unit(summary: pl.DataFrame, time_unit: TimeUnit | None) -> TimeUnit:
    """The summary's time unit: its ``time_unit`` column, else the ``time_unit`` keyword."""
    return time_unit_of(summary, time_unit)
