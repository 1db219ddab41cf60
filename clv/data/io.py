"""Read transactions from CSV, Parquet or NDJSON into a validated, typed polars frame.

The file is scanned lazily and only the mapped columns are read. Every problem is
reported as a :class:`~clv.errors.DataError` whose one-line message names the file,
the column, the first bad row (counted from 1, after the header) and its value, and
says how to fix it.
"""

import csv
import json
import math
import os
import warnings
from pathlib import Path
from typing import Literal

import polars as pl

from clv.data.options import check_read_options
from clv.errors import DataError, UsageError

NegativeAmounts = Literal["error", "drop", "net"]

REQUIRED = {"customer_col": "customer_id", "date_col": "date", "amount_col": "amount"}
"""Keyword of each required column → its canonical name (and default)."""

OPTIONAL = {
    "order_col": "order_id",
    "channel_col": "channel",
    "product_col": "product",
    "loyalty_col": "loyalty",
    "margin_col": "margin",
}
"""Keyword of each optional column → its canonical name."""

SUFFIXES = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}

_ISO_DATE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$"
_TRUE = ["true", "1", "yes", "y", "t"]
_FALSE = ["false", "0", "no", "n", "f", ""]


def read_transactions(
    source: str | os.PathLike[str],
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = None,
    channel_col: str | None = None,
    product_col: str | None = None,
    loyalty_col: str | None = None,
    margin_col: str | None = None,
    date_format: str | None = None,
    separator: str = ",",
    negative_amounts: NegativeAmounts = "error",
) -> pl.DataFrame:
    """Read and validate a transactions file.

    Parameters
    ----------
    source
        A ``.csv`` (or ``.tsv``/``.txt``), ``.parquet`` or ``.ndjson``/``.jsonl`` file.
    customer_col, date_col, amount_col
        Names of the required columns in the file. Customer ids are kept exactly as
        written (``00123`` stays a string). Amounts are in the shop's currency.
    order_col, channel_col, product_col, loyalty_col, margin_col
        Names of optional columns; ``None`` leaves them out. The loyalty flag accepts
        true/false, 1/0, yes/no; the margin column is the margin of the row, in currency.
    date_format
        A strftime format such as ``"%d/%m/%Y"``; ``None`` accepts ISO dates and ISO
        datetimes (the time of day is dropped: a purchase occasion is a calendar day).
    separator
        The CSV field separator.
    negative_amounts
        ``"error"`` (default) rejects refunds; ``"drop"`` leaves negative rows out;
        ``"net"`` keeps them and moves each onto the purchase it returns (its order, or the
        customer's latest purchase day on or before it), so it nets against that purchase.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (str), ``date`` (date), ``amount`` (float) and the mapped optional
        columns under their canonical names (``order_id``, ``channel``, ``product``,
        ``loyalty``, ``margin``).
    """
    check_read_options(separator=separator, date_format=date_format)
    path = Path(source)
    name = str(source)
    if negative_amounts not in ("error", "drop", "net"):
        raise UsageError(f"negative_amounts must be error, drop or net, not {negative_amounts!r}")
    given = {
        "customer_id": customer_col,
        "date": date_col,
        "amount": amount_col,
        "order_id": order_col,
        "channel": channel_col,
        "product": product_col,
        "loyalty": loyalty_col,
        "margin": margin_col,
    }
    columns = {canonical: col for canonical, col in given.items() if col is not None}
    options = {c: k for k, c in (REQUIRED | OPTIONAL).items()}

    frame = _scan(path, separator)
    try:
        found = frame.collect_schema()
    except pl.exceptions.PolarsError as e:
        raise _read_error(name, e, path) from None
    missing = [(c, col) for c, col in columns.items() if col not in found]
    if missing:
        canonical, col = missing[0]
        hint = ""
        if len(found) == 1 and any(s in next(iter(found)) for s in ";\t|"):
            hint = " The header looks like one field: set --separator to the file's delimiter."
        option = "--" + options[canonical].replace("_", "-")
        raise DataError(
            f"{name}: no column {col!r} (columns found: {', '.join(found) or 'none'}); "
            f"map yours with {option} NAME.{hint}"
        )

    nested = [col for col in columns.values() if found[col].is_nested()]
    if nested:
        raise DataError(
            f"{name}: column {nested[0]!r} holds nested values (JSON objects or lists); "
            "give plain text or numbers"
        )
    raw = frame.select(**{c: pl.col(col) for c, col in columns.items()}).with_row_index(
        "_row", offset=1
    )
    typed = [
        pl.col("customer_id").cast(pl.String),
        _date(found[columns["date"]], date_format),
        _number(found[columns["amount"]], "amount"),
    ]
    if "order_id" in columns:
        typed.append(pl.col("order_id").cast(pl.String))
    for c in ("channel", "product"):
        if c in columns:
            typed.append(pl.col(c).cast(pl.String).fill_null("(none)"))
    if "loyalty" in columns:
        typed.append(_flag(found[columns["loyalty"]]))
    if "margin" in columns:
        typed.append(_number(found[columns["margin"]], "margin"))
    checks = _checks(columns, negative_amounts)
    try:
        out = raw.with_columns(typed).with_columns(**checks).collect(engine="streaming")
    except pl.exceptions.PolarsError as e:
        if "more fields" in str(e):
            raise _ragged_error(path, name, separator) from None
        raise _read_error(name, e, path) from None
    if out.height == 0:
        raise DataError(f"{name}: no transactions (the file has a header but no rows)")
    for flag, (column, problem, fix) in _PROBLEMS.items():
        if flag in out.columns and out[flag].any():
            row = out.filter(pl.col(flag)).row(0, named=True)["_row"]
            value = _raw_value(raw, row, column)
            value = "" if value is None else value
            what = problem.format(value=value)
            raise DataError(f"{name}: column {columns[column]!r}, row {row}: {what}; {fix}")
    if SUFFIXES.get(path.suffix.lower()) == "ndjson":
        _no_stringified_objects(path, out, columns["customer_id"], name)
    out = out.select(
        "customer_id", "date", "amount", *[c for c in OPTIONAL.values() if c in columns]
    )
    if negative_amounts == "drop":
        kept = out.filter(pl.col("amount") >= 0)
        if kept.height < out.height:
            _warn(f"{name}: {out.height - kept.height:,} negative amounts (refunds) left out")
        out = kept
    elif negative_amounts == "net":
        out = _net_refunds(out, name)
    _warn_degenerate(out, name)
    return out


