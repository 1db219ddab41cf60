"""The numbers of the report's first page, each taken from the table that backs it.

Frames and numbers only; :mod:`clv.report.first_page` words them. Every number here is read
from a frame the report shows further down (the top-vs-rest profile, the middle-tier
candidates, first vs later orders, the channel table, the loyalty programme by month, the
at-risk list), so a sentence and its table cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import polars as pl

from clv.analysis.segments import SegmentTotals

CLOSE_TO_TOP = 0.25
"""A middle-tier customer is close to the top when their predicted CLV is at least
``1 - CLOSE_TO_TOP`` times the lowest predicted CLV of the good tier."""


def top_customers(totals: SegmentTotals, profile: pl.DataFrame) -> dict:
    """The top customers (``top`` of :func:`clv.analysis.segments.segment_table`): how many,
    their share of revenue and of predicted CLV, and the two biggest differences.

    ``totals``: :func:`clv.analysis.segments.segment_totals` of the segment table;
    ``profile``: :func:`clv.analysis.profile.top_profile` of the same customers. Returns
    ``customers``, ``of``, ``value_share`` (of revenue), ``clv_share`` (None without CLV) and
    ``differences``: ``metric``, ``top``, ``rest`` and ``kind`` (``share``, ``probability``
    or ``number``) of the two rows of ``profile`` with the largest effect (its ``biggest``
    rows, in profile order; at most two).
    """
    return {
        "customers": totals.top,
        "of": totals.customers,
        "value_share": totals.top_revenue / totals.revenue if totals.revenue else None,
        "clv_share": totals.top_clv / totals.clv if totals.clv else None,
        "differences": profile.filter(pl.col("biggest"))
        .select("metric", "top", "rest", "kind")
        .head(2)
        .to_dicts(),
    }


@dataclass(frozen=True)
class MiddleCounts:
    """The middle tier's counts :func:`middle_findings` reads (:func:`middle_counts`)."""

    middle: int
    """Customers in the middle tier."""
    close: int
    """Those close to the top and not already gone."""
    gone: int
    """Those close to the top but already gone."""
    lacks: pl.DataFrame
    """What the ``close`` customers lack: ``what`` (a code of
    :data:`clv.analysis.profile.LACKS`), ``n`` (customers) and ``first`` (a number ordered as
    where the code is first met down the middle tier, closest to the top first)."""


def middle_counts(middle_tier: pl.DataFrame, *, close: float = CLOSE_TO_TOP) -> MiddleCounts:
    """The :class:`MiddleCounts` of the middle tier within ``close`` of the good tier's
    lowest predicted CLV (the threshold): ``clv >= (1 - close) * threshold``, i.e.
    ``clv_gap <= close * threshold``; gone means P(alive) below
    :data:`clv.analysis.risk.LOST_P_ALIVE`.

    ``middle_tier``: :func:`clv.analysis.profile.middle_to_top` with ``n=None`` and
    ``leave_out_gone=False`` (all of the middle tier)."""
    from clv.analysis.risk import gone

    threshold = middle_tier["clv"] + middle_tier["clv_gap"]
    near = middle_tier.filter(pl.col("clv_gap") <= close * threshold)
    kept = near.filter(~gone())
    return MiddleCounts(
        middle=middle_tier.height,
        close=kept.height,
        gone=near.height - kept.height,
        lacks=lack_counts(kept["lacks"]),
    )


def middle_findings(
    counts: MiddleCounts, *, good_share: float, close: float = CLOSE_TO_TOP
) -> dict:
    """Middle-tier customers close to the good tier (``counts``: :func:`middle_counts`).

    Returns ``middle`` (customers in the middle tier), ``close`` (those with
    ``clv >= (1 - close) * threshold`` who are not already gone: the candidates of the
    middle-to-top list that close), ``gone`` (as close but already gone: P(alive) below
    ``lost_p_alive``, left out of the list), ``within`` (``close``), ``good_share`` (the good
    tier's share of customers, as given), ``lost_p_alive`` and ``lacks``: what the ``close``
    customers lack, most common first, as ``(code, customers)`` (codes of
    :data:`clv.analysis.profile.LACKS`)."""
    from clv.analysis.risk import LOST_P_ALIVE

    return {
        "middle": counts.middle,
        "close": counts.close,
        "gone": counts.gone,
        "within": close,
        "good_share": good_share,
        "lost_p_alive": LOST_P_ALIVE,
        "lacks": most_common(counts.lacks),
    }


