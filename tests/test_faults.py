"""Faults: ``kill -9`` at seeded points of a report run, a full or read-only output disk.

After any kill the next run's index is valid, no run shows ``running`` and nothing is left
half-written. A full or read-only disk is one line naming the path, exit 1, nothing left.
The disks are small tmpfs mounts, which need root; elsewhere those tests skip and say why.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from test_robustness import checksums, shop_csv

from clv.report.index import list_runs
from clv.report.runner import run_report

KILL_SEED = 17
KILLS = 4


def clv_process(*args: object) -> subprocess.Popen:
    """``clv`` in its own process group, so that kill -9 reaches the kernel it started too."""
    return subprocess.Popen(
        [sys.executable, "-m", "clv.cli", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


@pytest.mark.slow
def test_kill_9_at_seeded_points_then_a_normal_run_leaves_a_clean_index(tmp_path):
    data = shop_csv(tmp_path / "shop.csv")
    runs = tmp_path / "runs"
    # seconds after the run's manifest appears: from "at once" to late in the notebook
    delays = np.random.default_rng(KILL_SEED).uniform(0.0, 8.0, KILLS).round(2)
    for delay in delays:
        before = set(runs.glob("*/manifest.json"))
        proc = clv_process("report", data, "--out", runs)
        try:
            while not set(runs.glob("*/manifest.json")) - before and proc.poll() is None:
                time.sleep(0.05)  # polling for a file, not a timing assert
            time.sleep(float(delay))
        finally:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    killed = {r["run"] for r in list_runs(runs)}
    assert len(killed) == KILLS

    last = run_report(data, out_dir=runs, progress=False)

    listed = {r["run"]: r for r in list_runs(runs)}
    assert set(listed) == killed | {last.name}
    assert listed.pop(last.name)["status"] == "succeeded"
    for run in listed.values():  # a kill after the run finished leaves it succeeded
        assert run["status"] in ("interrupted", "succeeded"), run
        on_disk = json.loads((runs / run["run"] / "manifest.json").read_text())
        assert on_disk["status"] == run["status"]  # the next run wrote it down
    assert not list(runs.rglob(".*")), "no temporary or partial file is left"
    for notebook in runs.glob("*/*.ipynb"):
        json.loads(notebook.read_text())  # kept notebooks are whole
    index = (runs / "index.html").read_text()
    assert index.rstrip().endswith("</html>")
    assert 'class="status running"' not in index
    assert all(f'href="{name}/"' in index for name in killed | {last.name})


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs; ``remount(ro=True)`` makes it read-only."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root; run as root (e.g. in CI) to test this")
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> None:
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        while os.write(fd, b"\0" * 4096):
            pass
    except OSError:
        pass  # full
    finally:
        os.close(fd)


def remount_read_only(disk: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)


def clv_run(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clv.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["full", "read-only"])
@pytest.mark.parametrize("command", ["summarize", "score", "fit", "kpis"])
def test_a_full_or_read_only_disk_is_one_line_and_leaves_nothing(command, fault, small_disk):
    data = shop_csv(small_disk.parent / "shop.csv")
    out = small_disk / ("out.json" if command in ("fit", "kpis") else "out.csv")
    fill(small_disk) if fault == "full" else remount_read_only(small_disk)
    before = checksums(small_disk.parent)
    done = clv_run(command, data, "--out", out)
    reason = "no space left on device" if fault == "full" else "read-only file system"
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"clv {command}: error: {out}: cannot be written ({reason}); "
        + ("free some space or write elsewhere" if fault == "full" else "write to another folder")
    ]
    assert checksums(small_disk.parent) == before


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["full", "read-only"])
def test_a_report_on_a_full_or_read_only_disk_never_stays_running(fault, small_disk):
    data = shop_csv(small_disk.parent / "shop.csv")
    runs = small_disk / "runs"
    runs.mkdir()
    fill(small_disk) if fault == "full" else remount_read_only(small_disk)
    done = clv_run("report", data, "--out", runs)
    assert done.returncode == 1, done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    assert "cannot be written" in done.stderr and str(runs) in done.stderr
    assert not [r for r in list_runs(runs) if r["status"] == "running"]
    assert not list(runs.rglob(".*")), "no temporary file is left"
