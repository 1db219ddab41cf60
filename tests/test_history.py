"""The run history keeps failures: a failed check, a ``kill -9``, the files a killed run left.

- A run whose parameter or data check fails is listed as ``failed`` with its one-line reason
  by ``clv report --list`` and ``index.html``, and leaves no run folder.
- After ``kill -9``, ``clv report --list`` lists the run as ``interrupted``, in index.html too.
- Hidden ``.tmp`` and ``.partial.ipynb`` files of killed runs are gone after ``--list``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_robustness import shop_csv

from clv.cli import main
from clv.report.history import HISTORY_FILE, failed_checks
from clv.report.index import list_runs

NO_PID = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
"""A pid no process can have: what a killed writer's temporary file is named with."""


def _folders(runs: Path) -> list[Path]:
    return [p for p in runs.iterdir() if p.is_dir()]


def test_a_failed_data_or_parameter_check_is_listed_as_failed_without_a_folder(
    tmp_path, capsys
) -> None:
    bad = tmp_path / "export.csv"
    bad.write_text("customer_id,date,total\nA,2024-01-02,10\nB,2024-01-03,12\n")
    runs = tmp_path / "runs"

    assert main(["report", str(bad), "--out", str(runs)]) == 1
    error = capsys.readouterr().err.strip()
    assert "amount" in error and len(error.splitlines()) == 1
    assert main(["report", str(bad), "--out", str(runs), "--horizon", "-3"]) == 2
    capsys.readouterr()

    assert _folders(runs) == []  # no half-made run folder
    records = failed_checks(runs)
    assert [r["status"] for r in records] == ["failed", "failed"]
    assert "amount" in records[0]["reason"] and "horizon" in records[1]["reason"]
    assert main(["report", "--list", "--out", str(runs)]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 2 and all(" failed " in line for line in listed)
    assert any("amount" in line for line in listed) and any("horizon" in line for line in listed)
    index = (runs / "index.html").read_text()
    assert index.count('class="status failed"') == 2
    assert "export.csv" in index and str(tmp_path) not in index  # the file, not its folder
    assert (runs / HISTORY_FILE).read_text().count("\n") == 2


def test_a_torn_history_line_is_skipped(tmp_path) -> None:
    record = {"run": "20260101T000000Z-customer_value", "status": "failed", "error": "x"}
    (tmp_path / HISTORY_FILE).write_text(json.dumps(record) + '\n{"run": "2026')
    assert [r["run"] for r in list_runs(tmp_path)] == [record["run"]]


@pytest.mark.slow
def test_kill_9_then_list_shows_the_run_interrupted_and_cleans_what_it_left(
    tmp_path, capsys
) -> None:
    data = shop_csv(tmp_path / "shop.csv")
    runs = tmp_path / "runs"
    proc = subprocess.Popen(
        [sys.executable, "-m", "clv.cli", "report", str(data), "--out", str(runs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # kill -9 reaches the kernel it started too
    )
    index = runs / "index.html"
    try:
        while proc.poll() is None and 'class="status running"' not in _text(index):
            time.sleep(0.05)  # polling for the file, not a timing assert
        assert proc.poll() is None, "the run ended before it could be killed"
        listed_running = _text(index)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (run,) = _folders(runs)
    assert 'class="status running"' in listed_running  # listed while it ran
    # what a writer killed mid-write leaves: its temporary files and the partial notebook
    (run / f".scores.parquet.{NO_PID}.tmp").write_bytes(b"PAR1")
    (run / ".customer_value.partial.ipynb").write_text(json.dumps({"cells": [], "nbformat": 4}))
    (runs / f".index.html.{NO_PID}.tmp").write_text("<html")

    assert main(["report", "--list", "--out", str(runs)]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"{run.name}  interrupted") and "ended without a final status" in line
    page = index.read_text()
    assert 'class="status interrupted"' in page and 'class="status running"' not in page
    assert f'href="{run.name}/"' in page
    assert not list(runs.rglob(".*")), "no hidden file is left"
    assert json.loads((run / "customer_value.ipynb").read_text())["nbformat"] == 4
    assert json.loads((run / "manifest.json").read_text())["status"] == "interrupted"


def _text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_spark_reports_read_folders_and_urls_where_they_lie(tmp_path) -> None:
    """``clv report s3a://lake/orders/ --engine spark``: the data is passed to the kernel as
    given (no local file to resolve or hash), a folder of parts as its absolute path; the
    polars engine still wants a file, and a missing one is the same one-line error."""
    from clv.errors import DataError
    from clv.report.runs import _input_file, _input_fingerprint

    url = "s3a://lake/orders/"
    assert _input_file(url, "spark") == url
    assert _input_fingerprint(url, "customer_value") == {"path": url, "name": "orders"}
    parts = tmp_path / "orders"
    parts.mkdir()
    (parts / "part-0.parquet").write_bytes(b"x")
    assert _input_file(str(parts), "spark") == str(parts.resolve())
    for data, engine in ((url, "polars"), (str(parts), "polars"), ("no.csv", "spark")):
        with pytest.raises(DataError, match=f"^{data}: file not found$"):
            _input_file(data, engine)
    orders = tmp_path / "orders.csv"
    orders.write_text("customer_id,date,amount\n")
    facts = _input_fingerprint(str(orders), "customer_value")
    assert facts["bytes"] == orders.stat().st_size and len(facts["sha256"]) == 64
