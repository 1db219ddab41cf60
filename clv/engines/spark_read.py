"""Read and validate transactions on Spark with the one-machine reader's rules, not a copy.

Spark loads the raw columns (CSV as text, with RFC 4180 doubled quotes; Parquet; NDJSON; a
table; a Spark DataFrame). Each Arrow batch then goes through the very polars expressions of
:func:`clv.data.io.row_rules` on the workers (``mapInArrow``): the same date and number
parsing (detected formats, decimal commas, currency signs, quantity x price), the same
checks (date range, refunds, empty orders, loyalty flags, margins) and the same placeholder
ids. Spark then counts what the checks found and the driver raises or warns with the
messages of :mod:`clv.data.checks` and :mod:`clv.data.quality`. A local file is first
checked as text as :func:`clv.data.sources.open_source` checks it (encoding, UTF-16, binary
data, a column named twice).

The first bad value is named where the one-machine reader names it (:mod:`clv.data.lines`):
the line of a local CSV or NDJSON file, counted as ``grep -n`` counts it (Spark skips blank
lines; they are counted back); the row of a Parquet file, a table or a Spark DataFrame,
counted from 1; ``record N`` of a file Spark reads from elsewhere (a URL).
"""

import datetime as dt
import operator
import os
from collections.abc import Callable, Collection, Iterator
from functools import reduce
from pathlib import Path
from typing import Any, cast

import polars as pl
import pyarrow as pa

from clv.data import exclusions as ex
from clv.data import quality as q
from clv.data.checks import PROBLEMS, problem_column, problem_error
from clv.data.columns import OPTIONAL, missing_message
from clv.data.io import (
    SAMPLE_ROWS,
    Loaded,
    NegativeAmounts,
    check_options,
    check_plain,
    detect_formats,
    no_stringified_objects,
    row_rules,
    text_columns,
)
from clv.data.lines import Locate, csv_line, frame_row, ndjson_line, spreadsheet_record
from clv.data.quality import Quality
from clv.data.sources import (
    SUFFIXES,
    _ndjson_error,
    check_text,
    codec_name,
    csv_separator,
    file_kind,
    ragged_error,
)
from clv.engines.spark_session import (
    LEGACY_CHARSETS,
    AnalysisException,
    DataFrame,
    Row,
    SparkSession,
    sf,
    spark_session,
    st,
)
from clv.errors import DataError, UsageError

__all__ = ["Source", "load_transactions", "read_checked", "read_transactions"]

Source = str | os.PathLike[str] | DataFrame

_CORRUPT = "_corrupt_record"
_SPARK_CHARSETS = {
    "ascii": "us-ascii",
    "iso8859-1": "iso-8859-1",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "utf-16": "utf-16",
    "utf-16-le": "utf-16le",
    "utf-16-be": "utf-16be",
    "utf-32": "utf-32",
}
"""Python codec name → the name of the charset Spark's CSV reader decodes."""

_ARROW = {
    "customer_id": pa.string(),
    "date": pa.date32(),
    "amount": pa.float64(),
    "quantity": pa.float64(),
    "price": pa.float64(),
    "order_id": pa.string(),
    "channel": pa.string(),
    "product": pa.string(),
    "loyalty": pa.bool_(),
    "margin": pa.float64(),
}
"""The Arrow type of each canonical column after :func:`clv.data.io.row_rules`."""


def _spark_type(arrow: pa.DataType) -> str:
    return {
        pa.string(): "string",
        pa.date32(): "date",
        pa.float64(): "double",
        pa.bool_(): "boolean",
        pa.int64(): "bigint",
    }[arrow]


def _is_local(name: str) -> bool:
    return "://" not in name and not name.startswith("dbfs:")


