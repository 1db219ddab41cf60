"""A drawn figure in the report's language: its words from the catalog, its tick labels in the
locale's number, percent and month formats.

The figures of :mod:`clv.plots` draw English words (marked with
:func:`clv.plots.theme.words`, so ``pybabel extract`` puts them in the catalog); the report
turns a drawn figure into its reader's language here, before it is rendered, so the figures
stay pure functions of frames and the library's plots stay English.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable
from typing import Any

from clv.report.i18n import N_, ReportLocale
from clv.report.messages import LocaleFormatter

FIGURE_WORDS = (
    N_("first orders"),
    N_("returning orders"),
    N_("members"),
    N_("non-members"),
    N_("members' extra margin"),
    N_("program cost (discounts and rewards)"),
    N_("net"),
    N_("equal shares"),
    N_("observed"),
    N_("model"),
    N_("actual"),
    N_("holdout"),
    N_("purchase"),
    N_("Gamma-Gamma"),
    N_("too few to correlate"),
    N_("customers buying that month (share of cohort)"),
    N_("average order value"),
    N_("margin per month"),
    N_("margin per active customer"),
    N_("mean order value"),
    N_("revenue"),
    N_("currency"),
    N_("customer share"),
    N_("revenue share"),
    N_("clv share"),
    N_("value share"),
    N_("historical revenue"),
    N_("predicted CLV"),
    N_("purchases"),
    N_("dropouts"),
    N_("day"),
    N_("week"),
    N_("month"),
    N_("money"),
    N_("customers"),
    N_("revenue (tiers by revenue)"),
    N_("predicted CLV (tiers by CLV)"),
    N_("gap moved beyond noise"),
    N_("good"),
    N_("middle"),
    N_("low"),
    N_("new"),
    N_("gone"),
)
"""Legends and the words of labels that end in a unit (``"revenue (kr)"``): the figures'
words that ``pybabel extract`` finds in no title or axis label call."""

_NUMBER = r"(-?[\d,]*\.?\d+(?:e[+-]?\d+)?)"

PATTERNS: tuple[tuple[str, str], ...] = (
    (r"(\d+%)", "{0}"),
    (
        rf"(\d+%) · {_NUMBER} customers, mean CLV {_NUMBER}",
        N_("{0} · customers: {1}, mean CLV {2}"),
    ),
    (rf"(\d+%) · {_NUMBER} customers", N_("{0} · customers: {1}")),
    (rf"median {_NUMBER}", N_("median {0}")),
    (rf"mean {_NUMBER}", N_("mean {0}")),
    (rf"correlation {_NUMBER}", N_("correlation {0}")),
    (rf"(.+) \(Gini {_NUMBER}\)", N_("{0} (Gini {1})")),
    (
        r"predicted CLV over (.+) \((.*)\); top 1 % not shown",
        N_("predicted CLV over {0} ({1}); top 1 % not shown"),
    ),
    (
        r"mean order value \((.*)\); top 1 % not shown",
        N_("mean order value ({0}); top 1 % not shown"),
    ),
    (
        rf"repeat purchases \(count; {_NUMBER} means {_NUMBER} or more\)",
        N_("repeat purchases (count; {0} means {1} or more)"),
    ),
    (
        r"customers in the top (\d+%) by value \(share of the channel's customers\)",
        N_("customers in the top {0} by value (share of the channel's customers)"),
    ),
    (r"recency \((.+)\)", N_("recency ({0})")),
    (
        r"purchases in the next (\d+(?:\.\d+)? (?:days|weeks|months)|day|week|month)",
        N_("purchases in the next {0}"),
    ),
    (r"(purchases|dropouts) per (.+)", N_("{0} per {1}")),
    (r"(BG/NBD|MBG/NBD|Pareto/NBD) expected", N_("{0} expected")),
)
"""Figure texts with numbers or words in them (English regular expression, message): each
group is shown in the locale's format (a number) or language (words, a horizon)."""


def localize_figure(fig: Any, locale: ReportLocale, *, currency: str = "") -> None:
    """Translate ``fig``'s titles, axis labels, legends and notes, and format its numeric and
    date ticks as ``locale`` writes them (English: numbers and dates only). ``currency``: the
    symbol that replaces a ``(currency)`` unit a figure was drawn with."""
    for ax in fig.axes:
        texts = [ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]
        legend = ax.get_legend()
        if legend is not None:
            texts += [*legend.get_texts(), legend.get_title()]
        for text in [*texts, *ax.texts]:
            words = text.get_text()
            if currency:
                words = words.replace("(currency)", f"({currency})")
            text.set_text(figure_text(words, locale))
        for axis in (ax.xaxis, ax.yaxis):
            _localize_ticks(axis, locale)
    if getattr(fig, "_suptitle", None) is not None:
        fig._suptitle.set_text(figure_text(fig._suptitle.get_text(), locale))


