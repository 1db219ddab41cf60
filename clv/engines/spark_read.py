"""Read and validate transactions on Spark, with the rules and messages of :mod:`clv.data.io`.

A CSV file, a Parquet file or folder, a table name or a Spark DataFrame becomes a Spark
DataFrame of ``customer_id`` (string), ``date`` (date), ``amount`` (double) and ``order_id``.
One pass over the data checks every row; the first bad row (counted from 1, after the
header) and its value are found by a second query only when there is one.
"""

import os
import warnings
from pathlib import Path
from typing import cast

from clv.data.checks import _PROBLEMS
from clv.data.columns import missing_message
from clv.data.io import NegativeAmounts
from clv.data.parse import _ISO as _ISO_DATE
from clv.data.sources import SUFFIXES
from clv.engines.spark_session import (
    AnalysisException,
    Column,
    DataFrame,
    Row,
    SparkSession,
    sf,
    spark_session,
    st,
)
from clv.errors import DataError, UsageError

_SPARK_PROBLEMS = {
    "_bad_customer": (
        "customer_id",
        "empty customer id",
        "the Spark engine needs an id on every row; leave such rows out of the table",
    ),
}
"""Checks of the Spark engine that the one-machine reader resolves differently (it leaves
rows with an empty or placeholder id out, with a warning)."""

Source = str | os.PathLike[str] | DataFrame

_JAVA_PATTERN = {
    "%Y": "yyyy",
    "%y": "yy",
    "%m": "MM",
    "%d": "dd",
    "%b": "MMM",
    "%B": "MMMM",
    "%H": "HH",
    "%I": "hh",
    "%M": "mm",
    "%S": "ss",
    "%p": "a",
    "%z": "xx",
    "%T": "HH:mm:ss",
    "%R": "HH:mm",
    "%%": "%",
}
"""strftime directives → Spark (java.time) datetime pattern letters."""


def java_date_pattern(date_format: str) -> str:
    """A strftime format (``%d/%m/%Y``) as a Spark datetime pattern (``dd/MM/yyyy``)."""
    out, i = [], 0
    while i < len(date_format):
        if date_format[i] == "%":
            directive = date_format[i : i + 2]
            if directive not in _JAVA_PATTERN:
                raise UsageError(
                    f"date_format {date_format!r}: {directive} is not supported by the Spark "
                    f"engine; use {', '.join(_JAVA_PATTERN)}"
                )
            out.append(_JAVA_PATTERN[directive])
            i += 2
        else:
            char = date_format[i]
            out.append(f"'{char}'" if char.isalpha() else "''" if char == "'" else char)
            i += 1
    return "".join(out)


def _load(spark: SparkSession, source: Source, separator: str) -> tuple[DataFrame, str]:
    """The source as a Spark DataFrame (CSV columns as text), and the name errors use."""
    if isinstance(source, DataFrame):
        return source, "the Spark DataFrame"
    name = str(source)
    path = Path(source)
    kind = SUFFIXES.get(path.suffix.lower())
    local = "://" not in name and not name.startswith("dbfs:")
    if path.is_dir():
        kind = "parquet"
    elif kind is None and local and "/" not in name:
        kind = "table"
    elif local and not path.exists():
        raise DataError(f"{path}: file not found")
    try:
        if kind == "table":
            return spark.table(name), f"table {name}"
        if kind == "csv":
            return spark.read.csv(name, header=True, sep=separator, inferSchema=False), name
        if kind == "parquet":
            return spark.read.parquet(name), name
    except AnalysisException as e:
        raise DataError(f"{name}: Spark cannot read it ({str(e).splitlines()[0]})") from None
    raise DataError(f"{name}: the Spark engine reads .csv and .parquet files, folders and tables")


def _date(column: Column, dtype: st.DataType, date_format: str | None) -> Column:
    """The calendar day of each row, as :func:`clv.data.io._date` reads it (the session's
    zone must be UTC for timestamps; a local session sets it)."""
    if isinstance(dtype, st.DateType):
        return column
    if isinstance(dtype, st.TimestampType | st.TimestampNTZType):
        return sf.to_date(column)
    text = sf.trim(column.cast("string"))
    if date_format is None:
        return sf.when(text.rlike(_ISO_DATE), sf.substring(text, 1, 10).try_cast("date"))
    return sf.to_date(sf.try_to_timestamp(text, sf.lit(java_date_pattern(date_format))))


def _number(column: Column, dtype: st.DataType) -> Column:
    if isinstance(dtype, st.StringType):
        return sf.trim(column).try_cast("double")
    return column.cast("double")