def _load(
    spark: SparkSession, source: Source, *, separator: str, encoding: str
) -> tuple[DataFrame, str, Path | None]:
    """The source as a Spark DataFrame (CSV columns as text, a ``_corrupt_record`` column for
    rows with more fields than the header), the name errors use, and the local CSV file."""
    if isinstance(source, DataFrame):
        return source, "the Spark DataFrame", None
    name = str(source)
    path = Path(source)
    local = _is_local(name)
    kind: str | None
    if local and path.is_dir():  # a folder of parts (Spark's own output), else an error
        parts = {SUFFIXES.get(p.suffix.lower()) for p in path.iterdir() if p.is_file()}
        kind = next((k for k in ("parquet", "csv", "ndjson") if k in parts), None)
        if kind is None:
            file_kind(path)  # the one-machine reader's error
        local = False  # read by Spark, not checked as one file
    elif local and "/" not in name and not path.suffix and not path.exists():
        kind = "table"
    elif local:
        kind = file_kind(path)
    else:
        kind = SUFFIXES.get(path.suffix.lower(), "parquet")
    try:
        if kind == "table":
            return spark.table(name), f"table {name}", None
        if kind == "parquet":
            return spark.read.parquet(name), name, None
        if kind == "ndjson":
            frame = spark.read.json(name, columnNameOfCorruptRecord=_CORRUPT)
            if _CORRUPT in frame.columns:
                bad = _ndjson_error(path, name) if local else None
                raise bad or DataError(f"{name}: a line is not valid JSON; write one per line")
            return frame, name, None
        codec = codec_name(encoding)
        sep = csv_separator(path, separator)
        header = check_text(path, sep, encoding) if local else None
        charset = _charset(spark, codec, encoding)
        options: dict[str, Any] = {
            "sep": sep,
            "quote": '"',
            "escape": '"',  # RFC 4180: a quote inside a quoted value is doubled
            "encoding": charset,
            "multiLine": codec not in ("utf-8", "utf-8-sig", "ascii", "iso8859-1"),
            "header": True,
            "mode": "PERMISSIVE",
            "columnNameOfCorruptRecord": _CORRUPT,
            "enforceSchema": False,
        }
        if header is None:
            header = spark.read.csv(name, **(options | {"mode": "PERMISSIVE"})).columns
        header = [h.lstrip("\ufeff") for h in header]
        schema = ", ".join(f"`{h}` string" for h in header) + f", `{_CORRUPT}` string"
        frame = spark.read.csv(name, schema=schema, **(options | {"enforceSchema": True}))
        return frame, name, path if local else None
    except AnalysisException as e:
        raise DataError(f"{name}: Spark cannot read it ({str(e).splitlines()[0]})") from None


def _charset(spark: SparkSession, codec: str, encoding: str) -> str:
    """The name Spark's CSV reader knows ``codec`` by. Other code pages (cp1250, cp1252,
    iso-8859-2) are read when the session allows Java's charsets (a local session does)."""
    if codec in _SPARK_CHARSETS:
        return _SPARK_CHARSETS[codec]
    java = (
        f"windows-{codec[2:]}" if codec.startswith("cp") else codec.replace("iso8859", "iso-8859")
    )
    if str(spark.conf.get(LEGACY_CHARSETS, "false")).lower() != "true":
        raise UsageError(
            f"encoding {encoding!r}: Spark reads {java} with the setting {LEGACY_CHARSETS}=true "
            f"(--spark-conf {LEGACY_CHARSETS}=true), or save the file as UTF-8"
        )
    return java


def _ragged(frame: DataFrame, mapped: Collection[str]) -> Any:
    """True on a row with more fields than the header: Spark keeps its first fields, so its
    last column is filled, where a row with fewer fields has it empty. The columns not
    ``mapped`` are read too (in a condition that always holds): Spark flags a row only when
    it parses every column of it."""
    if _CORRUPT not in frame.columns:
        return sf.lit(False)
    header = [c for c in frame.columns if c != _CORRUPT]
    ragged = sf.col(_CORRUPT).isNotNull() & sf.col(f"`{header[-1]}`").isNotNull()
    unmapped = [sf.col(f"`{c}`") for c in header if c not in mapped]
    if unmapped:
        ragged = ragged & (sf.length(sf.concat_ws("", *unmapped)) >= 0)
    return ragged


def _ragged_error(name: str, csv: Path | None, separator: str, encoding: str) -> DataError:
    if csv is not None:
        return ragged_error(csv, name, csv_separator(csv, separator), encoding)
    return DataError(f"{name}: a row has more fields than the header")


