"""The report's first page, "What this report found": plain sentences with the numbers.

Every sentence is made from :attr:`clv.analysis.results.Analysis.findings` (numbers read
from the tables the later sections show) and states nothing the data cannot support: no
verdict on the loyalty programme without its costs, no channel ranking with one channel.
The page's HTML is the Jinja2 template ``templates/first_page.html.j2``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from clv.report.render import TEMPLATE_DIR


def money_text(value: float | None, currency: str = "") -> str:
    """A money figure with its currency: ``"$1,234"``, ``"1,234 EUR"``, ``"1,234"``.

    A currency of letters (a code such as ``EUR``) follows the number; a symbol precedes it.
    Figures under 100 keep two decimals.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    number = f"{abs(value):,.2f}" if abs(value) < 100 else f"{abs(value):,.0f}"
    sign = "-" if value < 0 else ""
    if not currency:
        return sign + number
    if currency.isalpha():
        return f"{sign}{number} {currency}"
    return f"{sign}{currency}{number}"


def basis_text(money: Mapping[str, Any]) -> str:
    """The money basis in words: ``"CLV on margin, 35 % average margin"``."""
    if money["basis"] == "margin":
        source = "from the margin column" if money["margin_from_column"] else "as given"
        return f"CLV on margin, {money['margin_rate']:.0%} average margin ({source})"
    return "CLV on revenue (no margin given: give margin= or margin_col= to count margin)"


