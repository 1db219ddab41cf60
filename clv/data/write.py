"""Write outputs atomically: CSV, Parquet and JSON files appear whole or not at all.

Every output is written to a temporary name beside its target and renamed when complete;
an existing file is kept unless ``overwrite``. CSV text cells that a spreadsheet would run
as a formula are neutralised (:func:`csv_safe`); Parquet keeps the values exactly.
"""

import datetime as dt
import errno
import glob
import json
import math
import os
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from clv.data.frames import Frame, as_polars
from clv.errors import StorageError, UsageError

SUFFIXES = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
"""Output suffix → file kind."""

FORMULA_START = "=+-@\t\r"
"""First characters that make Excel, LibreOffice or Sheets evaluate a cell (OWASP CSV injection)."""

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_TEMP = re.compile(r"^\..+\.(\d+)\.tmp$")


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with every text cell (and column name) a spreadsheet would evaluate made inert.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading
    ``'`` (the OWASP advice for CSV injection), unless it is a plain number such as ``-12.5``.
    Other cells and non-text columns are unchanged.

    >>> csv_safe(pl.DataFrame({"id": ["=1+2", "-3", "a"]}))["id"].to_list()
    ["'=1+2", '-3', 'a']
    """
    risky = f"^[{re.escape(FORMULA_START)}]"

    def safe(col: pl.Expr) -> pl.Expr:
        hit = col.str.contains(risky) & ~col.str.contains(_NUMBER)
        return pl.when(hit).then(pl.lit("'") + col).otherwise(col)

    text = [n for n, t in frame.schema.items() if t in (pl.String, pl.Categorical, pl.Enum)]
    if text:  # rewrite only the columns with a risky cell: most have none
        hits = frame.select(pl.col(n).cast(pl.String).str.contains(risky).any() for n in text)
        text = [n for n, hit in zip(text, hits.row(0), strict=True) if hit]
    out = frame.with_columns(safe(pl.col(n).cast(pl.String)).alias(n) for n in text)
    names = {n: _safe_name(n) for n in frame.columns}
    return out.rename(names) if any(k != v for k, v in names.items()) else out


def _safe_name(name: str) -> str:
    risky = name[:1] != "" and name[0] in FORMULA_START and not re.match(_NUMBER, name)
    return "'" + name if risky else name


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; move it into place only when the block succeeds.

    Nothing is left behind on failure, and an existing file is kept unless ``overwrite``.
    An operating-system failure (a full or read-only disk, no permission) is a
    :class:`StorageError` naming ``path``. A process killed mid-write leaves
    ``.<name>.<pid>.tmp``, which :func:`remove_stale_temp_files` clears.

    >>> with atomic_output("scores.csv") as tmp:  # doctest: +SKIP
    ...     frame.write_csv(tmp)
    """
    path = Path(path)
    check_output(path, overwrite=overwrite)
    remove_stale_temp_files(path.parent, name=path.name)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except (OSError, pl.exceptions.ComputeError) as e:  # polars' own IO errors say "os error N"
        code = e.errno if isinstance(e, OSError) else None
        found = re.search(r"\(os error (\d+)\)", str(e))
        if not code:
            if found is None:
                raise
            code = int(found.group(1))
        raise storage_error(path, OSError(code, str(e))) from None
    finally:
        with suppress(OSError):  # a read-only folder: nothing was written there either
            tmp.unlink(missing_ok=True)


