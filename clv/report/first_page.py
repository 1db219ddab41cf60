"""The report's first page, "What this report found": plain sentences with the numbers.

Every sentence is made from :attr:`clv.analysis.results.Analysis.findings` (numbers read
from the tables the later sections show) and states nothing the data cannot support: no
verdict on the loyalty programme without its costs, no channel ranking with one channel.
The page's HTML is the Jinja2 template ``templates/first_page.html.j2``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

from clv.report.analysis_words import analysis_text
from clv.report.i18n import ENGLISH, ReportLocale
from clv.report.render import TEMPLATE_DIR


def money_text(value: float | None, currency: str = "", locale: ReportLocale = ENGLISH) -> str:
    """A money figure with its currency as ``locale`` writes it (:meth:`ReportLocale.money`):
    ``"1 234 kr"``, ``"€1,234"``, ``"1,234"``; ``n/a`` when not a number."""
    if value is None or not math.isfinite(value):
        return locale.gettext("n/a")
    return locale.money(value, currency)


def basis_text(money: Mapping[str, Any], locale: ReportLocale = ENGLISH) -> str:
    """The money basis in words: ``"CLV on margin, 35 % average margin"``."""
    _ = locale.gettext
    if money["basis"] == "margin":
        rate = locale.percent(money["margin_rate"])
        if money["margin_from_column"]:
            return _("CLV on margin, {rate} average margin (from the margin column)").format(
                rate=rate
            )
        return _("CLV on margin, {rate} average margin (as given)").format(rate=rate)
    return _("CLV on revenue (no margin given: give margin= or margin_col= to count margin)")


def horizon_text(words: str, locale: ReportLocale = ENGLISH) -> str:
    """The horizon's words (``"12 months"``, :attr:`Money.horizon_words`) in ``locale``'s
    language."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?) (days|weeks|months)", words)
    if not found:
        return locale.gettext(words)
    value = float(found.group(1))
    count = locale.integer(value) if value.is_integer() else locale.number(value, 1)
    forms = {
        "days": locale.ngettext("{n} day", "{n} days", int(value)),
        "weeks": locale.ngettext("{n} week", "{n} weeks", int(value)),
        "months": locale.ngettext("{n} month", "{n} months", int(value)),
    }
    return forms[found.group(2)].format(n=count)


def _share(value: float | None, locale: ReportLocale) -> str:
    return locale.gettext("n/a") if value is None else locale.percent(value)


def sentences(
    findings: Mapping[str, Any],
    *,
    diagnostics: Sequence[Mapping[str, str]] = (),
    quality: Mapping[str, Any] | None = None,
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, str]]:
    """The first page as ``{"topic", "text", "section"}`` items, one per finding, in
    ``locale``'s language.

    ``findings``: :attr:`Analysis.findings`. ``diagnostics``: the model's warnings
    (``{code, message}``) and ``quality``: the data-quality summary of reading (``{"issues":
    [...]}`` or ``{"message": ...}``); each adds one line when given.
    """
    _, n = locale.gettext, locale.integer
    money = findings["money"]
    cur = money["currency"]
    horizon = horizon_text(str(money["horizon"]), locale)
    out = [
        {
            "topic": _("Money"),
            "text": _("{basis}; horizon {horizon}.").format(
                basis=basis_text(money, locale), horizon=horizon
            ),
            "section": "",
        }
    ]

    top = findings["top"]
    values = {
        "share": locale.percent(findings["top_share"]),
        "top": n(top["customers"]),
        "all": n(top["of"]),
        "revenue": _share(top["value_share"], locale),
        "clv": _share(top["clv_share"], locale),
        "horizon": horizon,
    }
    if top["clv_share"] is not None:
        text = _(
            "The top {share} are {top} of {all} customers; they brought {revenue} of the "
            "revenue and hold {clv} of the predicted CLV over {horizon}."
        )
    else:
        text = _(
            "The top {share} are {top} of {all} customers; they brought {revenue} of the revenue."
        )
    out.append({"topic": _("Top customers"), "text": text.format(**values), "section": "8"})
    if top["differences"]:
        out.append(
            {
                "topic": _("What sets them apart"),
                "text": "; ".join(analysis_text(d, locale) for d in top["differences"]) + ".",
                "section": "8",
            }
        )

    middle = findings["middle"]
    if middle["middle"]:
        text = _(
            "{close} of the {middle} middle-tier customers are within {within} of the good "
            "tier (the top {good} by predicted CLV)"
        ).format(
            close=n(middle["close"]),
            middle=n(middle["middle"]),
            within=locale.percent(middle["within"]),
            good=locale.percent(middle["good_share"]),
        )
        if middle["close"] and middle["lacks"]:
            what = "; ".join(
                locale.ngettext("{what} ({n} customer)", "{what} ({n} customers)", c).format(
                    what=analysis_text(w, locale), n=n(c)
                )
                for w, c in middle["lacks"][:2]
            )
            text += _("; what they lack most: {what}").format(what=what)
        out.append({"topic": _("Middle tier"), "text": text + ".", "section": "9"})

    ret = findings["returning"]
    if ret["aov_new"] is not None and ret["aov_returning"] is not None:
        if ret["aov_returning"] == ret["aov_new"]:
            text = _(
                "Returning orders average {returning}, first orders {first}: returning "
                "customers spend the same per order (ratio {ratio})."
            )
        elif ret["aov_returning"] > ret["aov_new"]:
            text = _(
                "Returning orders average {returning}, first orders {first}: returning "
                "customers spend more per order (ratio {ratio})."
            )
        else:
            text = _(
                "Returning orders average {returning}, first orders {first}: returning "
                "customers spend less per order (ratio {ratio})."
            )
        text = text.format(
            returning=money_text(ret["aov_returning"], cur, locale),
            first=money_text(ret["aov_new"], cur, locale),
            ratio=locale.number(ret["ratio"], 2),
        )
    else:
        text = _("No customer has a second order yet, so there is nothing to compare.")
    out.append({"topic": _("Returning customers"), "text": text, "section": "10"})

    out.append(
        {
            "topic": _("Channels"),
            "text": _channels_text(findings["channels"], locale),
            "section": "11",
        }
    )
    out.append(
        {
            "topic": _("Loyalty"),
            "text": loyalty_text(findings["loyalty"], cur, locale),
            "section": "12",
        }
    )
    out.append(
        {
            "topic": _("At risk"),
            "text": _at_risk_text(findings["at_risk"], cur, locale),
            "section": "13",
        }
    )
    if diagnostics:
        text = "; ".join(_(str(d.get("message", ""))) for d in diagnostics)
        out.append({"topic": _("Model health"), "text": text, "section": "4"})
    if quality:
        issues = quality.get("issues")
        text = "; ".join(map(str, issues)) if issues else _(str(quality.get("message") or ""))
        if text:
            out.append({"topic": _("Data quality"), "text": text, "section": "2"})
    return out


