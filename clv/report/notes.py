"""The analysis' and the models' notes in the report's words: each is written from its code
and its numbers through the catalog, never read back from English.

The models give each diagnostic a ``code`` and its ``values`` (:mod:`clv.models.diagnostics`);
the analysis gives what a middle-tier customer lacks as codes
(:data:`clv.analysis.profile.LACKS`) and says which sections it left out by the keys of
``kpis`` it leaves out. Their English ``message`` stays in ``model.json``, ``kpis.json`` and
the command line's warnings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from clv.report.i18n import ENGLISH, N_, ReportLocale
from clv.report.messages import LocaleFormatter

LACKS = {
    "second_order": N_("a second order"),
    "higher_aov": N_("a higher average order value"),
    "recent_order": N_("a recent order"),
}
"""What a middle-tier customer lacks (:data:`clv.analysis.profile.LACKS`), in words."""

SELF_SELECTION = N_(
    "Members choose to join, and the customers who join are those who already buy more: "
    "member vs non-member differences are a comparison, not the effect of the program."
)
"""Why a member vs non-member difference is no effect of the programme."""

LEFT_OUT = (
    (
        "top_10pct_clv_share",
        N_("no scores given: no CLV numbers (fit a model and pass its scores)"),
    ),
    ("channels", N_("no channel column: channels section left out (map one with channel_col)")),
    ("loyalty", N_("no loyalty column: loyalty section left out (map one with loyalty_col)")),
)
"""A key of ``kpis`` and what its absence means for the report."""

GROUPS = {"channel": N_("channel"), "loyalty": N_("loyalty membership")}
"""What a model per group is per (``by=``), in the report's words."""


def lacks_text(
    codes: Sequence[str],
    *,
    aov: float | None = None,
    good_aov: float | None = None,
    locale: ReportLocale = ENGLISH,
) -> str:
    """What one middle-tier customer lacks, joined by commas; a higher order value with the
    customer's and the good tier's (``aov``, ``good_aov``, currency units, rounded)."""
    words = []
    for code in codes:
        if code == "higher_aov" and aov is not None and good_aov is not None:
            words.append(
                locale.gettext(
                    "a higher average order value ({own} vs {good} in the good tier)"
                ).format(own=locale.integer(round(aov)), good=locale.integer(round(good_aov)))
            )
        else:
            words.append(locale.gettext(LACKS[code]))
    return ", ".join(words)


