"""The group of each customer for per-group models: first order's channel, or loyalty."""

from __future__ import annotations

from typing import Literal

import numpy as np
import polars as pl

from clv.data.frames import Frame, as_polars
from clv.errors import DataError, UsageError

GroupBy = Literal["channel", "loyalty"]

GROUP_COLUMNS: dict[str, str] = {"channel": "channel_col", "loyalty": "loyalty_col"}
"""Group -> the keyword of :func:`clv.read_transactions` that names its column."""

UNKNOWN = "unknown"
"""The group of a customer whose first order has no channel."""


def customer_groups(transactions: pl.DataFrame | pl.LazyFrame, *, by: GroupBy) -> pl.DataFrame:
    """One row per customer: ``customer_id`` and the column ``by`` (a string).

    ``by="channel"``: the channel of the customer's first order (earliest ``date``, then the
    smallest ``order_id`` when there is one, then file order: the first order of
    :func:`clv.analysis.orders.order_table`; :data:`UNKNOWN` when missing). ``by="loyalty"``:
    ``"member"`` if any of the customer's rows is flagged, else ``"non_member"``.
    """
    if by not in GROUP_COLUMNS:
        raise UsageError(f"by must be 'channel' or 'loyalty', not {by!r}")
    frame = transactions.lazy()
    if by not in frame.collect_schema().names():
        raise DataError(
            f"transactions have no {by} column to group customers by; name it with "
            f"{GROUP_COLUMNS[by]}= (--{GROUP_COLUMNS[by].replace('_', '-')})"
        )
    if by == "channel":
        names = frame.collect_schema().names()
        order = ["date", "order_id", "_row"] if "order_id" in names else ["date", "_row"]
        frame = frame.with_row_index("_row")
        group = pl.col("channel").cast(pl.String).sort_by(order).first().fill_null(UNKNOWN)
    else:
        group = (
            pl.when(pl.col("loyalty").any()).then(pl.lit("member")).otherwise(pl.lit("non_member"))
        )
    return frame.group_by("customer_id").agg(group.alias(by)).collect()


def with_customer_group(
    summary: Frame,
    transactions: Frame,
    *,
    by: GroupBy,
    _customer_key: pl.Series | None = None,
) -> pl.DataFrame:
    """``summary`` (an RFM summary) with the column ``by`` of :func:`customer_groups`.

    ``_customer_key`` (private): each transaction row's customer as its row in ``summary``
    (:func:`clv.data.rfm._rfm_summary_keyed`), to group on integers and skip the join.
    """
    summary = as_polars(summary, "summary")
    if not isinstance(transactions, pl.LazyFrame):
        transactions = as_polars(transactions, "transactions")
    if _customer_key is not None and isinstance(transactions, pl.DataFrame):
        customer_groups(transactions.clear(), by=by)  # the same errors
        keyed = _keyed_groups(transactions, by=by, customer_key=_customer_key)
        if keyed.len() == summary.height:
            return summary.drop(by, strict=False).with_columns(keyed)
    groups = customer_groups(transactions, by=by)
    return summary.drop(by, strict=False).join(
        groups, on="customer_id", how="left", maintain_order="left"
    )


def _keyed_groups(transactions: pl.DataFrame, *, by: GroupBy, customer_key: pl.Series) -> pl.Series:
    """:func:`customer_groups`' column ``by`` for customers ``0 .. max(customer_key)``, grouped
    on the integer key: the channel of each customer's first order (earliest day, then order
    id, then file row), or whether any row is flagged."""
    frame = transactions.select(customer_key.alias("_customer"), by)
    if by == "loyalty":
        flagged = frame.lazy().group_by("_customer").agg(pl.col("loyalty").any()).sort("_customer")
        member = flagged.collect()["loyalty"].fill_null(False)
        return pl.Series(by, np.where(member.to_numpy(), "member", "non_member"), pl.String)
    order = ["_day", "order_id", "_row"] if "order_id" in transactions.columns else ["_day", "_row"]
    first = (
        transactions.lazy()
        .select(
            "channel",
            *(["order_id"] if "order_id" in transactions.columns else []),
            _customer=customer_key,
            _day=pl.col("date"),
        )
        .with_row_index("_row")
        .group_by("_customer")
        .agg(pl.col("channel").cast(pl.String).sort_by(order).first())
        .sort("_customer")
        .collect()["channel"]
    )
    return first.fill_null(UNKNOWN).alias(by)
