"""The English notes the analysis and the models write (what a middle-tier customer lacks,
why a section is missing, who Gamma-Gamma leaves out, the model health items), shown in the
report's language: each is read back into its numbers and words and written again from a
message of the catalog. What sets the top customers apart is no longer read back: the report
writes it from its message template (:func:`clv.report.sections.top_profile_table`).

The analysis and the models keep their notes in English (they are also in the machine files
and the warnings); until they are message templates of their own, this module is the one
place that knows their shapes, and a test checks every shape against notes the analysis and
the models write.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import polars as pl
from babel import numbers

from clv.report.i18n import N_, ReportLocale

NOTES = (
    N_("no channel column: channels section left out (map one with channel_col)"),
    N_("no loyalty column: loyalty section left out (map one with loyalty_col)"),
    N_("no scores given: no CLV numbers (fit a model and pass its scores)"),
    N_(
        "Members choose to join, and the customers who join are those who already buy more: "
        "member vs non-member differences are a comparison, not the effect of the program."
    ),
    N_("a second order"),
    N_("a recent order"),
    N_("a higher average order value"),
    N_(
        "nobody appears to have stopped buying in this period, so P(alive) is close to 1 for "
        "everyone; the at-risk list is based on recency instead (time since the last purchase "
        "compared with the customer's usual gap between purchases)"
    ),
)
"""Notes of the analysis without numbers (``kpis["notes"]``, ``SELF_SELECTION_NOTE``, what a
middle-tier customer lacks, counted on the first page without their numbers): translated
whole."""


def _general(text: str, locale: ReportLocale) -> str:
    """A number printed with ``:g`` or ``:.3g`` (``3.91e+05``, ``0.000193``) in the locale."""
    value = float(text)
    if "e" in text:
        return numbers.format_scientific(value, format="#.##E0", locale=locale.locale)
    return locale.number(value, len(text.split(".")[1]) if "." in text else 0)


def _higher_aov(found: re.Match[str], locale: ReportLocale) -> str:
    own, good = (locale.integer(int(g)) for g in found.groups())
    return locale.gettext("a higher average order value ({own} vs {good} in the good tier)").format(
        own=own, good=good
    )


def _gamma_gamma(found: re.Match[str], locale: ReportLocale) -> str:
    one_time, spenders = found.group(1), found.group(3)
    n = int(one_time.replace(",", ""))
    text = locale.ngettext(
        "{n} customer without a repeat purchase is left out of the Gamma-Gamma fit (it models "
        "the spend of repeat orders)",
        "{n} customers without a repeat purchase are left out of the Gamma-Gamma fit (it "
        "models the spend of repeat orders)",
        n,
    ).format(n=locale.integer(n))
    if spenders:
        m = int(spenders.replace(",", ""))
        text += "; " + locale.ngettext(
            "{n} repeat buyer with no positive spend too",
            "{n} repeat buyers with no positive spend too",
            m,
        ).format(n=locale.integer(m))
    return text


def _at_boundary(found: re.Match[str], locale: ReportLocale) -> str:
    model, name, value, towards = found.groups()
    if towards == "0":
        text = locale.gettext(
            "{model} {name} = {value} lies at the edge of what the data can tell (the best fit "
            "pushes it towards 0); it has no standard error, and scores use that limit"
        )
    else:
        text = locale.gettext(
            "{model} {name} = {value} lies at the edge of what the data can tell (the best fit "
            "pushes it towards infinity); it has no standard error, and scores use that limit"
        )
    return text.format(model=model, name=name, value=_general(value, locale))


def _se_larger(found: re.Match[str], locale: ReportLocale) -> str:
    model, name, value, se = found.groups()
    return locale.gettext(
        "{model} {name} = {value} has a standard error of {se}, larger than itself: the data "
        "hardly determine it, so scores that depend on it are rough"
    ).format(model=model, name=name, value=_general(value, locale), se=_general(se, locale))


def _auto_fallback(found: re.Match[str], locale: ReportLocale) -> str:
    return locale.gettext(
        "the purchase models could not be compared on the calibration period ({reason}), so "
        "BG/NBD is used and no comparison is shown"
    ).format(reason=analysis_text(found.group(1), locale))


def _gg_dependence(found: re.Match[str], locale: ReportLocale) -> str:
    r, limit = found.groups()
    return locale.gettext(
        "frequency and monetary value are correlated among repeat buyers (r = {r}, |r| > "
        "{limit}); Gamma-Gamma assumes they are independent, so expected order values and CLV "
        "may be biased"
    ).format(r=_general(r, locale), limit=_general(limit, locale))


def _gg_heavy_tail(found: re.Match[str], locale: ReportLocale) -> str:
    return locale.gettext(
        "Gamma-Gamma q = {q} is close to 1: a few customers' spend dominates, the average order "
        "value of customers with few orders is uncertain and CLV can be far off for them (a "
        "Gamma-Gamma penalizer, gg_penalizer=, tempers it)"
    ).format(q=_general(found.group(1), locale))


def _few_repeat_buyers(found: re.Match[str], locale: ReportLocale) -> str:
    n = int(found.group(1).replace(",", ""))
    return locale.ngettext(
        "only {n} customer bought more than once; the estimates of dropout and of order value "
        "rest on them and are rough",
        "only {n} customers bought more than once; the estimates of dropout and of order value "
        "rest on them and are rough",
        n,
    ).format(n=locale.integer(n))


def _gg_excluded_spend(found: re.Match[str], locale: ReportLocale) -> str:
    n = int(found.group(1).replace(",", ""))
    return locale.ngettext(
        "{n} repeat buyer spent nothing on their repeat purchases: they count for the purchase "
        "model but are left out of the Gamma-Gamma (order value) fit",
        "{n} repeat buyers spent nothing on their repeat purchases: they count for the purchase "
        "model but are left out of the Gamma-Gamma (order value) fit",
        n,
    ).format(n=locale.integer(n))


_G = r"(-?\d[\d.]*(?:e[+-]\d+)?)"

SHAPES: tuple[tuple[str, Callable[[re.Match[str], ReportLocale], str]], ...] = (
    (r"a higher average order value \((\d+) vs (\d+) in the good tier\)", _higher_aov),
    (
        r"([\d,]+) customers without a repeat purchase( and ([\d,]+) repeat buyers with no "
        r"positive spend)? are left out of the Gamma-Gamma fit \(it models the spend of repeat "
        r"orders\)",
        _gamma_gamma,
    ),
    (
        rf"(.+) (\w+) = {_G} lies at the edge of what the data can tell \(the best fit pushes "
        r"it towards (0|infinity)\); it has no standard error, and scores use that limit",
        _at_boundary,
    ),
    (
        rf"(.+) (\w+) = {_G} has a standard error of {_G}, larger than itself: the data hardly "
        r"determine it, so scores that depend on it are rough",
        _se_larger,
    ),
    (
        r"the purchase models could not be compared on the calibration period \((.+)\), so "
        r"BG/NBD is used and no comparison is shown",
        _auto_fallback,
    ),
    (
        rf"frequency and monetary value are correlated among repeat buyers \(r = {_G}, \|r\| > "
        rf"{_G}\); Gamma-Gamma assumes they are independent, so expected order values and CLV "
        r"may be biased",
        _gg_dependence,
    ),
    (
        rf"Gamma-Gamma q = {_G} is close to 1: a few customers' spend dominates, the average "
        r"order value of customers with few orders is uncertain and CLV can be far off for them "
        r"\(a Gamma-Gamma penalizer, gg_penalizer=, tempers it\)",
        _gg_heavy_tail,
    ),
    (
        r"only ([\d,]+) customers bought more than once; the estimates of dropout and of order "
        r"value rest on them and are rough",
        _few_repeat_buyers,
    ),
    (
        r"([\d,]+) repeat buyers spent nothing on their repeat purchases: they count for the "
        r"purchase model but are left out of the Gamma-Gamma \(order value\) fit",
        _gg_excluded_spend,
    ),
)
"""The analysis' notes with numbers in them: the English shape and how to write it again."""


def analysis_text(text: str, locale: ReportLocale) -> str:
    """One note of the analysis in ``locale``'s language (itself in English, or when it has
    no known shape). A list of notes joined by ``", "`` (what a customer lacks) is
    translated note by note."""
    if locale.language == "en" or not text:
        return text
    for pattern, write in SHAPES:
        found = re.fullmatch(pattern, text)
        if found:
            return write(found, locale)
    if ", " in text and not re.search(r"\d,\d", text):
        parts = text.split(", ")
        if all(locale.gettext(p) != p or re.fullmatch(SHAPES[0][0], p) for p in parts):
            return ", ".join(analysis_text(p, locale) for p in parts)
    return locale.gettext(text)


def analysis_columns(frame: pl.DataFrame, locale: ReportLocale) -> pl.DataFrame:
    """``frame`` with its ``note`` and ``lacks`` columns (the analysis' notes) in ``locale``'s
    language."""
    columns = [c for c in ("note", "lacks") if c in frame.columns]
    if locale.language == "en" or not columns:
        return frame
    return frame.with_columns(
        pl.col(c).map_elements(lambda t: analysis_text(t, locale), return_dtype=pl.String)
        for c in columns
    )
