"""Read transactions from CSV, Parquet, NDJSON or a DataFrame into a validated, typed frame.

The source is scanned lazily and only the mapped columns are read. Formats (dates, decimal
commas, currency signs) are detected on a sample, then each column is parsed with one polars
expression. Every problem is a :class:`~clv.errors.DataError` whose one-line message names
the file, the column, where the first bad value is (``line 7`` of a file, as ``grep -n``
counts it; ``row 7`` of a frame, counted from 1: :mod:`clv.data.lines`) and its value, and
the keyword that fixes it (``customer_col=``; the CLI says ``--customer-col``).
"""

import datetime as dt
import json
import math
import os
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl

from clv.data import exclusions as ex
from clv.data import quality as q
from clv.data.checks import build_checks, raise_first_problem
from clv.data.columns import OPTIONAL, missing_message
from clv.data.exclusions import Exclusions, customer_ids
from clv.data.frames import Frame, as_polars, read_columns
from clv.data.lines import Locate, csv_line, file_lines, frame_row, ndjson_line
from clv.data.options import check_read_options
from clv.data.parse import (
    NumberFormat,
    date_expr,
    detect_currency,
    detect_date_format,
    flag_expr,
    number_expr,
)
from clv.data.quality import Quality
from clv.data.sources import (
    SUFFIXES,
    codec_name,
    is_frame,
    open_source,
    ragged_error,
    read_error,
)
from clv.data.sources import source_name as _source_name
from clv.errors import ClvInfo, DataError, UsageError

NegativeAmounts = Literal["error", "drop", "net"]

EARLIEST = dt.date(1990, 1, 1)
"""Dates before this are an error unless ``allow_dates_from`` is earlier."""
SAMPLE_ROWS = 10_000
"""Rows sampled (from the top) to detect the date format and a currency sign."""


@dataclass(frozen=True)
class Loaded:
    """Validated transactions and what reading found (see :class:`~clv.data.quality.Quality`)."""

    transactions: pl.DataFrame
    quality: Quality


def read_transactions(
    source: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    quantity_col: str | None = None,
    price_col: str | None = None,
    order_col: str | None = None,
    channel_col: str | None = None,
    product_col: str | None = None,
    loyalty_col: str | None = None,
    margin_col: str | None = None,
    date_format: str | None = None,
    separator: str = ",",
    decimal_comma: bool = False,
    encoding: str = "utf-8",
    negative_amounts: NegativeAmounts = "error",
    keep_placeholder_ids: bool = False,
    allow_dates_from: str | dt.date | None = None,
    allow_dates_to: str | dt.date | None = None,
    exclude_customers: Exclusions | None = None,
) -> pl.DataFrame:
    """Read and validate transactions: :func:`load_transactions` without the quality counts."""
    options = {k: v for k, v in locals().items() if k != "source"}
    return load_transactions(source, **options).transactions


