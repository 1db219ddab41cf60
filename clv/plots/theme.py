"""The house look of every figure: palette, fonts, axes, applied per figure.

:func:`themed` wraps a figure function in ``matplotlib.rc_context`` with the house theme
(seaborn's ``whitegrid`` style and ``notebook`` context, written out; the house palette;
readable sizes), so nothing changes matplotlib's global settings. A plot draws on the ``ax``
it is given; without one it makes a pyplot figure, which Jupyter shows under the cell (the
report closes each figure once it holds its PNG, so nothing is shown twice).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from clv.data.period import UNIT_NAMES as UNIT_NAMES

if TYPE_CHECKING:  # matplotlib is imported by the figures: not by the runner's import of render
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#5c5c5c"]
"""House colours: blue (model/main), red (observed/alert), amber, teal, green, purple, grey."""

P = ParamSpec("P")
R = TypeVar("R")


FIGURE_SIZE = (6.0, 4.0)
"""Inches at 100 dpi: a figure's own size in a notebook. The report draws each figure again
at the sizes of :func:`report_sizes`."""

SMALLEST_FONT_PT = 11
"""The smallest text in a figure (tick labels, legends, bar labels), in points."""


SEABORN_WHITEGRID_NOTEBOOK: dict[str, Any] = {
    "figure.facecolor": "white",
    "axes.labelcolor": ".15",
    "xtick.direction": "out",
    "ytick.direction": "out",
    "xtick.color": ".15",
    "ytick.color": ".15",
    "axes.axisbelow": True,
    "grid.linestyle": "-",
    "text.color": ".15",
    "font.family": ["sans-serif"],
    "font.sans-serif": [
        "Arial",
        "DejaVu Sans",
        "Liberation Sans",
        "Bitstream Vera Sans",
        "sans-serif",
    ],
    "lines.solid_capstyle": "round",
    "patch.edgecolor": "w",
    "patch.force_edgecolor": True,
    "xtick.top": False,
    "ytick.right": False,
    "axes.grid": True,
    "axes.facecolor": "white",
    "axes.edgecolor": ".8",
    "grid.color": ".8",
    "axes.spines.left": True,
    "axes.spines.bottom": True,
    "xtick.bottom": False,
    "ytick.left": False,
    "axes.linewidth": 1.25,
    "grid.linewidth": 1,
    "lines.linewidth": 1.5,
    "lines.markersize": 6,
    "patch.linewidth": 1,
    "xtick.major.width": 1.25,
    "ytick.major.width": 1.25,
    "xtick.minor.width": 1,
    "ytick.minor.width": 1,
    "xtick.major.size": 6,
    "ytick.major.size": 6,
    "xtick.minor.size": 4,
    "ytick.minor.size": 4,
    "legend.title_fontsize": 12,
}
"""seaborn 0.13's ``axes_style("whitegrid")`` and ``plotting_context("notebook")``, written out
so that a figure does not import seaborn (and with it scipy.stats and pandas: about 1.5 s).
Left out: ``image.cmap`` (seaborn's ``rocket``, registered only by importing seaborn; every
heatmap here names its colormap) and the sizes :func:`theme` sets itself."""


@functools.cache
def theme() -> dict[RcKeyType, Any]:
    """The house rc parameters: seaborn ``whitegrid`` + ``notebook``, palette, sizes.

    ``axes.titley`` is fixed at the top of the axes: no figure has anything above its axes,
    so the title stands where matplotlib's automatic placement puts it, without measuring
    every tick label again at each draw (a quarter of the time a figure took to show).
    """
    from cycler import cycler

    return {
        **SEABORN_WHITEGRID_NOTEBOOK,  # type: ignore[dict-item]
        "axes.prop_cycle": cycler(color=PALETTE),
        "figure.figsize": FIGURE_SIZE,
        "figure.dpi": 100,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titley": 1.0,
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


LAYOUT_PAD = 0.3
"""Space around a figure's axes and labels, as a fraction of the font size (about 4 pixels)."""


def new_axes(
    ax: Axes | None, size: tuple[float, float] = FIGURE_SIZE, *, colorbar: bool = False
) -> tuple[Figure, Axes]:
    """``ax`` and its figure, or a new pyplot figure of ``size`` inches with one axes.

    A new figure is laid out by tight layout, which measures the labels once per drawing;
    one that will hold a ``colorbar`` by constrained layout, which measures twice but is the
    layout that places colorbars.
    """
    import matplotlib.pyplot as plt
    from matplotlib.layout_engine import ConstrainedLayoutEngine, TightLayoutEngine

    if ax is not None:
        return ax.get_figure(root=True), ax  # type: ignore[return-value]
    engine = ConstrainedLayoutEngine() if colorbar else TightLayoutEngine(pad=LAYOUT_PAD)
    fig = plt.figure(figsize=size, layout=engine)
    return fig, fig.add_subplot()