def read_checked(
    source: Source,
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
    exclude_customers: ex.Exclusions | None = None,
    spark: SparkSession | Callable[[], SparkSession] | None = None,
) -> tuple[DataFrame, Quality]:
    """Read and validate transactions on Spark: :func:`clv.data.io.load_transactions`'s
    keywords, rules, errors and warnings.

    The transactions keep a ``_row`` column (the source's order) for
    :func:`load_transactions`; :func:`read_transactions` drops it.

    Parameters
    ----------
    source
        A ``.csv``/``.tsv``/``.txt``, ``.parquet`` or ``.ndjson`` file, a Parquet folder (any
        URL Spark reads: ``s3a://``, ``abfss://``, ``gs://``, ``dbfs:/``), a table name, or a
        Spark DataFrame.
    spark
        The session, or a function that starts it (called once the options are checked);
        default :func:`clv.engines.spark_session.spark_session`.

    Returns
    -------
    tuple
        The transactions (a lazy Spark DataFrame with the one-machine columns and ``_row``)
        and the :class:`~clv.data.quality.Quality` counts.
    """
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
    excluded_ids = ex.customer_ids(exclude_customers, customer_col=customer_col)
    session = spark() if callable(spark) else spark or spark_session()
    frame, name, csv = _load(session, source, separator=separator, encoding=encoding)
    found = [c for c in frame.columns if c != _CORRUPT]
    missing = [(c, col) for c, col in columns.items() if col not in found]
    if missing:
        raise DataError(missing_message(name, missing, found))
    types = {f.name: f.dataType for f in frame.schema.fields}
    check_plain(
        name,
        [
            col
            for col in columns.values()
            if isinstance(types[col], st.StructType | st.ArrayType | st.MapType)
        ],
    )
    raw = frame.select(
        *(sf.col(f"`{col}`").alias(c) for c, col in columns.items()),
        sf.monotonically_increasing_id().alias("_row"),
        _ragged(frame, columns.values()).alias("_ragged"),
    )  # not cached: Spark would serve a later read of the same path from the cache
    records = raw  # every record Spark read, numbered in file order (blank lines aside)
    if _CORRUPT in frame.columns:  # a CSV source: a row of empty fields is a blank line
        raw = raw.filter(~reduce(operator.and_, (sf.col(c).isNull() for c in columns)))
    dtypes = dict(pl.from_arrow(raw.limit(0).toArrow()).schema)  # type: ignore[union-attr]
    text = text_columns(columns, dtypes)
    sample = (
        _polars(raw.select("_row", *text).limit(SAMPLE_ROWS)).sort("_row").drop("_row")
        if text
        else pl.DataFrame()
    )
    fmt, number = detect_formats(
        sample,
        columns,
        name,
        date_format=date_format,
        decimal_comma=decimal_comma,
        every_date=lambda: _polars(raw.select("date").distinct()),
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
    out_types = {c: _ARROW[c] for c in ("customer_id", "date", "amount", *columns) if c in _ARROW}
    schema = pa.schema(
        [(c, t) for c, t in out_types.items()]
        + [("_row", pa.int64()), ("_ragged", pa.bool_()), ("_placeholder_id", pa.string())]
        + [("_excluded_id", pa.string())]
        + [(flag, pa.bool_()) for flag in checks]
    )

    def apply_rules(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            rows = cast(pl.DataFrame, pl.from_arrow(batch))
            checked = rows.with_columns(typed).with_columns(**checks)
            excluded = pl.col("_excluded") if "_excluded" in checks else pl.lit(False)
            checked = checked.with_columns(  # a customer left out on request is not a placeholder
                _placeholder_id=pl.when(pl.col("_placeholder") & ~excluded).then(
                    q.placeholder_key()
                ),
                _excluded_id=pl.when(excluded).then(ex.excluded_key()),
            )
            yield from checked.select(schema.names).to_arrow().cast(schema).to_batches()

    spark_schema = ", ".join(f"`{f.name}` {_spark_type(f.type)}" for f in schema)
    # a snapshot of the checked rows, kept on the workers: not .cache(), whose plans match
    # by meaning, so a later read of the same path with the same options would get these rows
    checked = raw.mapInArrow(apply_rules, spark_schema).localCheckpoint(eager=True)

    kept = sf.col("_placeholder_id").isNull() & sf.col("_excluded_id").isNull()
    counts = cast(
        Row,
        checked.agg(
            sf.count(sf.lit(1)).alias("_rows"),
            sf.count(sf.when(sf.col("_ragged"), 1)).alias("_ragged"),
            sf.count("_placeholder_id").alias("_left_out"),
            sf.count("_excluded_id").alias("_excluded"),
            *(
                sf.min(sf.when(kept & sf.col(flag), sf.col("_row"))).alias(flag)
                for flag in PROBLEMS
                if flag in checks
            ),
            sf.count(sf.when(kept, 1)).alias("_kept"),
            sf.count(sf.when(kept & (sf.col("amount") == 0), 1)).alias("_zero"),
            sf.count(sf.when(kept & (sf.col("amount") < 0), 1)).alias("_negative"),
            sf.min(sf.when(kept, sf.col("date"))).alias("_first"),
            sf.max(sf.when(kept, sf.col("date"))).alias("_last"),
        ).first(),
    )
    if counts["_ragged"]:
        raise _ragged_error(name, csv, separator, encoding)
    rows_read = counts["_rows"]
    if rows_read == 0:
        raise DataError(f"{name}: no transactions (the file has a header but no rows)")
    excluded: dict[str, int] = {}
    if excluded_ids:
        left_out = checked.filter(sf.col("_excluded_id").isNotNull())
        per_id = left_out.groupBy(sf.col("_excluded_id").alias("customer_id"))
        excluded = q.ordered_counts(_polars(per_id.agg(sf.count(sf.lit(1)).alias("len"))))
        if counts["_excluded"] == rows_read:
            raise ex.all_excluded_error(name, columns["customer_id"])
        ex.warn_not_found(name, columns["customer_id"], ex.not_found(excluded_ids, excluded))
    placeholders: dict[str, int] = {}
    if counts["_left_out"]:
        per_id = checked.filter(sf.col("_placeholder_id").isNotNull()).groupBy(
            sf.col("_placeholder_id").alias("customer_id")
        )
        placeholders = q.ordered_counts(_polars(per_id.agg(sf.count(sf.lit(1)).alias("len"))))
        if counts["_left_out"] + counts["_excluded"] == rows_read:
            raise q.all_placeholders_error(name, columns["customer_id"], placeholders)
        q.warn_placeholders(name, placeholders)
    for flag in PROBLEMS:
        row_id = counts[flag] if flag in checks else None
        if row_id is not None:
            source_column = problem_column(flag, columns)
            value = cast(Row, raw.filter(sf.col("_row") == row_id).select(source_column).first())[0]
            record = records.filter(sf.col("_row") < row_id).count() + 1
            at = _locate(source, csv, separator, encoding)(record, columns[source_column])
            raise problem_error(
                flag, at=at, value=value, columns=columns, name=name, low=low, high=high
            )
    if csv is None and isinstance(source, str | os.PathLike) and file_kind_of(source) == "ndjson":
        _no_objects(checked.filter(kept), raw, Path(source), columns["customer_id"], name)
    names = ["customer_id", "date", "amount", *[c for c in OPTIONAL.values() if c in columns]]
    out = checked.filter(kept).select("_row", *names)
    total, zero, refunds = counts["_kept"], counts["_zero"], counts["_negative"]
    distinct = cast(Row, out.agg(sf.count_distinct(*names)).first())[0]  # no nulls are left
    duplicates = total - distinct
    q.warn_degenerate(name, zero=zero, duplicated=duplicates, rows=total, columns=columns)
    dropped = netted = orphans = 0
    if negative_amounts == "drop" and refunds:
        out = out.filter(sf.col("amount") >= 0)
        dropped = refunds
        q.warn_dropped_refunds(name, dropped)
    elif negative_amounts == "net" and refunds:
        out, netted, orphans = _net_refunds(out, names, refunds)
        q.warn_orphan_refunds(name, orphans)
    houses = _house_accounts(out, name)
    first, last = (
        (counts["_first"], counts["_last"])
        if not dropped and not orphans
        else cast(Row, out.agg(sf.min("date"), sf.max("date")).first())
    )
    first_partial, last_partial = q.partial_months(pl.Series([first, last]))
    quality = Quality(
        rows_read=rows_read,
        placeholder_ids=placeholders,
        refunds_dropped=dropped,
        refunds_netted=netted,
        refunds_without_purchase=orphans,
        zero_amounts=zero,
        duplicate_rows=duplicates,
        date_format=fmt if dtypes["date"] == pl.String else None,
        encoding=None if isinstance(source, DataFrame) else codec_name(encoding),
        decimal_comma=decimal_comma,
        currency=number.currency,
        first_month_partial=first_partial,
        last_month_partial=last_partial,
        house_accounts=houses,
        excluded_customers=excluded,
        excluded_not_found=tuple(ex.not_found(excluded_ids, excluded)),
    )
    return out, quality


def _locate(source: Source, csv: Path | None, separator: str, encoding: str) -> Locate:
    """Where a record Spark read is (counted from 1 after a CSV header, blank lines aside),
    named as the one-machine reader names it (:mod:`clv.data.lines`)."""
    if csv is not None:
        local = csv

        def line(record: int, column: str) -> str:
            at = csv_line(
                local,
                record,
                separator=separator,
                encoding=encoding,
                column=column,
                blank_lines=False,
            )
            return f"line {at}"

        return line
    if isinstance(source, DataFrame):
        return frame_row
    kind = file_kind_of(source)
    if kind == "ndjson":
        return lambda record, column: f"line {ndjson_line(Path(source), record)}"
    if _is_local(str(source)):  # Parquet, a table or a folder of parts
        return frame_row
    kind = SUFFIXES.get(Path(source).suffix.lower(), "parquet")
    return spreadsheet_record(kind) if kind in ("csv", "ndjson") else frame_row


def file_kind_of(source: str | os.PathLike[str]) -> str | None:
    """The kind of a local file by its suffix (None for a URL or a folder)."""
    path = Path(source)
    if not _is_local(str(source)) or path.is_dir():
        return None
    return SUFFIXES.get(path.suffix.lower())


def _no_objects(checked: DataFrame, raw: DataFrame, path: Path, column: str, name: str) -> None:
    """:func:`clv.data.io.no_stringified_objects` of a local NDJSON file: its lines are the
    rows counted from 1."""
    suspect = checked.filter(sf.col("customer_id").rlike(r"^\s*[\[{]"))
    found = sorted(suspect.select("_row", "customer_id").collect())
    if found:
        rows = [raw.filter(sf.col("_row") < row_id).count() + 1 for row_id, _ in found]
        ids = [customer for _, customer in found]
        frame = pl.DataFrame({"_row": rows, "customer_id": ids})
        no_stringified_objects(path, frame, column, name)


def _net_refunds(out: DataFrame, names: list[str], refunds: int) -> tuple[DataFrame, int, int]:
    """:func:`clv.data.quality.netted_refunds` on each customer with a refund (their rows
    gathered on one worker, in file order); the other customers' rows are kept as they are."""
    with_refund = (
        out.groupBy("customer_id")
        .agg(sf.min("amount").alias("_least"))
        .filter(sf.col("_least") < 0)
        .select("customer_id")
    )
    theirs = out.join(with_refund, "customer_id", "left_semi")
    others = out.join(with_refund, "customer_id", "left_anti")
    schema = theirs.schema

    def net(table: pa.Table) -> pa.Table:
        rows = cast(pl.DataFrame, pl.from_arrow(table)).sort("_row")
        netted, _, _ = q.netted_refunds(rows.drop("_row").with_row_index("_in_group"))
        kept = rows.select("_row").with_row_index("_in_group").join(netted, on="_in_group")
        return kept.select(table.column_names).to_arrow().cast(table.schema)

    moved = theirs.groupBy("customer_id").applyInArrow(net, schema)
    before, after = theirs.count(), moved.count()
    orphans = before - after
    return others.unionByName(moved), refunds - orphans, orphans


def _house_accounts(out: DataFrame, name: str) -> dict[str, int]:
    """:func:`clv.data.quality.house_accounts` without its sampling gate: each customer's
    orders counted in Spark, the rule :func:`clv.data.quality.is_house` applied on the driver
    to the few customers above :data:`~clv.data.quality.HOUSE_SHARE` of all orders."""
    key = "order_id" if "order_id" in out.columns else "date"
    per_customer = out.groupBy("customer_id").agg(sf.count_distinct(key).alias("orders")).cache()
    total, median = cast(Row, per_customer.agg(sf.sum("orders"), sf.median("orders")).first())
    big = _polars(per_customer.filter(sf.col("orders") > q.HOUSE_SHARE * total))
    per_customer.unpersist()
    if big.height == 0:
        return {}
    houses = big.filter(q.is_house(total, float(median))).sort("orders", descending=True)
    return q.warn_house_accounts(name, dict(houses.iter_rows()), int(total))


def read_transactions(source: Source, **options: Any) -> DataFrame:
    """Read and validate transactions on Spark (:func:`read_checked`): a lazy Spark
    DataFrame of ``customer_id``, ``date``, ``amount`` and the mapped optional columns.

    >>> tx = read_transactions("s3a://lake/orders/", customer_col="user_id")  # doctest: +SKIP
    """
    return read_checked(source, **options)[0].drop("_row")


def load_transactions(source: Source, **options: Any) -> Loaded:
    """:func:`read_checked` collected to the driver as a polars frame in the source's order,
    with the quality counts (what :func:`clv.data.io.load_transactions` returns)."""
    frame, quality = read_checked(source, **options)
    rows = _polars(frame).sort("_row").drop("_row")
    return Loaded(transactions=rows, quality=quality)


def _polars(frame: DataFrame) -> pl.DataFrame:
    return cast(pl.DataFrame, pl.from_arrow(frame.toArrow()))