def load_transactions(
    source: Any,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    quantity_col: str | None = None,
    price_col: str | None = None,
    order_col: str | None = None,
    channel_col: str | None = None,
    product_col: str | None = None,
    loyalty_col: str | None = None,
    margin_col: str | None = None,
    date_format: str | None = None,
    separator: str = ",",
    decimal_comma: bool = False,
    encoding: str = "utf-8",
    negative_amounts: NegativeAmounts = "error",
    keep_placeholder_ids: bool = False,
    allow_dates_from: str | dt.date | None = None,
    allow_dates_to: str | dt.date | None = None,
    exclude_customers: Exclusions | None = None,
) -> Loaded:
    """Read and validate transactions; count what reading found.

    Parameters
    ----------
    source
        A ``.csv`` (or ``.tsv``/``.txt``), ``.parquet`` or ``.ndjson``/``.jsonl`` file, or a
        polars or pandas DataFrame (validated the same way; errors name "the frame").
    customer_col, date_col, amount_col
        Names of the required columns. Customer ids are kept as written (``00123`` stays a
        string); rows whose id is empty or a placeholder (``(blank)``, ``guest``, ...,
        see :data:`~clv.data.quality.PLACEHOLDER_IDS`; ``0`` and ``-1`` only when they hold
        an implausible share of the orders) are left out with one warning.
    quantity_col, price_col
        Instead of ``amount_col``: amount = quantity x unit price per row, rounded to cents.
    order_col, channel_col, product_col, loyalty_col, margin_col
        Optional columns; ``None`` leaves them out. The loyalty flag accepts true/false, 1/0,
        yes/no; the margin column is the margin of the row, in currency.
    date_format
        A strftime format such as ``"%d/%m/%Y"``; ``None`` detects ISO dates and datetimes
        (``T`` or space, ``Z`` or ``+01:00`` offsets), ``m/d/Y``, ``d/m/Y``, ``d.m.Y`` and
        ``d-m-Y`` (each with an optional time). The time of day is dropped and the local
        date as written is kept: a purchase occasion is a calendar day.
    separator
        The CSV field separator.
    decimal_comma
        Read ``12,50``, ``1 234,50`` and ``1.234,50`` (amounts, quantities, prices, margins).
        A currency sign or code that every value carries (``kr``, ``zł``, ``€``, ``EUR``) is
        stripped in either case.
    encoding
        Text encoding of a CSV file: ``utf-8`` (default), ``utf-8-sig``, ``utf-16``,
        ``cp1250``, ``cp1252``, ``latin-1``, ``iso-8859-2``, ...
    negative_amounts
        ``"error"`` (default) rejects refunds; ``"drop"`` leaves negative rows out;
        ``"net"`` keeps them and moves each onto the purchase it returns (its order, or the
        customer's latest purchase day on or before it), so it nets against that purchase.
    keep_placeholder_ids
        Keep rows whose customer id is a placeholder (empty ids are still left out).
    allow_dates_from, allow_dates_to
        Dates outside [1990-01-01, today] are an error naming the row; these widen the range.
    exclude_customers
        Customers to leave out (house, staff or test accounts): a list of ids, ids separated
        by commas (``"1001,1002"``), or a ``.txt``/``.csv`` file of one id per line (see
        :func:`~clv.data.exclusions.customer_ids`). Their rows are dropped before any other
        check and counted per customer; an id the data does not hold is warned about.

    Returns
    -------
    Loaded
        ``transactions``: ``customer_id`` (str), ``date`` (date), ``amount`` (float) and the
        mapped optional columns under their canonical names (``order_id``, ``channel``,
        ``product``, ``loyalty``, ``margin``); ``quality``: the counts of
        :class:`~clv.data.quality.Quality`.
    """
    name = _source_name(source)
    columns, low, high = check_options(
        customer_col=customer_col,
        date_col=date_col,
        amount_col=amount_col,
        quantity_col=quantity_col,
        price_col=price_col,
        order_col=order_col,
        channel_col=channel_col,
        product_col=product_col,
        loyalty_col=loyalty_col,
        margin_col=margin_col,
        date_format=date_format,
        separator=separator,
        negative_amounts=negative_amounts,
        allow_dates_from=allow_dates_from,
        allow_dates_to=allow_dates_to,
    )
    excluded_ids = customer_ids(exclude_customers, customer_col=customer_col)

    frame = open_source(source, separator=separator, encoding=encoding)
    try:
        found = frame.collect_schema()
    except pl.exceptions.PolarsError as e:
        raise read_error(name, e, None if is_frame(source) else Path(source)) from None
    missing = [(c, col) for c, col in columns.items() if col not in found]
    if missing:
        raise DataError(missing_message(name, missing, list(found)))

    check_plain(name, [col for col in columns.values() if found[col].is_nested()])
    read = {c: pl.col(col) for c, col in columns.items()}
    csv_file = not is_frame(source) and Path(source).suffix.lower() in (".csv", ".txt", ".tsv")
    unmapped = [col for col in found if col not in columns.values()]
    if csv_file and unmapped:
        # every column is parsed (kept as one flag): only then does polars see a line with
        # more fields than the header; it would read the mapped fields and drop the rest
        read["_unmapped"] = pl.any_horizontal(pl.col(unmapped).is_null())
    raw = frame.select(**read).with_row_index("_row", offset=1)
    if csv_file:
        blank = pl.all_horizontal(pl.col(list(columns)).is_null())
        raw = raw.filter(~blank)  # blank lines
    dtypes = {c: found[col] for c, col in columns.items()}
    text = text_columns(columns, dtypes)

    def collect(lazy: pl.LazyFrame) -> pl.DataFrame:
        try:
            return lazy.collect(engine="streaming")
        except pl.exceptions.PolarsError as e:
            if "more fields" in str(e) and not is_frame(source):
                raise ragged_error(Path(source), name, separator, encoding) from None
            raise read_error(name, e, None if is_frame(source) else Path(source)) from None

    sample = collect(raw.select(text).head(SAMPLE_ROWS)) if text else pl.DataFrame()
    fmt, number = detect_formats(
        sample,
        columns,
        name,
        date_format=date_format,
        decimal_comma=decimal_comma,
        every_date=lambda: collect(raw.select("date").unique()),
    )
    typed, checks = row_rules(
        columns,
        dtypes,
        date_format=fmt,
        number=number,
        negative_amounts=negative_amounts,
        low=low,
        high=high,
        keep_placeholder_ids=keep_placeholder_ids,
        exclude=excluded_ids,
    )
    out = collect(raw.with_columns(typed).with_columns(**checks))
    rows_read = out.height
    if rows_read == 0:
        raise DataError(f"{name}: no transactions (the file has a header but no rows)")
    out, excluded = ex.leave_out(out, excluded_ids, name, columns["customer_id"])
    if not keep_placeholder_ids:  # 0 and -1 when they hold an implausible share of orders
        numeric = q.numeric_placeholders(out.filter(~pl.col("_placeholder")))
        if numeric:
            placeholder = pl.col("_placeholder") | pl.col("customer_id").is_in(numeric)
            out = out.with_columns(_placeholder=placeholder)
    placeholders: dict[str, int] = {}
    if out["_placeholder"].any():
        placeholders = q.placeholder_counts(out.filter(pl.col("_placeholder")))
        out = out.filter(~pl.col("_placeholder"))
        if out.height == 0:
            raise q.all_placeholders_error(name, columns["customer_id"], placeholders)
        q.warn_placeholders(name, placeholders)
    locate: Locate = frame_row
    if not is_frame(source):
        kind = SUFFIXES[Path(source).suffix.lower()]
        locate = file_lines(kind, Path(source), separator=separator, encoding=encoding)
    raise_first_problem(out, raw, columns, name, low, high, locate)
    if not is_frame(source) and Path(source).suffix.lower() in (".ndjson", ".jsonl"):
        no_stringified_objects(Path(source), out, columns["customer_id"], name)
    out = out.select(
        "customer_id", "date", "amount", *[c for c in OPTIONAL.values() if c in columns]
    )
    zero, duplicates = q.count_degenerate(out, name, columns)
    dropped = netted = orphans = 0
    if negative_amounts == "drop":
        kept = out.filter(pl.col("amount") >= 0)
        dropped = out.height - kept.height
        q.warn_dropped_refunds(name, dropped)
        out = kept
    elif negative_amounts == "net":
        out, netted, orphans = q.net_refunds(out, name)
    houses = q.house_accounts(out, name)
    first_partial, last_partial = q.partial_months(out["date"])
    quality = Quality(
        rows_read=rows_read,
        placeholder_ids=placeholders,
        refunds_dropped=dropped,
        refunds_netted=netted,
        refunds_without_purchase=orphans,
        zero_amounts=zero,
        duplicate_rows=duplicates,
        date_format=fmt if found[columns["date"]] == pl.String else None,
        encoding=None if is_frame(source) else codec_name(encoding),
        decimal_comma=decimal_comma,
        currency=number.currency,
        first_month_partial=first_partial,
        last_month_partial=last_partial,
        house_accounts=houses,
        excluded_customers=excluded,
        excluded_not_found=tuple(ex.not_found(excluded_ids, excluded)),
    )
    return Loaded(transactions=out, quality=quality)