def _share(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def sentences(
    findings: Mapping[str, Any],
    *,
    diagnostics: Sequence[Mapping[str, str]] = (),
    quality: Mapping[str, Any] | None = None,
) -> list[dict[str, str]]:
    """The first page as ``{"topic", "text", "section"}`` items, one per finding.

    ``findings``: :attr:`Analysis.findings`. ``diagnostics``: the model's warnings
    (``{code, message}``) and ``quality``: the data-quality summary of reading (``{"issues":
    [...]}`` or ``{"message": ...}``); each adds one line when given.
    """
    money = findings["money"]
    cur = money["currency"]
    horizon = money["horizon"]
    out = [{"topic": "Money", "text": f"{basis_text(money)}; horizon {horizon}.", "section": ""}]

    top = findings["top"]
    text = (
        f"The top {findings['top_share']:.0%} are {top['customers']:,} of {top['of']:,} "
        f"customers; they brought {_share(top['value_share'])} of the revenue"
    )
    if top["clv_share"] is not None:
        text += f" and hold {_share(top['clv_share'])} of the predicted CLV over {horizon}"
    out.append({"topic": "Top customers", "text": text + ".", "section": "8"})
    if top["differences"]:
        out.append(
            {
                "topic": "What sets them apart",
                "text": "; ".join(top["differences"]) + ".",
                "section": "8",
            }
        )

    middle = findings["middle"]
    if middle["middle"]:
        text = (
            f"{middle['close']:,} of the {middle['middle']:,} middle-tier customers are within "
            f"{middle['within']:.0%} of the good tier (the top {middle['good_share']:.0%} by "
            "predicted CLV)"
        )
        if middle["close"] and middle["lacks"]:
            what = "; ".join(f"{w} ({n:,} customers)" for w, n in middle["lacks"][:2])
            text += f"; what they lack most: {what}"
        out.append({"topic": "Middle tier", "text": text + ".", "section": "9"})

    ret = findings["returning"]
    if ret["aov_new"] is not None and ret["aov_returning"] is not None:
        word = "more" if ret["aov_returning"] > ret["aov_new"] else "less"
        if ret["aov_returning"] == ret["aov_new"]:
            word = "the same"
        out.append(
            {
                "topic": "Returning customers",
                "text": (
                    f"Returning orders average {money_text(ret['aov_returning'], cur)}, first "
                    f"orders {money_text(ret['aov_new'], cur)}: returning customers spend "
                    f"{word} per order (ratio {ret['ratio']:.2f})."
                ),
                "section": "10",
            }
        )
    else:
        out.append(
            {
                "topic": "Returning customers",
                "text": "No customer has a second order yet, so there is nothing to compare.",
                "section": "10",
            }
        )

    out.append({"topic": "Channels", "text": _channels_text(findings["channels"]), "section": "11"})
    out.append(
        {"topic": "Loyalty", "text": loyalty_text(findings["loyalty"], cur), "section": "12"}
    )

    out.append(
        {"topic": "At risk", "text": _at_risk_text(findings["at_risk"], cur), "section": "13"}
    )
    if diagnostics:
        text = "; ".join(str(d["message"]) for d in diagnostics)
        out.append({"topic": "Model health", "text": text, "section": "4"})
    if quality:
        issues = quality.get("issues")
        text = "; ".join(map(str, issues)) if issues else str(quality.get("message", ""))
        if text:
            out.append({"topic": "Data quality", "text": text, "section": "2"})
    return out


def _at_risk_text(risk: Mapping[str, Any], currency: str) -> str:
    if risk["rule"] == "p_alive":
        return (
            f"{risk['customers']:,} high-value customers have probably stopped buying; "
            f"{money_text(risk['value_at_stake'], currency)} of historical revenue is at stake."
        )
    cut = risk["min_gaps_since_last_purchase"]
    silent = (
        f", silent for at least {math.floor(cut * 10) / 10:.1f} of their usual gaps"
        if cut is not None
        else ""
    )
    return (
        "Nobody appears to have stopped buying, so the at-risk list is based on recency: the "
        f"{risk['customers']:,} high-value customers who have gone longest without buying for "
        f"their usual pace (the most overdue {risk['share']:.0%}{silent}); their whole "
        f"historical revenue, {money_text(risk['historical_value_at_stake'], currency)}, is "
        "at stake if they have left."
    )


def _channels_text(channels: Mapping[str, Any] | None) -> str:
    if channels is None:
        return "One channel or no channel column: no channel comparison (map one with channel_col)."
    best, worst = channels["best"], channels["worst"]
    text = (
        f"{best['channel']} brings the largest share of good customers "
        f"({best['share_good']:.0%} of its {best['customers']:,}), {worst['channel']} the "
        f"smallest ({worst['share_good']:.0%} of {worst['customers']:,})"
    )
    if "best_clv_cac" in channels:
        b, w = channels["best_clv_cac"], channels["worst_clv_cac"]
        text += (
            f"; by CLV per acquisition cost, {b['channel']} is best ({b['clv_cac']:.1f}) and "
            f"{w['channel']} worst ({w['clv_cac']:.1f})"
        )
    else:
        text += "; give channel_costs to rank them by CLV per acquisition cost"
    return text + "."


def loyalty_text(totals: Mapping[str, Any] | None, currency: str) -> str:
    if totals is None:
        return "No loyalty column: no loyalty review (map one with loyalty_col)."
    if not totals["costed"]:
        return (
            "Give the programme's costs (member_discount_rate, cost_per_reward) to judge whether "
            "it pays; members' higher spend alone describes who joined, not what the programme "
            "earns."
        )
    verdict = "more than it cost" if totals["net"] > 0 else "less than it cost"
    return (
        f"Over {totals['months']:,} months members' extra margin was "
        f"{money_text(totals['extra_margin'], currency)} against programme costs of "
        f"{money_text(totals['program_cost'], currency)}: net "
        f"{money_text(totals['net'], currency)} ({verdict}), positive in "
        f"{totals['months_positive']:,} of {totals['months']:,} months. Members chose to join, "
        "so this is a comparison, not the programme's effect."
    )


def first_page_html(
    findings: Mapping[str, Any],
    *,
    diagnostics: Sequence[Mapping[str, str]] = (),
    quality: Mapping[str, Any] | None = None,
) -> str:
    """The first page as HTML (``templates/first_page.html.j2``, every value escaped)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR), autoescape=True, keep_trailing_newline=True
    )
    items = sentences(findings, diagnostics=diagnostics, quality=quality)
    return env.get_template("first_page.html.j2").render(items=items)
