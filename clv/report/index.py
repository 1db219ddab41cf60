"""The index of report runs: every run folder with a status you can trust.

Several ``clv report`` processes may share one folder of runs, and any of them may be killed.
The index is rebuilt under an exclusive lock on that folder (:func:`folder_lock`) and written
atomically. A manifest still saying ``running`` whose process has ended (same host, pid gone)
or whose heartbeat stopped is shown as ``interrupted``; a manifest that is not a clv manifest
is shown as ``unreadable`` with the reason. Neither stops a later run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
from contextlib import suppress
from pathlib import Path
from typing import Any

import jinja2

from clv.data.write import atomic_output, pid_alive, remove_stale_temp_files
from clv.report.history import failed_checks, record_failure
from clv.report.i18n import LANGUAGES, N_, ReportLocale, report_locale
from clv.report.render import TEMPLATE_DIR, data_words, utc_now
from clv.report.runs import folder_lock, update_manifest

STATUSES = ("running", "succeeded", "failed", "interrupted")
"""Statuses a manifest may hold; a listing adds ``unreadable``."""

HEARTBEAT_S = 30.0
"""Seconds between heartbeats of a running report (``heartbeat_at`` in its manifest)."""

STALE_AFTER_S = 10 * HEARTBEAT_S
"""A ``running`` manifest whose heartbeat is older than this (seconds) is ``interrupted``."""

_NUMBERS = (
    ("customers", "count"),
    ("revenue", "count"),
    ("repeat_customer_rate", "share"),
    ("top_10pct_revenue_share", "share"),
    ("predicted_clv_total", "count"),
)

STATUS_WORDS = {
    "running": N_("running"),
    "succeeded": N_("succeeded"),
    "failed": N_("failed"),
    "interrupted": N_("interrupted"),
    "unreadable": N_("unreadable"),
}
"""The statuses in the index's words (the manifests keep the English status)."""


def manifest_problem(doc: Any) -> str | None:
    """Why ``doc`` (parsed ``manifest.json``) is not a clv run manifest, or None if it is."""
    if not isinstance(doc, dict):
        return f"a JSON object is expected, not {type(doc).__name__}"
    if doc.get("status") not in STATUSES:
        return f"status {doc.get('status')!r} is not one of {', '.join(STATUSES)}"
    for key, kind in (("started_at", str), ("notebook", str), ("input", dict), ("headline", dict)):
        if doc.get(key) is not None and not isinstance(doc[key], kind):
            return f"key {key!r} must be a {'text' if kind is str else 'JSON object'}"
    return None


def read_run(folder: Path) -> dict[str, Any]:
    """One run as listed: ``run``, ``status``, ``reason`` and the ``manifest`` (empty if
    unreadable). A ``running`` manifest whose process is gone has status ``interrupted``."""
    try:
        doc = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        reason = f"not JSON: {e}" if isinstance(e, ValueError) else os.strerror(e.errno or 0)
        return {"run": folder.name, "status": "unreadable", "reason": reason, "manifest": {}}
    problem = manifest_problem(doc)
    if problem is not None:
        return {"run": folder.name, "status": "unreadable", "reason": problem, "manifest": {}}
    status, reason = doc["status"], doc.get("error")
    if status == "running" and process_gone(doc):
        status, reason = "interrupted", gone_reason(doc)
    return {"run": folder.name, "status": status, "reason": reason, "manifest": doc}