def _net_refunds(transactions: pl.DataFrame, name: str) -> pl.DataFrame:
    """Move each refund onto the purchase it returns, so it nets against it everywhere.

    The purchase is the refund's own order when ``order_id`` names an order with a purchase,
    otherwise the customer's latest purchase on or before the refund's day. The refund keeps
    its amount and takes that purchase's day (and order id); rows stay in file order.
    Refunds with no purchase before them are left out, with a warning.
    """
    rows = transactions.with_row_index("_row")
    refunds = rows.filter(pl.col("amount") < 0)
    if refunds.height == 0:
        return transactions
    purchases = rows.filter(pl.col("amount") >= 0)
    has_orders = "order_id" in rows.columns
    latest = (  # one target per customer and day: the day's last order id
        purchases.group_by("customer_id", "date")
        .agg(*([pl.col("order_id").max().alias("_order")] if has_orders else []))
        .with_columns(_date=pl.col("date"))
        .sort("date")
    )
    matched = refunds.sort("date").join_asof(
        latest.drop("date"),
        left_on="date",
        right_on="_date",
        by="customer_id",
        check_sortedness=False,  # both sides are sorted by day just above
    )
    if has_orders:
        own = purchases.group_by("customer_id", "order_id").agg(_own_date=pl.col("date").min())
        matched = matched.join(own, on=["customer_id", "order_id"], how="left").with_columns(
            _date=pl.coalesce("_own_date", "_date"),
            _order=pl.when(pl.col("_own_date").is_not_null())
            .then(pl.col("order_id"))
            .otherwise(pl.col("_order")),
        )
    orphans = matched.filter(pl.col("_date").is_null()).height
    if orphans:
        _warn(f"{name}: {orphans:,} refunds come before any purchase of their customer; left out")
    moved = matched.filter(pl.col("_date").is_not_null()).with_columns(
        date=pl.col("_date"), **({"order_id": pl.col("_order")} if has_orders else {})
    )
    return pl.concat([purchases, moved.select(purchases.columns)]).sort("_row").drop("_row")


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)


def _warn_degenerate(transactions: pl.DataFrame, name: str) -> None:
    """Warn about valid but unusual rows: zero amounts and exact duplicates (both kept)."""
    zero = int((transactions["amount"] == 0).sum())
    if zero:
        _warn(
            f"{name}: column 'amount': {zero:,} of {transactions.height:,} rows are 0; they count "
            "as purchases for BG/NBD, and repeat buyers who spent nothing are left out of "
            "Gamma-Gamma"
        )
    # 64-bit row hashes: 20x faster than comparing rows; a collision can only undercount
    duplicated = transactions.height - transactions.hash_rows().n_unique()
    if duplicated:
        _warn(
            f"{name}: {duplicated:,} rows repeat an earlier row exactly; kept, each adds to its "
            "customer's purchase that day (check the export if they are not real)"
        )


