"""What the reader should see in each figure: the report's caption, one sentence built from
the frame the figure draws (the figures' titles are short nouns, :mod:`clv.plots`).

:func:`caption` finds the sentence of a figure function by its name; a figure that needs
more than its frames for a verdict (the loyalty programme's costs, the overall order-value
ratio) gets it from the notebook, which calls the function here by name. Each takes the
report's ``locale``: its language and number formats.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import polars as pl

from clv.analysis.distributions import (
    as_clv_histogram,
    as_order_value_sample,
    as_p_alive_histogram,
    value_counts,
)
from clv.models.diagnostics import CORRELATION_WARNING
from clv.report.i18n import ENGLISH, ReportLocale

FIT_GOOD = 0.05
"""Share of customers misplaced (half the total absolute gap between observed and expected
counts) up to which the purchase count fit is called good; up to twice that, rough."""

HOLDOUT_GOOD = 0.15
"""Mean absolute gap between predicted and actual holdout purchases, relative to the actual
ones (customer-weighted over frequency bins), up to which predictions are said to track."""

GINI_CONCENTRATED = 0.5
"""Gini from which value is called concentrated; below 0.3 it is called evenly spread."""


def _signed(share: float, locale: ReportLocale, decimals: int = 0) -> str:
    """A share with its sign: ``+10 %``."""
    text = locale.percent(share, decimals)
    return "+" + text if share > 0 else text


def period_transactions(counts: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """Whether the purchase model reproduces the customers' purchase counts."""
    _ = locale.gettext
    obs = counts["observed"].cast(pl.Float64).to_numpy()
    exp = counts["expected"].cast(pl.Float64).to_numpy()
    gap = float(np.abs(obs - exp).sum() / max(obs.sum(), 1.0) / 2)
    if not math.isfinite(gap):
        return _("Purchase counts: observed vs expected.")
    share = locale.percent(gap, 1)
    if gap <= FIT_GOOD:
        return _("The model reproduces the purchase counts: {gap} of customers misplaced.").format(
            gap=share
        )
    if gap <= 2 * FIT_GOOD:
        return _("The model roughly reproduces the purchase counts: {gap} misplaced.").format(
            gap=share
        )
    return _(
        "The model does NOT reproduce the purchase counts: {gap} of customers misplaced."
    ).format(gap=share)


