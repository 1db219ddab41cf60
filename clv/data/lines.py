"""Where a record of a transactions source is: the line of the file a user finds it on.

Errors name a record of a CSV or NDJSON file by its **line**, counted as ``grep -n`` and
editors count it (a CSV header is line 1, so the first data row is line 2). A CSV value
with a line break inside quotes spans lines: a value is named by the line it starts on, where
``grep -n`` finds it.
A frame, a Parquet file or a table has no lines: its record is **row N**, counted from 1.
A file the reader cannot see line by line (a URL read by Spark) names **record N**, counted
as a spreadsheet numbers the file's rows (a CSV header is record 1, blank lines are not
counted): it is the line unless a value spans lines.

The lines are found only when an error is raised, by reading the file up to the record.
"""

import csv
from collections.abc import Callable
from pathlib import Path

from clv.data.sources import codec_name, csv_separator

Locate = Callable[[int, str], str]
"""A record counted from 1 (after a CSV header) and the source's column of the value →
where the value is, in words: ``line 7``."""


def frame_row(record: int, column: str = "") -> str:
    """A record of a frame, a Parquet file or a table: ``row N`` counted from 1."""
    return f"row {record}"


def csv_line(
    path: Path,
    record: int,
    *,
    separator: str,
    encoding: str,
    column: str | None = None,
    blank_lines: bool = True,
) -> int:
    """The line of ``path`` on which data record ``record`` (counted from 1 after the
    header) starts, or its value of ``column`` when a value before it spans lines.
    ``blank_lines``: a blank line is a record, as polars reads it, else it is skipped, as
    Spark reads it."""
    with path.open(newline="", encoding=codec_name(encoding), errors="replace") as f:
        reader = csv.reader(f, delimiter=csv_separator(path, separator))
        header = [h.lstrip("\ufeff") for h in next(reader, [])]
        start, seen = reader.line_num + 1, 0
        for fields in reader:
            if fields or blank_lines:
                seen += 1
                if seen == record:
                    at = header.index(column) if column in header else 0
                    return start + sum(value.count("\n") for value in fields[:at])
            start = reader.line_num + 1
    return start


def ndjson_line(path: Path, record: int) -> int:
    """The line of ``path`` that holds record ``record`` (blank lines are no records)."""
    seen = 0
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, text in enumerate(f, start=1):
            seen += bool(text.strip())
            if seen == record:
                return number
    return record


def file_lines(kind: str, path: Path, *, separator: str, encoding: str) -> Locate:
    """Where a record of the local ``kind`` file (``csv``, ``ndjson`` or ``parquet``) is,
    counted by polars' reader (a blank CSV line is a record)."""
    if kind == "csv":

        def line(record: int, column: str) -> str:
            at = csv_line(path, record, separator=separator, encoding=encoding, column=column)
            return f"line {at}"

        return line
    if kind == "ndjson":
        return lambda record, column: f"line {ndjson_line(path, record)}"
    return frame_row


def spreadsheet_record(kind: str) -> Locate:
    """``record N`` of a file read elsewhere (see the module's notes)."""
    header = 1 if kind == "csv" else 0
    return lambda record, column: f"record {record + header}"