def middle_to_top_table(frame: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> pl.DataFrame:
    """:func:`clv.analysis.profile.middle_to_top` as the report shows it: ``lacks`` in words
    (:func:`lacks_text`), ``good_aov`` in them."""
    text = [
        lacks_text(row["lacks"] or [], aov=row["aov"], good_aov=row["good_aov"], locale=locale)
        for row in frame.select("lacks", "aov", "good_aov").iter_rows(named=True)
    ]
    return frame.drop("good_aov").with_columns(lacks=pl.Series(text, dtype=pl.String))


def left_out_notes(kpis: Mapping[str, Any], *, locale: ReportLocale = ENGLISH) -> list[str]:
    """What the report leaves out for want of a column or of scores (``kpis`` without the
    key), and the members' self-selection when it has a loyalty section."""
    notes = [locale.gettext(text) for key, text in LEFT_OUT if key not in kpis]
    if "loyalty" in kpis:
        notes.append(locale.gettext(SELF_SELECTION))
    return notes


def gamma_gamma_left_out(model: Any, *, locale: ReportLocale = ENGLISH) -> str:
    """Who the Gamma-Gamma fit leaves out, from the model's counts: customers without a
    repeat purchase, and repeat buyers who spent nothing."""
    one_time = int(model.n_customers - model.n_repeat_buyers)
    no_spend = int(model.n_excluded_gamma_gamma) - one_time
    text = locale.ngettext(
        "{n} customer without a repeat purchase is left out of the Gamma-Gamma fit (it models "
        "the spend of repeat orders)",
        "{n} customers without a repeat purchase are left out of the Gamma-Gamma fit (it "
        "models the spend of repeat orders)",
        one_time,
    ).format(n=locale.integer(one_time))
    if no_spend > 0:
        text += "; " + locale.ngettext(
            "{n} repeat buyer with no positive spend too",
            "{n} repeat buyers with no positive spend too",
            no_spend,
        ).format(n=locale.integer(no_spend))
    return text


def _fields(template: str) -> Callable[[Mapping[str, Any], ReportLocale], str]:
    def write(values: Mapping[str, Any], locale: ReportLocale) -> str:
        return LocaleFormatter(locale).format(locale.gettext(template), **values)

    return write


def _at_boundary(values: Mapping[str, Any], locale: ReportLocale) -> str:
    if values["towards"] == "0":
        template = N_(
            "{model} {name} = {value:.3g} lies at the edge of what the data can tell (the best "
            "fit pushes it towards 0); it has no standard error, and scores use that limit"
        )
    else:
        template = N_(
            "{model} {name} = {value:.3g} lies at the edge of what the data can tell (the best "
            "fit pushes it towards infinity); it has no standard error, and scores use that limit"
        )
    return _fields(template)(values, locale)


def _no_dropout(values: Mapping[str, Any], locale: ReportLocale) -> str:
    if values.get("limit"):
        template = N_(
            "nobody appears to have stopped buying in this period: the model without dropout "
            "explains the purchases as well as {model} does, so P(alive) is 1 for everyone and "
            "the at-risk list is based on recency instead (time since the last purchase "
            "compared with the customer's usual gap between purchases)"
        )
        return _fields(template)(values, locale)
    return locale.gettext(
        "nobody appears to have stopped buying in this period, so P(alive) is close to 1 for "
        "everyone; the at-risk list is based on recency instead (time since the last purchase "
        "compared with the customer's usual gap between purchases)"
    )


_KEPT = {
    "poisson_no_dropout": N_("one purchase rate for everyone and no dropout"),
    "no_dropout": N_("the model without dropout"),
    "poisson": N_("one purchase rate for everyone (with dropout)"),
}


def _full_fit_failed(values: Mapping[str, Any], locale: ReportLocale) -> str:
    stand_ins = list(values.get("stand_ins") or [])
    kept = locale.gettext(_KEPT.get(str(values["kept"]), str(values["kept"])))
    if stand_ins:
        return locale.gettext(
            "{model} itself could not be fitted, so {kept} is used: it explains the purchases "
            "as well as {others} do"
        ).format(model=values["model"], kept=kept, others=" / ".join(stand_ins))
    return locale.gettext(
        "{model} itself could not be fitted, so {kept} is used, without a test against a "
        "fuller model"
    ).format(model=values["model"], kept=kept)


def _few_repeat_buyers(values: Mapping[str, Any], locale: ReportLocale) -> str:
    n = int(values["n"])
    return locale.ngettext(
        "only {n} customer bought more than once; the estimates of dropout and of order value "
        "rest on them and are rough",
        "only {n} customers bought more than once; the estimates of dropout and of order value "
        "rest on them and are rough",
        n,
    ).format(n=locale.integer(n))


def _gg_excluded_spend(values: Mapping[str, Any], locale: ReportLocale) -> str:
    n = int(values["n"])
    return locale.ngettext(
        "{n} repeat buyer spent nothing on their repeat purchases: they count for the purchase "
        "model but are left out of the Gamma-Gamma (order value) fit",
        "{n} repeat buyers spent nothing on their repeat purchases: they count for the purchase "
        "model but are left out of the Gamma-Gamma (order value) fit",
        n,
    ).format(n=locale.integer(n))


def _pooled_group(values: Mapping[str, Any], locale: ReportLocale) -> str:
    return locale.gettext(
        "too few customers or repeat buyers for a model of its own, or its own fit failed: "
        "scored by the pooled model"
    )


DIAGNOSTICS: dict[str, Callable[[Mapping[str, Any], ReportLocale], str]] = {
    "at_boundary": _at_boundary,
    "se_larger_than_estimate": _fields(
        N_(
            "{model} {name} = {value:.3g} has a standard error of {se:.3g}, larger than itself: "
            "the data hardly determine it, so scores that depend on it are rough"
        )
    ),
    "no_dropout_seen": _no_dropout,
    "one_purchase_rate": _fields(
        N_(
            "everyone buys at about one rate: one purchase rate for all customers explains the "
            "purchases as well as {model} does (a likelihood-ratio test), so it is used"
        )
    ),
    "equal_spend": _fields(
        N_(
            "customers' average order values are alike: one spend level for everyone explains "
            "the order values as well as Gamma-Gamma's spread between customers does, so every "
            "customer's expected order value is the mean order value"
        )
    ),
    "full_fit_failed": _full_fit_failed,
    "auto_no_holdout": _fields(
        N_(
            "no holdout period was possible, so the purchase models could not be compared on "
            "one and BG/NBD is used"
        )
    ),
    "auto_fallback": _fields(
        N_(
            "the purchase models could not be compared on the calibration period (model.json "
            "says why), so BG/NBD is used and no comparison is shown"
        )
    ),
    "gg_dependence": _fields(
        N_(
            "frequency and monetary value are correlated among repeat buyers (r = {r:.2f}, "
            "|r| > {limit:g}); Gamma-Gamma assumes they are independent, so expected order "
            "values and CLV may be biased"
        )
    ),
    "gg_heavy_tail": _fields(
        N_(
            "Gamma-Gamma q = {q:.3g} is close to 1: a few customers' spend dominates, the "
            "average order value of customers with few orders is uncertain and CLV can be far "
            "off for them (a Gamma-Gamma penalizer, gg_penalizer=, tempers it)"
        )
    ),
    "few_repeat_buyers": _few_repeat_buyers,
    "gg_excluded_spend": _gg_excluded_spend,
    "pooled_group": _pooled_group,
}
"""Each diagnostic code of :mod:`clv.models.diagnostics` and how the report writes it."""


def diagnostic_text(item: Mapping[str, Any], *, locale: ReportLocale = ENGLISH) -> str:
    """One model diagnostic in the report's language, from its ``code`` and ``values``; a
    group's (``by``, ``group`` in its values) starts with the group (``channel search: ``).
    English, and a code the report does not know (a model file of clv 0.1), keep the
    model's ``message``."""
    values = dict(item.get("values") or {})
    write = DIAGNOSTICS.get(str(item.get("code")))
    if locale.language == "en" or write is None:
        return str(item.get("message", ""))
    text = write(values, locale)
    if "group" in values:
        by = locale.gettext(GROUPS.get(str(values.get("by")), str(values.get("by"))))
        text = f"{by} {values['group']}: {text}"
    return text
