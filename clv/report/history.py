"""Runs that never got a folder: a run whose parameter or data check failed.

``clv report`` checks parameters and data before it makes a run folder, so a bad input leaves
no half-made run behind. Such a run is still part of the runs folder's history: one JSON line
in ``history.jsonl`` (run name, notebook, time, input name, the one-line reason), which
:func:`clv.report.index.list_runs` lists with the run folders, as ``failed``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from clv.report.runs import folder_lock

HISTORY_FILE = "history.jsonl"
"""The runs folder's record of runs without a folder, one JSON object per line."""


def record_failure(
    out_dir: str | os.PathLike[str],
    *,
    run: str,
    notebook: str,
    started_at: str,
    finished_at: str,
    error: str,
    data: str | None,
) -> Path:
    """Append a failed check to ``<out_dir>/history.jsonl`` (under the folder's lock)."""
    out = Path(out_dir)
    path = Path(data) if data is not None else None
    record = {
        "run": run,
        "notebook": notebook,
        "status": "failed",
        "started_at": started_at,
        "finished_at": finished_at,
        "error": " ".join(error.split()),
        "input": {
            "name": path.name if path is not None else "embedded data set",
            "path": str(path.expanduser().resolve()) if path is not None else None,
        },
        "stage": "check",
    }
    with folder_lock(out), (out / HISTORY_FILE).open("a", encoding="utf-8") as f:
        f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return out / HISTORY_FILE


def failed_checks(out_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The runs of ``history.jsonl`` as :func:`clv.report.index.read_run` gives a run: ``run``,
    ``status`` (``failed``), ``reason`` and the record as ``manifest``. A line that is not a
    whole record (a write cut off by a kill) is skipped."""
    try:
        text = (Path(out_dir) / HISTORY_FILE).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in text.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and isinstance(record.get("run"), str):
            out.append(
                {
                    "run": record["run"],
                    "status": "failed",
                    "reason": record.get("error"),
                    "manifest": record,
                }
            )
    return out
