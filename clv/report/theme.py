"""The house look of every figure: palette, fonts, axes, applied per figure.

:func:`themed` wraps a figure function in ``matplotlib.rc_context`` with the house theme
(seaborn's ``whitegrid`` style and ``notebook`` context, the house palette, readable sizes), so
nothing changes matplotlib's global settings. Figures are made with the object-oriented API
(``matplotlib.figure.Figure``), never pyplot, so nothing is shown twice in a notebook and
nothing leaks between figures.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clv.data.period import UNIT_NAMES as UNIT_NAMES

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#5c5c5c"]
"""House colours: blue (model/main), red (observed/alert), amber, teal, green, purple, grey."""

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def theme() -> dict[str, Any]:
    """The house rc parameters: seaborn ``whitegrid`` + ``notebook``, palette, sizes."""
    import seaborn as sns
    from cycler import cycler

    return {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook"),
        "axes.prop_cycle": cycler(color=PALETTE),
        "figure.figsize": (8.0, 4.5),
        "figure.dpi": 100,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 10,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 10,
    }


def themed(draw: Callable[P, R]) -> Callable[P, R]:
    """Draw with the house theme (``matplotlib.rc_context``), leaving global settings alone."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib as mpl

        with mpl.rc_context(theme()):
            return draw(*args, **kwargs)

    return wrapper


def new_axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.5)) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new constrained-layout Figure of ``size`` inches."""
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def money_label(currency: str) -> str:
    """``(EUR)``, or ``(currency)`` when none is given."""
    return f"({currency})" if currency else "(currency)"


def pct(x: float) -> str:
    """A share as a whole percentage, ``n/a`` when not finite."""
    return f"{x:.0%}" if math.isfinite(x) else "n/a"


def percent_formatter() -> Any:
    """An axis formatter that shows shares as percentages."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)
