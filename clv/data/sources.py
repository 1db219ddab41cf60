"""Open a transactions source lazily: a CSV/Parquet/NDJSON file in any encoding, or a frame.

UTF-8 CSV files are scanned by polars directly (the fast path). Other encodings, and files
with old Mac (CR-only) line endings, are decoded by Python first. Every problem is a
one-line :class:`~clv.errors.DataError` naming the file, the line and the fix.
"""

import codecs
import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from clv.errors import DataError, UsageError

SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}
FRAME = "the frame"
"""How errors name a DataFrame given instead of a file."""

_HEAD = 1 << 16
NEWLINE = b"\n"
_SUGGEST = {"cp1250": "Central European", "cp1252": "Western European"}


def source_name(source: object) -> str:
    """The name errors use for ``source``: its path, or "the frame"."""
    return FRAME if is_frame(source) else str(source)


def is_frame(source: object) -> bool:
    """Whether ``source`` is a polars or pandas DataFrame (not a path)."""
    return isinstance(source, pl.DataFrame | pl.LazyFrame) or (
        type(source).__module__.startswith("pandas") and hasattr(source, "columns")
    )


def codec_name(encoding: str) -> str:
    """The Python codec name of ``encoding`` (``"latin-1"`` -> ``"iso8859-1"``)."""
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise UsageError(
            f"unknown encoding {encoding!r}; use utf-8, utf-8-sig, utf-16, cp1250, cp1252, "
            "latin-1 or iso-8859-2"
        ) from None


def open_source(source: Any, *, separator: str, encoding: str) -> pl.LazyFrame:
    """A lazy frame of ``source`` with every column as read (CSV columns as text)."""
    if is_frame(source):
        return _frame(source)
    path = Path(source)
    kind = file_kind(path)
    if kind == "parquet":
        return pl.scan_parquet(path)
    if kind == "ndjson":
        return pl.scan_ndjson(path, infer_schema_length=None)
    sep = csv_separator(path, separator)
    codec = codec_name(encoding)
    with path.open("rb") as f:
        head = f.read(_HEAD)
    if codec in ("utf-8", "utf-8-sig"):
        _check_utf8(path, head)
        if b"\n" in head or b"\r" not in head:  # not CR-only line endings: polars reads it
            _check_header(path, head.decode("utf-8", errors="replace"), sep)
            return pl.scan_csv(path, separator=sep, infer_schema=False, raise_if_empty=True)
    text = _decode(path, path.read_bytes(), codec)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    _check_header(path, text[:_HEAD], sep)
    try:
        frame = pl.read_csv(io.BytesIO(text.encode("utf-8")), separator=sep, infer_schema=False)
    except pl.exceptions.PolarsError as e:
        raise read_error(str(path), e) from None
    return frame.lazy()


def file_kind(path: Path) -> str:
    """``"csv"``, ``"parquet"`` or ``"ndjson"`` for a readable, non-empty file (else the
    one-line error that says what is wrong with it)."""
    if not path.exists():
        raise DataError(f"{path}: file not found")
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a transactions file")
    if not os.access(path, os.R_OK):
        raise DataError(f"{path}: cannot be read (permission denied)")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the file is empty")
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise UsageError(
            f"{path}: unknown file type {path.suffix!r}; use one of {', '.join(SUFFIXES)}"
        )
    return kind


def csv_separator(path: Path, separator: str) -> str:
    """The separator of a CSV file: a tab for ``.tsv`` unless another one is given."""
    return "\t" if path.suffix.lower() == ".tsv" and separator == "," else separator


def check_text(path: Path, separator: str, encoding: str, *, chunk: int = 1 << 20) -> list[str]:
    """Check that a CSV file is text in ``encoding`` from start to end, as
    :func:`open_source` does (UTF-16 or binary data in a UTF-8 file, bytes the codec cannot
    decode, a column named twice), reading it in chunks; returns the header's columns.

    For engines that read the file elsewhere (Spark), which would otherwise replace
    undecodable bytes silently."""
    codec = codec_name(encoding)
    with path.open("rb") as f:
        head = f.read(_HEAD)
    if codec in ("utf-8", "utf-8-sig"):
        _check_utf8(path, head)
    decoder = codecs.getincrementaldecoder(codec)()
    offset = 0
    header = ""
    with path.open("rb") as f:
        while block := f.read(chunk):
            try:
                text = decoder.decode(block)
            except UnicodeDecodeError as e:
                at = offset + e.start
                with path.open("rb") as g:
                    data = g.read(at + 1)
                raise DataError(_decode_error(path, data, at, codec)) from None
            if len(header) < _HEAD:
                header += text[: _HEAD - len(header)]
            offset += len(block)
    sep = csv_separator(path, separator)
    _check_header(path, header.replace("\r\n", "\n").replace("\r", "\n"), sep)
    lines = header.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return next(csv.reader(io.StringIO(lines), delimiter=sep), [])


def _frame(source: Any) -> pl.LazyFrame:
    if isinstance(source, pl.LazyFrame):
        return source
    if isinstance(source, pl.DataFrame):
        return source.lazy()
    names = [str(c) for c in source.columns]
    _no_duplicates(FRAME, names)
    try:
        return pl.from_pandas(source.rename(columns=str)).lazy()
    except (ValueError, TypeError, pl.exceptions.PolarsError) as e:
        raise DataError(f"{FRAME}: cannot be read ({str(e).splitlines()[0]})") from None


