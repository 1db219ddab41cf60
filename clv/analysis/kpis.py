"""Headline KPIs, returning vs new, cohorts and channels.

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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from clv.analysis.loyalty import loyalty_table
from clv.analysis.orders import customer_table, days_to_second_order, order_counts, order_table
from clv.analysis.profile import gini
from clv.analysis.segments import TIERS, _same_ids, ratio, top_count, value_tiers
from clv.data.groups import UNKNOWN

if TYPE_CHECKING:
    pass

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
    if _same_ids(customers["customer_id"], scores["customer_id"]):  # row i is row i: no join
        return customers.with_columns(scores.select(keep))
    return customers.join(
        scores.select("customer_id", *keep), on="customer_id", how="left", maintain_order="left"
    )


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
        :func:`returning_from_counts`, and ``median_days_to_second_order`` and
        ``mean_days_to_second_order`` (days, customers with a second order).
    """
    orders = _in_customer_order(orders)
    starts = (pl.col("customer_id") != pl.col("customer_id").shift()).fill_null(True)
    row = order_counts(orders) | orders.select(
        customers=starts.sum(), repeaters=(pl.col("order_number") == 2).sum()
    ).row(0, named=True)
    second = days_to_second_order(orders.select("date", "order_number", key=starts.cum_sum()))
    days = second.value_counts(name="customers").cast({"days": pl.Int64, "customers": pl.Int64})
    return returning_from_counts(row) | second_order_days(days)


