"""Customers left out on request (``exclude_customers``): house, staff or test accounts.

One rule for every engine: the ids to leave out (:func:`customer_ids`: a list, ids separated
by commas, or a ``.txt``/``.csv`` file of one id per line) and the row test
(:func:`excluded_expr`: the customer id, spaces either side stripped, is one of them). The
readers drop those rows before any other check, count them per customer into
:class:`~clv.data.quality.Quality` and warn about ids the data does not hold.
"""

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from clv.data.quality import ordered_counts, warn
from clv.errors import DataError, UsageError

Exclusions = str | os.PathLike[str] | Sequence[str | int]
"""What ``exclude_customers`` takes: ids, ``"1001,1002"``, or a file of ids."""

ID_FILE_SUFFIXES = (".txt", ".csv")
"""A text value ending in one of these names a file of ids, one per line."""


def is_id_file(value: object) -> bool:
    """Whether ``value`` names a file of ids (a path, or text ending in ``.txt``/``.csv``)
    rather than the ids themselves."""
    if isinstance(value, os.PathLike):
        return True
    return isinstance(value, str) and value.strip().lower().endswith(ID_FILE_SUFFIXES)


def customer_ids(value: Exclusions | None, *, customer_col: str = "customer_id") -> list[str]:
    """The ids to leave out, as written (spaces either side stripped), each once, in order.

    ``value``: a list of ids (numbers are written as text: ``1001`` is ``"1001"``); text of
    ids separated by commas (``"1001, 1002"``); or a ``.txt``/``.csv`` file of one id per
    line, whose first line may be a header naming the customer column (``customer_col`` or
    ``customer_id``). None or an empty list leaves nobody out.

    >>> customer_ids("1001, 00042,1001")
    ['1001', '00042']
    """
    if value is None:
        return []
    if isinstance(value, os.PathLike) or (isinstance(value, str) and is_id_file(value)):
        return _unique(_read_file(Path(value), customer_col))
    items: list[str | int] = list(value.split(",") if isinstance(value, str) else value)
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise UsageError(
                f"exclude_customers: {item!r} is not a customer id; give ids as text "
                'such as ["1001", "1002"], or a .txt file of one id per line'
            )
        text = str(item).strip()
        if text:
            out.append(text)
    return _unique(out)


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _read_file(path: Path, customer_col: str) -> list[str]:
    """The ids of a file of one id per line (a CSV of one column: quotes are read; a byte
    order mark, as spreadsheets write, is skipped)."""
    if not path.is_file():
        raise DataError(f"{path}: exclude_customers file not found")
    try:
        with path.open(encoding="utf-8-sig", newline="") as f:
            lines = list(csv.reader(f))
    except (UnicodeDecodeError, csv.Error) as e:
        raise DataError(f"{path}: cannot read the ids to exclude ({e}); save it as UTF-8") from None
    ids = []
    for row, fields in enumerate(lines, 1):
        values = [v.strip() for v in fields]
        if len([v for v in values if v]) > 1:
            raise DataError(
                f"{path}: row {row}: {len(values)} columns; exclude_customers takes one id per line"
            )
        ids += [v for v in values if v]
    if ids and ids[0] in (customer_col, "customer_id"):
        ids = ids[1:]  # a header
    return ids


def excluded_expr(ids: Sequence[str]) -> pl.Expr:
    """True where ``customer_id`` (spaces either side stripped) is one of ``ids``."""
    return pl.col("customer_id").str.strip_chars().is_in(list(ids))


def excluded_key() -> pl.Expr:
    """An excluded row's customer as counted: the id with spaces stripped."""
    return pl.col("customer_id").str.strip_chars()


def counts(left_out: pl.DataFrame) -> dict[str, int]:
    """Rows left out per customer (``left_out``: the excluded rows), most rows first."""
    per_id = left_out.select(excluded_key()).group_by("customer_id").len()
    return ordered_counts(per_id)


def leave_out(
    frame: pl.DataFrame, ids: Sequence[str], name: str, column: str = "customer_id"
) -> tuple[pl.DataFrame, dict[str, int]]:
    """``frame`` (with ``customer_id``) without the rows of ``ids``, the rows left out per
    customer, and the warning about ids it does not hold. The rows are those flagged
    ``_excluded`` (:func:`clv.data.io.row_rules`), else those :func:`excluded_expr` finds (a
    frame already read, such as an embedded data set)."""
    if not ids:
        return frame, {}
    flag = pl.col("_excluded") if "_excluded" in frame.columns else excluded_expr(ids)
    left_out = counts(frame.filter(flag))
    kept = frame.filter(~flag)
    if kept.height == 0:
        raise all_excluded_error(name, column)
    warn_not_found(name, column, not_found(ids, left_out))
    return kept, left_out


def not_found(ids: Sequence[str], counts: dict[str, int]) -> list[str]:
    """The ids asked for that no row holds, in the order given."""
    return [i for i in ids if i not in counts]


def warn_not_found(name: str, column: str, missing: Sequence[str]) -> None:
    """One warning naming the ids of ``exclude_customers`` that are not in the data."""
    if missing:
        shown = ", ".join(repr(i) for i in missing)
        warn(
            f"{name}: column {column!r}: exclude_customers names {shown}, not in the data; "
            "check the ids (they are compared as written)"
        )


def all_excluded_error(name: str, column: str) -> DataError:
    """The error when ``exclude_customers`` leaves no row."""
    return DataError(
        f"{name}: column {column!r}: every row's customer is in exclude_customers; "
        "nothing is left to analyse"
    )
