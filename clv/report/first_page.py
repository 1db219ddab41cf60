"""The report's first page, "What this report found": one finding record per sentence.

Every sentence is a record of :func:`clv.report.messages.record` (message id, the numbers in
it, their basis, the table they come from, the sentence as written), made from
:attr:`clv.analysis.results.Analysis.findings`; :func:`clv.report.runs.save_run` writes the
records to ``findings.json``. Nothing is said that the data cannot support: no verdict on the
loyalty programme without its costs, no channel ranking with one channel, no model warning
when the checks pass. The page's HTML is the Jinja2 template ``templates/first_page.html.j2``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from clv.report.i18n import ENGLISH, N_, ReportLocale
from clv.report.messages import difference_words, horizon_text, record
from clv.report.messages import money_text as money_text  # re-exported for the notebooks
from clv.report.notes import LACKS
from clv.report.render import TEMPLATE_DIR

MODEL_NAMES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
"""The purchase models' names as the papers write them."""


SAME_ORDER_VALUE = 0.05
"""Returning and first orders within this share of each other are "about the same"."""


def basis(findings: Mapping[str, Any]) -> dict[str, Any]:
    """The basis of every money figure of a run: ``money`` (revenue or margin),
    ``currency`` and ``period`` (first day to observation end, and the horizon)."""
    money, period = findings["money"], findings.get("period") or {}
    return {
        "money": money["basis"],
        "currency": money["currency"],
        "period": {**period, "horizon": money["horizon"]},
    }


def records(findings: Mapping[str, Any], *, locale: ReportLocale = ENGLISH) -> list[dict[str, Any]]:
    """The first page of the customer value report, one record per sentence, in order.

    ``findings``: :attr:`Analysis.findings`; ``locale``: the report's language and formats
    (each record's ``text`` is written in it).
    """
    b = basis(findings)
    money = findings["money"]
    horizon = {"horizon": horizon_text(str(money["horizon"]), locale)}
    out = [_money(money, b, locale)]
    out += _top(findings, b, locale)
    out += _middle(findings["middle"], b, locale)
    out.append(_returning(findings["returning"], b, locale))
    out += _channels(findings["channels"], b, horizon, locale)
    out += loyalty_records(findings["loyalty"], b, locale=locale)
    out += at_risk_records(findings["at_risk"], b, horizon, locale=locale)
    out += health_records(findings["health"], b, horizon, locale=locale)
    out += quality_records(findings["quality"], b, locale=locale)
    return out


def _money(
    money: Mapping[str, Any], b: Mapping[str, Any], locale: ReportLocale = ENGLISH
) -> dict[str, Any]:
    if money["basis"] == "revenue":
        key = "money_revenue"
    else:
        key = "money_margin_column" if money["margin_from_column"] else "money_margin_rate"
    numbers = {"margin_rate": money["margin_rate"]}
    return record(
        key,
        numbers,
        basis=b,
        locale=locale,
        table="kpis.json",
        topic=N_("Money"),
        words={"horizon": horizon_text(str(money["horizon"]), locale)},
    )


def _top(
    findings: Mapping[str, Any], b: Mapping[str, Any], locale: ReportLocale = ENGLISH
) -> list[dict[str, Any]]:
    top = findings["top"]
    numbers = {
        "top_share": findings["top_share"],
        "customers": top["customers"],
        "of": top["of"],
        "value_share": top["value_share"] or 0.0,
        "clv_share": top["clv_share"],
    }
    key = "top_customers" if top["clv_share"] is not None else "top_customers_no_clv"
    words = {"horizon": horizon_text(str(findings["money"]["horizon"]), locale)}
    out = [
        record(
            key,
            numbers,
            basis=b,
            locale=locale,
            table="scores.parquet",
            topic=N_("Top customers"),
            section="8",
            words=words,
        )
    ]
    for diff in top["differences"]:
        metric = str(diff["metric"])
        what = difference_words(metric, locale)
        out.append(
            record(
                f"difference_{diff['kind']}",
                {"metric": metric, "top": diff["top"], "rest": diff["rest"]},
                basis=b,
                locale=locale,
                table="top_profile",
                topic=N_("What sets them apart"),
                section="8",
                words={"what": what},
            )
        )
    return out


