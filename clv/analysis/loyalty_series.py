"""The loyalty review's monthly series: one row per reviewed month, carried across runs.

Each run of the loyalty review adds its month (:func:`month_row`) to a series kept in the runs
folder (:mod:`clv.report.loyalty_months` reads and writes it); :func:`with_noise` says which
month-to-month changes are within noise. Frames and numbers only.

The month's number is the programme's gap: members' margin per active member minus
non-members' margin per active non-member (the ``member_margin_per_active`` and
``non_member_margin_per_active`` of :func:`clv.analysis.loyalty.loyalty_by_month`). Its
standard error comes from the spread of margin across the month's active customers of each
group: ``sd / sqrt(n)`` per group, the two combined as independent.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import polars as pl

from clv.analysis.changes import NOISE_Z

SCHEMA = pl.Schema(
    {
        "month": pl.Date,
        "run": pl.String,
        "members_active": pl.Int64,
        "non_members_active": pl.Int64,
        "member_margin_per_active": pl.Float64,
        "member_margin_per_active_se": pl.Float64,
        "non_member_margin_per_active": pl.Float64,
        "non_member_margin_per_active_se": pl.Float64,
    }
)
"""The columns of the series, as kept."""


def month_row(
    orders: pl.DataFrame, month: dt.date, *, margin_rate: float | None = None, run: str = ""
) -> dict[str, Any]:
    """The series row of ``month`` (any day of it): per group (members, non-members), the
    customers with an order of that group in the month, their mean margin (currency) and its
    standard error.

    ``orders``: :func:`clv.analysis.orders.order_table` with ``loyalty``; ``margin_rate`` as
    in :func:`clv.analysis.loyalty.loyalty_by_month` (the ``margin`` column when present, else
    ``amount`` times the rate, default 1). A group of one customer has no standard error.
    """
    first = dt.date(month.year, month.month, 1)
    rate = 1.0 if margin_rate is None else margin_rate
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * rate
    per_customer = (
        orders.lazy()
        .filter(pl.col("date").dt.truncate("1mo") == first, pl.col("loyalty").is_not_null())
        .group_by("customer_id", "loyalty")
        .agg(margin.sum().alias("margin"))
        .collect()
    )
    row: dict[str, Any] = {"month": first, "run": run}
    for prefix, flag in (("member", True), ("non_member", False)):
        values = per_customer.filter(pl.col("loyalty") == flag)["margin"]
        n = values.len()
        mean = float(values.mean()) if n else None  # type: ignore[arg-type]
        sd = values.std(ddof=1) if n > 1 else None
        row[f"{prefix}s_active" if prefix == "member" else "non_members_active"] = n
        row[f"{prefix}_margin_per_active"] = mean
        row[f"{prefix}_margin_per_active_se"] = (
            float(sd) / math.sqrt(n) if sd is not None else None  # type: ignore[arg-type]
        )
    return row


def review_row(
    orders: pl.DataFrame, comparison: pl.DataFrame | None, *, margin_rate: float | None = None
) -> dict[str, Any] | None:
    """:func:`month_row` of the reviewed month: the ``"this month"`` row of
    :func:`clv.analysis.tables.month_comparison` (``comparison``); None without one."""
    if comparison is None or comparison.height == 0 or "loyalty" not in orders.columns:
        return None
    return month_row(orders, comparison["month"][0], margin_rate=margin_rate)


def add_month(series: pl.DataFrame | None, row: dict[str, Any]) -> pl.DataFrame:
    """``series`` with ``row`` added, replacing an earlier row of the same month (the latest
    run's review of a month stands), sorted by month."""
    new = pl.DataFrame([row], schema=SCHEMA)
    if series is None or series.height == 0:
        return new
    kept = series.select(list(SCHEMA)).cast(SCHEMA).filter(pl.col("month") != row["month"])
    return pl.concat([kept, new]).sort("month")


NOISE_COLUMNS = (
    "month",
    "members_active",
    "non_members_active",
    "member_margin_per_active",
    "non_member_margin_per_active",
    "gap",
    "gap_se",
    "change",
    "within_noise",
)
"""The columns of :func:`with_noise` a report shows."""


def with_noise(series: pl.DataFrame | None) -> pl.DataFrame | None:
    """The series with ``gap`` (member minus non-member margin per active, currency),
    ``gap_se``, ``change`` (from the previous month of the series), ``z`` (change over its
    standard error) and ``within_noise`` (``|z| < NOISE_Z``; null for the first month or
    without standard errors). None without a series."""
    if series is None:
        return None
    gap_se = (
        pl.col("member_margin_per_active_se") ** 2 + pl.col("non_member_margin_per_active_se") ** 2
    ).sqrt()
    out = series.sort("month").with_columns(
        gap=pl.col("member_margin_per_active") - pl.col("non_member_margin_per_active"),
        gap_se=gap_se,
    )
    change_se = (pl.col("gap_se") ** 2 + pl.col("gap_se").shift(1) ** 2).sqrt()
    out = out.with_columns(change=pl.col("gap") - pl.col("gap").shift(1)).with_columns(
        z=pl.when(change_se > 0).then(pl.col("change") / change_se)
    )
    return out.with_columns(within_noise=pl.col("z").abs() < NOISE_Z)
