"""What the reader should see in each figure: the report's caption, one sentence built from
the frame the figure draws (the figures' titles are short nouns, :mod:`clv.plots`).

:func:`caption` finds the sentence of a figure function by its name; a figure that needs
more than its frames for a verdict (the loyalty programme's costs, the overall order-value
ratio) gets it from the notebook, which calls the function here by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import polars as pl

from clv.data.period import UNIT_NAMES
from clv.models.diagnostics import CORRELATION_WARNING
from clv.plots.fit import order_value_correlation
from clv.plots.theme import money_label, pct

FIT_GOOD = 0.05
"""Share of customers misplaced (half the total absolute gap between observed and expected
counts) up to which the purchase count fit is called good; up to twice that, rough."""

HOLDOUT_GOOD = 0.15
"""Mean absolute gap between predicted and actual holdout purchases, relative to the actual
ones (customer-weighted over frequency bins), up to which predictions are said to track."""

GINI_CONCENTRATED = 0.5
"""Gini from which value is called concentrated; below 0.3 it is called evenly spread."""


def period_transactions(counts: pl.DataFrame) -> str:
    """Whether the purchase model reproduces the customers' purchase counts."""
    obs = counts["observed"].cast(pl.Float64).to_numpy()
    exp = counts["expected"].cast(pl.Float64).to_numpy()
    gap = float(np.abs(obs - exp).sum() / max(obs.sum(), 1.0) / 2)
    if not math.isfinite(gap):
        return "Purchase counts: observed vs expected."
    if gap <= FIT_GOOD:
        return f"The model reproduces the purchase counts: {gap:.1%} of customers misplaced."
    if gap <= 2 * FIT_GOOD:
        return f"The model roughly reproduces the purchase counts: {gap:.1%} misplaced."
    return f"The model does NOT reproduce the purchase counts: {gap:.1%} of customers misplaced."


def calibration_purchases_vs_holdout(frame: pl.DataFrame) -> str:
    """Whether predicted holdout purchases track the actual ones, and which way they miss."""
    act = frame["actual_purchases"].cast(pl.Float64).to_numpy()
    pred = frame["predicted_purchases"].cast(pl.Float64).to_numpy()
    w = (
        frame["customers"].cast(pl.Float64).to_numpy()
        if "customers" in frame.columns
        else np.ones(len(act))
    )
    total = float((w * act).sum())
    if not total or not np.isfinite(total):
        return "Holdout purchases: predicted vs actual."
    gap = float((w * np.abs(pred - act)).sum()) / total
    bias = float((w * (pred - act)).sum()) / total
    if gap <= HOLDOUT_GOOD:
        return f"Predicted holdout purchases track the actual ones (mean absolute gap {gap:.0%})."
    way = "over" if bias > 0 else "under"
    return f"Predictions miss the holdout purchases: {way}stated, mean absolute gap {gap:.0%}."


def cumulative_transactions(frame: pl.DataFrame) -> str:
    """The model's total error in cumulative repeat purchases at the last day tracked."""
    act = frame["actual_cumulative"].cast(pl.Float64).to_numpy()
    pred = frame["expected_cumulative"].cast(pl.Float64).to_numpy()
    err = (pred[-1] - act[-1]) / act[-1] if len(act) and act[-1] else math.nan
    return f"Cumulative repeat purchases: total error {err:+.1%} at the last day."


def gamma_gamma_independence(summary: pl.DataFrame) -> str:
    """Whether order value and frequency are independent enough for Gamma-Gamma."""
    r = order_value_correlation(summary)
    if not math.isfinite(r):
        return "Too few repeat buyers to check that order value does not depend on frequency."
    if abs(r) <= CORRELATION_WARNING:
        return f"Order value and frequency: correlation {r:.2f}, independent enough."
    return f"Order value and frequency: correlation {r:.2f}, NOT independent."


def clv_distribution(scores: pl.DataFrame) -> str:
    """How skewed predicted CLV is: the mean against the median."""
    v = scores["clv"].drop_nulls().cast(pl.Float64).to_numpy()
    mean, median = (float(v.mean()), float(np.median(v))) if len(v) else (math.nan, math.nan)
    if not (math.isfinite(mean) and math.isfinite(median)):
        return "Predicted CLV per customer."
    if median <= 0:
        return (
            "Most customers are expected to spend nothing more."
            if mean > 0
            else "No customer is expected to spend anything more."
        )
    ratio = mean / median
    if ratio >= 1.5:
        return f"A few customers hold much of the value: mean CLV {ratio:.1f}x the median."
    if ratio >= 1.0:
        return f"CLV is fairly even across customers: the mean is {ratio:.1f}x the median."
    return f"A few low values pull the mean CLV below the median ({ratio:.1f}x the median)."