def _middle(
    middle: Mapping[str, Any], b: Mapping[str, Any], locale: ReportLocale = ENGLISH
) -> list[dict[str, Any]]:
    if not middle["middle"]:
        return []
    numbers = {k: middle[k] for k in ("middle", "close", "within", "good_share")}
    where: dict[str, Any] = {"basis": b, "locale": locale, "table": "middle_to_top", "section": "9"}
    topic = N_("Middle tier")
    if middle["close"] and middle["lacks"]:
        lacks = "; ".join(
            locale.ngettext("{what} ({n} customer)", "{what} ({n} customers)", n).format(
                what=locale.gettext(LACKS[w]), n=locale.integer(n)
            )
            for w, n in middle["lacks"][:2]
        )
        out = [record("middle_close", numbers, topic=topic, words={"lacks": lacks}, **where)]
    else:
        out = [record("middle_none_close", numbers, topic=topic, **where)]
    if middle.get("gone"):
        numbers = {k: middle[k] for k in ("gone", "within", "lost_p_alive")}
        out.append(record("middle_gone", numbers, topic=topic, **where))
    return out


def _returning(
    ret: Mapping[str, Any], b: Mapping[str, Any], locale: ReportLocale = ENGLISH
) -> dict[str, Any]:
    new, returning = ret["aov_new"], ret["aov_returning"]
    if new is None or returning is None:
        key = "returning_none"
    elif abs(returning - new) <= SAME_ORDER_VALUE * abs(new):
        key = "returning_same"
    else:
        key = "returning_more" if returning > new else "returning_less"
    numbers = {"aov_new": new, "aov_returning": returning, "ratio": ret["ratio"]}
    return record(
        key,
        numbers,
        basis=b,
        locale=locale,
        table="returning_vs_new",
        topic=N_("Returning customers"),
        section="10",
    )


def _channels(
    channels: Mapping[str, Any] | None,
    b: Mapping[str, Any],
    horizon: Mapping[str, Any],
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, Any]]:
    if channels is None:
        return [
            record(
                "channels_none", {}, basis=b, locale=locale, table="channels", topic=N_("Channels")
            )
        ]
    best, worst = channels["best"], channels["worst"]
    numbers = {
        "best_share": best["share_good"],
        "best_customers": best["customers"],
        "worst_share": worst["share_good"],
        "worst_customers": worst["customers"],
    }
    words = {"best": best["channel"], "worst": worst["channel"]}
    out = [
        record(
            "channels_share_good",
            numbers,
            basis=b,
            locale=locale,
            table="channels",
            topic=N_("Channels"),
            section="11",
            words=words,
        )
    ]
    if "best_clv_cac" in channels:
        hi, lo = channels["best_clv_cac"], channels["worst_clv_cac"]
        numbers = {"best_clv_cac": hi["clv_cac"], "worst_clv_cac": lo["clv_cac"]}
        words = {"best_cac_channel": hi["channel"], "worst_cac_channel": lo["channel"], **horizon}
        out.append(
            record(
                "channels_clv_cac",
                numbers,
                basis=b,
                locale=locale,
                table="channels",
                topic=N_("CLV:CAC"),
                section="11",
                words=words,
            )
        )
    else:
        out.append(
            record(
                "channels_no_costs",
                {},
                basis=b,
                locale=locale,
                table="channels",
                topic=N_("CLV:CAC"),
                section="11",
            )
        )
    return out