def check_options(
    *,
    customer_col: str,
    date_col: str,
    amount_col: str,
    quantity_col: str | None,
    price_col: str | None,
    order_col: str | None,
    channel_col: str | None,
    product_col: str | None,
    loyalty_col: str | None,
    margin_col: str | None,
    date_format: str | None,
    separator: str,
    negative_amounts: str,
    allow_dates_from: str | dt.date | None,
    allow_dates_to: str | dt.date | None,
) -> tuple[dict[str, str], dt.date, dt.date]:
    """Check the reading options before any data is read (every engine); returns the
    columns to read (canonical name → the source's column) and the range of valid dates."""
    check_read_options(separator=separator, date_format=date_format)
    if negative_amounts not in ("error", "drop", "net"):
        raise UsageError(f"negative_amounts must be error, drop or net, not {negative_amounts!r}")
    if (quantity_col is None) != (price_col is None):
        raise UsageError("give quantity_col= and price_col= together (amount = quantity x price)")
    low, high = _date_range(allow_dates_from, allow_dates_to)
    given: dict[str, str | None] = {"customer_id": customer_col, "date": date_col}
    if quantity_col is None:
        given["amount"] = amount_col
    else:
        given |= {"quantity": quantity_col, "price": price_col}
    given |= {
        "order_id": order_col,
        "channel": channel_col,
        "product": product_col,
        "loyalty": loyalty_col,
        "margin": margin_col,
    }
    return {c: col for c, col in given.items() if col is not None}, low, high


