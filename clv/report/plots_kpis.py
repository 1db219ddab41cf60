"""The figures of the business KPIs: months, order values, cohorts, channels, loyalty,
concentration (Lorenz curves, tiers).

Frames in, a matplotlib Figure out, as in :mod:`clv.report.plots`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clv.report.theme import (
    PALETTE,
    SMALLEST_FONT_PT,
    money_label,
    new_axes,
    pct,
    percent_formatter,
    themed,
)

# --------------------------------------------------------------------------- KPIs


@themed
def aov_new_vs_returning(
    monthly: pl.DataFrame,
    *,
    overall_ratio: float | None = None,
    currency: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Average order value of first orders vs later orders, month by month.

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``aov_new``,
    ``aov_returning``). ``overall_ratio``: ``returning_vs_new_aov_ratio`` of
    :func:`clv.kpis.returning_vs_new` over the whole period, for the title.
    """
    fig, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    for i, kind in enumerate(["new", "returning"]):
        ax.plot(
            months,
            m[f"aov_{kind}"].cast(pl.Float64).to_numpy(),
            "o-",
            ms=3,
            color=PALETTE[i],
            label="first orders" if kind == "new" else "returning orders",
        )
    ax.set_xlabel("month of the order")
    ax.set_ylabel(f"average order value {money_label(currency)}")
    if overall_ratio is not None and math.isfinite(overall_ratio):
        if abs(overall_ratio - 1) < 0.05:
            ax.set_title("Returning and first orders are worth about the same")
        else:
            more = "more" if overall_ratio > 1 else "less"
            ax.set_title(
                f"Returning orders are worth {abs(overall_ratio - 1):.0%} {more} than first orders"
            )
    else:
        ax.set_title("Average order value of first and returning orders")
    ax.legend()
    fig.autofmt_xdate()
    return fig