def figure_text(text: str, locale: ReportLocale) -> str:
    """One drawn text in ``locale``'s language: a message, one of :data:`PATTERNS` (its
    numbers reformatted, its words translated), or words with a unit in brackets."""
    if not text or (locale.language == "en" and not re.search(r"\d", text)):
        return text
    for pattern, message in PATTERNS:
        found = re.fullmatch(pattern, text, flags=re.S)
        if found:
            parts: list[str] = [_part(g, locale) for g in found.groups()]
            return locale.gettext(message).format(*parts)
    return locale.figure_text(text)


def _part(group: str, locale: ReportLocale) -> str:
    """A matched group: a number in the locale's format, else words translated."""
    if re.fullmatch(r"\d+%", group):
        return locale.percent(int(group[:-1]) / 100)
    try:
        value = float(group.replace(",", ""))
    except ValueError:
        return _words(group, locale)
    decimals = len(group.split(".")[1]) if "." in group and "e" not in group else 0
    return locale.number(value, decimals)


def _words(group: str, locale: ReportLocale) -> str:
    found = re.fullmatch(r"(\d+(?:\.\d+)?) (days|weeks|months)", group)
    if found:
        value = float(found.group(1))
        n = round(value)
        forms: dict[str, Callable[[], str]] = {
            "days": lambda: locale.ngettext("{n} day", "{n} days", n),
            "weeks": lambda: locale.ngettext("{n} week", "{n} weeks", n),
            "months": lambda: locale.ngettext("{n} month", "{n} months", n),
        }
        count = locale.integer(n) if value.is_integer() else locale.number(value, 1)
        return forms[found.group(2)]().format(n=count)
    return locale.gettext(group)


def _localize_ticks(axis: Any, locale: ReportLocale) -> None:
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.dates import ConciseDateFormatter, num2date
    from matplotlib.ticker import (
        FixedFormatter,
        FuncFormatter,
        PercentFormatter,
        ScalarFormatter,
        StrMethodFormatter,
    )

    current = axis.get_major_formatter()
    if isinstance(current, ConciseDateFormatter):

        def month(x: float, _pos: int | None = None) -> str:
            day = num2date(x).date()
            return (
                str(day.year) if day.month == 1 else locale.month_abbr(dt.date(2000, day.month, 1))
            )

        axis.set_major_formatter(FuncFormatter(month))
    elif isinstance(current, PercentFormatter):
        decimals = current.decimals or 0
        xmax = current.xmax
        axis.set_major_formatter(FuncFormatter(lambda x, _p: locale.percent(x / xmax, decimals)))
    elif isinstance(current, StrMethodFormatter):  # "{x:,.0f}": the same spec, the locale's form
        spec = LocaleFormatter(locale)
        axis.set_major_formatter(FuncFormatter(lambda x, _p: spec.format(current.fmt, x=x)))
    elif isinstance(current, ScalarFormatter) and axis.get_scale() == "linear":
        ticks = FuncFormatter(lambda x, _p: _tick(x, ticks.locs, locale))  # locs: set per draw
        axis.set_major_formatter(ticks)
    elif isinstance(current, FixedFormatter | StrCategoryFormatter | FuncFormatter):
        # words: tiers, groups (``set_xticks(x, labels)`` makes a FuncFormatter of them)

        def word(x: float, pos: int | None = None) -> str:
            return locale.gettext(current(x, pos))

        axis.set_major_formatter(FuncFormatter(word))


def _tick(x: float, locs: Any, locale: ReportLocale) -> str:
    """A tick value with as many decimals as the spacing of the ticks ``locs`` needs (at most
    3): the locations matplotlib gives the formatter before it labels them."""
    ticks = [t for t in locs if abs(t) < 1e15]
    step = min((abs(b - a) for a, b in itertools.pairwise(ticks) if b != a), default=1.0)
    decimals = 0
    while decimals < 3 and round(step, decimals) != round(step, 6):
        decimals += 1
    return locale.number(x, decimals)