def p_alive_distribution(scores: pl.DataFrame) -> str:
    """The share of customers more likely gone than active."""
    p = scores["p_alive"].drop_nulls().cast(pl.Float64).to_numpy()
    low = float((p < 0.5).mean()) if len(p) else math.nan
    return f"{pct(low)} of customers are more likely gone than active (P(alive) < 0.5)."


def frequency_histogram(summary: pl.DataFrame) -> str:
    """The share of customers who never bought again."""
    f = summary["frequency"].to_numpy()
    return f"{pct(float((f == 0).mean()) if len(f) else math.nan)} of customers never bought again."


def _age(grid: pl.DataFrame) -> str:
    """The matrix customers' age: ``77 weeks``."""
    unit = str(grid["time_unit"][0]) if "time_unit" in grid.columns else ""
    return f"{float(grid['T'][0]):g} {UNIT_NAMES.get(unit, 'time units')}"


def frequency_recency_matrix(grid: pl.DataFrame) -> str:
    """What a cell of the expected-purchases matrix is."""
    return (
        "Each cell: the purchases expected of a customer with that frequency and recency, "
        f"first seen {_age(grid)} before the observation end."
    )


def probability_alive_matrix(grid: pl.DataFrame) -> str:
    """What a cell of the P(alive) matrix is."""
    return (
        "Each cell: the probability that a customer with that frequency and recency is still "
        f"active, first seen {_age(grid)} before the observation end."
    )


def revenue_by_month(monthly: pl.DataFrame) -> str:
    """The share of revenue from returning orders."""
    new = float(monthly["new_revenue"].cast(pl.Float64).sum())
    ret = float(monthly["returning_revenue"].cast(pl.Float64).sum())
    return f"Returning orders bring {pct(ret / max(new + ret, 1e-12))} of revenue."


def aov_new_vs_returning(overall_ratio: float | None) -> str:
    """Returning vs first orders' value over the whole period (``returning_vs_new_aov_ratio``)."""
    if overall_ratio is None or not math.isfinite(overall_ratio):
        return "Average order value of first and returning orders."
    if abs(overall_ratio - 1) < 0.05:
        return "Returning and first orders are worth about the same."
    more = "more" if overall_ratio > 1 else "less"
    return f"Returning orders are worth {abs(overall_ratio - 1):.0%} {more} than first orders."


def cohort_retention(cohorts: pl.DataFrame) -> str:
    """The share of a cohort that buys again the month after joining."""
    month1 = cohorts.filter(pl.col("months_since") == 1)["retention"].cast(pl.Float64)
    share = float(cast(float, month1.mean())) if month1.len() else math.nan
    if not math.isfinite(share):
        return "Share of each cohort buying, month by month."
    if share < 0.2:
        return f"Only {pct(share)} of a cohort buys again the month after joining."
    if share < 0.5:
        return f"{pct(share)} of a cohort buys again the month after joining."
    return f"Most of a cohort ({pct(share)}) buys again the month after joining."


def channel_quality(channels: pl.DataFrame) -> str:
    """Which channel brings the best customers, if any stands out."""
    ch = channels.sort("share_good")
    names = [str(c) for c in ch["channel"].to_list()]
    vals = ch["share_good"].cast(pl.Float64).to_numpy()
    if not names:
        return "No channels."
    if len(names) == 1 or vals[-1] - vals[0] < 0.02:
        return "The channels bring about the same share of good customers."
    return f"{names[-1]} brings the best customers ({pct(vals[-1])} good)."


def loyalty_by_month(
    monthly: pl.DataFrame,
    *,
    member_col: str = "member_aov",
    non_member_col: str = "non_member_aov",
    value_label: str = "average order value (currency)",
) -> str:
    """Members' metric against non-members' over the months, as a self-selected difference
    (the columns and label of :func:`clv.plots.loyalty_by_month`)."""
    mem = monthly[member_col].cast(pl.Float64).to_numpy()
    non = monthly[non_member_col].cast(pl.Float64).to_numpy()
    base = np.nanmean(non) if np.isfinite(non).any() else math.nan
    diff = np.nanmean(mem) / base - 1 if base else math.nan
    what = value_label.split(" (")[0]
    if not math.isfinite(diff):
        return f"{what[:1].upper()}{what[1:]} of members and non-members by month."
    return f"Members' {what} is {diff:+.0%} vs non-members (self-selected, not an effect)."


