"""The loyalty programme: members vs non-members, month by month, before and after the launch,
reward milestones.

Definitions as in :mod:`clv.analysis.kpis`. Member vs non-member differences describe customers
who chose to join; they are not the effect of the programme.
"""

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from clv.analysis.orders import customer_key
from clv.analysis.segments import ratio

if TYPE_CHECKING:
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def _member_stats(customers: pl.DataFrame) -> pl.DataFrame:
    sums = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("orders").sum().cast(pl.Int64).alias("orders"),
        (pl.col("orders") > 1).sum().cast(pl.Int64).alias("repeaters"),
        pl.col("revenue").sum().alias("revenue"),
    ]
    if "clv" in customers.columns:
        sums += [pl.col("clv").sum().alias("clv"), pl.col("clv").count().alias("scored")]
    member = pl.when(pl.col("loyalty")).then(pl.lit("members")).otherwise(pl.lit("non_members"))
    return member_table(customers.group_by(member.alias("group")).agg(sums))


def member_table(sums: pl.DataFrame) -> pl.DataFrame:
    """:func:`loyalty_table` from each group's sums: ``group`` (``members``,
    ``non_members``), ``customers``, ``orders``, ``repeaters`` (customers with more than one
    order), ``revenue`` and, with scores, ``clv`` (its sum) and ``scored`` (customers with a
    CLV), one row per group (an engine's aggregates, or :func:`loyalty_table`'s own)."""
    total = sums["revenue"].sum()
    stats = [
        "group",
        "customers",
        (pl.col("revenue") / pl.col("orders")).alias("aov"),
        (pl.col("orders") / pl.col("customers")).alias("orders_per_customer"),
        (pl.col("repeaters") / pl.col("customers")).alias("repeat_rate"),
        "revenue",
    ]
    if "clv" in sums.columns:
        scored = pl.col("scored")
        stats.append(pl.when(scored > 0).then(pl.col("clv") / scored).alias("mean_clv"))
    return (
        sums.select(stats)
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
    margin_after_member_discount
        Whether the recorded margin (or ``amount`` times ``margin_rate``) already has the
        member discount taken off (the default): members' extra margin then already pays
        for the discount, so ``program_cost`` is the rewards only and ``discount_cost`` is
        shown, not subtracted again. False: the margin is at list price and the discount
        is a programme cost.

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
    sums = member_month_sums(
        orders, costs=reward_costs(cost_per_reward, milestones), margin_rate=margin_rate
    )
    return loyalty_months(
        sums,
        member_discount_rate=member_discount_rate,
        margin_after_member_discount=margin_after_member_discount,
    )


def reward_costs(
    cost_per_reward: float | Mapping[int, float], milestones: Sequence[int]
) -> dict[int, float]:
    """The cost of the reward of each milestone (currency by order count), as
    :func:`loyalty_by_month` takes them."""
    if isinstance(cost_per_reward, Mapping):
        return dict(cost_per_reward)
    return dict.fromkeys(milestones, float(cost_per_reward))


MONTH_SUMS = pl.Schema(
    {
        "month": pl.Date,
        "members_active": pl.UInt32,
        "non_members_active": pl.UInt32,
        "member_orders": pl.UInt32,
        "non_member_orders": pl.UInt32,
        "member_revenue": pl.Float64,
        "non_member_revenue": pl.Float64,
        "member_margin": pl.Float64,
        "non_member_margin": pl.Float64,
        "rewards": pl.UInt32,
        "reward_cost": pl.Float64,
    }
)
"""The columns of :func:`member_month_sums`, in its order."""


def member_month_sums(
    orders: pl.DataFrame, *, costs: Mapping[int, float], margin_rate: float | None = None
) -> pl.DataFrame:
    """Of ``orders`` with ``loyalty``, per month (:data:`MONTH_SUMS`): the customers with a
    member (non-member) order in it, the member and non-member orders, their revenue and
    margin (the ``margin`` column, else ``amount`` x ``margin_rate``, default 1), the member
    orders that reach a milestone of ``costs`` (``rewards``) and their ``reward_cost``."""
    rate = 1.0 if margin_rate is None else margin_rate
    margin = pl.col("margin") if "margin" in orders.columns else pl.col("amount") * rate
    reward_cost = pl.lit(0.0)
    for k, cost in costs.items():
        reward_cost = reward_cost + pl.when(pl.col("order_number") == k).then(cost).otherwise(0.0)
    member = pl.col("loyalty")
    is_reward = pl.col("order_number").is_in(list(costs)) & member
    return (
        orders.lazy()
        .with_columns(month=pl.col("date").dt.truncate("1mo"), _margin=margin)
        .group_by("month")
        .agg(
            member_orders=member.sum(),
            non_member_orders=(~member).sum(),
            member_revenue=pl.col("amount").filter(member).sum(),
            non_member_revenue=pl.col("amount").filter(~member).sum(),
            member_margin=pl.col("_margin").filter(member).sum(),
            non_member_margin=pl.col("_margin").filter(~member).sum(),
            rewards=is_reward.sum(),
            reward_cost=reward_cost.filter(member).sum(),
        )
        .join(_active(orders), on="month", how="left")
        .select(list(MONTH_SUMS))
        .collect()
    )


def loyalty_months(
    sums: pl.DataFrame, *, member_discount_rate: float, margin_after_member_discount: bool
) -> pl.DataFrame:
    """:func:`loyalty_by_month` from each month's sums (:func:`member_month_sums`, or an
    engine's), sorted by month."""
    table = (
        sums.lazy()
        .select(list(MONTH_SUMS))
        .cast(dict(MONTH_SUMS))  # type: ignore[arg-type]
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


def _active(orders: pl.DataFrame) -> pl.LazyFrame:
    """Per month: ``members_active`` and ``non_members_active``, customers with a member
    (non-member) order in the month (a null flag is neither). Orders sorted by customer and
    date (:func:`clv.segments.order_table`) are counted in NumPy: a customer's orders of one
    month are one run, active as a member when any of them is flagged."""
    month = orders["date"].dt.truncate("1mo")
    flag = orders["loyalty"]
    customer = orders.select(customer_key(orders)).to_series()
    pair = None
    if customer.dtype != pl.String:
        pair = customer.cast(pl.Int64) * 2**20 + month.to_physical().cast(pl.Int64)
    if pair is None or not pair.is_sorted():
        frame = pl.LazyFrame({"month": month, "_c": customer, "_m": flag})
        return frame.group_by("month").agg(
            members_active=pl.col("_c").filter(pl.col("_m")).n_unique(),
            non_members_active=pl.col("_c").filter(~pl.col("_m")).n_unique(),
        )
    starts = np.flatnonzero(np.diff(pair.to_numpy(), prepend=-1))
    member = np.maximum.reduceat(flag.fill_null(False).to_numpy().astype(np.int8), starts)
    non_member = np.maximum.reduceat((~flag).fill_null(False).to_numpy().astype(np.int8), starts)
    return (
        pl.LazyFrame({"month": month.gather(starts), "_m": member, "_n": non_member})
        .group_by("month")
        .agg(
            members_active=pl.col("_m").cast(pl.UInt32).sum(),
            non_members_active=pl.col("_n").cast(pl.UInt32).sum(),
        )
    )


def programme_totals(by_month: pl.DataFrame | None) -> dict[str, object] | None:
    """The loyalty programme over the whole period: sums of :func:`loyalty_by_month`.

    Returns ``None`` without a loyalty column. Else ``months``, ``extra_margin``,
    ``program_cost``, ``discount_cost``, ``net`` (extra margin - program cost, currency),
    ``months_positive`` (months with ``net > 0``), ``net_mean`` and ``net_sd`` (of the monthly
    net), ``net_low`` and ``net_high`` (a 90 % interval of the total, months taken as
    independent: ``net +- 1.645 sd sqrt(months)``), ``sign_changes`` (months whose net has the
    other sign than the month before), ``months_within_noise`` (months within
    ``+- 1.645 sd`` of the mean month) and ``costed``: whether any programme cost was given (a
    discount rate or a reward cost that cost something). Without costs ``net`` is only the
    members' extra margin, which describes who joined, not what the programme earns.
    """
    if by_month is None:
        return None
    totals = by_month.select(
        months=pl.len(),
        extra_margin=pl.col("extra_margin").sum(),
        program_cost=pl.col("program_cost").sum(),
        discount_cost=pl.col("discount_cost").sum(),
        net=pl.col("net").sum(),
        months_positive=(pl.col("net") > 0).sum(),
        net_sd=pl.col("net").std(),
        net_mean=pl.col("net").mean(),
    ).row(0, named=True)
    sd, n = totals["net_sd"], totals["months"]
    spread = None if sd is None else NOISE_Z * sd * n**0.5
    within = (
        int(by_month.filter((pl.col("net") - totals["net_mean"]).abs() <= NOISE_Z * sd).height)
        if sd is not None
        else 0
    )
    return totals | {
        "costed": bool(totals["program_cost"] > 0 or totals["discount_cost"] > 0),
        "net_low": None if spread is None else totals["net"] - spread,
        "net_high": None if spread is None else totals["net"] + spread,
        "sign_changes": int((by_month["net"] > 0).cast(pl.Int8).diff().abs().sum() or 0),
        "months_within_noise": within,
    }


NOISE_Z = 1.645
"""z of a 90 % normal interval: the programme's total net +- z sd(monthly net) sqrt(months),
and the band +- z sd around the mean month within which a month's sign is noise."""


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

    return before_after_from(launch_sums(orders, launch=as_date(launch_date, "launch date")))


LAUNCH_SUMS = pl.Schema(
    {
        "period": pl.String,
        "days": pl.Int64,
        "customers": pl.UInt32,
        "orders": pl.UInt32,
        "revenue": pl.Float64,
        "repeaters": pl.UInt32,
        "new_customers": pl.UInt32,
    }
)
"""The columns of :func:`launch_sums`."""


def launch_sums(orders: pl.DataFrame, *, launch: dt.date) -> pl.DataFrame:
    """Of ``orders``, per period (``before`` the ``launch`` day, ``after``: from it on,
    rows of periods with orders): ``days`` (first to last order, both counted), the
    customers with an order in it, their ``orders`` and ``revenue``, ``repeaters`` (two or
    more orders in the period) and ``new_customers`` (a first order in it)."""
    return (
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
            repeaters=(pl.col("n") > 1).sum(),
            new_customers=pl.col("new").sum(),
        )
        .collect()
        .cast(dict(LAUNCH_SUMS))  # type: ignore[arg-type]
    )


def before_after_from(sums: pl.DataFrame) -> pl.DataFrame:
    """:func:`loyalty_before_after` from each period's sums (:func:`launch_sums`, or an
    engine's)."""
    per = (
        sums.cast(dict(LAUNCH_SUMS))  # type: ignore[arg-type]
        .with_columns(repeat_rate=pl.col("repeaters") / pl.col("customers"))
        .select("period", "days", "customers", "orders", "revenue", "repeat_rate", "new_customers")
        .with_columns(
            aov=pl.col("revenue") / pl.col("orders"),
            orders_per_customer=pl.col("orders") / pl.col("customers"),
        )
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
    probabilities = [f"p_reach_{k}" for k in milestones if f"p_reach_{k}" in base.columns]
    rows = base.select(
        pl.lit(1, dtype=pl.Int64).alias("customers"),
        *[(pl.col("orders") >= k).cast(pl.Int64).alias(f"reached_{k}") for k in milestones],
        *probabilities,
    )
    return milestone_table(rows, milestones=milestones)


def milestone_counts(
    customers: pl.DataFrame, *, milestones: Sequence[int], keys: Sequence[str]
) -> pl.DataFrame:
    """Of ``customers`` (``orders`` and the ``keys`` columns, e.g. a summary's
    ``frequency``, ``recency``, ``T``): per distinct ``keys``, the ``customers`` and, per
    milestone ``k``, ``reached_<k>`` (customers with at least ``k`` orders): the rows
    :func:`milestone_table` reads, with the probabilities of :func:`with_reach_probabilities`
    (which depend on the keys only)."""
    return customers.group_by(keys).agg(
        customers=pl.len().cast(pl.Int64),
        **{f"reached_{k}": (pl.col("orders") >= k).sum().cast(pl.Int64) for k in milestones},
    )


def milestone_table(rows: pl.DataFrame, *, milestones: Sequence[int]) -> pl.DataFrame:
    """:func:`reward_milestones` from ``rows`` of customers: ``customers`` (how many the
    row counts), ``reached_<k>`` (how many of them have ``k`` orders) and, optionally,
    ``p_reach_<k>`` (the probability that one of the others reaches ``k`` by the horizon)."""
    n = int(rows["customers"].sum())
    out = []
    for k in milestones:
        reached = int(rows[f"reached_{k}"].sum())
        row: dict[str, Any] = {
            "milestone": int(k),
            "customers": n,
            "reached": reached,
            "share_reached": ratio(reached, n),
        }
        column = f"p_reach_{k}"
        if column in rows.columns:
            others = pl.col("customers") - pl.col(f"reached_{k}")
            expected = reached + float(
                rows.select((others * pl.col(column).fill_null(0.0)).sum()).item()
            )
            row["expected_to_reach"] = expected
            row["expected_share"] = ratio(expected, n)
        out.append(row)
    return pl.DataFrame(out)


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
    probabilities = with_reach_probabilities(
        model, summary, milestones=milestones, horizon=horizon, horizon_unit=horizon_unit
    )
    return probabilities.select("customer_id", *[f"p_reach_{k}" for k in milestones])


def with_reach_probabilities(
    model: "ClvModel | GroupedClvModel",
    rows: pl.DataFrame,
    *,
    milestones: Sequence[int] = (4, 10),
    horizon: float = 12.0,
    horizon_unit: str = "M",
) -> pl.DataFrame:
    """``rows`` (``frequency``, ``recency``, ``T`` in the model's time unit, and a model per
    group's column) with the ``p_reach_<k>`` columns of :func:`milestone_probabilities`."""
    from clv.data.rfm import unit_days

    t = horizon * unit_days(horizon_unit) / unit_days(model.time_unit)
    have = (rows["frequency"] + 1).cast(pl.Int64).to_numpy()
    out = rows
    for k in milestones:
        p = np.ones(rows.height)
        need = k - have
        for m in np.unique(need[need > 0]):
            chosen = np.flatnonzero(need == m)
            p[chosen] = model.probability_at_least(
                rows[chosen], t=t, k=int(m), time_unit=model.time_unit
            )
        out = out.with_columns(pl.Series(f"p_reach_{k}", p, dtype=pl.Float64))
    return out
