"""Benchmark clv against lifetimes/pandas in the same run: time, peak memory, same numbers.

    .venv/bin/python bench/bench.py                      # 1 M customers, ~3 M rows
    .venv/bin/python bench/bench.py --customers 100000   # make bench-quick
    .venv/bin/python bench/bench.py --scale 10           # 10 M customers (clv only by default)
    .venv/bin/python bench/bench.py --steps bgnbd_fit,clv_12m --repeats 5 --out /tmp/r.json

What is measured
----------------
* Time: each side runs once as a warm-up, then ``--repeats`` times, the two sides in turn
  (clv, lifetimes, clv, ...: a machine whose speed drifts over minutes slows both alike); the
  median is reported (wall clock, ``time.perf_counter``, in this one process, the same data
  for both sides). A lifetimes step whose warm-up took longer than ``--slow-seconds`` is timed
  once more only; the table says how many timed runs each side had.
* Correctness: before a time is reported, the warm-up results of the two sides are compared
  (see ``bench/steps.py`` for the tolerances). A mismatch marks the row FAILED and the script
  exits with status 1.
* Memory (clv only): each clv step runs once more in a fresh Python process that imports clv,
  loads the step's inputs, resets the kernel's peak-RSS counter (``/proc/self/clear_refs``)
  and runs the step; ``peak MiB`` is that process's VmHWM (interpreter, imports and inputs
  included, so it is what a user's process would need), ``step MiB`` the growth over the RSS
  before the step.
* Whole processes (``bench/processes.py``): what a user waits for at the shell, as fresh OS
  processes on the same file, string ids and integer ids with timestamps: ``clv summarize``,
  ``clv fit`` and ``clv score`` against ``bench/lifetimes_job.py`` doing the same job, and the
  whole ``clv report`` (every optional column mapped) against lifetimes' core job (summary,
  both fits, 12-month CLV). Their peak MiB is the largest VmHWM of the clv processes (the
  report: of any process in its tree); results.json also has lifetimes' peak and each
  process's seconds.

* clv-only rows (no lifetimes side, so no speed-up): ``clv_intervals`` (12-month CLV with
  90 % intervals and P(top tier) from 200 parameter draws, on the same shop) and
  ``channel_models`` (per-channel models on ``clv.channel_shop``, 3 x 1,500 customers: its
  check passes when each channel's predicted next-year value is within 15 % of the simulated
  spend and its new-customer value within 20 %).

The synthetic shop comes from ``clv.datasets.synthetic_shop`` (seeded) and is cached under
``bench/data/`` (git-ignored) as Parquet and CSV.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processes import PROCESS_STEPS, REPORT_TARGET_GIB
from steps import FALLBACKS, STEPS, Context, Step

HERE = Path(__file__).resolve().parent
SEED = 2024
ALL_STEPS = [s.name for s in (*STEPS, *PROCESS_STEPS)]
LARGE_STEPS = [
    "summary_parquet",
    "summary_csv",
    "bgnbd_fit",
    "mbgnbd_fit",
    "pareto_nbd_fit",
    "gamma_gamma_fit",
    "fit",
]
MIB = 1024 * 1024

# The seeded shop has one exact duplicate row (by chance): clv rightly warns on every read,
# which would repeat through every timed run and hide the table.
warnings.filterwarnings("ignore", message=".*rows repeat an earlier row exactly")


# ---- data ----------------------------------------------------------------------------------


def shop_files(n_customers: int, seed: int, data_dir: Path) -> tuple[Path, Path, float | None]:
    """The cached synthetic shop as (CSV, Parquet); generated (and timed) when missing."""
    data_dir.mkdir(parents=True, exist_ok=True)
    stem = data_dir / f"shop_{n_customers}_seed{seed}"
    csv, parquet = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    if csv.exists() and parquet.exists():
        return csv, parquet, None
    from clv.data.datasets import synthetic_shop

    t0 = time.perf_counter()
    frame, _ = synthetic_shop(n_customers, seed=seed)
    for path, write in ((parquet, frame.write_parquet), (csv, frame.write_csv)):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        write(tmp)
        os.replace(tmp, path)
    return csv, parquet, time.perf_counter() - t0


def count_rows(parquet: Path) -> int:
    import polars as pl

    return int(pl.scan_parquet(parquet).select(pl.len()).collect().item())


# ---- machine -------------------------------------------------------------------------------


def _meminfo_kib(key: str, path: str = "/proc/meminfo") -> int | None:
    with contextlib.suppress(OSError):
        for line in Path(path).read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return None


def machine() -> dict[str, Any]:
    cpu = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    total = _meminfo_kib("MemTotal")
    return {
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "memory_gib": round(total / 1024**2, 1) if total else None,
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("clv", "polars", "pandas", "numpy", "scipy", "lifetimes", "pyarrow"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


# ---- timing --------------------------------------------------------------------------------


def timed(fn: Callable[[Any], Any], arg: Any) -> tuple[float, Any]:
    gc.collect()
    t0 = time.perf_counter()
    result = fn(arg)
    return time.perf_counter() - t0, result


def in_turn(runs: list[tuple[Callable[[Any], Any], Any, int]]) -> list[list[float]]:
    """Each ``(fn, arg, n)`` timed ``n`` times, one run of each in turn; the times of each."""
    times: list[list[float]] = [[] for _ in runs]
    for i in range(max(n for _, _, n in runs)):
        for (fn, arg, n), out in zip(runs, times, strict=True):
            if i < n:
                seconds, result = timed(fn, arg)
                del result
                out.append(seconds)
    return times


# ---- memory probe (a fresh process per clv step) --------------------------------------------


def _status_kib(key: str) -> int | None:
    return _meminfo_kib(key, "/proc/self/status")


def child(step_name: str, csv: Path, parquet: Path, workdir: Path) -> None:
    """Run one clv step in this fresh process and print its memory as one JSON line."""
    step = next(s for s in STEPS if s.name == step_name)
    ctx = Context(csv, parquet, workdir)
    inputs = step.clv_inputs(ctx)
    gc.collect()
    before = _status_kib("VmRSS") or 0
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        reset = True
    except OSError:
        reset = False
    t0 = time.perf_counter()
    step.clv(inputs)
    seconds = time.perf_counter() - t0
    peak = _status_kib("VmHWM") or 0
    print(
        json.dumps(
            {
                "peak_mib": round(peak / 1024, 1),
                "before_mib": round(before / 1024, 1),
                "step_mib": round((peak - before) / 1024, 1),
                "hwm_reset": reset,
                "cold_s": round(seconds, 3),
            }
        )
    )


def probe_memory(step: Step, csv: Path, parquet: Path, workdir: Path) -> dict[str, Any]:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", step.name]
    cmd += [
        "--child-csv",
        str(csv),
        "--child-parquet",
        str(parquet),
        "--child-workdir",
        str(workdir),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"memory probe failed: {tail}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---- one step ------------------------------------------------------------------------------


def run_step(
    step: Step,
    ctx: Context,
    args: argparse.Namespace,
    lifetimes_results: dict[str, Any],
    rows: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    row: dict[str, Any] = {"step": step.name, "label": step.label, "target": step.target}
    if step.note:
        row["note"] = step.note
    inputs = step.clv_inputs(ctx)
    _, ours = timed(step.clv, inputs)  # warm-up
    theirs = None
    if args.lifetimes and step.lifetimes is not None:
        warm, theirs = timed(step.lifetimes, ctx)
        lifetimes_results[step.name] = theirs
    elif (
        args.lifetimes
        and step.derived_from
        and all(n in lifetimes_results for n in step.derived_from)
    ):
        theirs = {}
        for n in step.derived_from:
            theirs |= lifetimes_results[n]
    if theirs is not None and step.check is not None:
        problem = step.check(ours, theirs, ctx)
        row["check"] = "passed" if problem is None else f"FAILED: {problem}"
    else:
        row["check"] = "not checked (no lifetimes run)"
    del ours
    runs: list[tuple[Callable[[Any], Any], Any, int]] = [(step.clv, inputs, args.repeats)]
    if theirs is not None and step.lifetimes is not None:
        n = 1 if warm > args.slow_seconds else args.repeats
        row["lifetimes_warmup_s"] = warm
        runs.append((step.lifetimes, ctx, n))
    row["clv_times_s"], *lifetimes_times = in_turn(runs)
    row["clv_s"] = statistics.median(row["clv_times_s"])
    if lifetimes_times:
        row["lifetimes_times_s"] = lifetimes_times[0]
        row["lifetimes_s"] = statistics.median(row["lifetimes_times_s"])
    elif theirs is not None and step.derived_from:
        parts = [rows[n].get("lifetimes_s") for n in step.derived_from if n in rows]
        if len(parts) == len(step.derived_from) and None not in parts:
            row["lifetimes_s"] = sum(parts)
            row["lifetimes_times_s"] = []
    del theirs, inputs
    if row.get("lifetimes_s") and row["check"] == "passed":
        row["speedup"] = row["lifetimes_s"] / row["clv_s"]
        row["target_met"] = None if step.target is None else row["speedup"] >= step.target
    if step.name in FALLBACKS:
        row["note"] = "clv side timed as the whole clv.fit (its internals changed)"
    if step.row_extra is not None:
        row |= step.row_extra()
    if row.get("memory_target_met") is False:
        row["target_met"] = False
    if args.memory and "memory" not in row:
        row["memory"] = probe_memory(step, ctx.csv, ctx.parquet, ctx.workdir)
    return row


# ---- output --------------------------------------------------------------------------------


def _fmt_s(row: dict[str, Any], key: str) -> str:
    value = row.get(f"{key}_s")
    if value is None:
        return "—"
    n = len(row.get(f"{key}_times_s") or [])
    return f"{value:.3f} ({n})" if n else f"{value:.3f} (sum)"


def table(rows: list[dict[str, Any]]) -> str:
    head = ["step", "clv s (n)", "lifetimes s (n)", "speed-up", "target", "clv peak MiB", "check"]
    lines = []
    for r in rows:
        speed = f"{r['speedup']:.1f}x" if "speedup" in r else "—"
        target = f">={r['target']:g}x" if r.get("target") else ""
        if "memory_target_met" in r:
            target += f", <{REPORT_TARGET_GIB:g} GiB"
        if r.get("target_met") is False:
            target += " MISSED"
        mem = r.get("memory") or {}
        peak = f"{mem['peak_mib']:.0f}" if "peak_mib" in mem else mem.get("error", "—")[:30]
        if "step_mib" in mem:
            peak += f" (+{mem['step_mib']:.0f})"
        check = r["check"] if len(r["check"]) < 60 else r["check"][:57] + "..."
        lines.append(
            [r["label"], _fmt_s(r, "clv"), _fmt_s(r, "lifetimes"), speed, target, peak, check]
        )
    widths = [max(len(str(x)) for x in col) for col in zip(head, *lines, strict=True)]

    def fmt(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(head), sep, *(fmt(line) for line in lines)])


# ---- main ----------------------------------------------------------------------------------


def _size_label(customers: int) -> str:
    """``1m``, ``10m``, ``100k``, ``2500``: the shop's size in a file name."""
    for unit, scale in (("m", 1_000_000), ("k", 1_000)):
        if customers % scale == 0:
            return f"{customers // scale}{unit}"
    return str(customers)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, help="customers in the synthetic shop (default 1 M)")
    p.add_argument("--scale", type=int, default=1, help="millions of customers (10: 10 M)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per side after a warm-up")
    p.add_argument(
        "--slow-seconds",
        type=float,
        default=10.0,
        help="a lifetimes step whose warm-up takes longer is timed once (default 10)",
    )
    p.add_argument("--steps", help=f"comma-separated subset of: {', '.join(ALL_STEPS)}")
    p.add_argument(
        "--lifetimes",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="run the lifetimes/pandas side (default: up to 2 M customers)",
    )
    p.add_argument(
        "--memory",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="measure each clv step's peak RSS in a fresh process (default on)",
    )
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--data-dir", type=Path, default=HERE / "data", help="cache of the shop files")
    p.add_argument(
        "--out",
        type=Path,
        help="results file (default bench/results.json at 1 M customers, else results-<size>.json)",
    )
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--child-csv", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-parquet", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--child-workdir", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.customers is None:
        args.customers = 1_000_000 * args.scale
    if args.out is None:
        size = _size_label(args.customers)
        args.out = HERE / ("results.json" if size == "1m" else f"results-{size}.json")
    if args.lifetimes is None:
        args.lifetimes = args.customers <= 2_000_000
    if args.steps:
        args.steps = [s.strip() for s in args.steps.split(",") if s.strip()]
        unknown = sorted(set(args.steps) - set(ALL_STEPS))
        if unknown:
            p.error(f"unknown step(s) {', '.join(unknown)}; choose from {', '.join(ALL_STEPS)}")
    else:
        args.steps = ALL_STEPS if args.customers <= 2_000_000 else LARGE_STEPS
    if args.repeats < 1:
        p.error("--repeats must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        child(args.child, args.child_csv, args.child_parquet, args.child_workdir)
        return 0
    started = dt.datetime.now(dt.UTC)
    info = machine()
    print(
        f"clv benchmark: {args.customers:,} customers, repeats {args.repeats}, "
        f"{info['cores']} cores, {info['memory_gib']} GiB, load {info['load_average_at_start']}",
        file=sys.stderr,
    )
    csv, parquet, generated_s = shop_files(args.customers, args.seed, args.data_dir)
    n_rows = count_rows(parquet)
    if generated_s is not None:
        print(f"generated {n_rows:,} rows in {generated_s:.1f} s", file=sys.stderr)
    import_s = None
    if args.lifetimes:
        t0 = time.perf_counter()
        import lifetimes  # noqa: F401  (its import costs seconds: keep it out of the timings)

        import_s = time.perf_counter() - t0
    rows: dict[str, dict[str, Any]] = {}
    lifetimes_results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="clv-bench-") as tmp:
        workdir = Path(tmp)
        ctx = Context(csv, parquet, workdir)
        for step in (*STEPS, *PROCESS_STEPS):
            if step.name not in args.steps:
                continue
            print(f"  {step.name} ...", file=sys.stderr, flush=True)
            rows[step.name] = run_step(step, ctx, args, lifetimes_results, rows)
        del ctx
    ordered = [rows[n] for n in ALL_STEPS if n in rows]
    info["load_average_at_end"] = list(os.getloadavg())
    results = {
        "date": started.isoformat(timespec="seconds"),
        "machine": info,
        "versions": versions(),
        "config": {
            "customers": args.customers,
            "rows": n_rows,
            "seed": args.seed,
            "repeats": args.repeats,
            "slow_seconds": args.slow_seconds,
            "lifetimes": args.lifetimes,
            "memory": args.memory,
            "lifetimes_import_s": import_s,
            "data": {"csv": _relative(csv), "parquet": _relative(parquet)},
            "generated_s": generated_s,
        },
        "method": (
            "time: warm-up then median of the timed runs, the two sides in turn, both in this "
            "process on the same data; lifetimes steps slower than slow_seconds are timed once. "
            "Speed-up only when the check passed. Memory: clv step alone in a fresh process, "
            "VmHWM after loading inputs and resetting the peak (peak_mib includes interpreter, "
            "imports and inputs; step_mib is the growth). *_process steps: wall clock of fresh OS"
            " processes (clv summarize/fit/score vs bench/lifetimes_job.py --job, and the whole "
            "clv report vs lifetimes' core job), bytecode cached by the warm-up; peak_mib the "
            "largest sampled VmHWM of the clv processes (the report: of its process tree)."
        ),
        "steps": ordered,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(
        f"\nclv benchmark, {started:%Y-%m-%d}: {args.customers:,} customers / {n_rows:,} rows, "
        f"{info['cores']} cores, {info['memory_gib']} GiB ({info['cpu']})"
    )
    print(table(ordered))
    print(f"\nwrote {args.out}")
    return 1 if any(r["check"].startswith("FAILED") for r in ordered) else 0


def _relative(path: Path) -> str:
    """``path`` relative to the repository when it is inside it (no machine paths in results)."""
    try:
        return str(Path(path).resolve().relative_to(Path(__file__).resolve().parents[1]))
    except ValueError:
        return Path(path).name


if __name__ == "__main__":
    sys.exit(main())
