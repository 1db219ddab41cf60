"""Headline KPIs, returning vs new, cohorts, channels, loyalty program and retention economics.

Definitions are those of :mod:`clv.analysis.segments`: an order is an ``order_id`` (else a
customer-day); **AOV** = revenue per order; a customer's first order is "new", later ones
"returning"; ``returning_vs_new_aov_ratio`` = AOV of returning orders / AOV of first orders;
**repeat customer rate** = share of customers with more than one order; a customer's channel
is the channel of their first order; **good** customers are the top ``good_share`` (default
20 %) by value.

Every function takes transactions (and optionally model scores, one row per customer with
``customer_id``, ``p_alive``, ``expected_purchases``, ``expected_order_value``, ``clv``) and
returns a polars frame or a plain dict. When an optional column (``channel``, ``loyalty``,
``margin``, ``product``) is absent, its function returns ``None`` and :func:`headline_kpis`
leaves the section out and says so in ``notes``; nothing raises for a missing option.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from clv.analysis.segments import (
    TIERS,
    customer_table,
    gini,
    order_table,
    top_count,
    value_tiers,
)

if TYPE_CHECKING:
    from clv.models.model import ClvModel

SELF_SELECTION_NOTE = (
    "Members choose to join, and the customers who join are those who already buy more: "
    "member vs non-member differences are a comparison, not the effect of the program."
)


SCORE_KEEP = (
    "top",
    "tier",
    "clv_top",
    "value_tier",
    "p_alive",
    "expected_purchases",
    "expected_order_value",
    "clv",
)
"""Columns :func:`with_scores` copies from the scores / segment table, when present."""


def with_scores(customers: pl.DataFrame, scores: pl.DataFrame | None) -> pl.DataFrame:
    """``customers`` (:func:`clv.segments.customer_table`) joined with model scores by
    ``customer_id``.

    Parameters
    ----------
    customers
        One row per customer.
    scores
        ``ClvModel.score`` output or :func:`clv.segments.segment_table` (``None``: returns
        ``customers`` unchanged).

    Returns
    -------
    pl.DataFrame
        ``customers`` in its row order plus the columns of :data:`SCORE_KEEP` that
        ``scores`` has and ``customers`` has not (null for customers without scores).
    """
    if scores is None:
        return customers
    keep = [c for c in SCORE_KEEP if c in scores.columns and c not in customers.columns]
    return customers.join(
        scores.select("customer_id", *keep), on="customer_id", how="left", maintain_order="left"
    )


def _share(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def returning_vs_new(orders: pl.DataFrame) -> dict[str, float | int | None]:
    """AOV of first vs later orders, repeat rate and time to the second order.

    Parameters
    ----------
    orders
        :func:`clv.segments.order_table`.

    Returns
    -------
    dict
        ``customers``, ``orders``, ``aov_new`` and ``aov_returning`` (currency per order),
        ``returning_vs_new_aov_ratio``, ``repeat_customer_rate`` (share), ``returning_orders``,
        ``returning_revenue_share``, ``median_days_to_second_order`` and
        ``mean_days_to_second_order`` (days, customers with a second order).
    """
    first = pl.col("is_first")
    row = orders.select(
        customers=pl.col("customer_id").n_unique(),
        orders=pl.len(),
        revenue=pl.col("amount").sum(),
        new_revenue=pl.col("amount").filter(first).sum(),
        new_orders=first.sum(),
        returning_revenue=pl.col("amount").filter(~first).sum(),
        returning_orders=(~first).sum(),
        repeaters=(pl.col("order_number") == 2).sum(),
    ).row(0, named=True)
    second = (
        orders.filter(pl.col("order_number") <= 2)
        .group_by("customer_id")
        .agg(days=(pl.col("date").max() - pl.col("date").min()).dt.total_days(), n=pl.len())
        .filter(pl.col("n") == 2)["days"]
    )
    aov_new = _share(row["new_revenue"], row["new_orders"])
    aov_ret = _share(row["returning_revenue"], row["returning_orders"])
    return {
        "customers": row["customers"],
        "orders": row["orders"],
        "aov_new": aov_new,
        "aov_returning": aov_ret,
        "returning_vs_new_aov_ratio": _share(aov_ret, aov_new) if aov_ret is not None else None,
        "repeat_customer_rate": _share(row["repeaters"], row["customers"]),
        "returning_orders": row["returning_orders"],
        "returning_revenue_share": _share(row["returning_revenue"], row["revenue"]),
        "median_days_to_second_order": second.median() if second.len() else None,
        "mean_days_to_second_order": second.mean() if second.len() else None,
    }


def cohort_table(orders: pl.DataFrame) -> pl.DataFrame:
    """Monthly acquisition cohorts: retention and revenue by months since the first order.

    Returns
    -------
    pl.DataFrame
        One row per cohort month and ``months_since`` (0 = the acquisition month):
        ``cohort`` (first day of the month of the first order), ``cohort_customers``,
        ``active_customers`` (customers of the cohort with an order in that month),
        ``retention`` (active / cohort customers), ``orders``, ``revenue``,
        ``revenue_per_customer`` (revenue / cohort customers) and
        ``cumulative_revenue_per_customer``.
    """
    month = pl.col("date").dt.truncate("1mo")
    return (
        orders.lazy()
        .with_columns(month=month)
        .with_columns(cohort=pl.col("month").min().over("customer_id"))
        .with_columns(cohort_customers=pl.col("customer_id").n_unique().over("cohort"))
        .with_columns(
            months_since=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month().cast(pl.Int32)
            - pl.col("cohort").dt.month().cast(pl.Int32)
        )
        .group_by("cohort", "months_since")
        .agg(
            cohort_customers=pl.col("cohort_customers").first(),
            active_customers=pl.col("customer_id").n_unique(),
            orders=pl.len(),
            revenue=pl.col("amount").sum(),
        )
        .sort("cohort", "months_since")
        .with_columns(
            retention=pl.col("active_customers") / pl.col("cohort_customers"),
            revenue_per_customer=pl.col("revenue") / pl.col("cohort_customers"),
        )
        .with_columns(
            cumulative_revenue_per_customer=pl.col("revenue_per_customer").cum_sum().over("cohort")
        )
        .collect()
    )


def _tiered(customers: pl.DataFrame, value_col: str, good_share: float) -> pl.DataFrame:
    """Customers with a ``good`` flag: the top ``good_share`` by ``value_col``."""
    ranked = value_tiers(customers, value_col=value_col, top_share=good_share, prefix="_")
    return ranked.rename({"_top": "good"}).drop("_rank", "_tier")


def channel_table(
    customers: pl.DataFrame,
    *,
    channel_costs: Mapping[str, float] | None = None,
    value_col: str = "revenue",
    good_share: float = TIERS[0][1],
) -> pl.DataFrame | None:
    """Acquisition channels ranked by the share of good customers they bring.

    Parameters
    ----------
    customers
        :func:`clv.segments.customer_table`, optionally joined with scores (``clv``).
    channel_costs
        Acquisition cost per new customer by channel (CAC, currency); gives ``cac`` and
        ``clv_cac`` (mean CLV / CAC) for the channels listed.
    value_col
        Value that defines good customers and ``mean_value``: ``revenue`` or ``margin``.
    good_share
        Good = the top ``round(good_share * n)`` customers of the whole shop by value.

    Returns
    -------
    pl.DataFrame | None
        ``None`` without a ``channel`` column. Else one row per first-order channel, best
        first: ``rank``, ``channel``, ``customers``, ``customer_share``, ``good_customers``,
        ``share_good`` (good customers / channel customers), ``share_of_good`` (channel's
        good / all good), ``repeat_rate``, ``aov`` (revenue / orders), ``mean_value``,
        ``mean_clv`` (with scores), ``cac`` and ``clv_cac`` (with costs). Ties in
        ``share_good`` are ranked by channel name.
    """
    if "channel" not in customers.columns:
        return None
    tiered = _tiered(customers, value_col, good_share)
    has_clv = "clv" in customers.columns
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("good").sum().cast(pl.Int64).alias("good_customers"),
        (pl.col("orders") > 1).mean().alias("repeat_rate"),
        (pl.col("revenue").sum() / pl.col("orders").sum()).alias("aov"),
        pl.col(value_col).mean().alias("mean_value"),
    ]
    if has_clv:
        aggs.append(pl.col("clv").mean().alias("mean_clv"))
    table = (
        tiered.group_by(pl.col("channel").fill_null("(none)"))
        .agg(aggs)
        .with_columns(
            customer_share=pl.col("customers") / tiered.height,
            share_good=pl.col("good_customers") / pl.col("customers"),
            share_of_good=pl.col("good_customers") / max(int(tiered["good"].sum()), 1),
        )
        .sort(["share_good", "channel"], descending=[True, False])
        .with_row_index("rank", offset=1)
    )
    if channel_costs:
        costs = pl.DataFrame(
            {"channel": list(channel_costs), "cac": [float(v) for v in channel_costs.values()]}
        )
        table = table.join(costs, on="channel", how="left", maintain_order="left")
        if has_clv:
            table = table.with_columns(
                clv_cac=pl.when(pl.col("cac") > 0).then(pl.col("mean_clv") / pl.col("cac"))
            )
    return table.with_columns(pl.col("rank").cast(pl.Int64))


def _member_stats(customers: pl.DataFrame) -> pl.DataFrame:
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        (pl.col("revenue").sum() / pl.col("orders").sum()).alias("aov"),
        pl.col("orders").mean().alias("orders_per_customer"),
        (pl.col("orders") > 1).mean().alias("repeat_rate"),
        pl.col("revenue").sum().alias("revenue"),
    ]
    if "clv" in customers.columns:
        aggs.append(pl.col("clv").mean().alias("mean_clv"))
    total = customers["revenue"].sum()
    return (
        customers.group_by(
            pl.when(pl.col("loyalty"))
            .then(pl.lit("members"))
            .otherwise(pl.lit("non_members"))
            .alias("group")
        )
        .agg(aggs)
        .with_columns(revenue_share=pl.col("revenue") / total if total else pl.lit(None))
        .sort("group")
    )


def loyalty_table(customers: pl.DataFrame) -> pl.DataFrame | None:
    """Members vs non-members (a comparison, not an effect: see :data:`SELF_SELECTION_NOTE`).

    A customer is a member when any of their orders is flagged.

    Returns
    -------
    pl.DataFrame | None
        ``None`` without a ``loyalty`` column. Else rows ``members`` and ``non_members``:
        ``customers``, ``aov``, ``orders_per_customer``, ``repeat_rate``, ``revenue``,
        ``revenue_share`` and ``mean_clv`` (with scores).
    """
    if "loyalty" not in customers.columns:
        return None
    return _member_stats(customers)


def loyalty_by_month(
    orders: pl.DataFrame,
    *,
    member_discount_rate: float = 0.0,
    cost_per_reward: float | Mapping[int, float] = 0.0,
    milestones: Sequence[int] = (4, 10),
    margin_rate: float | None = None,
) -> pl.DataFrame | None:
    """The loyalty program month by month, and whether it pays for itself.

    Members' extra margin per active member is compared with what the program gives away.
    Assumptions: an order is a member order when its loyalty flag is set; the member discount
    was already taken off ``amount`` (so the discount given is ``amount * rate / (1 - rate)``);
    a reward is given when a member places the ``k``-th order, ``k`` in ``milestones``.

    Parameters
    ----------
    orders
        :func:`clv.segments.order_table` with ``loyalty``.
    member_discount_rate
        Share of the list price members get off (0.05 = 5 %).
    cost_per_reward
        Cost of one reward (currency), or ``{k: cost}`` per milestone.
    milestones
        Order counts that earn a reward (e.g. a small one at the 4th order, a bigger at the
        10th).
    margin_rate
        Margin as a share of revenue when there is no ``margin`` column (default 1: revenue).

    Returns
    -------
    pl.DataFrame | None
        ``None`` without ``loyalty``. Else one row per month: ``month``, ``members_active``,
        ``non_members_active``, ``member_orders``, ``member_revenue``, ``member_aov``,
        ``non_member_aov``, ``member_margin_per_active``, ``non_member_margin_per_active``,
        ``extra_margin`` ((member - non-member margin per active) x members active),
        ``discount_cost``, ``rewards``, ``reward_cost``, ``program_cost``, ``net``
        (extra margin - program cost) and ``pays_off`` (bool).
    """
    if "loyalty" not in orders.columns:
        return None
    rate = 1.0 if margin_rate is None else margin_rate
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * rate
    costs = (
        dict(cost_per_reward)
        if isinstance(cost_per_reward, Mapping)
        else dict.fromkeys(milestones, float(cost_per_reward))
    )
    reward_cost = pl.lit(0.0)
    for k, cost in costs.items():
        reward_cost = reward_cost + pl.when(pl.col("order_number") == k).then(cost).otherwise(0.0)
    member = pl.col("loyalty")
    is_reward = pl.col("order_number").is_in(list(costs)) & member
    table = (
        orders.lazy()
        .with_columns(month=pl.col("date").dt.truncate("1mo"), _margin=margin)
        .group_by("month")
        .agg(
            members_active=pl.col("customer_id").filter(member).n_unique(),
            non_members_active=pl.col("customer_id").filter(~member).n_unique(),
            member_orders=member.sum(),
            non_member_orders=(~member).sum(),
            member_revenue=pl.col("amount").filter(member).sum(),
            non_member_revenue=pl.col("amount").filter(~member).sum(),
            member_margin=pl.col("_margin").filter(member).sum(),
            non_member_margin=pl.col("_margin").filter(~member).sum(),
            rewards=is_reward.sum(),
            reward_cost=reward_cost.filter(member).sum(),
        )
        .sort("month")
        .with_columns(
            member_aov=pl.col("member_revenue") / pl.col("member_orders"),
            non_member_aov=pl.col("non_member_revenue") / pl.col("non_member_orders"),
            member_margin_per_active=pl.col("member_margin") / pl.col("members_active"),
            non_member_margin_per_active=pl.col("non_member_margin") / pl.col("non_members_active"),
            discount_cost=pl.col("member_revenue")
            * member_discount_rate
            / (1.0 - member_discount_rate),
        )
        .with_columns(
            extra_margin=(
                pl.col("member_margin_per_active") - pl.col("non_member_margin_per_active")
            ).fill_nan(None)
            * pl.col("members_active"),
            program_cost=pl.col("discount_cost") + pl.col("reward_cost"),
        )
        .with_columns(net=pl.col("extra_margin") - pl.col("program_cost"))
        .with_columns(pays_off=pl.col("net") > 0)
        .collect()
    )
    return table.with_columns(pl.col("rewards").cast(pl.Int64))


def loyalty_before_after(orders: pl.DataFrame, *, launch_date: str | dt.date) -> pl.DataFrame:
    """Repeat rate, AOV and orders per customer before vs after the program's launch.

    Each period is read on its own: customers active in the period, their orders in it.
    Periods of different lengths are not made comparable (orders per customer grows with the
    period's length): compare equal windows by filtering ``orders`` first.

    Returns
    -------
    pl.DataFrame
        Rows ``before`` (orders before ``launch_date``) and ``after`` (from it on):
        ``days``, ``customers``, ``orders``, ``revenue``, ``aov``, ``orders_per_customer``,
        ``repeat_rate`` (customers with two or more orders in the period / customers),
        ``new_customers`` (first orders in the period).
    """
    from clv.data.rfm import as_date

    launch = as_date(launch_date, "launch date")
    per = (
        orders.lazy()
        .with_columns(
            period=pl.when(pl.col("date") < launch)
            .then(pl.lit("before"))
            .otherwise(pl.lit("after"))
        )
        .group_by("period", "customer_id")
        .agg(
            n=pl.len(),
            revenue=pl.col("amount").sum(),
            new=pl.col("is_first").any(),
            first=pl.col("date").min(),
            last=pl.col("date").max(),
        )
        .group_by("period")
        .agg(
            days=(pl.col("last").max() - pl.col("first").min()).dt.total_days() + 1,
            customers=pl.len(),
            orders=pl.col("n").sum(),
            revenue=pl.col("revenue").sum(),
            repeat_rate=(pl.col("n") > 1).mean(),
            new_customers=pl.col("new").sum(),
        )
        .with_columns(
            aov=pl.col("revenue") / pl.col("orders"),
            orders_per_customer=pl.col("orders") / pl.col("customers"),
        )
        .collect()
    )
    order = pl.DataFrame({"period": ["before", "after"]})
    return order.join(per, on="period", how="left", maintain_order="left")


def reward_milestones(
    customers: pl.DataFrame,
    *,
    milestones: Sequence[int] = (4, 10),
    probability_at_least: pl.DataFrame | None = None,
    members_only: bool = True,
) -> pl.DataFrame:
    """Share of customers who reached each reward milestone, and how many are expected to.

    Parameters
    ----------
    customers
        :func:`clv.segments.customer_table` (``orders``; ``loyalty`` if ``members_only``).
    milestones
        Order counts that earn a reward.
    probability_at_least
        Optional, from the fitted BG/NBD: ``customer_id`` plus one column ``p_reach_<k>``
        per milestone, the probability that the customer has at least ``k`` orders by the
        end of the horizon (1 for those already there). Gives ``expected_to_reach``.
    members_only
        Count members only when a ``loyalty`` column exists.

    Returns
    -------
    pl.DataFrame
        ``milestone``, ``customers`` (counted), ``reached`` (customers with at least
        ``milestone`` orders), ``share_reached`` and, with probabilities,
        ``expected_to_reach`` (expected number with at least ``milestone`` orders by the
        horizon, including those already there) and ``expected_share``.
    """
    base = customers
    if members_only and "loyalty" in customers.columns:
        base = customers.filter(pl.col("loyalty"))
    if probability_at_least is not None:
        base = base.join(probability_at_least, on="customer_id", how="left")
    rows = []
    for k in milestones:
        reached = int((base["orders"] >= k).sum())
        row = {
            "milestone": int(k),
            "customers": base.height,
            "reached": reached,
            "share_reached": _share(reached, base.height),
        }
        col = f"p_reach_{k}"
        if col in base.columns:
            p = pl.when(pl.col("orders") >= k).then(1.0).otherwise(pl.col(col).fill_null(0.0))
            expected = float(base.select(p.sum()).item())
            row["expected_to_reach"] = expected
            row["expected_share"] = _share(expected, base.height)
        rows.append(row)
    return pl.DataFrame(rows)


def milestone_probabilities(
    model: "ClvModel",
    summary: pl.DataFrame,
    *,
    milestones: Sequence[int] = (4, 10),
    horizon: float = 12.0,
    horizon_unit: str = "M",
) -> pl.DataFrame:
    """P(a customer has made at least ``k`` purchases by the end of the horizon), BG/NBD.

    Purchases are **purchase occasions as the model counts them** (customer-days:
    ``frequency + 1`` so far, whatever ``orders`` says). A customer with ``c = frequency + 1``
    occasions needs ``k - c`` more in the next ``horizon``: ``P(X(t) >= k - c | x, t_x, T)``
    (FHL 2005a, :meth:`clv.models.ClvModel.probability_at_least`); 1 when ``c >= k``. With an
    ``order_id``, a customer placing several orders on one day has more orders than occasions:
    :func:`reward_milestones` counts customers who already have ``k`` orders as reached
    (probability 1), so the model only speaks for those who have not.

    Parameters
    ----------
    model
        The fitted model.
    summary
        :func:`clv.rfm.rfm_summary` in the model's time unit (``customer_id``,
        ``frequency``, ``recency``, ``T``).
    milestones
        Purchase counts ``k``.
    horizon, horizon_unit
        Length of the future period (``D``, ``W`` or ``M``; a month is 365.25/12 days).

    Returns
    -------
    pl.DataFrame
        In the order of ``summary``: ``customer_id`` and ``p_reach_<k>`` per milestone, the
        ``probability_at_least`` input of :func:`reward_milestones`.
    """
    from clv.data.rfm import unit_days

    t = horizon * unit_days(horizon_unit) / unit_days(model.time_unit)
    have = (summary["frequency"] + 1).cast(pl.Int64).to_numpy()
    out = summary.select("customer_id")
    for k in milestones:
        p = np.ones(summary.height)
        need = k - have
        for m in np.unique(need[need > 0]):
            rows = np.flatnonzero(need == m)
            p[rows] = model.probability_at_least(
                summary[rows], t=t, k=int(m), time_unit=model.time_unit
            )
        out = out.with_columns(pl.Series(f"p_reach_{k}", p, dtype=pl.Float64))
    return out


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
) -> dict[str, object]:
    """Value of moving annual retention up by ``uplift_points``, and the simple CLV formula.

    Margin is the ``margin`` column when present, else revenue x ``margin_rate``, in every
    term (``m``, the simple formula). Assumptions (also returned as text): annual retention
    ``r`` = share of the customers with an order in the year before last who ordered again
    in the last year (needs two years of data); an active customer brings ``m`` = last
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

    Returns
    -------
    dict
        ``annual_retention``, ``active_customers``, ``margin_per_active_customer``,
        ``margin_share`` (last year's margin / revenue), ``value_per_active_customer``,
        ``value_with_uplift``, ``uplift_value_per_customer``, ``uplift_value_total``,
        ``net_uplift_value``, ``simple_clv`` and its inputs, ``simple_clv_horizon``,
        ``horizon_months``, ``model_mean_clv``, ``simple_over_model``, ``clv_cac``,
        ``assumptions`` and ``why_simple_overstates`` (numbers ``None`` or absent when the
        data cannot give them).
    """
    from clv.data.rfm import as_date

    end = orders["date"].max() if observation_end is None else as_date(observation_end)
    year_ago, two_years_ago = end - dt.timedelta(days=365), end - dt.timedelta(days=730)
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * margin_rate
    last_year = pl.col("date") > year_ago
    year_before = (pl.col("date") > two_years_ago) & ~last_year
    per = (
        orders.lazy()
        .filter(pl.col("date") <= end)
        .group_by("customer_id")
        .agg(
            before=year_before.any(),
            last=last_year.any(),
            orders_last=last_year.sum(),
            revenue_last=pl.col("amount").filter(last_year).sum(),
            margin_last=margin.filter(last_year).sum(),
        )
        .collect()
    )
    stats = per.select(
        before=pl.col("before").sum(),
        retained=(pl.col("before") & pl.col("last")).sum(),
        active=pl.col("last").sum(),
        orders=pl.col("orders_last").sum(),
        revenue=pl.col("revenue_last").sum(),
        margin=pl.col("margin_last").sum(),
    ).row(0, named=True)
    enough = orders["date"].min() <= two_years_ago + dt.timedelta(days=1)
    r = _share(stats["retained"], stats["before"]) if enough else None
    m = _share(stats["margin"], stats["active"])
    d, k = discount_rate_annual, uplift_points / 100.0
    out: dict[str, object] = {
        "annual_retention": r,
        "active_customers": stats["active"],
        "margin_per_active_customer": m,
        "uplift_points": uplift_points,
        "discount_rate_annual": d,
    }
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
    out["margin_share"] = _share(stats["margin"], stats["revenue"])
    margin_per_order = _share(stats["margin"], stats["orders"])
    orders_per_year = _share(stats["orders"], stats["active"])
    if r is not None and r < 1 and margin_per_order is not None and orders_per_year is not None:
        lifespan = 1.0 / (1.0 - r)
        per_year = margin_per_order * orders_per_year  # = m
        out["simple_clv"] = per_year * lifespan
        out["simple_clv_inputs"] = {
            "aov": _share(stats["revenue"], stats["orders"]),
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
    if scores is not None and "clv" in scores.columns:
        model = float(scores["clv"].fill_null(0.0).mean())
        out["model_mean_clv"] = model
        if "simple_clv_horizon" in out:
            out["simple_over_model"] = _share(out["simple_clv_horizon"], model)  # type: ignore[arg-type]
        if acquisition_cost:
            out["clv_cac"] = model / acquisition_cost
    out["assumptions"] = (
        "annual retention r = share of customers with an order in the year before last who "
        "ordered again in the last year; margin per active customer m = last year's, constant; "
        "geometric retention, the same every year; value of an active customer "
        "V(r) = m (1 + d) / (1 + d - r), first year undiscounted; the uplift adds k points to r."
    )
    out["assumptions"] += (
        " The simple formula (margin per order x orders per year x lifespan 1 / (1 - r)) is "
        "compared with the model over the model's horizon, with the model's monthly "
        "discounting."
    )
    out["why_simple_overstates"] = (
        "Over the same months and with the same discounting, margin per order x orders per "
        "year gives every customer the future of an active customer buying at the active "
        "customers' pace; many have already stopped (low p_alive). The model's CLV weights "
        "each customer's future purchases by the probability that they are still alive, so "
        "it is lower."
    )
    return out


def headline_kpis(
    transactions: pl.DataFrame | pl.LazyFrame,
    scores: pl.DataFrame | None = None,
    *,
    observation_end: str | dt.date | None = None,
    channel_costs: Mapping[str, float] | None = None,
    value_col: str = "revenue",
    good_share: float = TIERS[0][1],
    orders: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
) -> dict[str, object]:
    """The headline numbers ``clv kpis`` writes.

    Parameters
    ----------
    transactions
        A transactions frame; rows after ``observation_end`` are left out.
    scores
        ``ClvModel.score`` output; adds ``mean_clv`` to channels and loyalty and
        ``top_10pct_clv_share``, ``gini_clv``.
    observation_end
        Last day counted (default: the last transaction date).
    channel_costs
        CAC per channel (currency); adds ``cac`` and ``clv_cac`` to channels (with scores).
    value_col
        Value defining good customers in channels: ``revenue`` or ``margin``.
    good_share
        The share of customers called good (default 0.2, the top tier of
        :data:`clv.segments.TIERS`): the top ``round(good_share * n)`` customers by
        ``value_col``; gives the channels' ``share_good``. Pass the report's first tier
        share so channels and tiers agree.
    orders, customers
        :func:`clv.segments.order_table` and :func:`clv.segments.customer_table` of the same
        transactions up to ``observation_end``, when the caller has them already (they are
        the expensive part); built here otherwise.

    Returns
    -------
    dict
        ``customers``, ``orders``, ``revenue``, ``repeat_customer_rate``,
        ``returning_vs_new_aov_ratio``, ``top_10pct_revenue_share``,
        ``top_20pct_revenue_share``, ``gini_revenue``, ``channels`` {name: {customers,
        share_good, repeat_rate, aov, mean_value, mean_clv}}, ``loyalty`` {members: {...},
        non_members: {customers, aov, orders_per_customer, repeat_rate, mean_clv}} and
        ``notes`` (why a section is missing). ``channels`` / ``loyalty`` are absent when
        their column is; ``mean_clv`` only with scores.
    """
    from clv.data.rfm import as_date

    lf = transactions.lazy()
    if observation_end is not None:
        lf = lf.filter(pl.col("date") <= as_date(observation_end, "observation end"))
    if orders is None:
        orders = order_table(lf)
    if customers is None:
        customers = customer_table(lf, orders=orders)
    customers = with_scores(customers, scores)
    notes: list[str] = []
    rvn = returning_vs_new(orders)
    n = customers.height
    revenue = customers["revenue"].sort(descending=True)
    total = float(revenue.sum())

    def top_share(values: pl.Series, share: float) -> float | None:
        # ties broken by customer_id do not change the sum of the top k values
        k = top_count(values.len(), share)
        s = float(values.sum())
        return float(values.head(k).sum()) / s if s else None

    kpis: dict[str, object] = {
        "customers": n,
        "orders": rvn["orders"],
        "revenue": total,
        "repeat_customer_rate": rvn["repeat_customer_rate"],
        "returning_vs_new_aov_ratio": rvn["returning_vs_new_aov_ratio"],
        "aov": _share(total, float(rvn["orders"] or 0)),
        "aov_new": rvn["aov_new"],
        "aov_returning": rvn["aov_returning"],
        "top_10pct_revenue_share": top_share(revenue, 0.10),
        "top_20pct_revenue_share": top_share(revenue, 0.20),
        "gini_revenue": gini(revenue),
    }
    if "clv" in customers.columns:
        clv = customers["clv"].fill_null(0.0).sort(descending=True)
        kpis["top_10pct_clv_share"] = top_share(clv, 0.10)
        kpis["gini_clv"] = gini(clv)
    else:
        notes.append("no scores given: no CLV numbers (fit a model and pass its scores)")
    channels = channel_table(
        customers, channel_costs=channel_costs, value_col=value_col, good_share=good_share
    )
    if channels is None:
        notes.append("no channel column: channels section left out (map one with channel_col)")
    else:
        keep = ["customers", "share_good", "repeat_rate", "aov", "mean_value", "mean_clv"]
        keep += ["cac", "clv_cac"]
        kpis["channels"] = {
            row["channel"]: {k: row[k] for k in keep if k in row}
            for row in channels.iter_rows(named=True)
        }
    loyalty = loyalty_table(customers)
    if loyalty is None:
        notes.append("no loyalty column: loyalty section left out (map one with loyalty_col)")
    else:
        keep = ["customers", "aov", "orders_per_customer", "repeat_rate", "revenue_share"]
        keep += ["mean_clv"]
        kpis["loyalty"] = {
            row["group"]: {k: row[k] for k in keep if k in row}
            for row in loyalty.iter_rows(named=True)
        }
        notes.append(SELF_SELECTION_NOTE)
    kpis["notes"] = notes
    return kpis