def second_order_days(days: pl.DataFrame) -> dict[str, float | None]:
    """``median_days_to_second_order`` and ``mean_days_to_second_order`` (days; None without
    a second order) of the customers with a second order, from ``days`` (each number of
    days from the first to the second order, ``days``, and its ``customers``: an engine's
    counts)."""
    days = days.filter(pl.col("customers") > 0).sort("days")
    n = int(days["customers"].sum())
    if n == 0:
        return {"median_days_to_second_order": None, "mean_days_to_second_order": None}
    ends = days["customers"].cum_sum().to_numpy()  # the (1-based) last position of each value
    values = days["days"].to_numpy()

    def at(position: int) -> float:  # the value at a 0-based position of the sorted days
        return float(values[np.searchsorted(ends, position + 1)])

    middle = (at((n - 1) // 2) + at(n // 2)) / 2
    total = float((days["days"] * days["customers"]).sum())
    return {"median_days_to_second_order": middle, "mean_days_to_second_order": total / n}


def returning_from_counts(counts: Mapping[str, Any]) -> dict[str, float | int | None]:
    """First vs later orders from their counts and sums.

    ``counts``: ``customers``, ``repeaters`` (customers with a second order), ``orders``,
    ``revenue``, ``new_orders`` and ``new_revenue`` (first orders), ``returning_orders`` and
    ``returning_revenue`` (later orders), as :func:`clv.analysis.orders.order_counts` and
    :func:`returning_vs_new` count them. Returns ``customers``, ``orders``, ``aov_new`` and
    ``aov_returning`` (currency per order), ``returning_vs_new_aov_ratio``,
    ``repeat_customer_rate`` (share), ``returning_orders``, ``returning_revenue_share``.
    """
    aov_new = ratio(counts["new_revenue"], counts["new_orders"])
    aov_ret = ratio(counts["returning_revenue"], counts["returning_orders"])
    return {
        "customers": counts["customers"],
        "orders": counts["orders"],
        "aov_new": aov_new,
        "aov_returning": aov_ret,
        "returning_vs_new_aov_ratio": ratio(aov_ret, aov_new) if aov_ret is not None else None,
        "repeat_customer_rate": ratio(counts["repeaters"], counts["customers"]),
        "returning_orders": counts["returning_orders"],
        "returning_revenue_share": ratio(counts["returning_revenue"], counts["revenue"]),
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
    return cohorts_from_counts(cohort_counts(orders))


COHORT_COUNTS = pl.Schema(
    {
        "cohort": pl.Date,
        "months_since": pl.Int32,
        "cohort_customers": pl.UInt32,
        "active_customers": pl.UInt32,
        "orders": pl.UInt32,
        "revenue": pl.Float64,
    }
)
"""The columns of :func:`cohort_counts`."""


def cohort_counts(orders: pl.DataFrame) -> pl.DataFrame:
    """Of ``orders``: per cohort (first day of the month of the first order) and
    ``months_since`` (0 = that month), the cohort's customers, those with an order in that
    month (``active_customers``), their ``orders`` and ``revenue`` (:data:`COHORT_COUNTS`,
    in no particular order)."""
    orders = _in_customer_order(orders)
    new_customer = (orders["customer_id"] != orders["customer_id"].shift()).fill_null(True)
    month = orders["date"].dt.truncate("1mo")
    cohort = month
    if orders.height:  # each customer's orders are one run: its cohort is the run's minimum
        starts = np.flatnonzero(new_customer.to_numpy())
        first = np.minimum.reduceat(month.to_physical().to_numpy(), starts)
        lengths = np.diff(starts, append=orders.height)
        cohort = pl.Series(np.repeat(first, lengths), dtype=pl.Int32).cast(pl.Date)
    return (
        orders.lazy()
        .select(
            "amount",
            month=month,
            new_customer=new_customer,
            customer_key=new_customer.cum_sum(),
            cohort=cohort,
        )
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
        .collect()
        .cast(dict(COHORT_COUNTS))  # type: ignore[arg-type]
    )


def cohorts_from_counts(counts: pl.DataFrame) -> pl.DataFrame:
    """:func:`cohort_table` from its counts (:data:`COHORT_COUNTS`: an engine's aggregates,
    or :func:`cohort_counts`)."""
    return (
        counts.cast(dict(COHORT_COUNTS))  # type: ignore[arg-type]
        .sort("cohort", "months_since")
        .with_columns(
            retention=pl.col("active_customers") / pl.col("cohort_customers"),
            revenue_per_customer=pl.col("revenue") / pl.col("cohort_customers"),
        )
        .with_columns(
            cumulative_revenue_per_customer=pl.col("revenue_per_customer").cum_sum().over("cohort")
        )
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
        Acquisition cost per new customer by channel (CAC, currency); gives ``cac`` for the
        channels listed. CLV:CAC (a new customer's value / CAC) comes from the channels' own
        models: :attr:`clv.analysis.results.Analysis.channels`.
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
        ``mean_clv`` (existing customers' mean predicted CLV, with scores),
        ``share_good_clv`` (with scores: the share of the channel's customers in the top
        ``good_share`` by predicted CLV, the good tier of ``value_tier``) and ``cac`` (with
        costs). Ties in ``share_good`` are ranked by channel name.
    """
    if "channel" not in customers.columns:
        return None
    tiered = _tiered(customers, value_col, good_share)
    has_clv = "clv" in customers.columns
    if has_clv:  # the good tier by predicted CLV, ranked as segment_table ranks value_tier
        by_clv = tiered.select("customer_id", pl.col("clv").fill_null(0.0))
        ranked = value_tiers(by_clv, value_col="clv", top_share=good_share, prefix="_")
        tiered = tiered.with_columns(ranked["_top"].alias("good_clv"))
    aggs = [
        pl.len().cast(pl.Int64).alias("customers"),
        pl.col("good").sum().cast(pl.Int64).alias("good_customers"),
        (pl.col("orders") > 1).mean().alias("repeat_rate"),
        (pl.col("revenue").sum() / pl.col("orders").sum()).alias("aov"),
        pl.col(value_col).mean().alias("mean_value"),
    ]
    if has_clv:
        aggs.append(pl.col("clv").mean().alias("mean_clv"))
        aggs.append(pl.col("good_clv").mean().alias("share_good_clv"))
    table = (
        tiered.group_by(pl.col("channel").cast(pl.String).fill_null(UNKNOWN))
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
    return table.with_columns(pl.col("rank").cast(pl.Int64))


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
    returning: dict[str, Any] | None = None,
    channels: pl.DataFrame | None = None,
    loyalty: pl.DataFrame | None = None,
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
        CAC per channel (currency); adds ``cac`` to channels.
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
    returning, channels, loyalty
        :func:`returning_vs_new` of ``orders``, :func:`channel_table` (with these options)
        and :func:`loyalty_table` of ``customers``, when the caller has them; built here
        otherwise.

    Returns
    -------
    dict
        ``customers``, ``orders``, ``revenue``, ``repeat_customer_rate``,
        ``returning_vs_new_aov_ratio``, ``top_10pct_revenue_share``,
        ``top_20pct_revenue_share``, ``gini_revenue``, ``channels`` {name: {customers,
        share_good, repeat_rate, aov, mean_value, mean_clv, share_good_clv}}, ``loyalty``
        {members: {...}, non_members: {customers, aov, orders_per_customer, repeat_rate,
        mean_clv}} and ``notes`` (why a section is missing). ``channels`` / ``loyalty`` are
        absent when their column is; ``mean_clv`` and ``share_good_clv`` only with scores.
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
    rvn = returning_vs_new(orders) if returning is None else returning
    clv = customers["clv"].fill_null(0.0) if "clv" in customers.columns else None
    kpis = headline_numbers(
        rvn,
        customers=customers.height,
        revenue=float(customers["revenue"].sort(descending=True).sum()),
        concentration=concentration(customers["revenue"], clv),
    )
    if channels is None:
        channels = channel_table(
            customers, channel_costs=channel_costs, value_col=value_col, good_share=good_share
        )
    if loyalty is None:
        loyalty = loyalty_table(customers)
    return with_sections(kpis, channels=channels, loyalty=loyalty)


CONCENTRATION: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("revenue", (0.10, 0.20)),
    ("clv", (0.10,)),
)
"""The value columns whose concentration ``kpis.json`` gives, and the top shares of each:
``top_10pct_revenue_share``, ``top_20pct_revenue_share``, ``gini_revenue``,
``top_10pct_clv_share`` and ``gini_clv``."""


def top_share_key(column: str, share: float) -> str:
    """``("revenue", 0.1)`` -> ``"top_10pct_revenue_share"``."""
    return f"top_{round(100 * share)}pct_{column}_share"


def concentration(revenue: pl.Series, clv: pl.Series | None = None) -> dict[str, float | None]:
    """How concentrated value is: for each column of :data:`CONCENTRATION`, the share of
    the total held by the top ``round(share * n)`` customers (None when the total is 0) and
    the Gini coefficient (:func:`clv.analysis.profile.gini`). ``clv`` None: revenue only."""
    out: dict[str, float | None] = {}
    for column, shares in CONCENTRATION:
        values = revenue if column == "revenue" else clv
        if values is None:
            continue
        ranked = values.sort(descending=True)
        total = float(ranked.sum())
        for share in shares:
            # ties broken by customer_id do not change the sum of the top k values
            top = float(ranked.head(top_count(ranked.len(), share)).sum())
            out[top_share_key(column, share)] = top / total if total else None
        out[f"gini_{column}"] = gini(ranked)
    return out


def headline_numbers(
    returning: Mapping[str, Any],
    *,
    customers: int,
    revenue: float,
    concentration: Mapping[str, float | None],
) -> dict[str, Any]:
    """The headline numbers of ``kpis.json`` in their order: ``customers``, orders,
    ``revenue`` (currency), repeat rate, AOVs (:func:`returning_from_counts` in
    ``returning``) and the ``concentration`` numbers (:func:`concentration`)."""
    return {
        "customers": customers,
        "orders": returning["orders"],
        "revenue": revenue,
        "repeat_customer_rate": returning["repeat_customer_rate"],
        "returning_vs_new_aov_ratio": returning["returning_vs_new_aov_ratio"],
        "aov": ratio(revenue, float(returning["orders"] or 0)),
        "aov_new": returning["aov_new"],
        "aov_returning": returning["aov_returning"],
        **concentration,
    }


def with_sections(
    kpis: dict[str, Any], *, channels: pl.DataFrame | None, loyalty: pl.DataFrame | None
) -> dict[str, Any]:
    """``kpis`` with the ``channels`` (:func:`channel_table`) and ``loyalty``
    (:func:`loyalty_table`) sections and the ``notes`` that say why one is missing."""
    notes: list[str] = []
    if "gini_clv" not in kpis:
        notes.append("no scores given: no CLV numbers (fit a model and pass its scores)")
    if channels is None:
        notes.append("no channel column: channels section left out (map one with channel_col)")
    else:
        keep = ["customers", "share_good", "repeat_rate", "aov", "mean_value", "mean_clv"]
        keep += ["share_good_clv", "cac", "new_customer_value", "clv_cac"]
        kpis["channels"] = {
            row["channel"]: {k: row[k] for k in keep if k in row}
            for row in channels.iter_rows(named=True)
        }
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