def date_axis(ax: Axes) -> None:
    """Dates on the x axis, 3 to 6 ticks, each labelled as briefly as its neighbours allow
    (``Jan``, ``1998``): they fit one axes of a 1 x 3 grid without rotating the figure's."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(locator, show_offset=False))


def money_label(currency: str) -> str:
    """``(EUR)``, or ``(money)`` when no currency is given."""
    return f"({currency})" if currency else "(money)"


def pct(x: float) -> str:
    """A share as a whole percentage, ``n/a`` when not finite."""
    return f"{x:.0%}" if math.isfinite(x) else "n/a"


def percent_formatter() -> Any:
    """An axis formatter that shows shares as percentages."""
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(xmax=1.0, decimals=0)


FIGURE_DPI = 100
"""Pixels per inch of report figures."""

MIN_FONT_PX = 11.0
"""The smallest text a report figure shows on a phone, in CSS pixels."""

PHONE_COLUMN_PX = 366
"""The report's column on a 390 px phone (its body is padded 12 px either side), in CSS
pixels: the phone drawing of a figure fills it with its smallest text at :data:`MIN_FONT_PX`."""

DESKTOP_FIGURE_PX = 1040
"""The widest a report figure is shown (CSS pixels, ``report.css``), and the width it is drawn
at for a desktop: its text then shows at the size it is set in."""

DESKTOP_HEIGHT_SCALE = 1.2
"""The desktop drawing's height, as a multiple of the figure's own height: a wide figure
keeps about half its width in height."""


def report_sizes(fig: Any) -> tuple[tuple[float, float], tuple[float, float]]:
    """The sizes (inches at :data:`FIGURE_DPI`) a report draws ``fig`` at: for a desktop,
    :data:`DESKTOP_FIGURE_PX` wide; for a phone, as wide as keeps its smallest text
    :data:`MIN_FONT_PX` when shown :data:`PHONE_COLUMN_PX` wide (at most its own width), its
    own height."""
    width, height = fig.get_size_inches()
    desktop = (DESKTOP_FIGURE_PX / FIGURE_DPI, float(height) * DESKTOP_HEIGHT_SCALE)
    phone_px = PHONE_COLUMN_PX * smallest_text_px(fig) / MIN_FONT_PX
    return desktop, (min(phone_px / FIGURE_DPI, float(width)), float(height))


LABEL_ALLOWANCE_PX = 120.0
"""Pixels of the figure's width (height) a centred title or x (y) axis label cannot count on
before layout: the axes' labels on the other side push the axes, and the text centred on it,
off the figure's centre by about half this."""


def fit_labels(fig: Any, renderer: Any, *, laid_out: bool = True) -> bool:
    """Wrap each axes title and axis label longer than its room, measured with ``renderer``.

    The room is twice the distance from the axes' centre to the nearer edge of the figure,
    across for titles and x labels, up for y labels, once ``laid_out``; before layout, the
    figure's width (height) less :data:`LABEL_ALLOWANCE_PX`. Returns whether a text changed.
    """
    import textwrap

    changed = False
    edge = fig.bbox
    for ax in fig.get_axes():
        box = ax.get_window_extent(renderer)
        for text, across in ((ax.title, True), (ax.xaxis.label, True), (ax.yaxis.label, False)):
            words = text.get_text()
            if not (words and text.get_visible()):
                continue
            lo, hi = (edge.x0, edge.x1) if across else (edge.y0, edge.y1)
            if laid_out:
                centre = (box.intervalx if across else box.intervaly).mean()
                room = 2 * min(centre - lo, hi - centre)
            else:
                room = hi - lo - LABEL_ALLOWANCE_PX
            extent = text.get_window_extent(renderer)
            length = extent.width if across else extent.height
            if length <= room:
                continue
            chars = max(int(max(map(len, words.splitlines())) * room / length), 10)
            text.set_text(textwrap.fill(" ".join(words.split()), chars, break_on_hyphens=False))
            changed = True
    return changed


def smallest_text_px(fig: Any) -> float:
    """The font size of the figure's smallest visible text, in pixels at :data:`FIGURE_DPI`."""
    from matplotlib.text import Text

    sizes = [
        t.get_fontsize()
        for t in fig.findobj(Text)
        if t.get_visible() and t.get_text().strip() and t.figure is not None
    ]
    return min(sizes, default=12.0) * FIGURE_DPI / 72