def loyalty_review_records(
    found: Mapping[str, Any], *, locale: ReportLocale = ENGLISH
) -> list[dict[str, Any]]:
    """The loyalty review's first page, one record per sentence: the reviewed month (and
    whether its net is within noise), the programme's verdict, members vs non-members, the
    members at risk, model health and data quality.

    ``found``: :attr:`Analysis.loyalty_findings`; ``locale``: the report's language.
    """
    b = basis(found)
    horizon = {"horizon": horizon_text(str(found["money"]["horizon"]), locale)}
    month, members = found["month"], found["members"]
    if members is None:
        return [
            record("loyalty_none", {}, basis=b, locale=locale, table="loyalty", topic=N_("Loyalty"))
        ]
    out = []
    if month is not None:
        keys = ("members_active", "members_active_before", "member_aov", "non_member_aov")
        out.append(
            record(
                "loyalty_month",
                {k: month[k] for k in keys},
                basis=b,
                locale=locale,
                table="loyalty_by_month",
                topic=N_("This month"),
                section="1",
                words={
                    "month": locale.month(dt.date.fromisoformat(str(month["month"])[:7] + "-01"))
                },
            )
        )
        if found["loyalty"] and found["loyalty"]["costed"] and month["net"] is not None:
            key = "loyalty_month_noise" if month["within_noise"] else "loyalty_month_signal"
            out.append(
                record(
                    key,
                    {"net": month["net"]},
                    basis=b,
                    locale=locale,
                    table="loyalty_by_month",
                    topic=N_("This month"),
                    section="1",
                )
            )
    keys = ("members", "customers", "member_orders", "non_member_orders")
    out.append(
        record(
            "loyalty_members",
            {k: members[k] for k in keys},
            basis=b,
            locale=locale,
            table="loyalty",
            topic=N_("Members"),
            section="2",
        )
    )
    out += loyalty_records(found["loyalty"], b, section="4", locale=locale)
    at_risk = ("members_at_risk", "members_value_at_stake")
    out.append(
        record(
            "loyalty_members_at_risk",
            {k: members[k] for k in at_risk},
            basis=b,
            locale=locale,
            table="at_risk.csv",
            topic=N_("Members at risk"),
            section="7",
        )
    )
    data = health_records(found["health"], b, horizon, locale=locale)
    data += quality_records(found["quality"], b, locale=locale)
    return out + [item | {"section": "8"} for item in data]  # the review's data section


def loyalty_records(
    totals: Mapping[str, Any] | None,
    b: Mapping[str, Any],
    *,
    section: str = "12",
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, Any]]:
    """The loyalty programme's verdict (with its 90 % interval and the self-selection
    caveat), how noisy its months are, and whether the discount is counted in the margin."""
    topic, table = N_("Loyalty"), "loyalty_by_month"
    if totals is None:
        return [record("loyalty_none", {}, basis=b, locale=locale, table=table, topic=topic)]
    if not totals["costed"]:
        return [
            record(
                "loyalty_uncosted",
                {},
                basis=b,
                locale=locale,
                table=table,
                topic=topic,
                section=section,
            )
        ]
    keys = ("months", "extra_margin", "program_cost", "net", "net_low", "net_high")
    numbers = {k: totals[k] for k in keys}
    low, high = totals["net_low"], totals["net_high"]
    if low is not None and low > 0:
        key = "loyalty_pays"
    elif high is not None and high < 0:
        key = "loyalty_costs_more"
    else:
        key = "loyalty_unclear"
    out = [record(key, numbers, basis=b, locale=locale, table=table, topic=topic, section=section)]
    if totals["net_sd"] is not None and totals["months"] > 2:
        noise = ("sign_changes", "months_within_noise", "months", "net_sd")
        out.append(
            record(
                "loyalty_noise",
                {k: totals[k] for k in noise},
                basis=b,
                locale=locale,
                table=table,
                topic=topic,
                section=section,
            )
        )
    if totals.get("discount_in_margin") and totals["discount_cost"] > 0:
        out.append(
            record(
                "loyalty_discount_in_margin",
                {"discount_cost": totals["discount_cost"]},
                basis=b,
                locale=locale,
                table=table,
                topic=topic,
                section=section,
            )
        )
    return out


def at_risk_records(
    risk: Mapping[str, Any],
    b: Mapping[str, Any],
    horizon: Mapping[str, Any],
    *,
    section: str = "13",
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, Any]]:
    """The at-risk list's sentence, by its rule, and the lost customers'."""
    numbers: dict[str, Any] = {
        "customers": risk["customers"],
        "value_at_stake": risk["value_at_stake"],
        "top_value_share": 1 - risk["min_value_quantile"],
    }
    topic = N_("At risk")
    if risk["rule"] == "p_alive":
        numbers |= {"max_p_alive": risk["max_p_alive"], "lost_p_alive": risk["lost_p_alive"]}
        out = [
            record(
                "at_risk_p_alive" if risk["customers"] else "at_risk_p_alive_none",
                numbers,
                basis=b,
                locale=locale,
                table="at_risk.csv",
                topic=topic,
                section=section,
                words=horizon,
            )
        ]
        if risk["lost"]:
            lost = {k: risk[k] for k in ("lost", "lost_revenue", "lost_p_alive")}
            out.append(
                record(
                    "at_risk_lost",
                    lost,
                    basis=b,
                    locale=locale,
                    table="lost.csv",
                    topic=topic,
                    section=section,
                )
            )
        return out
    numbers |= {"overdue_gaps": risk["overdue_gaps"], "bought_again": risk["bought_again"]}
    if not risk["customers"]:
        key = "at_risk_recency_none"
    elif risk["bought_again"] is not None:
        key = "at_risk_recency_measured"
    else:
        key = "at_risk_recency_default"
    return [
        record(
            key,
            numbers,
            basis=b,
            locale=locale,
            table="at_risk.csv",
            topic=topic,
            section=section,
            words=horizon,
        )
    ]


