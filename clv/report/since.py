"""The report's "Since <date>" section: what changed since the previous run, in words.

Every sentence is a finding record (``{"id", "numbers", "basis", "table", "text"}``, the
shape of ``findings.json``) made from ``changes.json`` (:mod:`clv.report.compare`), so a
sentence and the file cannot disagree. The tables and the migration figure show the same
document (the figure: :func:`clv.plots.changes.tier_migration`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from clv.analysis.changes import GONE, NEW, NOISE_Z
from clv.report.first_page import money_text
from clv.report.html_table import mask_ids

TABLE = "changes.json"
NAMED = 3
"""Customers named in a sentence (the rest are in the tables)."""

_KPIS = (
    ("customers", "customers", "count"),
    ("revenue", "revenue", "money"),
    ("repeat_customer_rate", "repeat rate", "share"),
    ("top_10pct_revenue_share", "top-10 % revenue share", "share"),
    ("predicted_clv_total", "predicted CLV", "money"),
)
_TOPICS = {
    "since.kpis": "Headline numbers",
    "since.tiers": "Value tiers",
    "since.slipped_top": "Top customers who slipped",
    "since.new_top": "New top customers",
    "since.channels": "Channels",
    "since.parameter_drift": "The model",
}
_TITLES = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}


def heading(doc: Mapping[str, Any]) -> str:
    """``"Since 2026-11-07"``: the date the previous run was made."""
    return f"Since {str(doc.get('previous_started_at') or '')[:10] or doc['previous_run']}"


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


def _value(value: Any, kind: str, currency: str) -> str:
    if value is None:
        return "n/a"
    if kind == "share":
        return f"{value:.1%}"
    if kind == "money":
        return money_text(value, currency)
    return f"{value:,}"


def _refs(rows: Sequence[Mapping[str, Any]], id_salt: str | None) -> list[str]:
    ids = [str(r["customer_id"]) for r in rows]
    return ids if id_salt is None else [str(v) for v in mask_ids(ids, id_salt)]


def findings(
    doc: Mapping[str, Any] | None, *, currency: str = "", id_salt: str | None = None
) -> list[dict[str, Any]]:
    """The section's sentences as finding records, in the order shown (none without a
    document).

    ``doc``: ``changes.json``. ``id_salt`` masks the customers named (their reference, as
    the report's tables show it); None names them by id.
    """
    if doc is None:
        return []
    basis = {"previous_run": doc["previous_run"], "run": doc.get("run")}
    out = [_kpi_finding(doc, basis, currency)]
    out.append(_migration_finding(doc, basis))
    out.append(_slipped_finding(doc, basis, currency, id_salt))
    out.append(_new_top_finding(doc, basis, currency, id_salt))
    channels = _channel_finding(doc, basis)
    if channels is not None:
        out.append(channels)
    out.append(_drift_finding(doc, basis))
    return out


def _kpi_finding(doc: Mapping[str, Any], basis: dict[str, Any], currency: str) -> dict:
    parts = []
    for key, words, kind in _KPIS:
        k = doc["kpi_changes"][key]
        change = ""
        if k["relative_change"] is not None and kind != "share":
            change = f", {k['relative_change']:+.1%}"
        elif k["change"] is not None and kind == "share":
            change = f", {100 * k['change']:+.1f} points"
        parts.append(
            f"{words} {_value(k['current'], kind, currency)} "
            f"(was {_value(k['previous'], kind, currency)}{change})"
        )
    text = "Headline numbers now: " + "; ".join(parts) + "."
    return _record("kpis", doc["kpi_changes"], basis, "kpi_changes", text)


def _migration_finding(doc: Mapping[str, Any], basis: dict[str, Any]) -> dict:
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
    share = f" ({up / middle_all:.1%})" if middle_all else ""
    text = (
        f"Of the {middle_all:,} customers in the {middle} tier before, {up:,}{share} moved up "
        f"to the {top} tier and {down:,} down to the {bottom} tier; {top_down:,} of the {top} "
        f"tier fell to a lower tier. {new:,} customers are new ({new_top:,} of them straight "
        f"into the {top} tier) and {gone:,} are gone from the data."
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
    doc: Mapping[str, Any], basis: dict[str, Any], currency: str, id_salt: str | None
) -> dict:
    rows = doc["slipped_top"]
    top = doc["top_tier"]
    left = [r for r in rows if r["tier"] != top]
    risk = [r for r in rows if r["tier"] == top]
    if not rows:
        text = f"No customer of the {top} tier left it, and none of them is at risk now."
    else:
        named = []
        for r, ref in zip(rows[:NAMED], _refs(rows[:NAMED], id_salt), strict=True):
            now = "gone" if r["tier"] == GONE else f"now {r['tier']}"
            what = f"{now}, CLV {money_text(r['previous_clv'], currency)}"
            what += f" to {money_text(r['clv'], currency)}" if r["clv"] is not None else ""
            if r["at_risk"]:
                what += ", at risk"
            named.append(f"{ref} ({what})")
        text = (
            f"{len(rows):,} customers of the {top} tier slipped: {len(left):,} left it and "
            f"{len(risk):,} more are at risk now. The largest: " + "; ".join(named) + "."
        )
    numbers = {"slipped": len(rows), "left_tier": len(left), "at_risk_in_tier": len(risk)}
    return _record("slipped_top", numbers, basis | {"top_tier": top}, "slipped_top", text)


def _new_top_finding(
    doc: Mapping[str, Any], basis: dict[str, Any], currency: str, id_salt: str | None
) -> dict:
    rows = doc["new_top"]
    top = doc["top_tier"]
    fresh = sum(1 for r in rows if r["previous_tier"] == NEW)
    if not rows:
        text = f"No customer is new in the {top} tier."
    else:
        named = [
            f"{ref} (CLV {money_text(r['clv'], currency)}, was "
            f"{'new' if r['previous_tier'] == NEW else r['previous_tier']})"
            for r, ref in zip(rows[:NAMED], _refs(rows[:NAMED], id_salt), strict=True)
        ]
        text = (
            f"{len(rows):,} customers are new in the {top} tier: {fresh:,} new customers and "
            f"{len(rows) - fresh:,} from lower tiers. The largest: " + "; ".join(named) + "."
        )
    numbers = {"new_top": len(rows), "new_customers": fresh, "moved_up": len(rows) - fresh}
    return _record("new_top", numbers, basis | {"top_tier": top}, "new_top", text)


def _channel_finding(doc: Mapping[str, Any], basis: dict[str, Any]) -> dict | None:
    rows = doc.get("channel_changes")
    if not rows:
        return None
    moved = [r for r in rows if r["within_noise"] is False]
    if not moved:
        text = (
            "Channel quality (the share of each channel's customers in the top tier) moved "
            f"within noise in all {len(rows):,} channels."
        )
    else:
        text = (
            "Channel quality moved beyond noise in "
            + "; ".join(
                f"{r['channel']} ({r['previous_share_good']:.1%} to {r['share_good']:.1%} "
                "of its customers in the top tier)"
                for r in moved
            )
            + f"; the other {len(rows) - len(moved):,} moved within noise."
        )
    numbers = {"channels": len(rows), "beyond_noise": [r["channel"] for r in moved]}
    return _record("channels", numbers, basis | {"z": NOISE_Z}, "channel_changes", text)


def _drift_finding(doc: Mapping[str, Any], basis: dict[str, Any]) -> dict:
    rows = doc["parameter_drift"]
    switch = next((r for r in rows if r["form"] == "model changed"), None)
    parts = []
    if switch is not None:
        parts.append(
            f"The purchase model changed from {_TITLES.get(switch['previous'], switch['previous'])}"
            f" to {_TITLES.get(switch['current'], switch['current'])}, so its parameters are "
            "not compared"
        )
    limits = [r for r in rows if r["form"] in ("limit to fitted", "fitted to limit")]
    for r in limits:
        title = _TITLES.get(r["model"], "Gamma-Gamma")
        where = (
            "from its limit to a full fit"
            if r["form"] == "limit to fitted"
            else ("from a full fit to its limit (the model became its limit case)")
        )
        parts.append(f"{title} {r['parameter']} moved {where}")
    fitted = [r for r in rows if r["z"] is not None]
    beyond = [r for r in fitted if not r["within_noise"]]
    if beyond:
        parts.append(
            "beyond noise: "
            + ", ".join(
                f"{r['parameter']} {r['previous']:.3g} to {r['current']:.3g} "
                f"({abs(r['z']):.1f} standard errors)"
                for r in beyond
            )
        )
    if fitted and not beyond:
        largest = max(fitted, key=lambda r: abs(r["z"]))
        parts.append(
            f"every fitted model parameter moved within noise (the most, "
            f"{largest['parameter']}, by {abs(largest['z']):.1f} standard errors)"
        )
    if not parts:
        parts.append("the model parameters have no standard errors to compare them by")
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
    doc: Mapping[str, Any] | None, items: Sequence[Mapping[str, Any]], *, compare_to: str | None
) -> str:
    """The section's heading (a level-2 heading the table of contents lists) and sentences.

    Without a document: nothing when ``compare_to`` is ``"none"``, else a note that there is
    no earlier run to compare with.
    """
    if doc is None:
        off = compare_to is None or compare_to.strip().lower() == "none"
        return "" if off else first_run_html()
    e = html.escape
    lines = "".join(
        f'<div class="clv-finding"><dt>{e(_TOPICS.get(str(item["id"]), ""))}</dt>'
        f"<dd>{e(str(item['text']))}</dd></div>"
        for item in items
    )
    basis = (
        f"Compared with run {doc['previous_run']} (data to "
        f"{doc.get('previous_observation_end') or '-'})."
    )
    return (
        f'<h2 id="since" class="clv-section">{e(heading(doc))}</h2>'
        f'<p class="clv-note">{e(basis)}</p><dl class="clv-found">{lines}</dl>'
    )


FIRST_RUN = (
    "No earlier run of this report in its runs folder to compare with: the next run will say "
    "what changed since this one."
)


def first_run_html() -> str:
    """The section when there is no previous run to compare with."""
    return (
        '<h2 id="since" class="clv-section">Since the last run</h2>'
        f'<p class="clv-note">{html.escape(FIRST_RUN)}</p>'
    )


CUSTOMER_COLUMNS = (
    "customer_id",
    "previous_tier",
    "tier",
    "previous_clv",
    "clv",
    "previous_p_alive",
    "p_alive",
    "at_risk",
)
CHANNEL_COLUMNS = (
    "channel",
    "previous_customers",
    "customers",
    "previous_share_good",
    "share_good",
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


def rows_table(
    doc: Mapping[str, Any] | None, key: str, columns: Sequence[str]
) -> pl.DataFrame | None:
    """A list of ``doc`` (``slipped_top``, ``new_top``, ``channel_changes``,
    ``parameter_drift``) as a frame of ``columns``; None when empty or without a document."""
    rows = doc.get(key) if doc is not None else None
    if not rows:
        return None
    return pl.DataFrame([{c: r.get(c) for c in columns} for r in rows], infer_schema_length=None)
