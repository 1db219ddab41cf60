"""How value is shared among customers: Lorenz curves with their Gini, and value tiers.

Frames of :mod:`clv.analysis.tables` in, the matplotlib Axes drawn on out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from matplotlib.axes import Axes

from clv.plots.theme import (
    PALETTE,
    SMALLEST_FONT_PT,
    new_axes,
    pct,
    percent_formatter,
    themed,
)


@themed
def lorenz_curves(curves: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Lorenz curves (value held by the bottom x % of customers) and the Gini of each.

    ``curves``: one or more curves stacked, with ``label``, ``gini``
    (:func:`clv.analysis.profile.gini`), ``customer_share`` and ``value_share``
    (:func:`clv.analysis.profile.lorenz_curve`); :func:`clv.analysis.tables.lorenz_table` builds it.
    """
    _, ax = new_axes(ax, (6.0, 5.0))
    labels = list(dict.fromkeys(curves["label"].to_list()))
    for i, label in enumerate(labels):
        curve = curves.filter(pl.col("label") == label).sort("customer_share")
        gini = float(curve["gini"][0])
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
    ax.set_title("Value concentration")
    ax.legend(loc="upper left")
    return ax


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
) -> Axes:
    """Share of customers, revenue and CLV held by each value tier (grouped bars).

    ``tiers``: ``tier`` and share columns (0-1), by default every column ending in ``share``.
    """
    _, ax = new_axes(ax)
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
    ax.set_ylabel("share of the total")
    ax.yaxis.set_major_formatter(percent_formatter())
    ax.set_title("Value tiers")
    ax.legend()
    return ax