@themed
def cohort_retention(
    cohorts: pl.DataFrame,
    *,
    value: str = "retention",
    period: str = "months_since",
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of monthly acquisition cohorts: share still buying n months after acquisition.

    ``cohorts``: :func:`clv.kpis.cohort_table`: ``cohort`` (month of first purchase),
    ``months_since`` (int) and ``retention`` (share of the cohort buying that month, 0-1).
    """
    fig, ax = new_axes(ax, (6.0, 4.8), colorbar=True)
    labels = sorted(set(cohorts["cohort"].to_list()))
    periods = sorted(set(cohorts[period].to_list()) - {0}) or [0]  # month 0 is 100 %
    ci = {c: i for i, c in enumerate(labels)}
    pi = {p: i for i, p in enumerate(periods)}
    z = np.full((len(labels), len(periods)), np.nan)
    for c, p, v in cohorts.select("cohort", period, value).iter_rows():
        if p in pi:
            z[ci[c], pi[p]] = v
    im = ax.imshow(z, aspect="auto", cmap="YlGnBu", interpolation="nearest")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="customers buying that month (share of cohort)")
    step = max(1, len(labels) // 12)
    ax.set_yticks(
        range(0, len(labels), step), [str(labels[i])[:7] for i in range(0, len(labels), step)]
    )
    pstep = max(1, len(periods) // 12)
    ax.set_xticks(
        range(0, len(periods), pstep), [str(periods[i]) for i in range(0, len(periods), pstep)]
    )
    ax.set_xlabel("months since first purchase (months)")
    ax.set_ylabel("cohort: month of first purchase")
    month1 = float(np.nanmean(z[:, pi[1]])) if 1 in pi else math.nan
    if not math.isfinite(month1):
        ax.set_title("Share of each cohort buying, month by month")
    elif month1 < 0.2:
        ax.set_title(f"Only {pct(month1)} of a cohort buys again the month after joining")
    elif month1 < 0.5:
        ax.set_title(f"{pct(month1)} of a cohort buys again the month after joining")
    else:
        ax.set_title(f"Most of a cohort ({pct(month1)}) buys again the month after joining")
    return fig


@themed
def channel_quality(
    channels: pl.DataFrame,
    *,
    good_share: float | None = None,
    ax: Axes | None = None,
    currency: str = "",
) -> Figure:
    """Share of good customers brought by each acquisition channel, best first.

    ``channels``: :func:`clv.kpis.channel_table` (``channel``, ``share_good`` (0-1), optional
    ``customers``, ``good_customers`` and ``mean_clv``). ``good_share``: the share of all
    customers called good (the top tier's, e.g. 0.2); by default read off the table as all
    good customers / all customers.
    """
    fig, ax = new_axes(ax)
    ch = channels.sort("share_good")
    names = [str(c) for c in ch["channel"].to_list()]
    vals = ch["share_good"].to_numpy().astype(float)
    bars = ax.barh(names, vals, color=PALETTE[0])
    extra = []
    for i in range(ch.height):
        bits = []
        if "customers" in ch.columns:
            bits.append(f"{ch['customers'][i]:,} customers")
        if "mean_clv" in ch.columns and ch["mean_clv"][i] is not None:
            bits.append(f"mean CLV {ch['mean_clv'][i]:,.0f}")
        extra.append(f"{pct(vals[i])}" + (" · " + ", ".join(bits) if bits else ""))
    ax.bar_label(bars, labels=extra, fontsize=SMALLEST_FONT_PT, padding=3)
    ax.set_xlim(0, min(1.0, max(vals.max() * 1.6, 0.05)) if len(vals) else 1.0)
    ax.xaxis.set_major_formatter(percent_formatter())
    if good_share is None and {"good_customers", "customers"} <= set(ch.columns):
        good = cast(int, ch["good_customers"].sum())
        good_share = good / max(cast(int, ch["customers"].sum()), 1)
    top = f"the top {good_share:.0%}" if good_share is not None else "the good tier"
    ax.set_xlabel(f"customers in {top} by value (share of the channel's customers)")
    ax.set_ylabel("acquisition channel")
    if not names:
        ax.set_title("No channels")
    elif len(names) == 1 or vals[-1] - vals[0] < 0.02:
        ax.set_title("The channels bring about the same share of good customers")
    else:
        ax.set_title(f"{names[-1]} brings the best customers ({pct(vals[-1])} good)")
    return fig


@themed
def loyalty_by_month(
    monthly: pl.DataFrame,
    *,
    member_col: str = "member_aov",
    non_member_col: str = "non_member_aov",
    value_label: str = "average order value",
    currency: str = "",
    ax: Axes | None = None,
) -> Figure:
    """A metric for loyalty members vs non-members, month by month (``value_label``, a money
    figure in ``currency``).

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``member_aov``,
    ``non_member_aov`` or the columns named by ``member_col`` / ``non_member_col``).
    """
    fig, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    mem = m[member_col].cast(pl.Float64).to_numpy()
    non = m[non_member_col].cast(pl.Float64).to_numpy()
    ax.plot(months, mem, "o-", ms=3, color=PALETTE[0], label="members")
    ax.plot(months, non, "o-", ms=3, color=PALETTE[1], label="non-members")
    ax.set_xlabel("month")
    ax.set_ylabel(f"{value_label} {money_label(currency)}")
    fig.autofmt_xdate()
    base = np.nanmean(non) if np.isfinite(non).any() else math.nan
    diff = np.nanmean(mem) / base - 1 if base else math.nan
    what = value_label
    ax.set_title(
        f"Members' {what} is {diff:+.0%} vs non-members (self-selected, not an effect)"
        if math.isfinite(diff)
        else f"{what} of members and non-members by month"
    )
    ax.legend()
    return fig


@themed
def loyalty_program_net(
    monthly: pl.DataFrame, *, costed: bool = True, currency: str = "", ax: Axes | None = None
) -> Figure:
    """Members' extra margin vs what the program costs, month by month.

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``extra_margin``,
    ``program_cost``, ``net``). ``costed``: whether programme costs were given
    (:func:`clv.analysis.loyalty.programme_totals`); without them the title makes no pay-off
    claim.
    """
    fig, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    ax.bar(
        months,
        m["extra_margin"].to_numpy(),
        width=20,
        color=PALETTE[4],
        label="members' extra margin",
    )
    ax.bar(
        months,
        -m["program_cost"].to_numpy(),
        width=20,
        color=PALETTE[1],
        label="program cost (discounts and rewards)",
    )
    ax.plot(months, m["net"].to_numpy(), "o-", ms=3, color=PALETTE[6], label="net")
    ax.axhline(0, color=PALETTE[6], lw=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel(f"margin per month {money_label(currency)}")
    if costed:
        net = float(m["net"].sum())
        positive = int(m["net"].gt(0).sum())
        ax.set_title(
            f"Net over {m.height} months: {net:,.0f} {money_label(currency)}; "
            f"positive in {positive} of {m.height} months"
        )
    else:
        ax.set_title("Members' extra margin by month (no programme costs given: no verdict)")
    ax.legend()
    fig.autofmt_xdate()
    return fig


@themed
def revenue_by_month(
    monthly: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Figure:
    """Revenue per month from first orders vs returning orders (stacked bars).

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``new_revenue``,
    ``returning_revenue``).
    """
    fig, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    new = m["new_revenue"].cast(pl.Float64).to_numpy()
    ret = m["returning_revenue"].cast(pl.Float64).to_numpy()
    ax.bar(months, new, width=20, color=PALETTE[2], label="first orders")
    ax.bar(months, ret, width=20, bottom=new, color=PALETTE[0], label="returning orders")
    ax.set_xlabel("month")
    ax.set_ylabel(f"revenue {money_label(currency)}")
    ax.yaxis.set_major_formatter("{x:,.0f}")  # whole amounts, no 1e6 offset
    share = ret.sum() / max(new.sum() + ret.sum(), 1e-12)
    ax.set_title(f"Returning orders bring {pct(share)} of revenue")
    ax.legend()
    fig.autofmt_xdate()
    return fig


@themed
def frequency_histogram(
    summary: pl.DataFrame, *, ax: Axes | None = None, max_frequency: int = 20
) -> Figure:
    """How many customers made 0, 1, 2, ... repeat purchases (the last bar is ``max+``)."""
    fig, ax = new_axes(ax)
    f = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    counts = np.bincount(f, minlength=max_frequency + 1)
    ax.bar(np.arange(len(counts)), counts, color=PALETTE[0])
    ax.set_xlabel(f"repeat purchases (count; {max_frequency} means {max_frequency} or more)")
    ax.set_ylabel("customers (count)")
    one_time = counts[0] / max(counts.sum(), 1)
    ax.set_title(f"{pct(one_time)} of customers never bought again")
    return fig


# --------------------------------------------------------------------------- concentration

GINI_CONCENTRATED = 0.5
"""Gini from which value is called concentrated; below 0.3 it is called evenly spread."""


@themed
def lorenz_curves(curves: pl.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Lorenz curves (value held by the bottom x % of customers) and the Gini of each.

    ``curves``: one or more curves stacked, with ``label``, ``gini``
    (:func:`clv.analysis.profile.gini`), ``customer_share`` and ``value_share``
    (:func:`clv.analysis.profile.lorenz_curve`); :func:`clv.analysis.tables.lorenz_table` builds it.
    """
    fig, ax = new_axes(ax, (6.0, 5.0))
    ginis = []
    labels = list(dict.fromkeys(curves["label"].to_list()))
    for i, label in enumerate(labels):
        curve = curves.filter(pl.col("label") == label).sort("customer_share")
        gini = float(curve["gini"][0])
        ginis.append(gini)
        ax.plot(
            curve["customer_share"].to_numpy(),
            curve["value_share"].to_numpy(),
            color=PALETTE[i % len(PALETTE)],
            label=f"{label} (Gini {gini:.2f})",
        )
    ax.plot([0, 1], [0, 1], color=PALETTE[6], lw=1, ls=":", label="equal shares")
    ax.set_xlabel("customers, from lowest to highest value (cumulative share)")
    ax.set_ylabel("value held (cumulative share)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    most = max(ginis) if ginis else math.nan
    if not math.isfinite(most):
        ax.set_title("How value is shared among customers")
    elif most >= GINI_CONCENTRATED:
        ax.set_title(f"Value is concentrated in few customers (Gini up to {most:.2f})")
    elif most >= 0.3:
        ax.set_title(f"Value is moderately concentrated (Gini up to {most:.2f})")
    else:
        ax.set_title(f"Value is spread fairly evenly across customers (Gini up to {most:.2f})")
    ax.legend(loc="upper left")
    return fig


TIER_SHARE_LABELS = {
    "customer_share": "customers",
    "revenue_share": "revenue (tiers by revenue)",
    "clv_share": "predicted CLV (tiers by CLV)",
}
"""The legend of :func:`tier_shares`: each share names the ranking its tiers come from."""


@themed
def tier_shares(
    tiers: pl.DataFrame,
    *,
    tier_col: str = "tier",
    share_cols: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Share of customers, revenue and CLV held by each value tier (grouped bars).

    ``tiers``: ``tier`` and share columns (0-1), by default every column ending in ``share``.
    """
    fig, ax = new_axes(ax)
    share_cols = list(share_cols or [c for c in tiers.columns if c.endswith("share")])
    names = [str(t) for t in tiers[tier_col].to_list()]
    x = np.arange(len(names))
    w = 0.8 / max(len(share_cols), 1)
    for i, col in enumerate(share_cols):
        vals = tiers[col].to_numpy().astype(float)
        bars = ax.bar(
            x + (i - (len(share_cols) - 1) / 2) * w,
            vals,
            w,
            label=TIER_SHARE_LABELS.get(col, col.replace("_", " ")),
            color=PALETTE[i % len(PALETTE)],
        )
        ax.bar_label(bars, labels=[pct(v) for v in vals], fontsize=SMALLEST_FONT_PT, padding=2)
    ax.set_xticks(x, names)
    ax.set_xlabel("value tier (each share of its own ranking: see the legend)")
    ax.set_ylabel("share of the total (fraction)")
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_title(_tier_verdict(tiers, share_cols, names))
    ax.legend()
    return fig


def _tier_verdict(tiers: pl.DataFrame, share_cols: list[str], names: list[str]) -> str:
    """How the first (top) tier's value share compares with its share of customers."""
    people = [c for c in share_cols if c.startswith("customer")]
    values = [c for c in share_cols if c not in people]
    if not people or not values or tiers.height == 0:
        return "Share of customers and value by tier"
    n_share = tiers[people[0]][0]
    v_shares = [tiers[c][0] for c in values if tiers[c][0] is not None]
    if not n_share or not v_shares:
        return "Share of customers and value by tier"
    top = max(v_shares)
    what = f"{pct(top)} of the value with {pct(n_share)} of the customers"
    if top >= 2 * n_share:
        return f"The {names[0]} tier holds far more than its share: {what}"
    if top > 1.2 * n_share:
        return f"The {names[0]} tier holds somewhat more than its share: {what}"
    return f"The {names[0]} tier holds about its share of value or less: {what}"