_PROBLEMS = {
    "_bad_customer": ("customer_id", "empty customer id", "every row needs a customer id"),
    "_bad_date": (
        "date",
        "cannot read date {value!r}",
        "use ISO dates (2024-01-31) or pass --date-format, e.g. %d/%m/%Y",
    ),
    "_bad_amount": (
        "amount",
        "{value!r} is not a finite number",
        "amounts must be plain numbers such as 7.50 (no currency sign or decimal comma)",
    ),
    "_negative_amount": (
        "amount",
        "negative amount {value!r} (a refund?)",
        "pass --negative-amounts drop to leave refunds out or --negative-amounts net to net them",
    ),
    "_bad_order": (
        "order_id",
        "empty order id",
        "fill it in, or leave --order-col out (an order is then a customer-day)",
    ),
    "_bad_loyalty": ("loyalty", "{value!r} is not a loyalty flag", "use true/false, 1/0 or yes/no"),
    "_bad_margin": ("margin", "{value!r} is not a finite number", "margins must be plain numbers"),
}
"""Check column → (column, what is wrong, how to fix it), in the order they are reported."""


def _checks(columns: dict[str, str], negative_amounts: NegativeAmounts) -> dict[str, pl.Expr]:
    checks = {
        "_bad_customer": pl.col("customer_id").is_null()
        | (pl.col("customer_id").str.strip_chars() == ""),
        "_bad_date": pl.col("date").is_null(),
        "_bad_amount": pl.col("amount").is_null() | ~pl.col("amount").is_finite(),
    }
    if negative_amounts == "error":
        checks["_negative_amount"] = pl.col("amount") < 0
    if "order_id" in columns:
        checks["_bad_order"] = pl.col("order_id").is_null() | (
            pl.col("order_id").str.strip_chars() == ""
        )
    if "loyalty" in columns:
        checks["_bad_loyalty"] = pl.col("loyalty").is_null()
    if "margin" in columns:
        checks["_bad_margin"] = pl.col("margin").is_null() | ~pl.col("margin").is_finite()
    return checks


def _scan(path: Path, separator: str) -> pl.LazyFrame:
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
    if kind == "csv":
        _check_text(path)
        sep = "\t" if path.suffix.lower() == ".tsv" and separator == "," else separator
        return pl.scan_csv(path, separator=sep, infer_schema=False, raise_if_empty=True)
    if kind == "parquet":
        return pl.scan_parquet(path)
    return pl.scan_ndjson(path, infer_schema_length=None)


def _check_text(path: Path, size: int = 1 << 16) -> None:
    """Reject a binary or non-UTF-8 CSV early, naming the first bad row (of the first 64 KiB)."""
    with path.open("rb") as f:
        head = f.read(size)
    half = len(head) // 4  # UTF-16 without a byte-order mark: every other byte is NUL
    utf16 = half > 0 and max(head[::2].count(0), head[1::2].count(0)) >= half
    if utf16 or head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DataError(f"{path}: UTF-16 text, not UTF-8; save the file as UTF-8 and try again")
    if b"\r" in head and NEWLINE not in head:
        raise DataError(
            f"{path}: lines end in a carriage return only (old Mac text); save the file with "
            "LF or CRLF line ends"
        )
    nul = head.find(b"\x00")
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
        raise DataError(
            f"{path}: {_where(head[:bad].count(NEWLINE))} is not UTF-8 text (byte "
            f"0x{head[bad]:02x}); save the file as UTF-8 and try again"
        )


NEWLINE = b"\n"


def _where(row: int) -> str:
    return "the header" if row == 0 else f"row {row}"


def _read_error(name: str, error: Exception, path: Path | None = None) -> DataError:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if path is not None and SUFFIXES.get(path.suffix.lower()) == "ndjson":
        bad = _ndjson_error(path, name)
        if bad is not None:
            return bad
    if "utf-8" in text.lower() or "utf8" in text.lower():
        return DataError(f"{name}: not UTF-8 text; save the file as UTF-8 and try again")
    if isinstance(error, pl.exceptions.NoDataError):
        return DataError(f"{name}: the file is empty")
    return DataError(f"{name}: cannot be read ({text})")


