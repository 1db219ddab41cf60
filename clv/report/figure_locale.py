"""A drawn figure in the report's language: its words from the catalog, its tick labels in the
locale's number, percent and month formats.

The figures of :mod:`clv.plots` draw English words (marked with
:func:`clv.plots.theme.words`, so ``pybabel extract`` puts them in the catalog); the report
turns a drawn figure into its reader's language here, before it is rendered, so the figures
stay pure functions of frames and the library's plots stay English.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from clv.report.i18n import ReportLocale


def localize_figure(fig: Any, locale: ReportLocale) -> None:
    """Translate ``fig``'s titles, axis labels, legends and notes, and format its numeric and
    date ticks as ``locale`` writes them (English: numbers and dates only)."""
    for ax in fig.axes:
        for text in (ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label):
            text.set_text(locale.figure_text(text.get_text()))
        legend = ax.get_legend()
        if legend is not None:
            for text in legend.get_texts():
                text.set_text(locale.figure_text(text.get_text()))
            if legend.get_title().get_text():
                legend.get_title().set_text(locale.figure_text(legend.get_title().get_text()))
        for text in ax.texts:
            text.set_text(locale.figure_text(text.get_text()))
        for axis in (ax.xaxis, ax.yaxis):
            _localize_ticks(axis, locale)
    if getattr(fig, "_suptitle", None) is not None:
        fig._suptitle.set_text(locale.figure_text(fig._suptitle.get_text()))


def _localize_ticks(axis: Any, locale: ReportLocale) -> None:
    from matplotlib.dates import ConciseDateFormatter, num2date
    from matplotlib.ticker import FuncFormatter, PercentFormatter, ScalarFormatter

    current = axis.get_major_formatter()
    if isinstance(current, ConciseDateFormatter):

        def month(x: float, _pos: int | None = None) -> str:
            day = num2date(x).date()
            return str(day.year) if day.month == 1 else locale.month_abbr(dt.date(2000, day.month, 1))

        axis.set_major_formatter(FuncFormatter(month))
    elif isinstance(current, PercentFormatter):
        decimals = current.decimals or 0
        xmax = current.xmax
        axis.set_major_formatter(FuncFormatter(lambda x, _p: locale.percent(x / xmax, decimals)))
    elif isinstance(current, ScalarFormatter) and axis.get_scale() == "linear":
        axis.set_major_formatter(FuncFormatter(lambda x, _p: _tick(x, axis, locale)))


def _tick(x: float, axis: Any, locale: ReportLocale) -> str:
    """A tick value with as many decimals as the tick spacing needs (at most 3)."""
    ticks = [t for t in axis.get_majorticklocs() if abs(t) < 1e15]
    step = min((abs(b - a) for a, b in zip(ticks, ticks[1:], strict=False) if b != a), default=1.0)
    decimals = 0
    while decimals < 3 and round(step, decimals) != round(step, 6):
        decimals += 1
    return locale.number(x, decimals)