def check_output(
    path: str | os.PathLike[str],
    *,
    inputs: Iterable[str | os.PathLike[str] | None] = (),
    overwrite: bool = False,
) -> None:
    """Refuse an output ``path`` before any work: one that is one of the ``inputs`` (the same
    file by any name; even with ``overwrite``), a folder, an existing file (unless
    ``overwrite``) or in a folder that does not exist. Raises :class:`UsageError`."""
    path = Path(path)
    for given in inputs:
        if given is not None and _same_file(path, Path(given)):
            raise UsageError(f"{path}: is the input file {given}; write the output elsewhere")
    if path.is_dir():
        raise UsageError(f"{path}: is a folder; give a file name for the output")
    if path.exists() and not overwrite:
        raise UsageError(f"{path}: already exists; pass --overwrite to replace it")
    if not path.parent.is_dir():
        raise UsageError(f"{path.parent}: no such folder for the output {path.name}")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def storage_error(
    path: str | os.PathLike[str], error: OSError, *, doing: str = "written"
) -> StorageError:
    """A one-line :class:`StorageError` for an operating-system ``error`` on ``path``."""
    reason = os.strerror(error.errno).lower() if error.errno else str(error)
    advice = {
        errno.ENOSPC: "free some space or write elsewhere",
        errno.EDQUOT: "free some space or write elsewhere",
        errno.EROFS: "write to another folder",
        errno.EACCES: "write to a folder you may write to",
        errno.EPERM: "write to a folder you may write to",
    }.get(error.errno or 0, "check the path")
    if doing != "written" and advice.startswith(("free", "write")):
        advice = "check the path and the free space"
    return StorageError(f"{path}: cannot be {doing} ({reason}); {advice}")


def remove_stale_temp_files(folder: str | os.PathLike[str], *, name: str = "*") -> list[Path]:
    """Delete the ``.<name>.<pid>.tmp`` files in ``folder`` left by writers that were killed
    (every name, or only those of output ``name``).

    A file whose process still runs is kept (it may be writing). Returns the files removed.
    """
    removed = []
    pattern = f".{glob.escape(name) if name != '*' else '*'}.*.tmp"
    for path in Path(folder).glob(pattern):
        match = _TEMP.match(path.name)
        if match and not pid_alive(int(match.group(1))):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine (a zombie counts as ended)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped by its parent is a zombie: it no longer runs
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


@dataclass(frozen=True)
class Batches:
    """A table written batch by batch, never held whole: ``height`` rows, which ``read()``
    yields in order as polars frames of one schema (the first may be empty: the schema)."""

    height: int
    read: Callable[[], Iterator[pl.DataFrame]]

    def map(self, change: Callable[[pl.DataFrame], pl.DataFrame]) -> "Batches":
        """The same rows with ``change`` applied to each batch (a change row by row)."""
        return Batches(self.height, lambda: (change(batch) for batch in self.read()))


def write_frame(
    frame: Frame | Batches, path: str | os.PathLike[str], *, overwrite: bool = False
) -> Path:
    """Write ``frame`` (polars, lazy or pandas, or :class:`Batches` streamed in order) as CSV
    or Parquet (by suffix), atomically; see :func:`atomic_output`.

    CSV goes through :func:`csv_safe` (no cell runs as a spreadsheet formula); Parquet keeps
    every value as it is. The same rows give the same file's rows, whole or in batches.
    """
    path = Path(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind not in ("csv", "parquet"):
        raise UsageError(f"{path}: write .csv or .parquet, not {path.suffix or 'no suffix'!r}")
    if isinstance(frame, Batches):
        with atomic_output(path, overwrite=overwrite) as tmp:
            _write_batches(frame.read(), tmp, kind)
        return path
    frame = as_polars(frame, "frame")
    with atomic_output(path, overwrite=overwrite) as tmp:
        if kind == "csv":
            csv_safe(frame).write_csv(tmp)
        else:  # snappy: half the CPU of zstd (0.28 s vs 0.59 s, 1 M-customer summary), 1.6x size
            frame.write_parquet(tmp, compression="snappy")
    return path


def _write_batches(batches: Iterator[pl.DataFrame], tmp: Path, kind: str) -> None:
    """One file of ``batches``: a CSV header then each batch's rows, or a Parquet row group
    per batch (pyarrow's writer, polars' types and metadata)."""
    import pyarrow.parquet as pq

    if kind == "csv":
        with tmp.open("wb") as buf:
            for i, batch in enumerate(batches):
                csv_safe(batch).write_csv(buf, include_header=i == 0)
        return
    writer = None
    try:
        for batch in batches:
            table = batch.to_arrow()
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema, compression="snappy")
            writer.write_table(table)
    finally:
        if writer is not None:
            writer.close()


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