def lack_counts(lacks: pl.Series) -> pl.DataFrame:
    """``what``, ``n`` and ``first`` (the position where first met) of the codes the
    ``lacks`` lists hold."""
    named = lacks.drop_nulls().explode().drop_nulls()
    return (
        named.to_frame("what")
        .with_row_index("first")
        .group_by("what")
        .agg(n=pl.len(), first=pl.col("first").min())
    )


def most_common(counted: pl.DataFrame) -> list[tuple[str, int]]:
    """``(what, n)`` of ``counted`` (``what``, ``n``, ``first``): most common first, ties by
    ``first`` (``collections.Counter.most_common``'s order when ``first`` is where each was
    first met)."""
    counted = counted.sort(["n", "first"], descending=[True, False])
    return [(str(w), int(n)) for w, n in zip(counted["what"], counted["n"], strict=True)]


def returning_vs_new(rvn: Mapping[str, Any]) -> dict:
    """First vs later orders (:func:`clv.analysis.kpis.returning_vs_new`): ``aov_new``,
    ``aov_returning``, ``ratio`` (returning / new) and ``returning_orders``."""
    return {
        "aov_new": rvn.get("aov_new"),
        "aov_returning": rvn.get("aov_returning"),
        "ratio": rvn.get("returning_vs_new_aov_ratio"),
        "returning_orders": rvn.get("returning_orders"),
    }


def channels(table: pl.DataFrame | None) -> dict | None:
    """The best and worst channel of :func:`clv.analysis.kpis.channel_table` (ranked by
    ``share_good``) and, when costs give ``clv_cac``, the best and worst by CLV:CAC.

    None without a channel column or with fewer than two channels.
    """
    if table is None or table.height < 2:
        return None
    ranked = table.sort("rank")
    keep = ("channel", "share_good", "customers")
    out: dict[str, Any] = {
        "best": {k: ranked[k][0] for k in keep},
        "worst": {k: ranked[k][-1] for k in keep},
    }
    if "clv_cac" in table.columns:
        costed = table.filter(pl.col("clv_cac").is_not_null()).sort(
            ["clv_cac", "channel"], descending=[True, False]
        )
        if costed.height >= 2:
            keep = ("channel", "clv_cac", "cac")
            out["best_clv_cac"] = {k: costed[k][0] for k in keep}
            out["worst_clv_cac"] = {k: costed[k][-1] for k in keep}
    return out


def at_risk(
    table: pl.DataFrame,
    lost: pl.DataFrame,
    *,
    rule: str,
    min_value_quantile: float,
    max_p_alive: float,
    overdue: Any = None,
) -> dict:
    """The at-risk list (:func:`clv.analysis.risk.at_risk`), the lost customers
    (:func:`clv.analysis.risk.lost`) and the rule that made them: :func:`at_risk_totals` of
    their counts and sums."""
    return at_risk_totals(
        customers=table.height,
        value_at_stake=float(table["value_at_stake"].sum()) if table.height else 0.0,
        value_if_stays=float(table["value_if_stays"].sum()) if table.height else 0.0,
        lost=lost.height,
        lost_revenue=float(lost["revenue"].sum()) if lost.height else 0.0,
        rule=rule,
        min_value_quantile=min_value_quantile,
        max_p_alive=max_p_alive,
        overdue=overdue,
    )


