"""Row checks of read transactions: what is wrong with a row, and the keyword that fixes it."""

import datetime as dt
from typing import Literal

import polars as pl

from clv.data.lines import Locate
from clv.errors import DataError

PROBLEMS = {
    "_bad_date": (
        "date",
        "cannot read date {value!r}",
        'write ISO dates (2024-01-31) or pass date_format="%d/%m/%Y" (your format)',
    ),
    "_early_date": (
        "date",
        "date {value!r} is before {low}",
        'fix it, or pass allow_dates_from="YYYY-MM-DD" if it is real',
    ),
    "_late_date": (
        "date",
        "date {value!r} is after {high} (today)",
        'fix it, or pass allow_dates_to="YYYY-MM-DD" if it is real',
    ),
    "_bad_amount": (
        "amount",
        "{value!r} is not a finite number",
        "write plain numbers such as 7.50, or pass decimal_comma=True for 7,50",
    ),
    "_bad_quantity": ("quantity", "{value!r} is not a number", "write plain numbers such as 2"),
    "_bad_price": (
        "price",
        "{value!r} is not a finite number",
        "write plain numbers such as 7.50, or pass decimal_comma=True for 7,50",
    ),
    "_negative_amount": (
        "amount",
        "negative amount {value!r} (a refund?)",
        'pass negative_amounts="drop" to leave refunds out or negative_amounts="net" to net them',
    ),
    "_bad_order": (
        "order_id",
        "empty order id",
        "fill it in, or leave order_col= out (an order is then a customer-day)",
    ),
    "_bad_loyalty": (
        "loyalty",
        "{value!r} is not a loyalty flag",
        "use true/false, 1/0, yes/no (or ja/nej, tak/nie, kyllä/ei, так/ні)",
    ),
    "_bad_margin": ("margin", "{value!r} is not a finite number", "margins must be plain numbers"),
}
"""Check column → (column, what is wrong, how to fix it), in the order they are reported."""


def build_checks(
    columns: dict[str, str],
    negative_amounts: Literal["error", "drop", "net"],
    low: dt.date,
    high: dt.date,
) -> dict[str, pl.Expr]:
    def bad_number(c: str) -> pl.Expr:
        return pl.col(c).is_null() | ~pl.col(c).is_finite()

    checks = {
        "_bad_date": pl.col("date").is_null(),
        "_early_date": pl.col("date") < low,
        "_late_date": pl.col("date") > high,
    }
    if "quantity" in columns:
        checks |= {"_bad_quantity": bad_number("quantity"), "_bad_price": bad_number("price")}
    checks["_bad_amount"] = bad_number("amount")
    if negative_amounts == "error":
        checks["_negative_amount"] = pl.col("amount") < 0
    if "order_id" in columns:
        checks["_bad_order"] = pl.col("order_id").is_null() | (
            pl.col("order_id").str.strip_chars() == ""
        )
    if "loyalty" in columns:
        checks["_bad_loyalty"] = pl.col("loyalty").is_null()
    if "margin" in columns:
        checks["_bad_margin"] = bad_number("margin")
    return checks


def raise_first_problem(
    out: pl.DataFrame,
    raw: pl.LazyFrame,
    columns: dict[str, str],
    name: str,
    low: dt.date,
    high: dt.date,
    locate: Locate,
) -> None:
    """The error of the first check that fails, on its first record (``_row``, counted from
    1), which ``locate`` names (``line 7`` of a file, :mod:`clv.data.lines`)."""
    for flag in PROBLEMS:
        if flag in out.columns and out[flag].any():
            row = out.filter(pl.col(flag)).row(0, named=True)["_row"]
            source = problem_column(flag, columns)
            value = raw.filter(pl.col("_row") == row).select(source).collect().item()
            raise problem_error(
                flag,
                at=locate(row, columns[source]),
                value=value,
                columns=columns,
                name=name,
                low=low,
                high=high,
            )


def problem_column(flag: str, columns: dict[str, str]) -> str:
    """The canonical column whose value check ``flag`` reports (amount = quantity x price:
    the quantity when there is no amount column)."""
    column = PROBLEMS[flag][0]
    return column if column in columns else "quantity"


def problem_error(
    flag: str,
    *,
    at: str,
    value: object,
    columns: dict[str, str],
    name: str,
    low: dt.date,
    high: dt.date,
) -> DataError:
    """The one-line error of check ``flag`` failing first ``at`` a record (``line 7``, see
    :mod:`clv.data.lines`) whose raw value is ``value``."""
    _, problem, fix = PROBLEMS[flag]
    source = problem_column(flag, columns)
    what = problem.format(value="" if value is None else value, low=low, high=high)
    if source != PROBLEMS[flag][0]:  # the amount is quantity x price: name what was read
        what = what.replace("negative amount", "negative quantity")
    return DataError(f"{name}: column {columns[source]!r}, {at}: {what}; {fix}")