ONE_TIME_CONTRADICTS = 0.2
"""A model that sees no dropout contradicts the data when at least this share of customers
never bought again."""


def health_records(
    health: Mapping[str, Any],
    b: Mapping[str, Any],
    horizon: Mapping[str, Any],
    *,
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, Any]]:
    """Model health in plain words: the holdout check failed, no dropout seen, predicted value
    above last year's, parameters poorly determined; one line when all is well."""
    topic, table = N_("Model health"), "model.json"
    model = {"model": MODEL_NAMES.get(health["model"], health["model"])}
    out = []
    if health["holdout_failed"]:
        numbers = {k: health[k] for k in ("purchases_error", "spend_error")}
        out.append(
            record(
                "health_holdout_failed",
                numbers,
                basis=b,
                locale=locale,
                table="holdout",
                topic=topic,
                section="6",
            )
        )
    if health["no_dropout"]:
        numbers = {k: health[k] for k in ("lowest_p_alive", "one_time_share")}
        seen = health["one_time_share"] < ONE_TIME_CONTRADICTS
        out.append(
            record(
                "health_no_dropout_seen" if seen else "health_no_dropout",
                numbers,
                basis=b,
                locale=locale,
                table="scores.parquet",
                topic=topic,
                section="4",
            )
        )
    if health["clv_exceeds_revenue"]:
        numbers = {k: health[k] for k in ("predicted_total", "last_year_value")}
        out.append(
            record(
                "health_clv_exceeds_revenue",
                numbers,
                basis=b,
                locale=locale,
                table="kpis.json",
                topic=topic,
                section="7",
                words=horizon,
            )
        )
    if health["uncertain_parameters"]:
        numbers = {"uncertain_parameters": health["uncertain_parameters"]}
        out.append(
            record(
                "health_uncertain",
                numbers,
                basis=b,
                locale=locale,
                table=table,
                topic=topic,
                section="4",
            )
        )
    if not out:
        checked = health["purchases_error"] is not None
        words = model | {
            "holdout_words": (
                locale.gettext(", and it predicted the holdout within 20%") if checked else ""
            )
        }
        out.append(
            record(
                "health_ok",
                {},
                basis=b,
                locale=locale,
                table=table,
                topic=topic,
                section="4",
                words=words,
            )
        )
    return out


QUALITY_MESSAGES = (
    ("placeholder_rows", "quality_placeholders"),
    ("duplicate_rows", "quality_duplicates"),
    ("house_accounts", "quality_house_accounts"),
    ("partial_month", "quality_partial_month"),
    ("zero_amounts", "quality_zero_amounts"),
    ("refunded_customers", "quality_refunded"),
)
"""The data-quality findings worth a first-page line, and their messages."""


def quality_records(
    quality: Mapping[str, Any], b: Mapping[str, Any], *, locale: ReportLocale = ENGLISH
) -> list[dict[str, Any]]:
    """One line per data-quality finding that is there (none when the data is clean)."""
    return [
        record(
            key,
            {name: quality[name]},
            basis=b,
            locale=locale,
            table="data_quality",
            topic=N_("Data quality"),
            section="2",
        )
        for name, key in QUALITY_MESSAGES
        if quality.get(name)
    ]


def first_page_html(items: Sequence[Mapping[str, Any]], *, locale: ReportLocale = ENGLISH) -> str:
    """The first page as HTML (``templates/first_page.html.j2``, every value escaped):
    ``items`` are finding records (:func:`records`) made in ``locale``, shown by topic (in
    its language)."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(locale.translations, newstyle=True)  # type: ignore[attr-defined]
    grouped: list[dict[str, str]] = []
    for item in items:
        if grouped and grouped[-1]["topic"] == locale.gettext(str(item["topic"])):
            grouped[-1]["text"] += " " + str(item["text"])
        else:
            grouped.append(
                {
                    "topic": locale.gettext(str(item["topic"])),
                    "text": str(item["text"]),
                    "section": item["section"],
                }
            )
    return env.get_template("first_page.html.j2").render(items=grouped)
