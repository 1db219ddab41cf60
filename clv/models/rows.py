"""The rows a fit sees: distinct (frequency, recency, T) rows with how many customers share
each, and the repeat buyers' spends, from an RFM summary whose rows may stand for several
customers (lifetimes' ``weights=``: a summary pre-aggregated by (x, t_x, T, m))."""

from __future__ import annotations

import numpy as np
import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit
from clv.errors import DataError
from clv.models.bgnbd import distinct_bgnbd_rows

BgRows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
GgRows = tuple[np.ndarray, np.ndarray, np.ndarray]


def fit_rows(
    summary: pl.DataFrame, time_unit: TimeUnit, *, weights: str | None = None
) -> tuple[BgRows, GgRows]:
    """The purchase model's distinct rows (``x, t_x, T, customers``, sorted) and Gamma-Gamma's
    rows (``x, m, customers`` of repeat buyers with a positive mean spend).

    ``weights``: a column of ``summary`` holding the number of customers each row stands for
    (whole numbers >= 1); None: one customer per row.
    """
    frame = summary.select(
        pl.col(c).cast(pl.Float64) for c in ("frequency", "recency", "T", "monetary_value")
    )
    f = frame.to_numpy()
    if weights is None:
        bg_rows = distinct_bgnbd_rows(f[:, 0], f[:, 1], f[:, 2], TIME_UNIT_DAYS[time_unit])
        w = np.ones(f.shape[0])
    else:
        w = _weights(summary, weights)
        grouped = (
            frame.with_columns(w=pl.Series(w))
            .group_by("frequency", "recency", "T")
            .agg(pl.col("w").sum())
            .sort("frequency", "recency", "T")
        )
        bg_rows = tuple(grouped[c].to_numpy() for c in ("frequency", "recency", "T", "w"))  # type: ignore[assignment]
    spend = (f[:, 0] > 0) & (f[:, 3] > 0)
    return bg_rows, (f[spend, 0], f[spend, 3], w[spend])


def _weights(summary: pl.DataFrame, column: str) -> np.ndarray:
    """The ``column`` of customers per row as floats; ``DataError`` unless whole and >= 1."""
    if column not in summary.columns:
        raise DataError(
            f"summary: no weights column {column!r}; name the column of customers per row"
        )
    w = summary[column].cast(pl.Float64, strict=False).to_numpy()
    if not np.all(np.isfinite(w)) or np.any(w < 1) or np.any(w != np.round(w)):
        raise DataError(
            f"summary: column {column!r} must hold whole numbers of customers >= 1 per row"
        )
    return w