def calibration_purchases_vs_holdout(frame: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """Whether predicted holdout purchases track the actual ones, and which way they miss."""
    _ = locale.gettext
    act = frame["actual_purchases"].cast(pl.Float64).to_numpy()
    pred = frame["predicted_purchases"].cast(pl.Float64).to_numpy()
    w = (
        frame["customers"].cast(pl.Float64).to_numpy()
        if "customers" in frame.columns
        else np.ones(len(act))
    )
    total = float((w * act).sum())
    if not total or not np.isfinite(total):
        return _("Holdout purchases: predicted vs actual.")
    gap = float((w * np.abs(pred - act)).sum()) / total
    bias = float((w * (pred - act)).sum()) / total
    if gap <= HOLDOUT_GOOD:
        return _(
            "Predicted holdout purchases track the actual ones (mean absolute gap {gap})."
        ).format(gap=locale.percent(gap))
    if bias > 0:
        return _(
            "Predictions miss the holdout purchases: overstated, mean absolute gap {gap}."
        ).format(gap=locale.percent(gap))
    return _(
        "Predictions miss the holdout purchases: understated, mean absolute gap {gap}."
    ).format(gap=locale.percent(gap))


def cumulative_transactions(frame: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """The model's total error in cumulative repeat purchases at the last day tracked."""
    act = frame["actual_cumulative"].cast(pl.Float64).to_numpy()
    pred = frame["expected_cumulative"].cast(pl.Float64).to_numpy()
    err = (pred[-1] - act[-1]) / act[-1] if len(act) and act[-1] else math.nan
    return locale.gettext(
        "Cumulative repeat purchases: total error {error} at the last day."
    ).format(error=_signed(err, locale, 1) if math.isfinite(err) else locale.gettext("n/a"))


def gamma_gamma_independence(summary: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """Whether order value and frequency are independent enough for Gamma-Gamma (of the
    summary, or its :func:`clv.analysis.distributions.order_value_sample`)."""
    _ = locale.gettext
    sample = as_order_value_sample(summary)
    r = float(sample["correlation"][0]) if sample.height else math.nan
    if not math.isfinite(r):
        return _("Too few repeat buyers to check that order value does not depend on frequency.")
    if abs(r) <= CORRELATION_WARNING:
        return _("Order value and frequency: correlation {r}, independent enough.").format(
            r=locale.number(r, 2)
        )
    return _("Order value and frequency: correlation {r}, NOT independent.").format(
        r=locale.number(r, 2)
    )


def clv_distribution(scores: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """How skewed predicted CLV is: the mean against the median (of the scores, or their
    :func:`clv.analysis.distributions.clv_histogram`)."""
    _ = locale.gettext
    bins = as_clv_histogram(scores)
    mean, median = (math.nan, math.nan)
    if bins.height:
        mean, median = float(bins["mean"][0]), float(bins["median"][0])
    if not (math.isfinite(mean) and math.isfinite(median)):
        return _("Predicted CLV per customer.")
    if median <= 0:
        return (
            _("Most customers are expected to spend nothing more.")
            if mean > 0
            else _("No customer is expected to spend anything more.")
        )
    ratio = locale.number(mean / median, 1)
    if mean / median >= 1.5:
        return _("A few customers hold much of the value: mean CLV {ratio}x the median.").format(
            ratio=ratio
        )
    if mean / median >= 1.0:
        return _("CLV is fairly even across customers: the mean is {ratio}x the median.").format(
            ratio=ratio
        )
    return _("A few low values pull the mean CLV below the median ({ratio}x the median).").format(
        ratio=ratio
    )


def p_alive_distribution(scores: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """The share of customers more likely gone than active (of the scores, or their
    :func:`clv.analysis.distributions.p_alive_histogram`, whose bins split at 0.5)."""
    bins = as_p_alive_histogram(scores)
    n = int(bins["customers"].sum())
    below = int(bins.filter(pl.col("high") <= 0.5)["customers"].sum())
    low = below / n if n else math.nan
    return locale.gettext(
        "{share} of customers are more likely gone than active (P(alive) < 0.5)."
    ).format(share=locale.percent(low))


def frequency_histogram(summary: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """The share of customers who never bought again (of the summary, or its counts by
    ``frequency``: :func:`clv.analysis.distributions.value_counts`)."""
    counts = summary if "customers" in summary.columns else value_counts(summary, "frequency")
    n = int(counts["customers"].sum())
    never = int(counts.filter(pl.col("frequency") == 0)["customers"].sum())
    share = never / n if n else math.nan
    return locale.gettext("{share} of customers never bought again.").format(
        share=locale.percent(share)
    )


def _age(grid: pl.DataFrame, locale: ReportLocale) -> str:
    """The matrix customers' age: ``77 weeks``."""
    unit = str(grid["time_unit"][0]) if "time_unit" in grid.columns else ""
    age = float(grid["T"][0])
    count = locale.integer(age) if age.is_integer() else locale.number(age, 1)
    forms = {
        "D": locale.ngettext("{n} day", "{n} days", int(age)),
        "W": locale.ngettext("{n} week", "{n} weeks", int(age)),
        "M": locale.ngettext("{n} month", "{n} months", int(age)),
    }
    return forms.get(unit, locale.gettext("{n} time units")).format(n=count)


def frequency_recency_matrix(grid: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """What a cell of the expected-purchases matrix is."""
    return locale.gettext(
        "Each cell: the purchases expected of a customer with that frequency and recency, "
        "first seen {age} before the observation end."
    ).format(age=_age(grid, locale))


def probability_alive_matrix(grid: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """What a cell of the P(alive) matrix is."""
    return locale.gettext(
        "Each cell: the probability that a customer with that frequency and recency is still "
        "active, first seen {age} before the observation end."
    ).format(age=_age(grid, locale))


def revenue_by_month(monthly: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """The share of revenue from returning orders."""
    new = float(monthly["new_revenue"].cast(pl.Float64).sum())
    ret = float(monthly["returning_revenue"].cast(pl.Float64).sum())
    return locale.gettext("Returning orders bring {share} of revenue.").format(
        share=locale.percent(ret / max(new + ret, 1e-12))
    )


def aov_new_vs_returning(overall_ratio: float | None, *, locale: ReportLocale = ENGLISH) -> str:
    """Returning vs first orders' value over the whole period (``returning_vs_new_aov_ratio``)."""
    _ = locale.gettext
    if overall_ratio is None or not math.isfinite(overall_ratio):
        return _("Average order value of first and returning orders.")
    if abs(overall_ratio - 1) < 0.05:
        return _("Returning and first orders are worth about the same.")
    diff = locale.percent(abs(overall_ratio - 1))
    if overall_ratio > 1:
        return _("Returning orders are worth {diff} more than first orders.").format(diff=diff)
    return _("Returning orders are worth {diff} less than first orders.").format(diff=diff)


def cohort_retention(cohorts: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """The share of a cohort that buys again the month after joining."""
    _ = locale.gettext
    month1 = cohorts.filter(pl.col("months_since") == 1)["retention"].cast(pl.Float64)
    share = float(cast(float, month1.mean())) if month1.len() else math.nan
    if not math.isfinite(share):
        return _("Share of each cohort buying, month by month.")
    text = locale.percent(share)
    if share < 0.2:
        return _("Only {share} of a cohort buys again the month after joining.").format(share=text)
    if share < 0.5:
        return _("{share} of a cohort buys again the month after joining.").format(share=text)
    return _("Most of a cohort ({share}) buys again the month after joining.").format(share=text)


def channel_quality(channels: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """Which channel brings the best customers, if any stands out."""
    _ = locale.gettext
    ch = channels.sort("share_good")
    names = [str(c) for c in ch["channel"].to_list()]
    vals = ch["share_good"].cast(pl.Float64).to_numpy()
    if not names:
        return _("No channels.")
    if len(names) == 1 or vals[-1] - vals[0] < 0.02:
        return _("The channels bring about the same share of good customers.")
    return _("{channel} brings the best customers ({share} good).").format(
        channel=names[-1], share=locale.percent(vals[-1])
    )


def loyalty_by_month(
    monthly: pl.DataFrame,
    *,
    member_col: str = "member_aov",
    non_member_col: str = "non_member_aov",
    value_label: str = "average order value (currency)",
    locale: ReportLocale = ENGLISH,
) -> str:
    """Members' metric against non-members' over the months, as a self-selected difference
    (the columns and label of :func:`clv.plots.loyalty_by_month`)."""
    mem = monthly[member_col].cast(pl.Float64).to_numpy()
    non = monthly[non_member_col].cast(pl.Float64).to_numpy()
    base = np.nanmean(non) if np.isfinite(non).any() else math.nan
    diff = np.nanmean(mem) / base - 1 if base else math.nan
    what = locale.gettext(value_label.split(" (")[0])
    if not math.isfinite(diff):
        return locale.gettext("{what} of members and non-members by month.").format(
            what=what[:1].upper() + what[1:]
        )
    return locale.gettext(
        "Members' {what} is {diff} vs non-members (self-selected, not an effect)."
    ).format(what=what, diff=_signed(float(diff), locale))


def loyalty_program_net(
    monthly: pl.DataFrame, *, costed: bool, currency: str = "", locale: ReportLocale = ENGLISH
) -> str:
    """The programme's net over the months, when its costs were given (else no verdict)."""
    _ = locale.gettext
    if not costed:
        return _("Members' extra margin by month (no programme costs given: no verdict).")
    net = float(monthly["net"].sum())
    positive = int(monthly["net"].gt(0).sum())
    return locale.ngettext(
        "Net over {months} month: {net}; positive in {positive} of {months} month.",
        "Net over {months} months: {net}; positive in {positive} of {months} months.",
        monthly.height,
    ).format(
        months=locale.integer(monthly.height),
        net=locale.money(net, currency),
        positive=locale.integer(positive),
    )


def lorenz_curves(curves: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """How concentrated value is, by the largest Gini of the curves."""
    _ = locale.gettext
    most = float(cast(float, curves["gini"].max())) if curves.height else math.nan
    if not math.isfinite(most):
        return _("How value is shared among customers.")
    gini = locale.number(most, 2)
    if most >= GINI_CONCENTRATED:
        return _("Value is concentrated in few customers (Gini up to {gini}).").format(gini=gini)
    if most >= 0.3:
        return _("Value is moderately concentrated (Gini up to {gini}).").format(gini=gini)
    return _("Value is spread fairly evenly across customers (Gini up to {gini}).").format(
        gini=gini
    )


def tier_shares(tiers: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """How the first (top) tier's value share compares with its share of customers."""
    _ = locale.gettext
    share_cols = [c for c in tiers.columns if c.endswith("share")]
    people = [c for c in share_cols if c.startswith("customer")]
    values = [c for c in share_cols if c not in people]
    if not people or not values or tiers.height == 0:
        return _("Share of customers and value by tier.")
    n_share = tiers[people[0]][0]
    v_shares = [tiers[c][0] for c in values if tiers[c][0] is not None]
    if not n_share or not v_shares:
        return _("Share of customers and value by tier.")
    top, name = max(v_shares), _(str(tiers[tiers.columns[0]][0]))
    numbers = {"tier": name, "value": locale.percent(top), "customers": locale.percent(n_share)}
    if top >= 2 * n_share:
        text = _(
            "The {tier} tier holds far more than its share: {value} of the value with "
            "{customers} of the customers."
        )
    elif top > 1.2 * n_share:
        text = _(
            "The {tier} tier holds somewhat more than its share: {value} of the value with "
            "{customers} of the customers."
        )
    else:
        text = _(
            "The {tier} tier holds about its share of value or less: {value} of the value with "
            "{customers} of the customers."
        )
    return text.format(**numbers)


def tier_migration(table: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """How many of the previous run's customers kept their value tier."""
    before = table.filter(pl.col("tier_before") != "new")
    total = float(sum(before[c].fill_null(0).sum() for c in table.columns if c != "tier_before"))
    kept = sum(
        float(row[row["tier_before"]] or 0)
        for row in before.iter_rows(named=True)
        if row["tier_before"] in table.columns
    )
    if not total:
        return locale.gettext("No customer of the previous run to follow.")
    return locale.gettext("{share} of the previous run's customers kept their value tier.").format(
        share=locale.percent(kept / total)
    )


def reviewed_months(noise: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> str:
    """How many month-to-month changes of the members' gap are within noise."""
    changes = noise["within_noise"].drop_nulls()
    if noise.height < 2:
        return locale.gettext(
            "The first reviewed month in this runs folder: each later run adds its month."
        )
    if changes.len() == 0:
        return locale.ngettext(
            "{n} reviewed month; no standard errors to judge its change.",
            "{n} reviewed months; no standard errors to judge their changes.",
            noise.height,
        ).format(n=locale.integer(noise.height))
    within = int(changes.sum())
    return locale.gettext(
        "{within} of {n} monthly changes of the members' gap (member minus non-member margin "
        "per active customer) are within noise."
    ).format(within=locale.integer(within), n=locale.integer(changes.len()))


CAPTIONS: dict[str, Callable[..., str]] = {
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


def caption(
    figure: Callable[..., Any], frame: Any, *, locale: ReportLocale = ENGLISH
) -> str | None:
    """The caption of ``figure`` (a :mod:`clv.plots` function) drawn from ``frame`` in
    ``locale``'s language, or None for a figure whose caption needs more than its frame."""
    made = CAPTIONS.get(getattr(figure, "__name__", ""))
    return made(frame, locale=locale) if made is not None else None