def check_plain(name: str, nested: list[str]) -> None:
    """The error for columns of nested values (JSON objects or lists)."""
    if nested:
        raise DataError(
            f"{name}: column {nested[0]!r} holds nested values (JSON objects or lists); "
            "give plain text or numbers"
        )


def text_columns(columns: dict[str, str], dtypes: dict[str, pl.DataType]) -> list[str]:
    """The canonical columns whose formats are detected on a sample, when read as text."""
    return [
        c for c in ("date", "amount", "price", "margin") if c in columns and dtypes[c] == pl.String
    ]


def detect_formats(
    sample: pl.DataFrame,
    columns: dict[str, str],
    name: str,
    *,
    date_format: str | None,
    decimal_comma: bool,
    every_date: Callable[[], pl.DataFrame],
) -> tuple[str | None, NumberFormat]:
    """The date format and number format of the text columns, detected on ``sample`` (the
    first :data:`SAMPLE_ROWS` rows of :func:`text_columns`; ``every_date`` gives each
    distinct date when the sample cannot settle the day/month order); each detection is
    reported once (:class:`~clv.errors.ClvInfo`)."""
    fmt = date_format
    if fmt is None and "date" in sample.columns:
        fmt = _detect_dates(sample, columns["date"], name, every_date)
    money = "price" if "price" in columns else "amount"
    values = sample[money].to_list() if money in sample.columns else []
    number = NumberFormat(decimal_comma=decimal_comma, currency=detect_currency(values))
    if number.currency is not None:
        warnings.warn(
            f"{name}: column {columns[money]!r}: every value carries {number.currency!r}; stripped",
            ClvInfo,
            stacklevel=3,
        )
    return fmt, number