def _no_stringified_objects(path: Path, out: pl.DataFrame, column: str, name: str) -> None:
    """polars reads a JSON object mixed with text ids as its JSON text: refuse such an id."""
    suspect = out.filter(pl.col("customer_id").str.contains(r"^\s*[\[{]"))["_row"]
    if suspect.len() == 0:
        return
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    for row in suspect.to_list():
        if isinstance(json.loads(lines[row - 1]).get(column), dict | list):
            raise DataError(
                f"{name}: column {column!r}, row {row}: a nested JSON value, not an id; "
                "give plain text or numbers"
            )


def _ndjson_error(path: Path, name: str) -> DataError | None:
    """The first NDJSON line that is not a JSON object (only on the error path)."""
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except ValueError as e:
                return DataError(
                    f"{name}: line {number} is not valid JSON ({e.msg}: {line.strip()[:40]!r}); "
                    "write one JSON object per line"
                )
            if not isinstance(obj, dict):
                return DataError(f"{name}: line {number} is not a JSON object; write one per line")
    return None


def _ragged_error(path: Path, name: str, separator: str) -> DataError:
    """Find the first CSV row with more fields than the header (only on the error path)."""
    with path.open(newline="", encoding="utf-8", errors="replace") as f:
        rows = csv.reader(f, delimiter=separator)
        width = len(next(rows))
        for number, fields in enumerate(rows, start=1):
            if len(fields) > width:
                return DataError(
                    f"{name}: row {number} has {len(fields)} fields but the header has {width} "
                    f"({separator.join(fields)!r}); quote values that contain {separator!r} "
                    "and write amounts with a decimal point (7.50, not 7,50)"
                )
    return DataError(f"{name}: a row has more fields than the header")


def _raw_value(raw: pl.LazyFrame, row: int, column: str) -> object:
    return raw.filter(pl.col("_row") == row).select(column).collect().item()


def _date(dtype: pl.DataType, date_format: str | None) -> pl.Expr:
    col = pl.col("date")
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    text = col.cast(pl.String).str.strip_chars()
    if date_format is None:
        iso = text.str.contains(_ISO_DATE)
        return (
            pl.when(iso)
            .then(text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False))
            .alias("date")
        )
    if any(d in date_format for d in ("%H", "%M", "%S", "%I", "%p", "%z", "%T", "%R")):
        return text.str.to_datetime(date_format, strict=False).dt.date()
    return text.str.to_date(date_format, strict=False)


def _number(dtype: pl.DataType, name: str) -> pl.Expr:
    col = pl.col(name)
    if dtype == pl.String:
        col = col.str.strip_chars()
    return col.cast(pl.Float64, strict=False)


def _flag(dtype: pl.DataType) -> pl.Expr:
    col = pl.col("loyalty")
    if dtype == pl.Boolean:
        return col.fill_null(False)
    text = col.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    return (
        pl.when(text.is_in(_TRUE)).then(True).when(text.is_in(_FALSE)).then(False).alias("loyalty")
    )


def read_channel_costs(path: str | os.PathLike[str]) -> dict[str, float]:
    """Acquisition cost per customer of each channel (currency), from ``.csv`` or ``.json``.

    A CSV has the columns ``channel,cost``; a JSON file is an object ``{channel: cost}``.

    >>> read_channel_costs("costs.json")  # doctest: +SKIP
    {'search': 12.0, 'paid_social': 25.0}
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: channel costs file not found")
    try:
        if path.suffix.lower() == ".json":
            costs = json.loads(path.read_text())
            if not isinstance(costs, dict):
                raise DataError(f"{path}: expected a JSON object {{channel: cost}}")
            rows = [(f"channel {k!r}", k, v) for k, v in costs.items()]
        else:
            frame = pl.read_csv(path, infer_schema=False)
            if frame.columns[:2] != ["channel", "cost"]:
                found = ",".join(frame.columns)
                raise DataError(f"{path}: expected the columns channel,cost, found {found}")
            rows = [(f"column 'cost', row {i}", *r) for i, r in enumerate(frame.iter_rows(), 1)]
    except (ValueError, UnicodeDecodeError, pl.exceptions.PolarsError) as e:
        raise DataError(f"{path}: cannot read channel costs ({e})") from None
    out = {}
    for where, channel, cost in rows:
        try:
            out[str(channel)] = float(cost)
        except (TypeError, ValueError):
            out[str(channel)] = math.nan
        if not math.isfinite(out[str(channel)]) or out[str(channel)] < 0:
            raise DataError(f"{path}: {where}: {cost!r} is not a cost; use a number >= 0")
    return out
