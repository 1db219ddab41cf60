"""The business month by month and by group: revenue and order values of first and
returning orders, acquisition cohorts, channels, the loyalty programme.

Frames of :mod:`clv.analysis` in, the matplotlib Axes drawn on out.
"""

from __future__ import annotations

from typing import cast

import numpy as np
import polars as pl
from matplotlib.axes import Axes

from clv.plots.theme import (
    PALETTE,
    SMALLEST_FONT_PT,
    date_axis,
    money_label,
    new_axes,
    pct,
    percent_formatter,
    themed,
)


@themed
def aov_new_vs_returning(
    monthly: pl.DataFrame,
    *,
    currency: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Average order value of first orders vs later orders, month by month.

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``aov_new``,
    ``aov_returning``).
    """
    _, ax = new_axes(ax)
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
    ax.set_title("Order values by month")
    ax.legend()
    date_axis(ax)
    return ax


@themed
def cohort_retention(
    cohorts: pl.DataFrame,
    *,
    value: str = "retention",
    period: str = "months_since",
    ax: Axes | None = None,
) -> Axes:
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
    ax.set_xlabel("time since first purchase (months)")
    ax.set_ylabel("cohort: month of first purchase")
    ax.set_title("Cohort retention")
    return ax


@themed
def channel_quality(
    channels: pl.DataFrame,
    *,
    good_share: float | None = None,
    ax: Axes | None = None,
    currency: str = "",
) -> Axes:
    """Share of good customers brought by each acquisition channel, best first.

    ``channels``: :func:`clv.kpis.channel_table` (``channel``, ``share_good`` (0-1), optional
    ``customers``, ``good_customers`` and ``mean_clv``). ``good_share``: the share of all
    customers called good (the top tier's, e.g. 0.2); by default read off the table as all
    good customers / all customers.
    """
    _, ax = new_axes(ax)
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
    ax.set_title("Good customers by channel")
    return ax


@themed
def loyalty_by_month(
    monthly: pl.DataFrame,
    *,
    member_col: str = "member_aov",
    non_member_col: str = "non_member_aov",
    value_label: str = "average order value",
    currency: str = "",
    ax: Axes | None = None,
) -> Axes:
    """A metric for loyalty members vs non-members, month by month (``value_label``, a money
    figure in ``currency``).

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``member_aov``,
    ``non_member_aov`` or the columns named by ``member_col`` / ``non_member_col``).
    """
    _, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    mem = m[member_col].cast(pl.Float64).to_numpy()
    non = m[non_member_col].cast(pl.Float64).to_numpy()
    ax.plot(months, mem, "o-", ms=3, color=PALETTE[0], label="members")
    ax.plot(months, non, "o-", ms=3, color=PALETTE[1], label="non-members")
    ax.set_xlabel("month")
    ax.set_ylabel(f"{value_label} {money_label(currency)}")
    date_axis(ax)
    ax.set_title("Members vs non-members")
    ax.legend()
    return ax


@themed
def loyalty_program_net(
    monthly: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Axes:
    """Members' extra margin vs what the program costs, month by month.

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``extra_margin``,
    ``program_cost``, ``net``).
    """
    _, ax = new_axes(ax)
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
    ax.set_title("Loyalty programme, net")
    ax.legend()
    date_axis(ax)
    return ax


@themed
def revenue_by_month(monthly: pl.DataFrame, *, currency: str = "", ax: Axes | None = None) -> Axes:
    """Revenue per month from first orders vs returning orders (stacked bars).

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``new_revenue``,
    ``returning_revenue``).
    """
    _, ax = new_axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    new = m["new_revenue"].cast(pl.Float64).to_numpy()
    ret = m["returning_revenue"].cast(pl.Float64).to_numpy()
    ax.bar(months, new, width=20, color=PALETTE[2], label="first orders")
    ax.bar(months, ret, width=20, bottom=new, color=PALETTE[0], label="returning orders")
    ax.set_xlabel("month")
    ax.set_ylabel(f"revenue {money_label(currency)}")
    ax.yaxis.set_major_formatter("{x:,.0f}")  # whole amounts, no 1e6 offset
    ax.set_title("Revenue by month")
    ax.legend()
    date_axis(ax)
    return ax
