"""The group of each customer for per-group models: first order's channel, or loyalty."""

from __future__ import annotations

from typing import Literal

import polars as pl

from clv.errors import DataError, UsageError

GroupBy = Literal["channel", "loyalty"]

GROUP_COLUMNS: dict[str, str] = {"channel": "channel_col", "loyalty": "loyalty_col"}
"""Group -> the keyword of :func:`clv.read_transactions` that names its column."""

UNKNOWN = "unknown"
"""The group of a customer whose first order has no channel."""


def customer_groups(transactions: pl.DataFrame | pl.LazyFrame, *, by: GroupBy) -> pl.DataFrame:
    """One row per customer: ``customer_id`` and the column ``by`` (a string).

    ``by="channel"``: the channel of the customer's first order (earliest ``date``; on a tie
    the first channel in sort order; :data:`UNKNOWN` when missing). ``by="loyalty"``:
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
        group = (
            pl.col("channel")
            .cast(pl.String)
            .sort_by("date", pl.col("channel").cast(pl.String), nulls_last=True)
            .first()
            .fill_null(UNKNOWN)
        )
    else:
        group = (
            pl.when(pl.col("loyalty").any()).then(pl.lit("member")).otherwise(pl.lit("non_member"))
        )
    return frame.group_by("customer_id").agg(group.alias(by)).collect()


def with_customer_group(
    summary: pl.DataFrame, transactions: pl.DataFrame | pl.LazyFrame, *, by: GroupBy
) -> pl.DataFrame:
    """``summary`` (an RFM summary) with the column ``by`` of :func:`customer_groups`."""
    groups = customer_groups(transactions, by=by)
    return summary.drop(by, strict=False).join(
        groups, on="customer_id", how="left", maintain_order="left"
    )
