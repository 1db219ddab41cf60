"""Retention economics: what more retention is worth, and the simple CLV formula beside the model.

Numbers only; the report states the assumptions in words.
"""

import datetime as dt
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
import polars as pl

from clv.analysis.orders import customer_key
from clv.analysis.segments import ratio

MIN_WINDOW_DAYS = 30
"""The shortest window (days) over which retention is measured and annualised."""


def retention_economics(
    orders: pl.DataFrame,
    scores: pl.DataFrame | None = None,
    *,
    observation_end: str | dt.date | None = None,
    uplift_points: float = 5.0,
    discount_rate_annual: float = 0.10,
    margin_rate: float = 1.0,
    horizon_months: float = 12.0,
    retention_cost: float | None = None,
    acquisition_cost: float | None = None,
    basis: str = "margin",
) -> dict[str, object]:
    """Value of moving annual retention up by ``uplift_points``, and the simple CLV formula.

    Margin is the ``margin`` column when present, else revenue x ``margin_rate``, in every
    term (``m``, the simple formula). Assumptions (also returned as text): annual retention
    ``r`` = share of the customers with an order in the year before last who ordered again
    in the last year; with less than two years of data, the same share over two equal windows
    of the months available, annualised (``r = r_w ** (365 / w)`` for windows of ``w`` days,
    ``annualised_from_days`` = ``w``; ``m`` and orders per year scaled by ``365 / w``; None
    under 30-day windows); an active customer brings ``m`` = last
    year's margin per customer active in it, every year while retained; retention is
    geometric and the same every year; cash flows are discounted at ``d =
    discount_rate_annual``, the first year undiscounted. Value of an active customer today
    ``V(r) = m (1 + d) / (1 + d - r)``; ``k`` more points are worth ``V(r + k) - V(r)`` per
    active customer (the most one may spend per customer to get them), times the customers
    active in the last year.

    The simple formula people quote, margin per order x orders per year x expected lifespan
    ``L = 1 / (1 - r)`` years, is ``simple_clv`` (a lifetime, undiscounted). It is compared
    with the model **at the model's horizon and discounting**: ``simple_clv_horizon`` is the
    same formula taken over the scores' horizon (``horizon_months``, capped at the lifespan):
    ``m / 12`` per month, each month discounted at its end by ``(1 + d)^(i / 12)`` (a last
    partial month at its fractional end), exactly as ``ClvModel.score`` discounts.
    ``simple_over_model = simple_clv_horizon / model_mean_clv``: both cover the same months,
    so what is left of the gap is the formula giving every customer an active customer's
    future, including those who have already stopped buying, whom the model discounts
    through ``p_alive``.

    Parameters
    ----------
    orders
        :func:`clv.segments.order_table` (``margin`` used when present).
    scores
        ``ClvModel.score`` output over ``horizon_months``, for ``model_mean_clv``. Its
        ``clv`` must be in the same unit as the margin here: score with ``margin`` = the
        margin share of revenue (``margin_share`` in the result when a ``margin`` column is
        present, else ``margin_rate``).
    uplift_points
        Retention points added (5 = from 40 % to 45 %).
    margin_rate
        Margin as a share of revenue when there is no ``margin`` column.
    horizon_months
        Horizon of ``scores`` in months of 365.25/12 days (the ``horizon`` given to
        ``ClvModel.score`` with ``horizon_unit="M"``).
    retention_cost, acquisition_cost
        Cost per active customer of the retention effort, cost of acquiring one customer
        (currency); give ``net_uplift_value`` and ``clv_cac``.
    basis
        The run's money basis (``revenue`` or ``margin``), returned as ``basis``: on a revenue
        basis the "margin" terms are revenue, and the report says so.

    Returns
    -------
    dict
        ``annual_retention``, ``active_customers``, ``margin_per_active_customer``,
        ``margin_share`` (last year's margin / revenue), ``value_per_active_customer``,
        ``value_with_uplift``, ``uplift_value_per_customer``, ``uplift_value_total``,
        ``net_uplift_value``, ``simple_clv`` and its inputs, ``simple_clv_horizon``,
        ``horizon_months``, ``model_mean_clv``, ``simple_over_model``, ``clv_cac``,
        (numbers ``None`` or absent when the data cannot give them). The assumptions are
        those above; the report states them in words.
    """
    from clv.data.rfm import as_date

    if observation_end is None:
        end = cast(dt.date, orders["date"].max())
    else:
        end = as_date(observation_end)
    window = retention_window(cast(dt.date, orders["date"].min()), end)
    stats = retention_counts(orders, end=end, window=window, margin_rate=margin_rate)
    model = None
    if scores is not None and "clv" in scores.columns:
        model = float(cast(float, scores["clv"].fill_null(0.0).mean()))
    return economics_from_counts(
        stats,
        window=window,
        model_mean_clv=model,
        uplift_points=uplift_points,
        discount_rate_annual=discount_rate_annual,
        horizon_months=horizon_months,
        retention_cost=retention_cost,
        acquisition_cost=acquisition_cost,
        basis=basis,
    )