def row_rules(
    columns: dict[str, str],
    dtypes: dict[str, pl.DataType],
    *,
    date_format: str | None,
    number: NumberFormat,
    negative_amounts: NegativeAmounts,
    low: dt.date,
    high: dt.date,
    keep_placeholder_ids: bool,
    exclude: Sequence[str] = (),
) -> tuple[list[pl.Expr], dict[str, pl.Expr]]:
    """The rules of one row, for every engine: the typed columns (over the raw columns, named
    canonically: ``customer_id``, ``date``, ``amount``, ...) and the checks
    (:func:`~clv.data.checks.build_checks` plus ``_placeholder``, and ``_excluded`` when
    ``exclude`` names customers: :func:`~clv.data.exclusions.excluded_expr`), applied as
    ``raw.with_columns(typed).with_columns(**checks)``.

    ``dtypes`` maps each canonical column to its type as read; ``date_format`` and ``number``
    are what detection found on the sample.
    """
    typed = [
        pl.col("customer_id").cast(pl.String),
        date_expr("date", dtypes["date"], date_format).alias("date"),
    ]
    if "quantity" in columns:
        quantity = number_expr("quantity", dtypes["quantity"], NumberFormat(number.decimal_comma))
        price = number_expr("price", dtypes["price"], number)
        typed += [quantity, price, (quantity * price).round(2).alias("amount")]
    else:
        typed.append(number_expr("amount", dtypes["amount"], number))
    if "order_id" in columns:
        typed.append(pl.col("order_id").cast(pl.String))
    for c in ("channel", "product"):
        if c in columns:
            typed.append(pl.col(c).cast(pl.String).fill_null("(none)"))
    if "loyalty" in columns:
        typed.append(flag_expr("loyalty", dtypes["loyalty"]).alias("loyalty"))
    if "margin" in columns:
        typed.append(number_expr("margin", dtypes["margin"], number))
    checks = build_checks(columns, negative_amounts, low, high)
    checks["_placeholder"] = q.placeholder_expr(keep_placeholder_ids)
    if exclude:
        checks["_excluded"] = ex.excluded_expr(exclude)
    return typed, checks


def _date_range(low: str | dt.date | None, high: str | dt.date | None) -> tuple[dt.date, dt.date]:
    def day(value: str | dt.date | None, keyword: str, default: dt.date) -> dt.date:
        if value is None:
            return default
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value).strip())
        except ValueError:
            raise UsageError(f"{keyword}: expected a date YYYY-MM-DD, not {value!r}") from None

    return (
        day(low, "allow_dates_from", EARLIEST),
        day(high, "allow_dates_to", dt.date.today()),
    )