def loyalty_program_net(monthly: pl.DataFrame, *, costed: bool, currency: str = "") -> str:
    """The programme's net over the months, when its costs were given (else no verdict)."""
    if not costed:
        return "Members' extra margin by month (no programme costs given: no verdict)."
    net = float(monthly["net"].sum())
    positive = int(monthly["net"].gt(0).sum())
    return (
        f"Net over {monthly.height} months: {net:,.0f} {money_label(currency)}; "
        f"positive in {positive} of {monthly.height} months."
    )


def lorenz_curves(curves: pl.DataFrame) -> str:
    """How concentrated value is, by the largest Gini of the curves."""
    most = float(cast(float, curves["gini"].max())) if curves.height else math.nan
    if not math.isfinite(most):
        return "How value is shared among customers."
    if most >= GINI_CONCENTRATED:
        return f"Value is concentrated in few customers (Gini up to {most:.2f})."
    if most >= 0.3:
        return f"Value is moderately concentrated (Gini up to {most:.2f})."
    return f"Value is spread fairly evenly across customers (Gini up to {most:.2f})."


def tier_shares(tiers: pl.DataFrame) -> str:
    """How the first (top) tier's value share compares with its share of customers."""
    share_cols = [c for c in tiers.columns if c.endswith("share")]
    people = [c for c in share_cols if c.startswith("customer")]
    values = [c for c in share_cols if c not in people]
    if not people or not values or tiers.height == 0:
        return "Share of customers and value by tier."
    n_share = tiers[people[0]][0]
    v_shares = [tiers[c][0] for c in values if tiers[c][0] is not None]
    if not n_share or not v_shares:
        return "Share of customers and value by tier."
    top, name = max(v_shares), tiers[tiers.columns[0]][0]
    what = f"{pct(top)} of the value with {pct(n_share)} of the customers"
    if top >= 2 * n_share:
        return f"The {name} tier holds far more than its share: {what}."
    if top > 1.2 * n_share:
        return f"The {name} tier holds somewhat more than its share: {what}."
    return f"The {name} tier holds about its share of value or less: {what}."


def tier_migration(table: pl.DataFrame) -> str:
    """How many of the previous run's customers kept their value tier."""
    before = table.filter(pl.col("tier_before") != "new")
    total = float(sum(before[c].fill_null(0).sum() for c in table.columns if c != "tier_before"))
    kept = sum(
        float(row[row["tier_before"]] or 0)
        for row in before.iter_rows(named=True)
        if row["tier_before"] in table.columns
    )
    if not total:
        return "No customer of the previous run to follow."
    return f"{kept / total:.0%} of the previous run's customers kept their value tier."


def reviewed_months(noise: pl.DataFrame) -> str:
    """How many month-to-month changes of the members' gap are within noise."""
    changes = noise["within_noise"].drop_nulls()
    if noise.height < 2:
        return "The first reviewed month in this runs folder: each later run adds its month."
    if changes.len() == 0:
        return f"{noise.height} reviewed months; no standard errors to judge their changes."
    within = int(changes.sum())
    return (
        f"{within} of {changes.len()} monthly changes of the members' gap (member minus "
        "non-member margin per active customer) are within noise."
    )


CAPTIONS: dict[str, Callable[[pl.DataFrame], str]] = {
    f.__name__: f
    for f in (
        period_transactions,
        calibration_purchases_vs_holdout,
        cumulative_transactions,
        gamma_gamma_independence,
        clv_distribution,
        p_alive_distribution,
        frequency_histogram,
        frequency_recency_matrix,
        probability_alive_matrix,
        revenue_by_month,
        cohort_retention,
        channel_quality,
        loyalty_by_month,
        lorenz_curves,
        tier_shares,
        tier_migration,
        reviewed_months,
    )
}
"""The captions made from the figure's first frame alone, by the figure function's name."""


def caption(figure: Callable[..., Any], frame: Any) -> str | None:
    """The caption of ``figure`` (a :mod:`clv.plots` function) drawn from ``frame``, or None
    for a figure whose caption needs more than its frame."""
    made = CAPTIONS.get(getattr(figure, "__name__", ""))
    return made(frame) if made is not None else None
