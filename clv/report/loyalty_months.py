"""The loyalty review's monthly series in the runs folder (its figure:
:func:`clv.plots.changes.reviewed_months`).

``loyalty_series.csv`` in the runs folder holds one row per reviewed month
(:mod:`clv.analysis.loyalty_series`): each loyalty review run adds its month once it has
succeeded (the notebook's last cell), so the series is the runs folder's record of the
programme, month after month, even when each month's export holds only recent orders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import polars as pl

from clv.analysis.loyalty_series import SCHEMA, add_month
from clv.data.write import atomic_output
from clv.report.runs import folder_lock

SERIES_FILE = "loyalty_series.csv"
"""The runs folder's monthly series of the loyalty review."""


def read_series(out_dir: str | os.PathLike[str]) -> pl.DataFrame | None:
    """The runs folder's series, or None when it has none (or it cannot be read)."""
    path = Path(out_dir) / SERIES_FILE
    if not path.is_file():
        return None
    try:
        return pl.read_csv(path, schema=SCHEMA)
    except (OSError, pl.exceptions.PolarsError):
        return None


def series_with(
    run_dir: str | os.PathLike[str] | None, row: dict[str, Any] | None
) -> pl.DataFrame | None:
    """The series of ``run_dir``'s runs folder with this run's ``row`` added (nothing is
    written; :func:`record_month` does). Run by hand (no ``run_dir``): this month alone.
    None without a row (no loyalty column)."""
    if row is None:
        return None
    earlier = read_series(Path(run_dir).parent) if run_dir is not None else None
    return add_month(earlier, row)


def record_month(run_dir: str | os.PathLike[str] | None, row: dict[str, Any] | None) -> None:
    """Add this run's ``row`` to the runs folder's series, under the folder's lock; a no-op
    when ``run_dir`` or ``row`` is None. The row names the run."""
    if run_dir is None or row is None:
        return
    out = Path(run_dir).parent
    with folder_lock(out):
        series = add_month(read_series(out), row | {"run": Path(run_dir).name})
        with atomic_output(out / SERIES_FILE, overwrite=True) as tmp:
            series.write_csv(tmp)
