"""What reading did to the data: placeholder ids, refunds, zero amounts, duplicates, house
accounts, partial months; each counted once into :class:`Quality` and warned about once."""

import datetime as dt
import warnings
from dataclasses import dataclass, field
from typing import cast

import numpy as np
import polars as pl

from clv.errors import DataError

PLACEHOLDER_IDS = (
    "(blank)",
    "null",
    "none",
    "nan",
    "n/a",
    "na",
    "unknown",
    "guest",
    "anonymous",
    "#n/a",
)
"""Customer ids (compared case-insensitively, spaces stripped) that stand for "no customer"."""

NUMERIC_PLACEHOLDER_IDS = ("0", "-1")
"""Ids that stand for "no customer" only when they behave like it: an implausible share of
the orders, as a house account holds (:data:`HOUSE_SHARE`, :data:`HOUSE_MEDIAN_RATIO`). A
customer 0 with one order (lifetimes' own example data has one) is a customer."""

HOUSE_SHARE = 0.01
HOUSE_MEDIAN_RATIO = 50.0
"""A customer with more than 1 % of all orders and 50x the median customer's is reported."""


@dataclass(frozen=True)
class Quality:
    """Counts of what reading found and did (rows of the source, counted from its header).

    ``placeholder_ids`` maps each placeholder id as written (``""`` for empty) to its rows
    left out; ``duplicate_rows`` counts exact repeats before any refund netting;
    ``house_accounts`` maps a customer id to its orders (order ids, else purchase days).
    """

    rows_read: int
    placeholder_ids: dict[str, int] = field(default_factory=dict)
    refunds_dropped: int = 0
    refunds_netted: int = 0
    refunds_without_purchase: int = 0
    zero_amounts: int = 0
    duplicate_rows: int = 0
    date_format: str | None = None
    encoding: str | None = None
    decimal_comma: bool = False
    currency: str | None = None
    first_month_partial: bool = False
    last_month_partial: bool = False
    house_accounts: dict[str, int] = field(default_factory=dict)


def warn(message: str) -> None:
    """A one-line warning about the data (the CLI prints it as ``clv CMD: warning: ...``)."""
    warnings.warn(message, UserWarning, stacklevel=4)


def _case_variants(word: str) -> set[str]:
    variants = {""}
    for ch in word:
        variants = {v + c for v in variants for c in {ch.lower(), ch.upper()}}
    return variants


_VARIANTS = sorted(
    {
        pad.format(v)
        for word in PLACEHOLDER_IDS
        for v in _case_variants(word)
        for pad in ("{}", " {}", "{} ", " {} ")
    }
    | {" " * n for n in range(9)}
    | {"\t"}
)
"""Every placeholder id in any letter case, with a space either side, and blank ids: one hash
lookup per row (lower-casing and stripping every id took 5x longer at 1 M customers)."""


def placeholder_expr(keep: bool) -> pl.Expr:
    """True where ``customer_id`` is missing, blank or (unless ``keep``) a placeholder."""
    blank = [v for v in _VARIANTS if not v.strip()]
    return pl.col("customer_id").is_null() | pl.col("customer_id").is_in(
        blank if keep else _VARIANTS
    )


def _orders_per_customer(transactions: pl.DataFrame) -> tuple[pl.DataFrame, int, float]:
    """Orders per customer (distinct order ids when ``order_id`` is present, else purchase
    days), their total and the median customer's."""
    key = "order_id" if "order_id" in transactions.columns else "date"
    per_customer = transactions.group_by("customer_id").agg(orders=pl.col(key).n_unique())
    total = int(per_customer["orders"].sum())
    return per_customer, total, cast(float, per_customer["orders"].median()) or 0.0


def _implausible(per_customer: pl.DataFrame, total: int, median: float) -> pl.DataFrame:
    """The customers with more than :data:`HOUSE_SHARE` of all orders and
    :data:`HOUSE_MEDIAN_RATIO` times the median customer's, most orders first."""
    return per_customer.filter(is_house(total, median)).sort(
        "orders", "customer_id", descending=[True, False]
    )


