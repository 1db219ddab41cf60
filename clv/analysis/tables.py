"""The tables of an analysis that are not KPIs: tiers side by side, Lorenz curves, months,
the data overview, parameter tables, loyalty review helpers.

Frames and numbers only; the report layer words and shows them.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from typing import Any, cast

import polars as pl

from clv.analysis.money import Money
from clv.analysis.segments import ratio
from clv.errors import UsageError


def tiers_from_cuts(
    cuts: Sequence[float] = (0.2, 0.8), names: Sequence[str] = ("good", "middle", "low")
) -> tuple[tuple[str, float], ...]:
    """``[0.2, 0.8]`` -> ``(("good", 0.2), ("middle", 0.6), ("low", 0.2))``: tiers from the
    top down, cut at these cumulative shares of customers."""
    a, b = cuts
    if not 0 < a < b < 1:
        raise UsageError(f"tier_cuts must be two increasing shares in (0, 1), not {list(cuts)}")
    return ((names[0], a), (names[1], round(b - a, 12)), (names[2], round(1 - b, 12)))


def tier_tables(
    table: pl.DataFrame, tiers: Sequence[tuple[str, float]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The tiers by historical revenue and by predicted CLV, and both shares side by side.

    ``table``: :func:`clv.segments.segment_table` with scores (``tier`` and ``revenue``,
    ``value_tier`` and ``clv``). Returns :func:`clv.segments.tier_summary` by revenue, the
    same by CLV (its tier column ``value_tier``), and a frame ``tier``, ``customer_share``,
    ``revenue_share`` (of the tiers by revenue), ``clv_share`` (of the tiers by CLV)
    for :func:`clv.plots.tier_shares`. Customers whose net revenue is zero or below are left
    out, as the first page says.
    """
    from clv.analysis.segments import tier_summary

    if "revenue" in table.columns:  # full refunds are scored but kept off the tier lists
        table = table.filter(pl.col("revenue") > 0)
    by_revenue = tier_summary(table, value_col="revenue", tier_col="tier", tiers=tiers)
    by_clv = tier_summary(table, value_col="clv", tier_col="value_tier", tiers=tiers)
    return tiers_side_by_side(by_revenue, by_clv)