def at_risk_totals(
    *,
    customers: int,
    value_at_stake: float,
    value_if_stays: float,
    lost: int,
    lost_revenue: float,
    rule: str,
    min_value_quantile: float,
    max_p_alive: float,
    overdue: Any = None,
) -> dict:
    """The at-risk numbers of the first page and ``kpis.json``.

    Returns ``rule`` (``"p_alive"`` or ``"recency"``), ``customers`` (on the list),
    ``value_at_stake`` and ``value_if_stays`` (their sums, on the money basis),
    ``min_value_quantile``, ``lost`` and ``lost_revenue`` (historical revenue of the lost).
    ``"p_alive"``: ``max_p_alive`` and ``lost_p_alive`` (the cut below which a customer is
    lost). ``"recency"``: ``overdue_gaps`` (k), ``measured`` (whether k was measured on the
    holdout), ``overdue_customers`` and ``bought_again`` (calibration customers beyond k, and
    the share who bought in the holdout), ``lapse_rate``.
    """
    from clv.analysis.risk import LOST_P_ALIVE

    out: dict[str, Any] = {
        "rule": rule,
        "customers": customers,
        "value_at_stake": value_at_stake,
        "value_if_stays": value_if_stays,
        "min_value_quantile": min_value_quantile,
        "lost": lost,
        "lost_revenue": lost_revenue,
    }
    if rule == "recency" and overdue is not None:
        return out | {
            "overdue_gaps": overdue.gaps,
            "measured": overdue.measured,
            "overdue_customers": overdue.customers,
            "bought_again": overdue.bought_again,
            "lapse_rate": overdue.lapse_rate,
        }
    return out | {"max_p_alive": max_p_alive, "lost_p_alive": LOST_P_ALIVE}


HOLDOUT_TOLERANCE = 0.20
"""The holdout check fails when total purchases or spend are off by more than this share."""

UNCERTAIN_CODES = ("at_boundary", "se_larger_than_estimate")
"""Diagnostics that say a parameter is poorly determined (counted, not listed, on page one)."""


def model_health(
    model: Any,
    *,
    holdout: Mapping[str, Any] | None,
    totals: SegmentTotals,
    last_year_value: float | None,
    horizon_months: float,
) -> dict:
    """The model's health in numbers, for plain words on the first page.

    Returns ``model`` (its purchase model: ``bgnbd``, ``mbgnbd``, ``pareto_nbd``),
    ``uncertain_parameters`` (diagnostics of :data:`UNCERTAIN_CODES`), ``other_codes`` (the
    other diagnostics' codes), ``holdout_failed`` with ``purchases_error`` and
    ``spend_error`` ((predicted - actual) / actual over the holdout; None without one),
    ``no_dropout`` with ``lowest_p_alive`` and ``one_time_share`` (customers who never
    bought again), and ``clv_exceeds_revenue`` with ``predicted_total`` (predicted CLV over
    the horizon) and ``last_year_value`` (the last 12 months' value on the same basis,
    scaled to the horizon). ``totals``: :func:`clv.analysis.segments.segment_totals` of the
    segment table (``clv``: predicted CLV over the horizon).
    """
    diagnostics = list(getattr(model, "diagnostics", []) or [])
    codes = [str(d["code"]) for d in diagnostics]
    purchases = spend = None
    if holdout is not None and holdout.get("metrics") is not None:
        errors = dict(holdout["metrics"].select("quantity", "relative_error").iter_rows())
        purchases, spend = errors.get("purchases"), errors.get("spend")
    failed = any(e is not None and abs(e) > HOLDOUT_TOLERANCE for e in (purchases, spend))
    lowest = totals.lowest_p_alive
    one_time = 0.0
    if totals.one_time is not None and totals.customers:
        one_time = totals.one_time / totals.customers
    predicted_total = totals.clv
    no_dropout = "no_dropout_seen" in codes or (
        lowest is not None and lowest >= 0.5 and one_time >= 0.2
    )
    scaled = None if last_year_value is None else last_year_value * horizon_months / 12
    exceeds = bool(predicted_total is not None and scaled and predicted_total > scaled)
    return {
        "model": str(getattr(model, "purchase_model", "")),
        "uncertain_parameters": sum(c in UNCERTAIN_CODES for c in codes),
        "other_codes": sorted(
            {c for c in codes if c not in UNCERTAIN_CODES and c != "no_dropout_seen"}
        ),
        "holdout_failed": failed,
        "purchases_error": purchases,
        "spend_error": spend,
        "no_dropout": no_dropout,
        "lowest_p_alive": lowest,
        "one_time_share": one_time,
        "clv_exceeds_revenue": exceeds,
        "predicted_total": predicted_total,
        "last_year_value": scaled,
    }


