"""Figures of what changed from run to run: the value-tier migration since the previous run
and the loyalty review's reviewed months. Their captions are in :mod:`clv.report.captions`."""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes

from clv.plots.theme import PALETTE, SMALLEST_FONT_PT, money_label, new_axes, themed

LABEL_ROOM = 0.06
"""A bar's count is written inside it when the bar is at least this share of the widest row."""


@themed
def tier_migration(table: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Where the customers of each tier went: one bar per tier in the previous run (and
    ``new``), split by tier now (and ``gone``).

    ``table``: :func:`clv.report.since.migration_table` (``tier_before`` and one column of
    customers per tier now).
    """
    _, ax = new_axes(ax)
    names = [str(t) for t in table["tier_before"].to_list()]
    columns = [c for c in table.columns if c != "tier_before"]
    widest = max(
        (sum(float(table[c][i] or 0) for c in columns) for i in range(table.height)), default=0.0
    )
    left = [0.0] * len(names)
    for i, col in enumerate(columns):
        counts = [float(v or 0) for v in table[col].to_list()]
        bars = ax.barh(names, counts, left=left, label=col, color=PALETTE[i % len(PALETTE)])
        room = LABEL_ROOM * widest  # a count is written inside its bar when it fits there
        labels = [f"{v:,.0f}" if v and v >= room else "" for v in counts]
        ax.bar_label(bars, labels=labels, label_type="center", fontsize=SMALLEST_FONT_PT)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    ax.invert_yaxis()
    ax.set_xlabel("customers (count)")
    ax.set_ylabel("tier in the previous run")
    ax.set_title("Value tier migration")
    ax.legend(title="tier now", fontsize=SMALLEST_FONT_PT, loc="lower right")
    return ax


@themed
def reviewed_months(noise: pl.DataFrame, *, currency: str = "", ax: Axes | None = None) -> Axes:
    """Margin per active member and non-member, every reviewed month, with 95 % error bars;
    a month whose gap moved beyond noise from the month before is ringed.

    ``noise``: :func:`clv.analysis.loyalty_series.with_noise` of the runs folder's series.
    """
    fig, ax = new_axes(ax)
    months = noise["month"].to_list()
    for i, (col, label) in enumerate(
        (("member_margin_per_active", "members"), ("non_member_margin_per_active", "non-members"))
    ):
        se = noise[f"{col}_se"].fill_null(0.0).to_numpy() * 1.96
        ax.errorbar(
            months,
            noise[col].to_numpy(),
            yerr=se,
            label=label,
            color=PALETTE[i],
            marker="o",
            capsize=3,
        )
    moved = noise.filter(pl.col("within_noise").not_())
    if moved.height:
        ax.scatter(
            moved["month"].to_list(),
            moved["member_margin_per_active"].to_numpy(),
            s=220,
            facecolors="none",
            edgecolors=PALETTE[1],
            linewidths=2,
            label="gap moved beyond noise",
        )
    ax.set_xlabel("reviewed month")
    ax.set_ylabel(f"margin per active customer {money_label(currency)}")
    ax.legend()
    fig.autofmt_xdate()
    ax.set_title("Reviewed months")
    return ax