def _at_risk_text(risk: Mapping[str, Any], currency: str, locale: ReportLocale) -> str:
    if risk["rule"] == "p_alive":
        return locale.ngettext(
            "{n} high-value customer has probably stopped buying; {stake} of historical "
            "revenue is at stake.",
            "{n} high-value customers have probably stopped buying; {stake} of historical "
            "revenue is at stake.",
            risk["customers"],
        ).format(
            n=locale.integer(risk["customers"]),
            stake=money_text(risk["value_at_stake"], currency, locale),
        )
    cut = risk["min_gaps_since_last_purchase"]
    silent = (
        locale.gettext(", silent for at least {gaps} of their usual gaps").format(
            gaps=locale.number(math.floor(cut * 10) / 10, 1)
        )
        if cut is not None
        else ""
    )
    return locale.gettext(
        "Nobody appears to have stopped buying, so the at-risk list is based on recency: the "
        "{n} high-value customers who have gone longest without buying for their usual pace "
        "(the most overdue {share}{silent}); their whole historical revenue, {stake}, is at "
        "stake if they have left."
    ).format(
        n=locale.integer(risk["customers"]),
        share=locale.percent(risk["share"]),
        silent=silent,
        stake=money_text(risk["historical_value_at_stake"], currency, locale),
    )


def _channels_text(channels: Mapping[str, Any] | None, locale: ReportLocale) -> str:
    _ = locale.gettext
    if channels is None:
        return _(
            "One channel or no channel column: no channel comparison (map one with channel_col)."
        )
    best, worst = channels["best"], channels["worst"]
    text = _(
        "{best} brings the largest share of good customers ({best_share} of its "
        "{best_customers}), {worst} the smallest ({worst_share} of {worst_customers})"
    ).format(
        best=best["channel"],
        best_share=locale.percent(best["share_good"]),
        best_customers=locale.integer(best["customers"]),
        worst=worst["channel"],
        worst_share=locale.percent(worst["share_good"]),
        worst_customers=locale.integer(worst["customers"]),
    )
    if "best_clv_cac" in channels:
        b, w = channels["best_clv_cac"], channels["worst_clv_cac"]
        text += _(
            "; by CLV per acquisition cost, {best} is best ({best_ratio}) and {worst} worst "
            "({worst_ratio})"
        ).format(
            best=b["channel"],
            best_ratio=locale.number(b["clv_cac"], 1),
            worst=w["channel"],
            worst_ratio=locale.number(w["clv_cac"], 1),
        )
    else:
        text += _("; give channel_costs to rank them by CLV per acquisition cost")
    return text + "."


def loyalty_text(
    totals: Mapping[str, Any] | None, currency: str, locale: ReportLocale = ENGLISH
) -> str:
    """The loyalty programme's verdict in a sentence or two (its costs, or why none)."""
    _ = locale.gettext
    if totals is None:
        return _("No loyalty column: no loyalty review (map one with loyalty_col).")
    if not totals["costed"]:
        return _(
            "Give the programme's costs (member_discount_rate, cost_per_reward) to judge whether "
            "it pays; members' higher spend alone describes who joined, not what the programme "
            "earns."
        )
    if totals["net"] > 0:
        text = _(
            "Over {months} months members' extra margin was {extra} against programme costs of "
            "{cost}: net {net} (more than it cost), positive in {positive} of {months} months."
        )
    else:
        text = _(
            "Over {months} months members' extra margin was {extra} against programme costs of "
            "{cost}: net {net} (less than it cost), positive in {positive} of {months} months."
        )
    return (
        text.format(
            months=locale.integer(totals["months"]),
            extra=money_text(totals["extra_margin"], currency, locale),
            cost=money_text(totals["program_cost"], currency, locale),
            net=money_text(totals["net"], currency, locale),
            positive=locale.integer(totals["months_positive"]),
        )
        + " "
        + _("Members chose to join, so this is a comparison, not the programme's effect.")
    )


def first_page_html(
    findings: Mapping[str, Any],
    *,
    diagnostics: Sequence[Mapping[str, str]] = (),
    quality: Mapping[str, Any] | None = None,
    locale: ReportLocale = ENGLISH,
) -> str:
    """The first page as HTML (``templates/first_page.html.j2``, every value escaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(locale.translations, newstyle=True)  # type: ignore[attr-defined]
    items = sentences(findings, diagnostics=diagnostics, quality=quality, locale=locale)
    return env.get_template("first_page.html.j2").render(items=items)
