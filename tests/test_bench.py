"""The benchmark script runs end to end at a tiny size, so it never rots.

Both sides (clv and lifetimes/pandas) of every step run on a 3,000-customer synthetic shop
and must compute the same numbers; the memory probe runs each clv step in a fresh process.
The whole-process steps (fresh interpreters per side, a few seconds each here; the report
step runs papermill, about a minute) have their own slow tests.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench" / "bench.py"
sys.path.insert(0, str(BENCH.parent))

from processes import PROCESS_STEPS  # noqa: E402

from bench import ALL_STEPS, parse_args, table  # noqa: E402

PROCESS_NAMES = [s.name for s in PROCESS_STEPS]
PROCESS_STEP = "processes"
CLV_ONLY = {"clv_intervals": "not checked (no lifetimes run)", "channel_models": "passed"}


def _run(tmp_path: Path, *options: str) -> dict:
    out = tmp_path / "results.json"
    cmd = [sys.executable, str(BENCH), "--customers", "3000", "--repeats", "1"]
    cmd += ["--data-dir", str(tmp_path / "data"), "--out", str(out), *options]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| step" in done.stdout  # the table is printed
    return json.loads(out.read_text())


@pytest.mark.slow
def test_every_step_runs_and_both_sides_agree(tmp_path):
    steps = [s for s in ALL_STEPS if s not in PROCESS_NAMES]
    results = _run(tmp_path, "--steps", ",".join(steps))
    assert [r["step"] for r in results["steps"]] == steps
    for row in results["steps"]:
        if row["step"] in CLV_ONLY:  # no lifetimes side to time or compare
            assert row["check"] == CLV_ONLY[row["step"]], row
            assert row["clv_s"] > 0 and row["memory"]["peak_mib"] > 0, row
            continue
        assert row["check"] == "passed", row
        assert row["clv_s"] > 0 and row["lifetimes_s"] > 0 and row["speedup"] > 0
        # >=: a step may reuse memory its inputs freed (the allocator keeps it), so no growth
        assert row["memory"]["peak_mib"] >= row["memory"]["before_mib"] > 0, row
    assert results["machine"]["cores"] >= 1 and results["machine"]["memory_gib"] > 0
    assert results["config"]["customers"] == 3000 and results["config"]["rows"] > 3000
    assert {"polars", "pandas", "lifetimes", "clv"} <= set(results["versions"])
    # the shop is cached: a second run reuses the files
    assert (tmp_path / "data" / "shop_3000_seed2024.parquet").exists()


@pytest.mark.slow
def test_process_steps_and_the_report_step(tmp_path):
    """The whole-process rows, each side a fresh process, in one bench run (one shop made)."""
    jobs = ["summarize_process_int", "fit_process", "score_process_int"]
    results = _run(tmp_path, "--steps", ",".join([*jobs, "report_process"]))
    rows = {row["step"]: row for row in results["steps"]}
    assert list(rows) == [*jobs, "report_process"]
    for job in jobs:
        row = rows[job]
        assert row["check"] == "passed", row
        assert row["clv_s"] > 0 and row["lifetimes_s"] > 0 and row["speedup"] > 0
        runs = row["processes"]
        command = job.split("_")[0]
        assert set(runs) == {f"clv {command}", f"lifetimes_job.py --job {command}"}
        assert all(len(r["seconds"]) == 2 and min(r["seconds"]) > 0 for r in runs.values())
        assert row["memory"]["peak_mib"] > 0 and row["memory"]["lifetimes_peak_mib"] > 0
    # the integer-id file is derived once, beside the shop, with the same days
    assert (tmp_path / "data" / "shop_3000_seed2024_int.parquet").exists()
    row = rows["report_process"]
    assert row["check"] == "passed", row
    assert row["clv_s"] > 0 and row["lifetimes_s"] > 0 and row["speedup"] > 0
    assert set(row["processes"]) == {"clv report", "lifetimes_job.py --job score"}
    assert row["memory"]["peak_mib"] > 0 and row["memory_target_met"] is True


def test_options():
    args = parse_args(["--scale", "10"])
    assert args.customers == 10_000_000 and not args.lifetimes  # clv only at 10 M by default
    assert "report_process" not in args.steps and "summary_parquet" in args.steps
    assert parse_args([]).customers == 1_000_000 and parse_args([]).steps == ALL_STEPS
    with pytest.raises(SystemExit):
        parse_args(["--steps", "nonsense"])


def test_table_marks_failures_and_missed_targets():
    rows = [
        {"step": "a", "label": "A", "target": 10, "clv_s": 1.0, "clv_times_s": [1.0],
         "lifetimes_s": 5.0, "lifetimes_times_s": [5.0], "speedup": 5.0, "target_met": False,
         "memory": {"peak_mib": 100.0, "step_mib": 10.0}, "check": "passed"},
        {"step": "b", "label": "B", "target": None, "clv_s": 1.0, "clv_times_s": [1.0],
         "check": "FAILED: r differs"},
    ]  # fmt: skip
    text = table(rows)
    assert ">=10x MISSED" in text and "FAILED: r differs" in text and "5.0x" in text
