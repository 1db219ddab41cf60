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
from typing import Any, cast

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
    return month_row_from(month_margins(orders, first, margin_rate=margin_rate), first, run=run)


MONTH_MARGINS = pl.Schema(
    {"loyalty": pl.Boolean, "customers": pl.Int64, "mean": pl.Float64, "sd": pl.Float64}
)
"""The columns of :func:`month_margins`: per group (``loyalty`` true for members), the
customers with an order of the group in the month, the mean and the standard deviation
(``ddof=1``, null for one customer) of their margin in it (currency)."""


def month_margins(
    orders: pl.DataFrame, first: dt.date, *, margin_rate: float | None = None
) -> pl.DataFrame:
    """:data:`MONTH_MARGINS` of the month starting on ``first``, of ``orders`` (as
    :func:`month_row` takes them): a row per group with customers."""
    rate = 1.0 if margin_rate is None else margin_rate
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * rate
    return (
        orders.lazy()
        .filter(pl.col("date").dt.truncate("1mo") == first, pl.col("loyalty").is_not_null())
        .group_by("customer_id", "loyalty")
        .agg(margin.sum().alias("margin"))
        .group_by("loyalty")
        .agg(
            customers=pl.len(),
            mean=pl.col("margin").mean(),
            sd=pl.when(pl.len() > 1).then(pl.col("margin").std(ddof=1)),
        )
        .collect()
        .cast(dict(MONTH_MARGINS))  # type: ignore[arg-type]
    )


def month_row_from(margins: pl.DataFrame, first: dt.date, *, run: str = "") -> dict[str, Any]:
    """:func:`month_row` from the month's :data:`MONTH_MARGINS` (:func:`month_margins`, or
    an engine's)."""
    row: dict[str, Any] = {"month": first, "run": run}
    for prefix, flag in (("member", True), ("non_member", False)):
        group = margins.filter(pl.col("loyalty") == flag)
        n = int(group["customers"][0]) if group.height else 0
        mean = group["mean"][0] if n else None
        sd = group["sd"][0] if n > 1 else None
        row[f"{prefix}s_active" if prefix == "member" else "non_members_active"] = n
        row[f"{prefix}_margin_per_active"] = None if mean is None else float(mean)
        row[f"{prefix}_margin_per_active_se"] = None if sd is None else float(sd) / math.sqrt(n)
    return row


def review_row(
    orders: pl.DataFrame, comparison: pl.DataFrame | None, *, margin_rate: float | None = None
) -> dict[str, Any] | None:
    """:func:`month_row` of the reviewed month: the ``"this month"`` row of
    :func:`clv.analysis.tables.month_comparison` (``comparison``); None without one."""
    month = reviewed_month(comparison)
    if month is None or "loyalty" not in orders.columns:
        return None
    return month_row(orders, month, margin_rate=margin_rate)


def reviewed_month(comparison: pl.DataFrame | None) -> dt.date | None:
    """The first day of the month a :func:`clv.analysis.tables.month_comparison` reviews
    (its ``"this month"`` row); None without one."""
    if comparison is None or comparison.height == 0:
        return None
    return cast(dt.date, comparison["month"][0])


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