def numeric_placeholders(transactions: pl.DataFrame) -> list[str]:
    """The ids ``0`` and ``-1`` (as written, spaces either side) that behave like a
    placeholder: an implausible share of the orders (:func:`_implausible`)."""
    ids = transactions["customer_id"]
    if not ids.str.strip_chars().is_in(NUMERIC_PLACEHOLDER_IDS).any():
        return []
    per_customer, total, median = _orders_per_customer(transactions)
    big = _implausible(per_customer, total, median)["customer_id"]
    return big.filter(big.str.strip_chars().is_in(NUMERIC_PLACEHOLDER_IDS)).to_list()


def placeholder_key() -> pl.Expr:
    """A placeholder id as counted: the id with spaces stripped, ``""`` when missing."""
    return pl.col("customer_id").fill_null("").str.strip_chars()


def placeholder_counts(left_out: pl.DataFrame) -> dict[str, int]:
    """Rows left out per placeholder id as written, most rows first."""
    return ordered_counts(left_out.select(placeholder_key()).group_by("customer_id").len())


def ordered_counts(counts: pl.DataFrame) -> dict[str, int]:
    """``customer_id, len`` rows as ``{id: rows}``, most rows first (ties by id)."""
    ordered = counts.sort(["len", "customer_id"], descending=[True, False])
    return dict(ordered.iter_rows())


def all_placeholders_error(name: str, column: str, counts: dict[str, int]) -> DataError:
    """The error when every row's customer id is empty or a placeholder."""
    shown = ", ".join(repr(v) for v in counts)
    return DataError(
        f"{name}: column {column!r}: every row's customer id is empty or a placeholder "
        f"({shown}); map the customer column with customer_col= or pass "
        "keep_placeholder_ids=True"
    )


def warn_placeholders(name: str, counts: dict[str, int]) -> None:
    values = ", ".join(f"{v!r} {n:,}" for v, n in counts.items())
    warn(
        f"{name}: left out {sum(counts.values()):,} rows whose customer id is a placeholder: "
        f"{values}; pass keep_placeholder_ids=True to keep them"
    )


