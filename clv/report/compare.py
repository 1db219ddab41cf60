"""Runs compared: the previous run of a runs folder, the salt its references share, and
``changes.json`` (what changed since that run; the numbers come from
:mod:`clv.analysis.changes`).

The runs folder is the series: monthly exports change their file names, so ``clv report``
compares a run with the previous succeeded run of the same notebook in the same folder
(``compare_to="previous"``), with a run folder given by path, or with none.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import polars as pl

from clv.analysis import changes as changes_
from clv.analysis.changes import GONE, NEW, RunState
from clv.analysis.segments import TIERS
from clv.data.write import storage_error
from clv.errors import UsageError
from clv.report.html_table import mask_ids
from clv.report.index import list_runs
from clv.report.runs import read_manifest, write_json

SALT_FILE = "id_salt.txt"
"""The runs folder's salt of masked references: made by the first run, kept by every later
one, never shown in a report (keep it private: with it an id can be checked against a
reference)."""

TIER_NAMES = [name for name, _ in TIERS]
"""The value tiers from the top down (what a comparison counts by)."""

CHANGES_FILE = "changes.json"
RUN_FILES = ("scores.parquet", "kpis.json", "model.json")
"""The files of a run a comparison reads (``at_risk.csv`` too when present)."""


def read_salt(out: str | os.PathLike[str]) -> str | None:
    """The runs folder's salt, or None if it has none yet."""
    try:
        text = (Path(out) / SALT_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text or None


def runs_salt(out: str | os.PathLike[str]) -> str:
    """The runs folder's salt, made once (32 hex digits, readable by the owner only).

    Two runs starting together agree: the file is written aside and linked into place, and
    the one that loses the race reads the winner's.
    """
    existing = read_salt(out)
    if existing is not None:
        return existing
    target = Path(out) / SALT_FILE
    tmp = target.with_name(f".{SALT_FILE}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(secrets.token_hex(16) + "\n")
            with suppress(FileExistsError):  # another run made it first: theirs is kept
                os.link(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:  # a full or read-only disk: one line naming the file
        raise storage_error(target, e) from None
    salt = read_salt(out)
    if salt is None:
        raise UsageError(f"{target}: the runs folder's salt is empty; delete the file")
    return salt


def read_documents(folder: str | os.PathLike[str]) -> RunState:
    """A run folder's :class:`RunState` without its customers (``kpis.json`` and
    ``model.json``; the customers are read by :func:`read_state` or, where the data lives,
    by :meth:`clv.analysis.results.Analysis.customer_changes`). A missing or unreadable file
    is a one-line :class:`UsageError`."""
    run = Path(folder)
    missing = [name for name in RUN_FILES if not (run / name).is_file()]
    if missing:
        raise UsageError(
            f"{run}: not a finished customer-value run (no {', '.join(missing)}); "
            "compare with a run folder of clv report"
        )
    try:
        kpis = json.loads((run / "kpis.json").read_text(encoding="utf-8"))
        model = json.loads((run / "model.json").read_text(encoding="utf-8"))
        columns = pl.read_parquet_schema(run / changes_.SCORES_FILE)
    except (OSError, ValueError, pl.exceptions.PolarsError) as e:
        raise changes_.unreadable(run, e) from None
    changes_.check_scores(run, list(columns))
    return RunState(scores=pl.DataFrame(), kpis=kpis, model=model)


def read_state(folder: str | os.PathLike[str]) -> RunState:
    """A run folder's :class:`RunState`: ``scores.parquet``, ``kpis.json``, ``model.json`` and
    ``at_risk.csv``'s ids. A missing or unreadable file is a one-line :class:`UsageError`."""
    documents = read_documents(folder)
    scores, at_risk = changes_.read_customers(folder)
    return RunState(scores=scores, kpis=documents.kpis, model=documents.model, at_risk=at_risk)


def previous_run(out: str | os.PathLike[str], notebook: str, *, before: str | None) -> Path | None:
    """The newest succeeded run of ``notebook`` in ``out`` started before run ``before``
    (every run when None), or None."""
    runs = list_runs(out)
    started = None
    if before is not None:
        started = next((r["manifest"].get("started_at") for r in runs if r["run"] == before), None)
    for run in runs:  # newest first
        m = run["manifest"]
        if run["run"] == before or run["status"] != "succeeded" or m.get("notebook") != notebook:
            continue
        if started is not None and (m.get("started_at") or "", run["run"]) >= (started, before):
            continue
        if all((Path(out) / run["run"] / name).is_file() for name in RUN_FILES):
            return Path(out) / run["run"]
    return None


def resolve_compare_to(
    compare_to: str | None, out: str | os.PathLike[str], notebook: str, *, before: str | None
) -> Path | None:
    """The run folder to compare with: ``"previous"`` (:func:`previous_run`, None if there is
    none), ``"none"``/None (no comparison) or a run folder: a path, or a run's name in
    ``out``. A folder that is not a finished run is a :class:`UsageError`."""
    if compare_to is None or compare_to.strip().lower() == "none":
        return None
    if compare_to.strip().lower() == "previous":
        return previous_run(out, notebook, before=before)
    path = Path(compare_to).expanduser()
    if not path.is_dir() and (Path(out) / compare_to).is_dir():
        path = Path(out) / compare_to
    if not path.is_dir():
        raise UsageError(
            f"compare_to={compare_to}: no such run folder; give previous, none or a run folder"
        )
    read_documents(path)  # a finished run, or a one-line error now
    return path.resolve()


def changes_document(
    previous: Path,
    doc: Mapping[str, Any],
    *,
    previous_model: Mapping[str, Any] | None,
    current: str | None,
    salt: str | None,
) -> dict[str, Any]:
    """``changes.json``: the runs compared (``previous_run``, ``previous_started_at``,
    ``run``; ``previous_model``: the model document of ``previous``) and ``doc``
    (:func:`clv.analysis.changes.document`); the customers of
    ``slipped_top`` and ``new_top`` carry ``customer_ref`` (their masked reference) when
    ``salt`` is given."""
    doc = dict(doc)
    if salt is not None:
        for key in ("slipped_top", "new_top"):
            refs = mask_ids([row["customer_id"] for row in doc[key]], salt)
            doc[key] = [
                row | {"customer_ref": ref} for row, ref in zip(doc[key], refs, strict=True)
            ]
    m = read_manifest(previous)
    model = previous_model
    return {
        "previous_run": m.get("run") or previous.name,
        "previous_started_at": m.get("started_at"),
        "previous_observation_end": model.get("observation_end") if model else None,
        "run": current,
        "top_tier": TIER_NAMES[0],
        **doc,
    }


def compare_runs(run_a: str | os.PathLike[str], run_b: str | os.PathLike[str]) -> dict[str, Any]:
    """What changed from run folder ``run_a`` to ``run_b`` (``clv compare``): the document
    ``changes.json`` holds, references masked with ``run_b``'s runs folder's salt."""
    a, b = Path(run_a), Path(run_b)
    for run in (a, b):
        if not run.is_dir():
            raise UsageError(f"{run}: no such run folder")
    before = read_state(a)
    doc = changes_.changes(before, read_state(b), tiers=TIER_NAMES)
    return changes_document(
        a, doc, previous_model=before.model, current=b.name, salt=read_salt(b.parent)
    )


def summary_lines(doc: Mapping[str, Any]) -> list[str]:
    """What ``clv compare`` prints for a person: a few lines of ``changes.json`` (customers,
    revenue, moves between the tiers by predicted CLV, the at-risk list), in English as the
    command line is."""
    kpis, m = doc["kpi_changes"], doc["tier_migration"]
    top = doc["top_tier"]

    def kpi(key: str, what: str, money: bool = False) -> str:
        k = kpis[key]
        if k["previous"] is None or k["current"] is None:
            return f"{what}: n/a"
        form = "{:,.0f}" if money else "{:,}"
        change = f" ({k['relative_change']:+.1%})" if k["relative_change"] is not None else ""
        now, before = form.format(k["current"]), form.format(k["previous"])
        return f"{what}: {now}, was {before}{change}"

    up = sum(n for a, row in m.items() if a not in (top, NEW) for b, n in row.items() if b == top)
    down = sum(n for b, n in m.get(top, {}).items() if b not in (top, GONE))
    fresh = m.get(NEW, {}).get(top, 0)
    moved = sum(n for a, row in m.items() if a != NEW for b, n in row.items() if b not in (a, GONE))
    lines = [
        f"Since {doc.get('previous_observation_end') or doc['previous_run']} "
        f"(run {doc['previous_run']} to {doc.get('run') or 'now'}):",
        f"  {kpi('customers', 'customers')}; {kpi('revenue', 'revenue', money=True)}",
        f"  tiers by {doc.get('basis', changes_.BASIS)}: {moved:,} customers changed tier; "
        f"{up:,} moved up into the {top} tier, {down:,} fell out of it, {fresh:,} new customers "
        "went straight into it",
        f"  top customers who slipped: {doc['slipped_top_counts']['slipped']:,}; new in the top "
        f"tier: {doc['new_top_counts']['new_top']:,}",
    ]
    risk = doc.get("at_risk")
    if risk is not None:
        lines.append(
            f"  at risk now: {risk['current']:,} customers, was {risk['previous']:,} "
            f"({risk['still']:,} on both lists)"
        )
    return lines


def since_last_run(
    analysis: Any, *, run_dir: str | os.PathLike[str] | None, compare_to: str | None
) -> dict[str, Any] | None:
    """The notebook's comparison: resolve ``compare_to`` in the run folder's runs folder,
    compare, write ``changes.json`` into ``run_dir``; return the document, or None when there
    is nothing to compare with (no run folder, ``"none"``, or no previous run).

    Run by hand (no ``run_dir``), only an explicit run folder is compared.
    """
    run = Path(run_dir) if run_dir is not None else None
    if run is None and (compare_to or "none").strip().lower() in ("previous", "none"):
        return None
    out = run.parent if run is not None else Path.cwd()
    notebook = read_manifest(run).get("notebook", "customer_value") if run else "customer_value"
    folder = resolve_compare_to(compare_to, out, notebook, before=run.name if run else None)
    if folder is None:
        return None
    salt = read_salt(out) if run is not None else None
    before = read_documents(folder)
    doc = changes_.document(
        before.kpis,
        analysis.kpis,
        analysis.customer_changes(folder, top_tier=TIER_NAMES[0]),
        previous_model=before.model,
        current_model=analysis.model.to_dict(),
        tiers=TIER_NAMES,
    )
    doc = changes_document(
        folder, doc, previous_model=before.model, current=run.name if run else None, salt=salt
    )
    if run is not None:
        write_json(run / CHANGES_FILE, doc)
    return doc
