"""The order-based tables as they were before they grouped on integer keys (grouped by the id
strings, each month through returning_vs_new): the references the fast paths must equal."""

from collections.abc import Mapping, Sequence
from typing import cast

import polars as pl

from clv.analysis.segments import ratio


def _in_customer_order(orders: pl.DataFrame) -> pl.DataFrame:
    """``orders`` with each customer's rows together (a stable sort unless they are already
    sorted by customer, as :func:`clv.analysis.segments.order_table` returns them)."""
    if orders["customer_id"].is_sorted():
        return orders
    return orders.sort("customer_id", maintain_order=True)


def returning_vs_new(orders: pl.DataFrame) -> dict[str, float | int | None]:
    """AOV of first vs later orders, repeat rate and time to the second order.

    Parameters
    ----------
    orders
        :func:`clv.analysis.segments.order_table`, or some of its rows.

    Returns
    -------
    dict
        ``customers``, ``orders``, ``aov_new`` and ``aov_returning`` (currency per order),
        ``returning_vs_new_aov_ratio``, ``repeat_customer_rate`` (share), ``returning_orders``,
        ``returning_revenue_share``, ``median_days_to_second_order`` and
        ``mean_days_to_second_order`` (days, customers with a second order).
    """
    orders = _in_customer_order(orders)
    first = pl.col("is_first")
    customer = pl.col("customer_id")
    same_customer = customer == customer.shift()
    row = orders.select(
        customers=(~same_customer).fill_null(True).sum(),
        orders=pl.len(),
        revenue=pl.col("amount").sum(),
        new_revenue=pl.col("amount").filter(first).sum(),
        new_orders=first.sum(),
        returning_revenue=pl.col("amount").filter(~first).sum(),
        returning_orders=(~first).sum(),
        repeaters=(pl.col("order_number") == 2).sum(),
    ).row(0, named=True)
    second = (
        orders.select("date", "order_number", key=(~same_customer).fill_null(True).cum_sum())
        .filter(pl.col("order_number") <= 2)
        .group_by("key")
        .agg(days=(pl.col("date").max() - pl.col("date").min()).dt.total_days(), n=pl.len())
        .filter(pl.col("n") == 2)["days"]
    )
    aov_new = ratio(row["new_revenue"], row["new_orders"])
    aov_ret = ratio(row["returning_revenue"], row["returning_orders"])
    return {
        "customers": row["customers"],
        "orders": row["orders"],
        "aov_new": aov_new,
        "aov_returning": aov_ret,
        "returning_vs_new_aov_ratio": ratio(aov_ret, aov_new) if aov_ret is not None else None,
        "repeat_customer_rate": ratio(row["repeaters"], row["customers"]),
        "returning_orders": row["returning_orders"],
        "returning_revenue_share": ratio(row["returning_revenue"], row["revenue"]),
        "median_days_to_second_order": cast(float, second.median()) if second.len() else None,
        "mean_days_to_second_order": cast(float, second.mean()) if second.len() else None,
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

    ``orders``: :func:`clv.analysis.segments.order_table`'s; customers are counted by an
    integer key made from its order by customer (2.5x faster than by id at 1 M customers).
    """
    month = pl.col("date").dt.truncate("1mo")
    new_customer = (pl.col("customer_id") != pl.col("customer_id").shift()).fill_null(True)
    return (
        _in_customer_order(orders)
        .lazy()
        .select(
            "amount",
            month=month,
            new_customer=new_customer,
            customer_key=new_customer.cum_sum(),
        )
        .with_columns(cohort=pl.col("month").min().over("customer_key"))
        .with_columns(cohort_customers=pl.col("new_customer").sum().over("cohort"))
        .with_columns(
            months_since=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month().cast(pl.Int32)
            - pl.col("cohort").dt.month().cast(pl.Int32)
        )
        .group_by("cohort", "months_since")
        .agg(
            cohort_customers=pl.col("cohort_customers").first(),
            active_customers=pl.col("customer_key").n_unique(),
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


def monthly_new_returning(orders: pl.DataFrame) -> pl.DataFrame:
    """First vs returning orders per calendar month: :func:`clv.kpis.returning_vs_new` of
    each month's orders (``is_first`` is a customer's first order ever, not of the month).

    Returns ``month`` (first day), ``new_orders``, ``returning_orders``, ``aov_new``,
    ``aov_returning`` (currency per order, null without such orders), ``new_revenue`` and
    ``returning_revenue`` (currency).
    """
    rows = []
    by_month = orders.with_columns(_month=pl.col("date").dt.truncate("1mo"))
    for (month,), part in by_month.group_by("_month", maintain_order=False):
        kpis = returning_vs_new(part.drop("_month"))
        returning = int(kpis["returning_orders"] or 0)
        new = int(kpis["orders"] or 0) - returning
        aov_new, aov_ret = kpis["aov_new"], kpis["aov_returning"]
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


def loyalty_by_month(
    orders: pl.DataFrame,
    *,
    member_discount_rate: float = 0.0,
    cost_per_reward: float | Mapping[int, float] = 0.0,
    milestones: Sequence[int] = (4, 10),
    margin_rate: float | None = None,
    margin_after_member_discount: bool = True,
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
            program_cost=pl.col("reward_cost")
            + (0.0 if margin_after_member_discount else pl.col("discount_cost")),
        )
        .with_columns(net=pl.col("extra_margin") - pl.col("program_cost"))
        .with_columns(pays_off=pl.col("net") > 0)
        .collect()
    )
    return table.with_columns(pl.col("rewards").cast(pl.Int64))