def house_accounts(
    transactions: pl.DataFrame, name: str, *, sample_rows: int = 20_000
) -> dict[str, int]:
    """Customers holding over 1 % of all orders and over 50x the median customer's orders.

    Orders are distinct order ids when ``order_id`` is present, else purchase days; each
    customer found is warned about (and kept). Orders are counted only when an evenly spaced
    sample of rows holds a customer with over 0.5 % of its rows (counting every customer's
    orders took 3x longer than reading at 1 M customers), so a heavy customer whose orders
    have far fewer lines than the others' can be missed.
    """
    sample = transactions["customer_id"].gather_every(max(1, transactions.height // sample_rows))
    if sample.value_counts(sort=True)["count"][0] <= 0.005 * sample.len():
        return {}
    per_customer, total, median = _orders_per_customer(transactions)
    big = _implausible(per_customer, total, median)
    return warn_house_accounts(name, dict(big.iter_rows()), total)


def is_house(total: int, median: float) -> pl.Expr:
    """True where a customer's ``orders`` exceed 1 % of ``total`` and 50x the ``median``."""
    orders = pl.col("orders")
    return (orders > HOUSE_SHARE * total) & (orders > HOUSE_MEDIAN_RATIO * median)


def warn_house_accounts(name: str, houses: dict[str, int], total: int) -> dict[str, int]:
    """Warn about each house account (``{id: orders}``, most first) and return them."""
    for customer, n in houses.items():
        warn(
            f"{name}: customer {customer!r} holds {n:,} orders ({n / total:.1%} of all); "
            "often a house or test account: kept, filter it out if it is not a customer"
        )
    return houses


def partial_months(dates: pl.Series) -> tuple[bool, bool]:
    """Whether the first day is after the 1st of its month, the last before its month's end."""
    first, last = dates.min(), dates.max()
    assert isinstance(first, dt.date) and isinstance(last, dt.date)
    next_day = last + dt.timedelta(days=1)
    return first.day != 1, next_day.month == last.month


def count_degenerate(
    transactions: pl.DataFrame, name: str, columns: dict[str, str]
) -> tuple[int, int]:
    """Zero amounts and exact duplicate rows (both kept), each warned about once
    (``columns``: canonical name → the source's column, as read)."""
    zero = int((transactions["amount"] == 0).sum())
    # sorted 64-bit row hashes: 20x faster than comparing rows (numpy's sort: 2x faster than
    # n_unique); a hash collision (odds n^2 / 2^65: 1 in 3 million runs at 3.3 M rows) would
    # count one pair too many
    hashes = np.sort(transactions.hash_rows().to_numpy())
    duplicated = int(np.count_nonzero(hashes[1:] == hashes[:-1]))
    warn_degenerate(
        name, zero=zero, duplicated=duplicated, rows=transactions.height, columns=columns
    )
    return zero, duplicated


def amount_columns(columns: dict[str, str]) -> str:
    """The source's column(s) of the amount, in words: ``column 'Total'`` or ``columns
    'Quantity' x 'UnitPrice'`` (``columns``: canonical name → the source's column)."""
    if "amount" in columns:
        return f"column {columns['amount']!r}"
    return f"columns {columns['quantity']!r} x {columns['price']!r}"


def warn_degenerate(
    name: str, *, zero: int, duplicated: int, rows: int, columns: dict[str, str]
) -> None:
    """Warn once about zero amounts and once about exact duplicate rows (both kept), naming
    the source's columns (``columns``: canonical name → the source's column)."""
    if zero:
        warn(
            f"{name}: {amount_columns(columns)}: {zero:,} of {rows:,} rows are 0; they count "
            "as purchases for BG/NBD, and repeat buyers who spent nothing are left out of "
            "Gamma-Gamma"
        )
    if duplicated:
        warn(
            f"{name}: {duplicated:,} rows repeat an earlier row in every column read (customer, "
            "day, amount and the columns mapped); kept, each adds to its customer's purchase that "
            "day (map order_col= or product_col= if they are separate lines of one order)"
        )


def warn_dropped_refunds(name: str, dropped: int) -> None:
    """Warn about the refunds ``negative_amounts="drop"`` left out."""
    if dropped:
        warn(f"{name}: {dropped:,} negative amounts (refunds) left out")


def net_refunds(transactions: pl.DataFrame, name: str) -> tuple[pl.DataFrame, int, int]:
    """Move each refund onto the purchase it returns, so it nets against it everywhere.

    The purchase is the refund's own order when ``order_id`` names an order with a purchase,
    otherwise the customer's latest purchase on or before the refund's day. The refund keeps
    its amount and takes that purchase's day (and order id); rows stay in file order.
    Refunds with no purchase before them are left out, with a warning. Returns the frame,
    the refunds netted and the refunds left out.
    """
    netted, moved, orphans = netted_refunds(transactions)
    warn_orphan_refunds(name, orphans)
    return netted, moved, orphans


def warn_orphan_refunds(name: str, orphans: int) -> None:
    """Warn about the refunds that come before any purchase of their customer."""
    if orphans:
        warn(f"{name}: {orphans:,} refunds come before any purchase of their customer; left out")


def netted_refunds(transactions: pl.DataFrame) -> tuple[pl.DataFrame, int, int]:
    """:func:`net_refunds` without the warning (the rule itself, for every engine: the Spark
    engine applies it to each customer with a refund)."""
    rows = transactions.with_row_index("_row")
    refunds = rows.filter(pl.col("amount") < 0)
    if refunds.height == 0:
        return transactions, 0, 0
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
    moved = matched.filter(pl.col("_date").is_not_null()).with_columns(
        date=pl.col("_date"), **({"order_id": pl.col("_order")} if has_orders else {})
    )
    netted = pl.concat([purchases, moved.select(purchases.columns)]).sort("_row").drop("_row")
    return netted, moved.height, orphans