def _checks(negative_amounts: NegativeAmounts, has_orders: bool) -> dict[str, Column]:
    """The checks of :func:`clv.data.io._checks`, as Spark columns (in the order reported)."""
    finite = ~sf.isnan("amount") & (sf.abs("amount") != float("inf"))
    checks = {
        "_bad_customer": sf.col("customer_id").isNull() | (sf.trim("customer_id") == ""),
        "_bad_date": sf.col("date").isNull(),
        "_bad_amount": sf.col("amount").isNull() | ~finite,
    }
    if negative_amounts == "error":
        checks["_negative_amount"] = sf.col("amount") < 0
    if has_orders:
        checks["_bad_order"] = sf.col("order_id").isNull() | (sf.trim("order_id") == "")
    return checks


def read_transactions(
    source: Source,
    *,
    customer_col: str = "customer_id",
    date_col: str = "date",
    amount_col: str = "amount",
    order_col: str | None = None,
    date_format: str | None = None,
    separator: str = ",",
    negative_amounts: NegativeAmounts = "error",
    spark: SparkSession | None = None,
) -> DataFrame:
    """Read and validate transactions on Spark, as :func:`clv.data.io.read_transactions` does.

    Parameters
    ----------
    source
        A ``.csv``/``.tsv``/``.txt`` file, a ``.parquet`` file or folder (any URL Spark reads:
        ``s3a://``, ``abfss://``, ``dbfs:/``), a table name, or a Spark DataFrame.
    customer_col, date_col, amount_col, order_col, date_format, separator
        As in :func:`clv.data.io.read_transactions` (``date_format`` is a strftime format).
    negative_amounts
        ``"error"`` or ``"drop"``; netting refunds (``"net"``) is one-machine only.
    spark
        The session; default :func:`clv.engines.spark_session.spark_session`.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``date``, ``amount`` and ``order_id`` when ``order_col`` is given;
        lazy (the checks ran once, the columns are computed again by each later query).
    """
    if negative_amounts not in ("error", "drop"):
        raise UsageError(
            f"negative_amounts={negative_amounts!r} is not supported by the Spark engine; "
            "use error or drop"
        )
    raw, name = _load(spark or spark_session(), source, separator)
    given = {"customer_id": customer_col, "date": date_col, "amount": amount_col}
    if order_col is not None:
        given["order_id"] = order_col
    found = dict(raw.dtypes)
    missing = [(c, col) for c, col in given.items() if col not in found]
    if missing:
        raise DataError(missing_message(name, missing, list(found)))
    types = {f.name: f.dataType for f in raw.schema.fields}
    rows = raw.select(
        *(sf.col(f"`{col}`").alias(c) for c, col in given.items()),
        sf.monotonically_increasing_id().alias("_row_id"),
    )
    typed = rows.select(
        sf.col("customer_id").cast("string").alias("customer_id"),
        _date(sf.col("date"), types[date_col], date_format).alias("date"),
        _number(sf.col("amount"), types[amount_col]).alias("amount"),
        *([sf.col("order_id").cast("string").alias("order_id")] if order_col else []),
        "_row_id",
    )
    checks = _checks(negative_amounts, order_col is not None)
    found_problems = cast(
        Row,
        typed.agg(
            sf.count(sf.lit(1)).alias("_rows"),
            sf.sum(sf.when(sf.col("amount") == 0, 1).otherwise(0)).alias("_zero"),
            sf.sum(sf.when(sf.col("amount") < 0, 1).otherwise(0)).alias("_negative"),
            *(
                sf.min(sf.when(check, sf.col("_row_id"))).alias(flag)
                for flag, check in checks.items()
            ),
        ).first(),
    )  # a global aggregate: always one row
    if found_problems["_rows"] == 0:
        raise DataError(f"{name}: no transactions (the file has a header but no rows)")
    for flag in checks:
        row_id = found_problems[flag]
        if row_id is None:
            continue
        column, problem, fix = (_PROBLEMS | _SPARK_PROBLEMS)[flag]
        row = rows.filter(sf.col("_row_id") < row_id).count() + 1
        value = cast(Row, rows.filter(sf.col("_row_id") == row_id).select(column).first())[0]
        what = problem.format(value="" if value is None else value)
        raise DataError(f"{name}: column {given[column]!r}, row {row}: {what}; {fix}")
    out = typed.drop("_row_id")
    if negative_amounts == "drop" and found_problems["_negative"]:
        out = out.filter(sf.col("amount") >= 0)
        _warn(f"{name}: {found_problems['_negative']:,} negative amounts (refunds) left out")
    if found_problems["_zero"]:
        _warn(
            f"{name}: column 'amount': {found_problems['_zero']:,} of {found_problems['_rows']:,} "
            "rows are 0; they count as purchases for BG/NBD, and repeat buyers who spent "
            "nothing are left out of Gamma-Gamma"
        )
    return out


def _warn(message: str) -> None:
    warnings.warn(message, UserWarning, stacklevel=3)