def _check_header(path: Path, text: str, separator: str) -> None:
    """A header that names a column twice is an error (quotes are removed as CSV says)."""
    header = next(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=separator), [])
    _no_duplicates(str(path), header)


def _no_duplicates(name: str, columns: list[str]) -> None:
    seen: dict[str, int] = {}
    for number, column in enumerate(columns, start=1):
        if column in seen:
            raise DataError(
                f"{name}: the header names column {column!r} twice (columns {seen[column]} and "
                f"{number}); rename one"
            )
        seen[column] = number


def _check_utf8(path: Path, head: bytes) -> None:
    """Reject UTF-16, binary or non-UTF-8 text early, naming the line (of the first 64 KiB)."""
    nul = head.find(b"\x00")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or _looks_utf16(head):
        raise DataError(
            f"{path}: UTF-16 text (a NUL byte between characters), not UTF-8; pass "
            'encoding="utf-16" or save the file as UTF-8'
        )
    try:
        head.decode("utf-8")
        bad = -1
    except UnicodeDecodeError as e:
        bad = e.start if e.start < len(head) - 3 else -1  # not a character cut at the end
    if nul >= 0 and (bad < 0 or nul < bad):
        raise DataError(
            f"{path}: {_where(head[:nul].count(NEWLINE))} holds binary data (a NUL byte), not "
            "CSV text; export the transactions as CSV, Parquet or NDJSON"
        )
    if bad >= 0:
        raise DataError(_decode_error(path, head, bad, "utf-8"))


def _looks_utf16(head: bytes) -> bool:
    """ASCII text in UTF-16 without a byte-order mark: every other byte is NUL."""
    sample = head[:200]
    return len(sample) >= 8 and (
        sample[1::2].count(0) > 0.8 * len(sample[1::2])
        or sample[0::2].count(0) > 0.8 * len(sample[0::2])
    )


def _decode(path: Path, data: bytes, codec: str) -> str:
    try:
        return data.decode(codec)
    except UnicodeDecodeError as e:
        raise DataError(_decode_error(path, data, e.start, codec)) from None


def _decode_error(path: Path, data: bytes, offset: int, codec: str) -> str:
    others = [c for c in _SUGGEST if c != codec]
    hint = " or ".join(f'encoding="{c}" ({_SUGGEST[c]})' for c in others)
    label = "UTF-8" if codec == "utf-8" else codec
    return (
        f"{path}: {_where(data[:offset].count(NEWLINE))} is not {label} text (byte "
        f"0x{data[offset]:02x} at offset {offset}); pass {hint}, or save the file as UTF-8"
    )


def _where(newlines: int) -> str:
    """The header, or the line after ``newlines`` line breaks (counted as ``grep -n`` does)."""
    return "the header" if newlines == 0 else f"line {newlines + 1}"


def read_error(name: str, error: Exception, path: Path | None = None) -> DataError:
    """A one-line error for a polars failure while reading ``name``."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if path is not None and SUFFIXES.get(path.suffix.lower()) == "ndjson":
        bad = _ndjson_error(path, name)
        if bad is not None:
            return bad
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return DataError(
            f'{name}: not UTF-8 text; pass encoding="cp1250" or encoding="cp1252", or save the '
            "file as UTF-8"
        )
    if isinstance(error, pl.exceptions.NoDataError):
        return DataError(f"{name}: the file is empty")
    return DataError(f"{name}: cannot be read ({text})")


def _ndjson_error(path: Path, name: str) -> DataError | None:
    """The first NDJSON line that is not a JSON object (only on the error path)."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as e:
                return DataError(
                    f"{name}: line {number} is not valid JSON ({e.msg}: {line.strip()[:40]!r}); "
                    "write one JSON object per line"
                )
            if not isinstance(obj, dict):
                return DataError(f"{name}: line {number} is not a JSON object; write one per line")
    return None


def ragged_error(path: Path, name: str, separator: str, encoding: str) -> DataError:
    """Find the first CSV record with more fields than the header (only on the error path):
    the error names the line it starts on."""
    with path.open(newline="", encoding=codec_name(encoding), errors="replace") as f:
        header = f.readline()
        other = next((s for s in ";\t|," if s != separator and header.count(s) > 0), None)
        if other is not None and header.count(other) > header.count(separator):
            shown = "\\t" if other == "\t" else other
            return DataError(
                f"{name}: the header is separated by {other!r}, not {separator!r}; pass "
                f"--separator '{shown}'"
            )
        f.seek(0)
        rows = csv.reader(f, delimiter=separator)
        width = len(next(rows))
        start = rows.line_num + 1
        for fields in rows:
            if len(fields) > width:
                return DataError(
                    f"{name}: line {start} has {len(fields)} fields but the header has {width} "
                    f"({separator.join(fields)!r}); quote values that contain {separator!r}, "
                    "or write amounts with a decimal point (7.50, not 7,50)"
                )
            start = rows.line_num + 1
    return DataError(f"{name}: a row has more fields than the header")
