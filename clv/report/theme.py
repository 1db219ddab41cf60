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
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clv.data.period import UNIT_NAMES as UNIT_NAMES

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#5c5c5c"]
"""House colours: blue (model/main), red (observed/alert), amber, teal, green, purple, grey."""

P = ParamSpec("P")
R = TypeVar("R")


FIGURE_SIZE = (6.0, 4.0)
"""Inches at 100 dpi: 600 px wide, so 11 pt text is 9 px on a 390 px phone screen."""

SMALLEST_FONT_PT = 11
"""The smallest text in a figure (tick labels, legends, bar labels), in points."""


@functools.cache
def theme() -> dict[RcKeyType, Any]:
    """The house rc parameters: seaborn ``whitegrid`` + ``notebook``, palette, sizes."""
    import seaborn as sns
    from cycler import cycler

    return {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook"),
        "axes.prop_cycle": cycler(color=PALETTE),
        "figure.figsize": FIGURE_SIZE,
        "figure.dpi": 100,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.labelsize": 11,
        "xtick.labelsize": 11,
        "ytick.labelsize": 11,
        "legend.fontsize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 11,
    }


def themed(draw: Callable[P, R]) -> Callable[P, R]:
    """Draw with the house theme (``matplotlib.rc_context``), leaving global settings alone."""

    @functools.wraps(draw)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        import matplotlib as mpl

        with mpl.rc_context(theme()):
            return draw(*args, **kwargs)

    return wrapper


def new_axes(ax: Axes | None, size: tuple[float, float] = FIGURE_SIZE) -> tuple[Figure, Axes]:
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


FIGURE_DPI = 100
"""Pixels per inch of report figures."""

MIN_FONT_PX = 9.0
"""The smallest text a figure may show on screen, in CSS pixels."""


def wrap_titles(fig: Any) -> None:
    """Wrap each axes title to the width of its figure (about 0.6 em per character)."""
    import textwrap

    for ax in fig.get_axes():
        title = ax.title
        text = title.get_text()
        chars = int(fig.get_figwidth() * 72 / (0.6 * title.get_fontsize()))
        if text and len(text) > chars:
            title.set_text(textwrap.fill(text, chars))


def smallest_text_px(fig: Any) -> float:
    """The font size of the figure's smallest visible text, in pixels at :data:`FIGURE_DPI`."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is not None
    ]
    return min(sizes, default=12.0) * FIGURE_DPI / 72
