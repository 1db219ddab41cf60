"""The report's "Since <date>" section: what changed since the previous run, in words.

The date is the previous run's observation end (the last day of its data). Every count is on
one basis, the tiers by predicted CLV (:data:`clv.analysis.changes.BASIS`), and each record's
basis says so. Every sentence is a finding record (``{"id", "numbers", "basis", "table",
"text"}``, the shape of ``findings.json``) made from ``changes.json``
(:mod:`clv.report.compare`), so a sentence and the file cannot disagree. The tables and the
migration figure show the same document (the figure: :func:`clv.plots.changes.tier_migration`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from clv.analysis.changes import BASIS, GONE, NEW, NOISE_Z
from clv.report.html_table import mask_ids
from clv.report.i18n import ENGLISH, N_, ReportLocale
from clv.report.messages import LocaleFormatter, money_text

TABLE = "changes.json"
NAMED = 3
"""Customers named in a sentence (the rest are in the tables)."""

_KPIS = (
    ("customers", N_("customers"), "count"),
    ("revenue", N_("revenue"), "money"),
    ("repeat_customer_rate", N_("repeat rate"), "share"),
    ("top_10pct_revenue_share", N_("top-10 % revenue share"), "share"),
    ("predicted_clv_total", N_("predicted CLV"), "money"),
)
_TOPICS = {
    "since.kpis": N_("Headline numbers"),
    "since.tiers": N_("Value tiers"),
    "since.slipped_top": N_("Top customers who slipped"),
    "since.new_top": N_("New top customers"),
    "since.channels": N_("Channels"),
    "since.parameter_drift": N_("The model"),
}
_TITLES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}


def heading(doc: Mapping[str, Any], locale: ReportLocale = ENGLISH) -> str:
    """``"Since 2026-10-31"``: the previous run's observation end, the last day of its data
    (what a reader means by "since"; the day it was started when its model does not say),
    in a report of another language in its words and date form: ``"Sedan 31 okt. 2026"``."""
    day = str(doc.get("previous_observation_end") or doc.get("previous_started_at") or "")[:10]
    if day and locale.language != "en":
        day = locale.date(day)
    return locale.gettext("Since {date}").format(date=day or doc["previous_run"])


def _tier(name: str, locale: ReportLocale) -> str:
    """A tier's name (``good``, ``new``, ``gone``) in the report's words."""
    return locale.gettext(str(name))


def _f(locale: ReportLocale, message: str, **values: Any) -> str:
    """``message`` in ``locale``'s language, its fields filled in the locale's form."""
    return LocaleFormatter(locale).format(locale.gettext(message), **values)


def _record(
    key: str, numbers: Mapping[str, Any], basis: dict[str, Any], table: str, text: str
) -> dict[str, Any]:
    return {
        "id": f"since.{key}",
        "numbers": dict(numbers),
        "basis": dict(basis),
        "table": f"{TABLE}:{table}",
        "text": text,
    }


def _value(value: Any, kind: str, currency: str, locale: ReportLocale) -> str:
    if value is None:
        return locale.gettext("n/a")
    if kind == "share":
        return locale.percent(value, 1)
    if kind == "money":
        return money_text(value, currency, locale)
    return locale.integer(value)


def _refs(rows: Sequence[Mapping[str, Any]], id_salt: str | None) -> list[str]:
    ids = [str(r["customer_id"]) for r in rows]
    return ids if id_salt is None else [str(v) for v in mask_ids(ids, id_salt)]


def findings(
    doc: Mapping[str, Any] | None,
    *,
    currency: str = "",
    id_salt: str | None = None,
    locale: ReportLocale = ENGLISH,
) -> list[dict[str, Any]]:
    """The section's sentences as finding records, in the order shown (none without a
    document), written in ``locale``'s language (ids and numbers stay as they are).

    ``doc``: ``changes.json``. ``id_salt`` masks the customers named (their reference, as
    the report's tables show it); None names them by id.
    """
    if doc is None:
        return []
    basis = {
        "previous_run": doc["previous_run"],
        "run": doc.get("run"),
        "previous_observation_end": doc.get("previous_observation_end"),
        "tiers": doc.get("basis", BASIS),
    }
    out = [_kpi_finding(doc, basis, currency, locale)]
    out.append(_migration_finding(doc, basis, locale))
    out.append(_slipped_finding(doc, basis, currency, id_salt, locale))
    out.append(_new_top_finding(doc, basis, currency, id_salt, locale))
    channels = _channel_finding(doc, basis, locale)
    if channels is not None:
        out.append(channels)
    out.append(_drift_finding(doc, basis, locale))
    return out


def _kpi_finding(
    doc: Mapping[str, Any], basis: dict[str, Any], currency: str, locale: ReportLocale
) -> dict:
    parts = []
    for key, words, kind in _KPIS:
        k = doc["kpi_changes"][key]
        change = ""
        if k["relative_change"] is not None and kind != "share":
            change = ", " + LocaleFormatter(locale).format("{:+.1%}", k["relative_change"])
        elif k["change"] is not None and kind == "share":
            change = _f(locale, N_(", {points:+.1f} points"), points=100 * k["change"])
        parts.append(
            _f(
                locale,
                N_("{what} {now} (was {before}{change})"),
                what=locale.gettext(words),
                now=_value(k["current"], kind, currency, locale),
                before=_value(k["previous"], kind, currency, locale),
                change=change,
            )
        )
    text = _f(locale, N_("Headline numbers now: {parts}."), parts="; ".join(parts))
    return _record("kpis", doc["kpi_changes"], basis, "kpi_changes", text)


def _migration_finding(doc: Mapping[str, Any], basis: dict[str, Any], locale: ReportLocale) -> dict:
    m = doc["tier_migration"]
    tiers = [t for t in m if t != NEW]
    top, middle, bottom = tiers[0], tiers[1 % len(tiers)], tiers[-1]
    middle_all = sum(m.get(middle, {}).values())
    up = m.get(middle, {}).get(top, 0)
    down = m.get(middle, {}).get(bottom, 0)
    top_down = sum(v for k, v in m.get(top, {}).items() if k not in (top, GONE))
    gone = sum(row.get(GONE, 0) for t, row in m.items() if t != NEW)
    new = sum(m.get(NEW, {}).values())
    new_top = m.get(NEW, {}).get(top, 0)
    share = " (" + locale.percent(up / middle_all, 1) + ")" if middle_all else ""
    text = _f(
        locale,
        N_(
            "Of the {middle_all:,} customers in the {middle} tier before, {up:,}{share} moved up "
            "to the {top} tier and {down:,} down to the {bottom} tier; {top_down:,} of the {top} "
            "tier fell to a lower tier. {new:,} customers are new ({new_top:,} of them straight "
            "into the {top} tier) and {gone:,} are gone from the data."
        ),
        middle_all=middle_all,
        middle=_tier(middle, locale),
        up=up,
        share=share,
        top=_tier(top, locale),
        down=down,
        bottom=_tier(bottom, locale),
        top_down=top_down,
        new=new,
        new_top=new_top,
        gone=gone,
    )
    numbers = {
        "middle_before": middle_all,
        "middle_up": up,
        "middle_down": down,
        "top_down": top_down,
        "new": new,
        "new_in_top": new_top,
        "gone": gone,
    }
    return _record("tiers", numbers, basis | {"tiers": tiers}, "tier_migration", text)


def _slipped_finding(
    doc: Mapping[str, Any],
    basis: dict[str, Any],
    currency: str,
    id_salt: str | None,
    locale: ReportLocale,
) -> dict:
    rows = doc["slipped_top"]
    top = doc["top_tier"]
    counts = doc["slipped_top_counts"]
    if not rows:
        text = _f(
            locale,
            N_("No customer of the {top} tier left it, and none of them is at risk now."),
            top=_tier(top, locale),
        )
    else:
        named = []
        for r, ref in zip(rows[:NAMED], _refs(rows[:NAMED], id_salt), strict=True):
            if r["value_tier"] == GONE:
                now = locale.gettext("gone")
            else:
                now = _f(locale, N_("now {tier}"), tier=_tier(r["value_tier"], locale))
            before = money_text(r["previous_clv"], currency, locale)
            if r["clv"] is not None:
                clv = money_text(r["clv"], currency, locale)
                what = _f(
                    locale, N_("{now}, CLV {before} to {clv}"), now=now, before=before, clv=clv
                )
            else:
                what = _f(locale, N_("{now}, CLV {before}"), now=now, before=before)
            if r["at_risk"]:
                what += locale.gettext(", at risk")
            named.append(f"{ref} ({what})")
        text = _f(
            locale,
            N_(
                "{slipped:,} customers of the {top} tier slipped: {left:,} left it and {risk:,} "
                "more are at risk now. The largest: {named}."
            ),
            slipped=counts["slipped"],
            top=_tier(top, locale),
            left=counts["left_tier"],
            risk=counts["at_risk_in_tier"],
            named="; ".join(named),
        )
    numbers = {k: counts[k] for k in ("slipped", "left_tier", "at_risk_in_tier")}
    return _record("slipped_top", numbers, basis | {"top_tier": top}, "slipped_top", text)


def _new_top_finding(
    doc: Mapping[str, Any],
    basis: dict[str, Any],
    currency: str,
    id_salt: str | None,
    locale: ReportLocale,
) -> dict:
    rows = doc["new_top"]
    top = doc["top_tier"]
    counts = doc["new_top_counts"]
    fresh, once = counts["new_customers"], counts["bought_once"]
    if not rows:
        text = _f(locale, N_("No customer is new in the {top} tier."), top=_tier(top, locale))
    else:
        named = [
            ref
            + " "
            + _f(
                locale,
                N_("(CLV {clv}, was {tier})"),
                clv=money_text(r["clv"], currency, locale),
                tier=_tier(r["previous_value_tier"], locale),
            )
            for r, ref in zip(rows[:NAMED], _refs(rows[:NAMED], id_salt), strict=True)
        ]
        text = _f(
            locale,
            N_(
                "{new_top:,} customers are new in the {top} tier: {fresh:,} new customers and "
                "{moved:,} from lower tiers. The largest: {named}."
            ),
            new_top=counts["new_top"],
            top=_tier(top, locale),
            fresh=fresh,
            moved=counts["new_top"] - fresh,
            named="; ".join(named),
        )
        if once:  # kept, with the caveat: their predicted value rests on one order
            text += " " + locale.ngettext(
                "{n} of them has bought only once, so their predicted value rests on one order.",
                "{n} of them have bought only once, so their predicted value rests on one order.",
                once,
            ).format(n=locale.integer(once))
    numbers = {
        "new_top": counts["new_top"],
        "new_customers": fresh,
        "moved_up": counts["new_top"] - fresh,
        "bought_once": once,
    }
    return _record("new_top", numbers, basis | {"top_tier": top}, "new_top", text)


def _channel_finding(
    doc: Mapping[str, Any], basis: dict[str, Any], locale: ReportLocale
) -> dict | None:
    rows = doc.get("channel_changes")
    if not rows:
        return None
    moved = [r for r in rows if r["within_noise"] is False]
    if not moved:
        text = _f(
            locale,
            N_(
                "Channel quality (the share of each channel's customers in the top tier by "
                "predicted CLV) moved within noise in all {channels:,} channels."
            ),
            channels=len(rows),
        )
    else:
        text = _f(
            locale,
            N_(
                "Channel quality (the share of each channel's customers in the top tier by "
                "predicted CLV) moved beyond noise in {moved}; the other {others:,} moved within "
                "noise."
            ),
            moved="; ".join(
                _f(
                    locale,
                    N_("{channel} ({before:.1%} to {now:.1%} of its customers in the top tier)"),
                    channel=r["channel"],
                    before=r["previous_share_good_clv"],
                    now=r["share_good_clv"],
                )
                for r in moved
            ),
            others=len(rows) - len(moved),
        )
    numbers = {"channels": len(rows), "beyond_noise": [r["channel"] for r in moved]}
    return _record("channels", numbers, basis | {"z": NOISE_Z}, "channel_changes", text)


def _drift_finding(doc: Mapping[str, Any], basis: dict[str, Any], locale: ReportLocale) -> dict:
    rows = doc["parameter_drift"]
    switch = next((r for r in rows if r["form"] == "model changed"), None)
    parts = []
    if switch is not None:
        parts.append(
            _f(
                locale,
                N_(
                    "The purchase model changed from {before} to {now}, so its parameters are not "
                    "compared"
                ),
                before=_TITLES.get(switch["previous"], switch["previous"]),
                now=_TITLES.get(switch["current"], switch["current"]),
            )
        )
    limits = [r for r in rows if r["form"] in ("limit to fitted", "fitted to limit")]
    for r in limits:
        title = _TITLES.get(r["model"], "Gamma-Gamma")
        if r["form"] == "limit to fitted":
            moved = _f(
                locale,
                N_("{model} {parameter} moved from its limit to a full fit"),
                model=title,
                parameter=r["parameter"],
            )
        else:
            moved = _f(
                locale,
                N_(
                    "{model} {parameter} moved from a full fit to its limit (the model became its "
                    "limit case)"
                ),
                model=title,
                parameter=r["parameter"],
            )
        parts.append(moved)
    fitted = [r for r in rows if r["z"] is not None]
    beyond = [r for r in fitted if not r["within_noise"]]
    if beyond:
        parts.append(
            _f(
                locale,
                N_("beyond noise: {parameters}"),
                parameters=", ".join(
                    _f(
                        locale,
                        N_("{parameter} {before:.3g} to {now:.3g} ({z:.1f} standard errors)"),
                        parameter=r["parameter"],
                        before=r["previous"],
                        now=r["current"],
                        z=abs(r["z"]),
                    )
                    for r in beyond
                ),
            )
        )
    if fitted and not beyond:
        largest = max(fitted, key=lambda r: abs(r["z"]))
        parts.append(
            _f(
                locale,
                N_(
                    "every fitted model parameter moved within noise (the most, {parameter}, by "
                    "{z:.1f} standard errors)"
                ),
                parameter=largest["parameter"],
                z=abs(largest["z"]),
            )
        )
    if not parts:
        parts.append(
            locale.gettext("the model parameters have no standard errors to compare them by")
        )
    text = "; ".join(parts)
    numbers = {
        "parameters": len(fitted),
        "beyond_noise": [r["parameter"] for r in beyond],
        "form_switches": [r["parameter"] for r in limits],
        "model_changed": switch is not None,
    }
    return _record(
        "parameter_drift",
        numbers,
        basis | {"z": NOISE_Z},
        "parameter_drift",
        text[0].upper() + text[1:] + ".",
    )


def section_html(
    doc: Mapping[str, Any] | None,
    items: Sequence[Mapping[str, Any]],
    *,
    compare_to: str | None,
    locale: ReportLocale = ENGLISH,
) -> str:
    """The section's heading (a level-2 heading the table of contents lists) and sentences,
    in ``locale``'s language.

    Without a document: nothing when ``compare_to`` is ``"none"``, else a note that there is
    no earlier run to compare with.
    """
    if doc is None:
        off = compare_to is None or compare_to.strip().lower() == "none"
        return "" if off else first_run_html(locale)
    e = html.escape
    lines = "".join(
        f'<div class="clv-finding"><dt>{e(locale.gettext(_TOPICS.get(str(item["id"]), "")))}'
        f"</dt><dd>{e(str(item['text']))}</dd></div>"
        for item in items
    )
    end = doc.get("previous_observation_end")
    basis = _f(
        locale,
        N_(
            "Compared with run {run} (data to {end}). Every tier, top customer and channel share "
            "here is by predicted CLV."
        ),
        run=doc["previous_run"],
        end=(locale.date(end) if end and locale.language != "en" else end) or "-",
    )
    return (
        f'<h2 id="since" class="clv-section">{e(heading(doc, locale))}</h2>'
        f'<p class="clv-note">{e(basis)}</p><dl class="clv-found">{lines}</dl>'
    )


FIRST_RUN = N_(
    "No earlier run of this report in its runs folder to compare with: the next run will say "
    "what changed since this one."
)


def first_run_html(locale: ReportLocale = ENGLISH) -> str:
    """The section when there is no previous run to compare with."""
    title = html.escape(locale.gettext("Since the last run"))
    return (
        f'<h2 id="since" class="clv-section">{title}</h2>'
        f'<p class="clv-note">{html.escape(locale.gettext(FIRST_RUN))}</p>'
    )


CUSTOMER_COLUMNS = (
    "customer_id",
    "previous_value_tier",
    "value_tier",
    "previous_clv",
    "clv",
    "previous_p_alive",
    "p_alive",
    "orders",
    "at_risk",
)
CHANNEL_COLUMNS = (
    "channel",
    "previous_customers",
    "customers",
    "previous_share_good_clv",
    "share_good_clv",
    "within_noise",
)
DRIFT_COLUMNS = ("model", "parameter", "previous", "current", "z", "within_noise", "form")
"""The columns of the section's tables."""


def migration_table(doc: Mapping[str, Any] | None) -> pl.DataFrame | None:
    """Customers by tier before (rows, ``"new"`` last) and now (columns, ``"gone"`` last);
    None without a document."""
    if doc is None:
        return None
    m = doc["tier_migration"]
    columns = list(next(iter(m.values())).keys())
    return pl.DataFrame(
        [{"tier_before": a, **{b: row.get(b) for b in columns}} for a, row in m.items()],
        schema={"tier_before": pl.String, **{b: pl.Int64 for b in columns}},
    )


LIST_COUNTS = {
    "slipped_top": ("slipped_top_counts", "slipped"),
    "new_top": ("new_top_counts", "new_top"),
}
"""Where ``changes.json`` counts every customer of a list it keeps the first rows of."""


def list_total(doc: Mapping[str, Any] | None, key: str) -> int | None:
    """How many customers ``slipped_top`` or ``new_top`` of ``doc`` has in all (the document
    keeps the first :data:`clv.analysis.changes.LIST_ROWS`); None without a document."""
    if doc is None:
        return None
    counts, name = LIST_COUNTS[key]
    return int(doc[counts][name])


def rows_table(
    doc: Mapping[str, Any] | None, key: str, columns: Sequence[str]
) -> pl.DataFrame | None:
    """A list of ``doc`` (``slipped_top``, ``new_top``, ``channel_changes``,
    ``parameter_drift``) as a frame of ``columns``; None when empty or without a document."""
    rows = doc.get(key) if doc is not None else None
    if not rows:
        return None
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], infer_schema_length=None)
