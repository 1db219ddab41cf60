"""The group of each customer for per-group models: first order's channel, or loyalty."""

from __future__ import annotations

from typing import Literal

import numpy as np
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
    summary: pl.DataFrame,
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    by: GroupBy,
    _customer_key: pl.Series | None = None,
) -> pl.DataFrame:
    """``summary`` (an RFM summary) with the column ``by`` of :func:`customer_groups`.

    ``_customer_key`` (private): each transaction row's customer as its row in ``summary``
    (:func:`clv.data.rfm._rfm_summary_keyed`), to group on integers and skip the join.
    """
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
    on the integer key: the channel of the smallest (day, channel) of each customer (the
    channels ranked as strings sort, nulls last), or whether any row is flagged."""
    frame = transactions.select(customer_key.alias("_customer"), by)
    if by == "loyalty":
        flagged = frame.lazy().group_by("_customer").agg(pl.col("loyalty").any()).sort("_customer")
        member = flagged.collect()["loyalty"].fill_null(False)
        return pl.Series(by, np.where(member.to_numpy(), "member", "non_member"), pl.String)
    channel = transactions["channel"].cast(pl.String)
    names = channel.unique().drop_nulls().sort()
    code = channel.replace_strict(names, pl.int_range(names.len(), eager=True), default=None)
    day = transactions["date"].to_physical().cast(pl.Int64)
    first = (
        frame.select(
            "_customer", rank=(day - day.min()) * (names.len() + 1) + code.fill_null(names.len())
        )
        .lazy()
        .group_by("_customer")
        .agg(pl.col("rank").min())
        .sort("_customer")
        .collect()["rank"]
    )
    lookup = pl.concat([names, pl.Series([UNKNOWN])])
    return lookup.gather(first % (names.len() + 1)).alias(by)