def no_stringified_objects(path: Path, out: pl.DataFrame, column: str, name: str) -> None:
    """polars (and Spark) read a JSON object mixed with text ids as its JSON text: refuse such
    an id (``out``: the ids that look like JSON, with ``_row``, the record counted from 1;
    the error names its line)."""
    suspect = out.filter(pl.col("customer_id").str.contains(r"^\s*[\[{]"))["_row"]
    if suspect.len() == 0:
        return
    with path.open(encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    for record in suspect.to_list():
        if isinstance(json.loads(lines[record - 1]).get(column), dict | list):
            raise DataError(
                f"{name}: column {column!r}, line {ndjson_line(path, record)}: a nested JSON "
                "value, not an id; give plain text or numbers"
            )


def _detect_dates(
    sample: pl.DataFrame, column: str, name: str, every: Callable[[], pl.DataFrame]
) -> str | None:
    """The date format of the sample; when its day/month order is open, of ``every`` value."""
    values = sample["date"].unique(maintain_order=True).to_list()
    try:
        fmt = detect_date_format(values, column, name)
    except DataError:
        if sample.height < SAMPLE_ROWS:
            raise
        fmt = detect_date_format(values[:1] + every()["date"].to_list(), column, name)
    if fmt is not None and not fmt.startswith("ISO"):
        timed = any(":" in str(v) for v in values)  # "13.01.2024 10:15": the date is kept
        dropped = "; time of day dropped" if timed else ""
        warnings.warn(
            f"{name}: column {column!r}: dates read as {fmt} (detected{dropped})",
            ClvInfo,
            stacklevel=4,
        )
    return fmt


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
            rows = list(enumerate(costs.items(), 1))
        else:
            frame = pl.read_csv(path, infer_schema=False)
            if frame.columns[:2] != ["channel", "cost"]:
                found = ",".join(frame.columns)
                raise DataError(f"{path}: expected the columns channel,cost, found {found}")
            pairs = enumerate(frame.select("channel", "cost").iter_rows(), 1)
            rows = [(record, pair) for record, pair in pairs if pair != (None, None)]  # blank
    except (ValueError, UnicodeDecodeError, pl.exceptions.PolarsError) as e:
        raise DataError(f"{path}: cannot read channel costs ({e})") from None
    out = {}
    for record, (channel, cost) in rows:
        try:
            out[str(channel)] = float(cost)
        except (TypeError, ValueError):
            out[str(channel)] = math.nan
        if not math.isfinite(out[str(channel)]) or out[str(channel)] < 0:
            where = f"channel {channel!r}"
            if path.suffix.lower() != ".json":
                line = csv_line(path, record, separator=",", encoding="utf-8")
                where = f"column 'cost', line {line}"
            raise DataError(f"{path}: {where}: {cost!r} is not a cost; use a number >= 0")
    return out


def checked_transactions(transactions: Frame) -> pl.DataFrame:
    """A transactions frame given to a function directly (polars, lazy or pandas), checked as
    :func:`read_transactions` checks a file: the columns ``customer_id``, ``date`` and
    ``amount`` present, dates as dates (datetimes keep their day), amounts finite and not
    negative, optional columns (``order_id``, ``loyalty``, ``margin``) well formed. Rows are
    neither dropped nor reordered; the first problem is a :class:`DataError` naming the row."""
    frame = as_polars(transactions, "transactions")
    name = "transactions"
    required = ["customer_id", "date", "amount"]
    missing = [(c, c) for c in required if c not in frame.columns]
    if missing:
        raise DataError(missing_message(name, missing, frame.columns))
    columns = {c: c for c in (*required, *read_columns(frame).values())}
    schema = frame.schema
    if schema["date"] == pl.String or not (schema["date"].is_temporal()):
        raise DataError(
            f"{name}: column 'date' holds {schema['date']}, not dates; read the data with "
            "clv.read_transactions (it parses text dates)"
        )
    if not schema["amount"].is_numeric():
        raise DataError(
            f"{name}: column 'amount' holds {schema['amount']}, not numbers; read the data "
            "with clv.read_transactions (it parses text amounts)"
        )
    typed = frame.with_columns(
        pl.col("customer_id").cast(pl.String),
        pl.col("date").cast(pl.Date),
        pl.col("amount").cast(pl.Float64),
        *[pl.col(c).cast(pl.Float64) for c in ("margin",) if c in columns],
    )
    low, high = dt.date.min, dt.date.max
    checks = build_checks(columns, "net", low, high)  # negative rows: by customer-day below
    checks["_bad_id"] = pl.col("customer_id").is_null()
    flags = typed.select(**checks).with_row_index("_row", offset=1)
    if flags.select(pl.any_horizontal(pl.exclude("_row")).any()).item():
        if flags["_bad_id"].any():
            row = flags.filter(pl.col("_bad_id"))["_row"][0]
            raise DataError(f"{name}: column 'customer_id', row {row}: empty customer id")
        raw = frame.lazy().with_row_index("_row", offset=1)
        raise_first_problem(flags, raw, columns, name, low, high, frame_row)
    day_total = pl.col("amount").sum().over("customer_id", "date")
    negative = typed.with_row_index("_row", offset=1).filter(day_total < 0)
    if negative.height:
        who, day, row = negative.select("customer_id", "date", "_row").row(0)
        total = negative.filter((pl.col("customer_id") == who) & (pl.col("date") == day))
        raise DataError(
            f"{name}: column 'amount', row {row}: customer {who!r} spent "
            f"{total['amount'].sum():g} in all on {day} (a refund not netted against a "
            'purchase); read the data with clv.read_transactions(negative_amounts="net")'
        )
    return typed