def tiers_side_by_side(
    by_revenue: pl.DataFrame, by_clv: pl.DataFrame
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """:func:`tier_tables` from the two :func:`clv.segments.tier_summary` frames."""
    by_clv = by_clv.rename({"tier": "value_tier"})  # headed "tier by predicted CLV"
    shares = by_revenue.select(
        "tier", "customer_share", pl.col("value_share").alias("revenue_share")
    ).with_columns(clv_share=by_clv["value_share"])
    return by_revenue, by_clv, shares


LORENZ_COLUMNS = ("revenue", "clv")
"""The value columns whose Lorenz curves the report draws
(:attr:`clv.analysis.results.Analysis.lorenz`)."""


def lorenz_table(frame: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """Lorenz curves and Gini coefficients of several value columns, stacked for
    :func:`clv.plots.lorenz_curves`.

    ``columns``: column -> label, e.g. ``{"revenue": "historical revenue"}``. Returns
    ``label``, ``gini`` (:func:`clv.analysis.profile.gini`), ``customer_share`` and ``value_share``
    (:func:`clv.analysis.profile.lorenz_curve`).
    """
    from clv.analysis.profile import gini, lorenz_curve

    curves = {col: (gini(frame[col]), lorenz_curve(frame[col])) for col in columns}
    return lorenz_labelled(lorenz_stack(curves), columns)


def lorenz_stack(curves: Mapping[str, tuple[float, pl.DataFrame]]) -> pl.DataFrame:
    """Curves by value column, each its Gini and :func:`clv.analysis.profile.lorenz_curve`,
    stacked as :func:`lorenz_table` (``label`` the column's name)."""
    return pl.concat(
        curve.select(
            pl.lit(column).alias("label"),
            pl.lit(value, dtype=pl.Float64).alias("gini"),
            "customer_share",
            "value_share",
        )
        for column, (value, curve) in curves.items()
    )


def lorenz_labelled(curves: pl.DataFrame, labels: Mapping[str, str]) -> pl.DataFrame:
    """:func:`lorenz_stack`'s curves labelled for a reader: ``labels`` maps each column's
    name to its label, e.g. ``{"revenue": "historical revenue"}``."""
    return curves.with_columns(pl.col("label").replace_strict(dict(labels)))


MONTH_COUNTS = pl.Schema(
    {
        "month": pl.Date,
        "new_orders": pl.Int64,
        "new_revenue": pl.Float64,
        "returning_orders": pl.Int64,
        "returning_revenue": pl.Float64,
    }
)
"""The columns of :func:`monthly_counts`: one row per calendar month (its first day), the
first orders and the later orders placed in it, counted and summed (currency)."""


def monthly_new_returning(orders: pl.DataFrame) -> pl.DataFrame:
    """First vs returning orders per calendar month: :func:`clv.kpis.returning_vs_new` of
    each month's orders (``is_first`` is a customer's first order ever, not of the month).

    Returns ``month`` (first day), ``new_orders``, ``returning_orders``, ``aov_new``,
    ``aov_returning`` (currency per order, null without such orders), ``new_revenue`` and
    ``returning_revenue`` (currency): :func:`monthly_from_counts` of :func:`monthly_counts`.
    """
    return monthly_from_counts(monthly_counts(orders))


def monthly_counts(orders: pl.DataFrame) -> pl.DataFrame:
    """Of ``orders`` (:func:`clv.analysis.orders.order_table`): :data:`MONTH_COUNTS`, each
    month's orders summed in the customers' order, as :func:`clv.kpis.returning_vs_new`
    sums them."""
    from clv.analysis.kpis import _in_customer_order
    from clv.analysis.orders import order_counts

    rows = []
    by_month = orders.select(
        "customer_id", "amount", "is_first", _month=pl.col("date").dt.truncate("1mo")
    )
    for (month,), part in by_month.group_by("_month", maintain_order=False):
        counts = order_counts(_in_customer_order(part))
        returning = int(counts["returning_orders"])
        rows.append(
            {
                "month": month,
                "new_orders": int(counts["orders"]) - returning,
                "new_revenue": counts["new_revenue"],
                "returning_orders": returning,
                "returning_revenue": counts["returning_revenue"],
            }
        )
    return pl.DataFrame(rows, schema=MONTH_COUNTS)


def monthly_from_counts(counts: pl.DataFrame) -> pl.DataFrame:
    """:func:`monthly_new_returning` from each month's counts (:data:`MONTH_COUNTS`, an
    engine's aggregates or :func:`monthly_counts`), sorted by month."""
    rows = []
    for month, new, new_revenue, returning, returning_revenue in counts.iter_rows():
        aov_new = ratio(new_revenue, new)
        aov_ret = ratio(returning_revenue, returning)
        rows.append(
            {
                "month": month,
                "new_orders": new,
                "returning_orders": returning,
                "aov_new": aov_new,
                "aov_returning": aov_ret,
                "new_revenue": (aov_new or 0.0) * new,
                "returning_revenue": (aov_ret or 0.0) * returning,
            }
        )
    schema = {
        "month": pl.Date,
        "new_orders": pl.Int64,
        "returning_orders": pl.Int64,
        "aov_new": pl.Float64,
        "aov_returning": pl.Float64,
        "new_revenue": pl.Float64,
        "returning_revenue": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("month")


def customer_value_kpis(
    transactions: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    observation_end: str | dt.date | None = None,
    channel_costs: Mapping[str, float] | None = None,
    orders: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
    good_share: float = 0.2,
    money: Money,
    returning: dict[str, Any] | None = None,
    channels: pl.DataFrame | None = None,
    loyalty: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """:func:`clv.kpis.headline_kpis` plus the predicted CLV over the horizon (``kpis.json``).

    ``good_share`` is the report's top tier (``tiers[0][1]`` of :func:`tiers_from_cuts`):
    the share of customers called good in the channel numbers, so ``kpis.json`` and the
    report's channel table agree. ``money`` is the run's basis: good customers are ranked by
    its value (margin or revenue) and ``scores`` must be scored with it. Adds
    ``predicted_clv_total`` and ``predicted_clv_mean`` (currency, over the horizon) and
    ``money`` (:meth:`~clv.analysis.money.Money.describe`: basis, margin rate, currency,
    discount, horizon spelled out). ``returning``, ``channels``, ``loyalty``: as
    :func:`~clv.analysis.kpis.headline_kpis`'s.
    """
    from clv.analysis.kpis import headline_kpis

    out = headline_kpis(
        transactions,
        scores,
        observation_end=observation_end,
        channel_costs=channel_costs,
        orders=orders,
        customers=customers,
        good_share=good_share,
        value_col=money.value_col,
        returning=returning,
        channels=channels,
        loyalty=loyalty,
    )
    clv = scores["clv"].fill_null(0.0)
    mean = float(cast(float, clv.mean())) if clv.len() else None
    return out | predicted_value(float(clv.sum()), mean, money)


def predicted_value(total: float, mean: float | None, money: Money) -> dict[str, Any]:
    """The ``kpis.json`` keys after the headline numbers: ``predicted_clv_total`` and
    ``predicted_clv_mean`` (the customers' CLV over the horizon, currency; the mean None
    without customers) and ``money`` (:meth:`~clv.analysis.money.Money.describe`)."""
    return {
        "predicted_clv_total": total,
        "predicted_clv_mean": mean,
        "money": money.describe(),
    }


def data_overview(transactions: pl.DataFrame, *, customers: int | None = None) -> pl.DataFrame:
    """The transactions in a few lines: rows, customers, period, amounts, optional columns.

    ``customers``: the number of distinct customer ids when known (an RFM summary's height),
    else counted here. Values as text (:func:`data_overview_values` keeps the numbers).
    """
    return overview_table(data_overview_values(transactions, customers=customers))


def overview_table(values: Mapping[str, Any]) -> pl.DataFrame:
    """:func:`data_overview` of its numbers (:func:`data_overview_values`): ``item``,
    ``value`` as text."""
    text = {
        k: f"{v:,.2f}" if isinstance(v, float) else f"{v:,}" if isinstance(v, int) else str(v)
        for k, v in values.items()
    }
    return pl.DataFrame(list(text.items()), schema=["item", "value"], orient="row")


def data_overview_values(
    transactions: pl.DataFrame, *, customers: int | None = None
) -> dict[str, Any]:
    """:func:`data_overview` as numbers, dates and text by item, for a report to format."""
    first, last = transactions.select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    ).row(0)
    return overview_values(
        rows=transactions.height,
        customers=customers if customers is not None else transactions["customer_id"].n_unique(),
        first=first,
        last=last,
        total=float(transactions["amount"].sum()),
        mean=float(cast(float, transactions["amount"].mean())),
        columns=transactions.columns,
    )


OPTIONAL_COLUMNS = ("order_id", "channel", "product", "loyalty", "margin")
"""The optional columns :func:`data_overview_values` names, in its order."""


def overview_values(
    *,
    rows: int,
    customers: int,
    first: dt.date,
    last: dt.date,
    total: float,
    mean: float,
    columns: Sequence[str],
) -> dict[str, Any]:
    """:func:`data_overview_values` from the transactions' aggregates (an engine's): the
    rows, the customers, the first and last day, the amounts' total and mean per row
    (currency) and the ``columns`` of the transactions."""
    optional = [c for c in OPTIONAL_COLUMNS if c in columns]
    return {
        "rows": rows,
        "customers": customers,
        "first day": first,
        "last day": last,
        "total amount": total,
        "mean amount per row": mean,
        "optional columns": ", ".join(optional) or "none",
    }


def parameter_table(model: Any, which: str) -> pl.DataFrame:
    """Fitted parameters of the purchase model (``which`` its name, e.g. ``"bgnbd"``, or
    ``"purchase"``) or of ``"gamma_gamma"``, with standard errors (null at a boundary).

    A model per group (``fit(..., by=)``): the pooled model's rows, then each group's, with
    a first column naming the group (``all customers`` for the pooled one)."""
    groups = getattr(model, "groups", None)
    if groups is not None:
        parts = {"all customers": model.pooled, **groups}
        return pl.concat(
            parameter_table(m, which).select(pl.lit(name).alias(model.by), pl.all())
            for name, m in parts.items()
        )
    which = model.purchase_model if which == "purchase" else which
    params = model.gamma_gamma if which == "gamma_gamma" else model.purchase
    errors = (getattr(model, "standard_errors", None) or {}).get(which, {})
    rows = [(k, float(v), _finite(errors.get(k))) for k, v in params.items()]
    frame = pl.DataFrame(
        rows,
        schema={"parameter": pl.String, "estimate": pl.Float64, "standard_error": pl.Float64},
        orient="row",
    )
    ll = (getattr(model, "log_likelihood", None) or {}).get(which)
    extra = [("log-likelihood", ll, None)] if ll is not None else []
    if extra:
        frame = pl.concat([frame, pl.DataFrame(extra, schema=frame.schema, orient="row")])
    return frame  # shown with PARAMETER_FORMATS: 0.00186, never 0.00


def _finite(value: float | None) -> float | None:
    """``value``, or None for a missing or non-finite one (no standard error at a boundary)."""
    return value if value is not None and math.isfinite(value) else None


def members_only(frame: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``frame`` whose customer is a loyalty member (all rows without ``loyalty``)."""
    if "loyalty" not in customers.columns:
        return frame
    members = customers.filter(pl.col("loyalty")).select("customer_id")
    return frame.join(members, on="customer_id", how="semi", maintain_order="left")


def month_comparison(
    by_month: pl.DataFrame | None, review_month: Any = "auto"
) -> pl.DataFrame | None:
    """The review month next to the month before and the same month a year before.

    ``review_month``: any day of the month, or ``"auto"`` (the last month in ``by_month``).
    Returns ``None`` without data (no loyalty column).
    """
    from clv.data.rfm import as_date

    if by_month is None or by_month.height == 0:
        return None
    months = by_month.sort("month")
    if review_month is None or str(review_month).lower() == "auto":
        month = months["month"][-1]
    else:
        day = as_date(review_month, "review_month")
        month = dt.date(day.year, day.month, 1)
    prev = dt.date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)
    year = dt.date(month.year - 1, month.month, 1)
    labels = pl.DataFrame(
        {
            "period": ["this month", "last month", "a year before"],
            "month": [month, prev, year],
        }
    )
    return labels.join(months, on="month", how="left", maintain_order="left")


def before_after(orders: pl.DataFrame, launch_date: Any) -> pl.DataFrame | None:
    """:func:`clv.kpis.loyalty_before_after`, or ``None`` when no launch date is given."""
    if launch_date is None:
        return None
    from clv.analysis.loyalty import loyalty_before_after

    return loyalty_before_after(orders, launch_date=launch_date)


PARAMETER_FORMATS = {"estimate": "{:.4g}", "standard_error": "{:.4g}"}
"""How :func:`parameter_table` is shown: four significant digits."""

COMPARISON_FORMATS = {
    "holdout_mae": "{:.6f}",
    "calibration_log_likelihood": "{:,.1f}",
    "aic": "{:,.1f}",
}
"""How :func:`model_comparison` is shown: the holdout error to six decimals, so a choice by a
difference the table could not show is never shown as a tie."""


def model_comparison(model: Any) -> pl.DataFrame | None:
    """The purchase models compared when ``purchase_model="auto"`` chose one, else None.

    One row per model: ``purchase_model``, ``holdout_mae`` (mean absolute error per customer
    of the holdout purchases: the model with the lowest is chosen), ``chosen``,
    ``calibration_log_likelihood`` and ``aic`` (of the fit on the calibration period), and
    ``error`` only when a model could not be fitted.
    """
    if not model.comparison:
        return None
    table = pl.DataFrame(model.comparison).rename(
        {"log_likelihood": "calibration_log_likelihood"}, strict=False
    )
    keep = ["purchase_model", "holdout_mae", "chosen", "calibration_log_likelihood", "aic"]
    if "error" in table.columns and table["error"].is_not_null().any():
        keep.append("error")
    return table.select([c for c in keep if c in table.columns])


def channel_value_table(value: Any) -> pl.DataFrame | None:
    """Each channel valued by its own model (:attr:`clv.analysis.results.Analysis.
    channel_value`), best new-customer value first; None when there is none."""
    if value is None or isinstance(value, str):
        return None
    keep = [
        c
        for c in (
            "channel",
            "customers",
            "uses_pooled",
            "clv",
            "clv_low",
            "clv_high",
            "new_customer_value",
            "new_customer_value_low",
            "new_customer_value_high",
            "cac",
            "clv_cac",
            "clv_cac_low",
            "clv_cac_high",
        )
        if c in value.groups.columns
    ]
    return value.groups.select(keep).sort("new_customer_value", descending=True)
