"""The figure of one customer's P(alive) over time (lifetimes' ``plot_history_alive``)."""

from __future__ import annotations

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clv.report.plots import _axes


def p_alive_history(history: pl.DataFrame, *, ax: Axes | None = None, title: str = "") -> Figure:
    """P(alive) by day with the purchases marked; ``history`` from
    :func:`clv.models.history.p_alive_history` (``date``, ``p_alive``, ``purchase``)."""
    fig, ax = _axes(ax, (8.0, 3.5))
    ax.plot(history["date"].to_list(), history["p_alive"].to_numpy(), label="P(alive)")
    bought = history.filter(pl.col("purchase"))
    ax.scatter(bought["date"].to_list(), bought["p_alive"].to_numpy(), marker="o", label="purchase")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("date")
    ax.set_ylabel("P(alive) (probability)")
    ax.set_title(title or "P(alive) jumps at each purchase and fades while the customer is quiet")
    ax.legend(loc="lower left")
    return fig