def retention_window(first: dt.date, end: dt.date) -> int:
    """The window (days) :func:`retention_economics` measures retention over: a year, or
    half of the days from ``first`` to ``end`` when they are fewer than two years."""
    span = (end - first).days + 1
    return 365 if span >= 730 else span // 2


def year_flags(end: dt.date, window: int) -> tuple[dt.date, dt.date]:
    """The first days after which an order is in the last window (``date >`` the first
    value) and in the window before it (``date >`` the second, not in the last)."""
    return end - dt.timedelta(days=window), end - dt.timedelta(days=2 * window)


def retention_counts(
    orders: pl.DataFrame, *, end: dt.date, window: int, margin_rate: float = 1.0
) -> dict[str, float | int]:
    """What :func:`economics_from_counts` reads, of ``orders`` up to ``end``: ``before``
    (customers with an order in the window before the last), ``retained`` (of those, the
    customers with an order in the last window too), ``active`` (customers with an order in
    the last window), and the last window's ``orders``, ``revenue`` and ``margin``
    (currency: the ``margin`` column, else ``amount`` x ``margin_rate``)."""
    year_ago, two_years_ago = year_flags(end, window)
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * margin_rate
    last_year = pl.col("date") > year_ago
    year_before = (pl.col("date") > two_years_ago) & ~last_year
    per = (
        orders.lazy()
        .with_columns(_customer=customer_key(orders))
        .filter(pl.col("date") <= end)
        .group_by("_customer")
        .agg(
            before=year_before.any(),
            last=last_year.any(),
            orders_last=last_year.sum(),
            revenue_last=pl.col("amount").filter(last_year).sum(),
            margin_last=margin.filter(last_year).sum(),
        )
        .collect()
    )
    return per.select(
        before=pl.col("before").sum(),
        retained=(pl.col("before") & pl.col("last")).sum(),
        active=pl.col("last").sum(),
        orders=pl.col("orders_last").sum(),
        revenue=pl.col("revenue_last").sum(),
        margin=pl.col("margin_last").sum(),
    ).row(0, named=True)


def economics_from_counts(
    stats: Mapping[str, Any],
    *,
    window: int,
    model_mean_clv: float | None,
    uplift_points: float = 5.0,
    discount_rate_annual: float = 0.10,
    horizon_months: float = 12.0,
    retention_cost: float | None = None,
    acquisition_cost: float | None = None,
    basis: str = "margin",
) -> dict[str, object]:
    """:func:`retention_economics` from its counts (:func:`retention_counts`, or an
    engine's), the ``window`` (days, :func:`retention_window`) and the customers' mean
    predicted CLV (``model_mean_clv``, None without scores)."""
    scale = 365 / window if window else 1.0
    enough = window >= MIN_WINDOW_DAYS
    r_window = ratio(stats["retained"], stats["before"]) if enough else None
    r = None if r_window is None else r_window**scale
    m = ratio(stats["margin"] * scale, stats["active"])
    d, k = discount_rate_annual, uplift_points / 100.0
    out: dict[str, object] = {
        "annual_retention": r,
        "active_customers": stats["active"],
        "margin_per_active_customer": m,
        "uplift_points": uplift_points,
        "discount_rate_annual": d,
        "basis": basis,
    }
    if window != 365:
        out["annualised_from_days"] = window
    if r is not None and m is not None and r + k < 1 + d:
        v0 = m * (1 + d) / (1 + d - r)
        v1 = m * (1 + d) / (1 + d - min(r + k, 1.0))
        out |= {
            "value_per_active_customer": v0,
            "value_with_uplift": v1,
            "uplift_value_per_customer": v1 - v0,
            "uplift_value_total": (v1 - v0) * stats["active"],
        }
        if retention_cost is not None:
            out["net_uplift_value"] = (v1 - v0 - retention_cost) * stats["active"]
    out["margin_share"] = ratio(stats["margin"], stats["revenue"])
    margin_per_order = ratio(stats["margin"], stats["orders"])
    orders_per_year = ratio(stats["orders"] * scale, stats["active"])
    if r is not None and r < 1 and margin_per_order is not None and orders_per_year is not None:
        lifespan = 1.0 / (1.0 - r)
        per_year = margin_per_order * orders_per_year  # = m
        out["simple_clv"] = per_year * lifespan
        out["simple_clv_inputs"] = {
            "average_order_value": ratio(stats["revenue"], stats["orders"]),
            "margin_per_order": margin_per_order,
            "orders_per_year": orders_per_year,
            "lifespan_years": lifespan,
        }
        months = min(horizon_months, 12.0 * lifespan)
        ends = np.append(np.arange(1.0, np.floor(months) + 1.0), months)
        ends = np.unique(ends[ends > 0])
        widths = np.diff(np.concatenate([[0.0], ends]))
        out["simple_clv_horizon"] = float(
            np.sum(per_year / 12.0 * widths / (1.0 + d) ** (ends / 12.0))
        )
        out["horizon_months"] = horizon_months
    if model_mean_clv is not None:
        model = model_mean_clv
        out["model_mean_clv"] = model
        if "simple_clv_horizon" in out:
            out["simple_over_model"] = ratio(cast(float, out["simple_clv_horizon"]), model)
        if acquisition_cost:
            out["clv_cac"] = model / acquisition_cost
    return out