def list_runs(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every run of ``out_dir``, newest first: each run folder (see :func:`read_run`) and each
    run whose checks failed before it had a folder (:func:`clv.report.history.failed_checks`)."""
    out = Path(out_dir)
    if not out.is_dir():
        return []
    runs = [read_run(p.parent) for p in out.glob("*/manifest.json")] + failed_checks(out)
    return sorted(runs, key=lambda r: (r["manifest"].get("started_at") or "", r["run"]))[::-1]


def process_gone(manifest: dict[str, Any], *, now: dt.datetime | None = None) -> bool:
    """Whether the process that wrote a ``running`` manifest has ended without a final status:
    on this host its pid no longer runs; anywhere, its heartbeat is older than STALE_AFTER_S."""
    pid = manifest.get("pid")
    here = manifest.get("host") == socket.gethostname()
    if here and isinstance(pid, int) and pid > 0 and not pid_alive(pid):
        return True
    beat = manifest.get("heartbeat_at") or manifest.get("started_at")
    try:
        when = dt.datetime.strptime(str(beat), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return True
    return ((now or dt.datetime.now(dt.UTC)) - when).total_seconds() > STALE_AFTER_S


def gone_reason(manifest: dict[str, Any]) -> str:
    """The error recorded for an interrupted run: which process stopped, last heartbeat."""
    who = f"process {manifest.get('pid', '?')} on {manifest.get('host', '?')}"
    beat = manifest.get("heartbeat_at") or "-"
    return f"interrupted: {who} ended without a final status (last heartbeat {beat})"


def recover(out_dir: str | os.PathLike[str]) -> list[str]:
    """Before a run and on ``clv report --list``: mark orphaned ``running`` runs
    ``interrupted`` in their manifests, keep the partial notebooks of runs no process writes
    as the run's notebook, and delete temporary files left by killed writers. Returns the
    names of the runs marked."""
    out = Path(out_dir)
    marked = []
    with folder_lock(out):
        remove_stale_temp_files(out)
        for run in list_runs(out):
            folder = out / run["run"]
            if run["manifest"].get("stage") == "check" or not folder.is_dir():
                continue  # a failed check has no folder
            remove_stale_temp_files(folder)
            if run["status"] == "running":
                continue  # its process still writes
            _keep_partial_notebook(folder)
            if run["manifest"].get("status") != "running":
                continue

            def interrupted(manifest: dict[str, Any], reason: str = run["reason"]) -> None:
                manifest.update(status="interrupted", error=reason)

            update_manifest(folder, interrupted)
            marked.append(run["run"])
    return marked


def _keep_partial_notebook(folder: Path) -> None:
    """A killed run's ``.<name>.partial.ipynb`` becomes ``<name>.ipynb`` if it is whole JSON
    and the run has no notebook yet; otherwise it is deleted."""
    for partial in folder.glob(".*.partial.ipynb"):
        target = folder / partial.name.removeprefix(".").replace(".partial", "")
        try:
            json.loads(partial.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            partial.unlink(missing_ok=True)  # cut off mid-write: nothing to diagnose from
            continue
        if target.exists():
            partial.unlink(missing_ok=True)
        else:
            os.replace(partial, target)


def record_failed_check(
    out_dir: str | os.PathLike[str],
    notebook: str,
    error: str,
    *,
    data: Any = None,
    started_at: str | None = None,
) -> None:
    """Record a run that failed its parameter or data check in the runs folder's history
    (:mod:`clv.report.history`) and rebuild the index; no run folder is made. Nothing is
    recorded when the runs folder cannot be made or written (the error itself says why)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = Path(out_dir)
    with suppress(OSError):
        out.mkdir(parents=True, exist_ok=True)
        record_failure(
            out,
            run=f"{stamp}-{notebook}",
            notebook=notebook,
            started_at=started_at or utc_now(),
            finished_at=utc_now(),
            error=error,
            data=None if data is None else str(data),
        )
        write_index(out)


def write_index(out_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``<out_dir>/index.html`` under the folder's lock: every run, newest first."""
    out = Path(out_dir)
    with folder_lock(out):
        runs = list_runs(out)
        locale = report_locale(_language(runs))
        rows = [_row(out, run, locale) for run in runs]
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
            autoescape=True,
            keep_trailing_newline=True,
            extensions=["jinja2.ext.i18n"],
        )
        env.install_gettext_translations(locale.translations, newstyle=True)  # type: ignore[attr-defined]
        page = env.get_template("runs_index.html.j2").render(
            runs=rows, updated=utc_now(), lang=locale.language
        )
        target = out / "index.html"
        with atomic_output(target, overwrite=True) as tmp:
            tmp.write_text(page, encoding="utf-8")
    return target


def _language(runs: list[dict[str, Any]]) -> str:
    """The language of the newest run that names one: the index speaks as its reports do."""
    for run in runs:
        language = ((run["manifest"] or {}).get("parameters") or {}).get("language")
        if language in LANGUAGES:
            return str(language)
    return "en"


def _number(value: Any, kind: str, locale: ReportLocale) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool) or value != value:
        return "-"
    return locale.percent(value, 1) if kind == "share" else locale.integer(value)


def _row(out: Path, run: dict[str, Any], locale: ReportLocale) -> dict[str, Any]:
    m = run["manifest"]
    h = m.get("headline") or {}
    report = f"{run['run']}/{m.get('notebook', '')}.html"
    if m.get("stage") == "check":  # failed before it had a folder
        report = ""
    return {
        "folder": run["run"] if report else None,
        "started_at": m.get("started_at") or "",
        "notebook": m.get("notebook") or "",
        "data": data_words((m.get("input") or {}).get("name") or "-", locale),
        "status": run["status"],
        "status_text": locale.gettext(STATUS_WORDS.get(run["status"], run["status"])),
        "numbers": [_number(h.get(k), kind, locale) for k, kind in _NUMBERS],
        "report": report if m and report and (out / report).is_file() else None,
        "error": _no_paths(str(run["reason"] or ""), m),
    }


def _no_paths(text: str, manifest: dict[str, Any]) -> str:
    """``text`` without the input file's folder (no machine paths in an HTML page)."""
    path = (manifest.get("input") or {}).get("path")
    if isinstance(path, str) and path:
        text = text.replace(str(Path(path).parent) + os.sep, "")
    return text


def runs_text(out_dir: str | os.PathLike[str]) -> list[str]:
    """``clv report --list``: one line per run, newest first: folder, status, started, reason."""
    lines = []
    for run in list_runs(out_dir):
        m = run["manifest"]
        reason = " ".join(str(run["reason"] or "").split())
        parts = [run["run"], run["status"], m.get("started_at") or "-", reason]
        lines.append("  ".join(p for p in parts if p))
    return lines