def data_quality(quality: Any, totals: SegmentTotals) -> dict:
    """What reading found, worth a line on the first page: ``placeholder_rows``,
    ``duplicate_rows``, ``house_accounts`` (how many), ``partial_month``, ``zero_amounts``,
    ``refunded_customers`` (net revenue zero or below: scored, left out of the lists), and
    ``excluded_customers`` left out on request with their ``excluded_rows``."""
    return {
        "excluded_customers": len(quality.excluded_customers),
        "excluded_rows": int(sum(quality.excluded_customers.values())),
        "placeholder_rows": int(sum(quality.placeholder_ids.values())),
        "duplicate_rows": int(quality.duplicate_rows),
        "house_accounts": len(quality.house_accounts),
        "partial_month": bool(quality.first_month_partial or quality.last_month_partial),
        "zero_amounts": int(quality.zero_amounts),
        "refunded_customers": totals.refunded,
    }


def loyalty_month(comparison: pl.DataFrame | None, totals: Mapping[str, Any] | None) -> dict | None:
    """The reviewed month of the loyalty programme beside the month before.

    ``comparison``: :func:`clv.analysis.tables.month_comparison`; ``totals``:
    :func:`clv.analysis.loyalty.programme_totals` of the same months. Returns ``month``
    (ISO), ``members_active`` and ``members_active_before``, ``member_aov``,
    ``non_member_aov``, ``net``, ``net_before`` and ``within_noise`` (whether this month's net
    lies within 1.645 standard deviations of the mean month); None without data.
    """
    from clv.analysis.loyalty import NOISE_Z

    if comparison is None or totals is None:
        return None
    this, before = comparison.row(0, named=True), comparison.row(1, named=True)
    sd, mean = totals.get("net_sd"), totals.get("net_mean")
    net = this["net"]
    within = bool(sd is not None and net is not None and abs(net - mean) <= NOISE_Z * sd)
    return {
        "month": this["month"].isoformat(),
        "members_active": this["members_active"],
        "members_active_before": before["members_active"],
        "member_aov": this["member_aov"],
        "non_member_aov": this["non_member_aov"],
        "net": net,
        "net_before": before["net"],
        "within_noise": within,
    }


class ListCounts(NamedTuple):
    """A customer list's length and its value at stake (currency; 0 without the column)."""

    customers: int
    value_at_stake: float


def list_counts(listed: pl.DataFrame) -> ListCounts:
    """:class:`ListCounts` of the customer list ``listed``."""
    stake = listed["value_at_stake"].sum() if "value_at_stake" in listed.columns else 0.0
    return ListCounts(listed.height, float(stake))


def loyalty_members(table: pl.DataFrame | None, at_risk: ListCounts) -> dict | None:
    """Members vs non-members (:func:`clv.analysis.loyalty.loyalty_table`) and the members
    on the at-risk list (``at_risk``: :func:`list_counts` of it): ``members``, ``customers``,
    ``member_orders`` and ``non_member_orders`` (orders per customer), ``members_at_risk`` and
    ``members_value_at_stake`` (currency); None without a loyalty column."""
    if table is None:
        return None
    rows = {r["group"]: r for r in table.iter_rows(named=True)}
    members, non = rows.get("members", {}), rows.get("non_members", {})
    return {
        "members": int(members.get("customers", 0)),
        "customers": int(table["customers"].sum()),
        "member_orders": members.get("orders_per_customer"),
        "non_member_orders": non.get("orders_per_customer"),
        "members_at_risk": at_risk.customers,
        "members_value_at_stake": at_risk.value_at_stake,
    }
