"""The index of report runs: interrupted and unreadable runs, recovery, the lock, --list."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from clv.cli import main
from clv.report.index import (
    STALE_AFTER_S,
    list_runs,
    manifest_problem,
    process_gone,
    recover,
    runs_text,
    write_index,
)
from clv.report.runs import folder_lock, read_manifest, update_manifest

HOST = socket.gethostname()
NO_PID = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
"""A pid no process can have: a run "killed" with it is deterministic (pids are reused)."""


def manifest(status: str = "succeeded", **extra) -> dict:
    return {
        "run": "r",
        "notebook": "customer_value",
        "status": status,
        "started_at": "2026-01-02T03:04:05Z",
        "heartbeat_at": "2026-01-02T03:04:05Z",
        "pid": os.getpid(),
        "host": HOST,
        "input": {"name": "shop.csv"},
        "headline": {"customers": 1234, "revenue": 5678.9},
        "error": None,
    } | extra


def run_folder(out: Path, name: str, content: object) -> Path:
    folder = out / name
    folder.mkdir(parents=True)
    text = content if isinstance(content, str) else json.dumps(content)
    (folder / "manifest.json").write_text(text)
    return folder


@pytest.fixture
def runs(tmp_path) -> Path:
    """Runs of every kind in one folder: finished, still running, killed, damaged, foreign."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_folder(tmp_path, "a-ok", manifest(started_at="2026-01-01T00:00:00Z"))
    run_folder(tmp_path, "b-live", manifest("running", heartbeat_at=now, started_at=now))
    killed = run_folder(tmp_path, "c-killed", manifest("running", pid=NO_PID))
    (killed / ".customer_value.partial.ipynb").write_text('{"cells": []}')
    (killed / f".scores.parquet.{NO_PID}.tmp").write_text("half")
    run_folder(tmp_path, "d-truncated", '{"status": "runn')
    run_folder(tmp_path, "e-list", "[1, 2]")
    run_folder(tmp_path, "f-foreign", {"status": "done", "notebook": "x"})
    run_folder(tmp_path, "g-wrong-type", manifest(headline=[1]))
    (tmp_path / f".index.html.{NO_PID}.tmp").write_text("<html")
    return tmp_path


def test_every_run_is_listed_with_a_status_you_can_trust(runs):
    found = {r["run"]: (r["status"], r["reason"]) for r in list_runs(runs)}
    assert found == {
        "a-ok": ("succeeded", None),
        "b-live": ("running", None),
        "c-killed": (
            "interrupted",
            f"interrupted: process {NO_PID} on {HOST} ended without a final status "
            "(last heartbeat 2026-01-02T03:04:05Z)",
        ),
        "d-truncated": ("unreadable", found["d-truncated"][1]),
        "e-list": ("unreadable", "a JSON object is expected, not list"),
        "f-foreign": (
            "unreadable",
            "status 'done' is not one of running, succeeded, failed, interrupted",
        ),
        "g-wrong-type": ("unreadable", "key 'headline' must be a JSON object"),
    }
    assert found["d-truncated"][1].startswith("not JSON: Unterminated string")


def test_a_silent_heartbeat_means_interrupted_even_on_another_host():
    start = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
    m = manifest("running", host="elsewhere", pid=1)
    assert not process_gone(m, now=start + dt.timedelta(seconds=STALE_AFTER_S))
    assert process_gone(m, now=start + dt.timedelta(seconds=STALE_AFTER_S + 1))
    assert process_gone(manifest("running", heartbeat_at="yesterday"), now=start)


def test_manifest_problem():
    assert manifest_problem(manifest()) is None
    assert manifest_problem("x") == "a JSON object is expected, not str"
    assert manifest_problem(manifest(started_at=5)) == "key 'started_at' must be a text"


def test_recover_marks_the_killed_run_and_cleans_what_it_left(runs):
    assert recover(runs) == ["c-killed"]
    killed = read_manifest(runs / "c-killed")
    assert killed["status"] == "interrupted"
    assert killed["error"].startswith(f"interrupted: process {NO_PID} on {HOST}")
    assert sorted(p.name for p in (runs / "c-killed").iterdir()) == [
        "customer_value.ipynb",  # the partial notebook kept for diagnosis
        "manifest.json",
    ]
    assert not list(runs.glob(".*"))
    assert read_manifest(runs / "b-live")["status"] == "running"  # its process still runs
    assert recover(runs) == []  # nothing more to do


def test_the_index_lists_every_run_and_never_fails_on_a_damaged_manifest(runs):
    page = write_index(runs).read_text()
    for name in ("c-killed", "d-truncated", "e-list", "f-foreign", "g-wrong-type"):
        assert f'<a href="{name}/">folder</a>' in page
    assert page.count('class="status unreadable"') == 4
    assert page.count('class="status interrupted"') == 1
    assert page.count('class="status running"') == 1
    assert "1,234" in page and "5,679" in page
    assert page.rstrip().endswith("</html>")


def test_index_text_is_escaped(tmp_path):
    run_folder(tmp_path, "x", manifest("failed", error="<script>alert(1)</script>"))
    page = write_index(tmp_path).read_text()
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_list_prints_each_run_and_its_status(runs, capsys):
    assert main(["report", "--list", "--out", str(runs)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == runs_text(runs)
    assert [line.split("  ")[:2] for line in out] == [  # newest first, unreadable last
        ["b-live", "running"],
        ["c-killed", "interrupted"],
        ["a-ok", "succeeded"],
        ["g-wrong-type", "unreadable"],
        ["f-foreign", "unreadable"],
        ["e-list", "unreadable"],
        ["d-truncated", "unreadable"],
    ]
    assert main(["report", "--list", "--out", str(runs / "none")]) == 0
    assert capsys.readouterr().out == f"no runs in {runs / 'none'}\n"


def test_manifest_updates_are_serialised(tmp_path):
    """Eight writers, 25 increments each, under the folder lock: no update is lost."""
    (tmp_path / "manifest.json").write_text(json.dumps(manifest(n=0)))

    def bump() -> None:
        for _ in range(25):
            update_manifest(tmp_path, lambda m: m.update(n=m["n"] + 1))

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert read_manifest(tmp_path)["n"] == 200


def test_the_lock_excludes_another_holder(tmp_path):
    order = []
    with folder_lock(tmp_path):
        t = threading.Thread(target=lambda: _take(tmp_path, order))
        t.start()
        t.join(timeout=0.5)  # it waits for us (no assert on time: only on order)
        order.append("first released")
    t.join()
    assert order == ["first released", "second took it"]


def _take(folder: Path, order: list[str]) -> None:
    with folder_lock(folder):
        order.append("second took it")


def test_a_running_report_stamps_its_heartbeat_into_the_manifest(tmp_path, monkeypatch):
    from clv.report import runner

    (tmp_path / "manifest.json").write_text(json.dumps(manifest("running", n=1)))
    monkeypatch.setattr(runner, "HEARTBEAT_S", 0.01)
    monkeypatch.setattr(runner, "utc_now", lambda: "2026-06-01T00:00:00Z")
    with runner._heartbeat(tmp_path):
        while read_manifest(tmp_path).get("heartbeat_at") != "2026-06-01T00:00:00Z":
            pass  # waits for the first beat; no assert on how long it takes
    after = read_manifest(tmp_path)
    assert after == manifest("running", n=1) | {"heartbeat_at": "2026-06-01T00:00:00Z"}
