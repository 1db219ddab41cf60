"""Whole processes: what a user waits for at the shell, clv commands against lifetimes scripts.

Each side runs as a fresh OS process on the same file (wall clock from spawn to exit:
interpreter start, imports, reading, the work, writing the output), and the benchmark checks
that both computed the same numbers before it reports a time:

* ``summarize``: ``clv summarize DATA --out summary.parquet`` against
  ``bench/lifetimes_job.py DATA --job summarize`` (``summary_data_from_transaction_data``);
  frequency, recency and T equal, monetary value to 1e-12 relative.
* ``fit``: ``clv fit DATA --out model.json`` against ``--job fit`` (summary, BetaGeoFitter,
  GammaGammaFitter); parameters to 1e-6 relative.
* ``score``: ``clv score DATA --horizon 12 --horizon-unit M --out scores.parquet`` (with no
  ``--model`` it summarizes, fits and scores) against ``--job score`` (the same plus P(alive)
  and a 12-month CLV); see :func:`check_scores_job`.
* ``report``: the whole ``clv report`` with every optional column mapped (order, channel,
  product, loyalty, margin) against lifetimes' core job alone (``--job score``: summary, both
  fits, 12-month CLV); the target is a 1.25x speed-up and a peak under 3 GiB
  (:data:`TARGETS`, :data:`REPORT_TARGET_GIB`). Its parameters (1e-6) and P(alive) (1e-5)
  are checked against lifetimes'.

Every job runs on two files of the same shop: string ids with dates (the generated Parquet)
and integer ids with timestamps (``_int.parquet``: ``C0000153`` becomes 153, each date gets
a seeded time of day), since integer ids are what lifetimes is fastest on.

Bytecode is cached in the run's temporary folder (``PYTHONPYCACHEPREFIX``; the warm-up
writes it), as for an installed package. Peak memory is each process's VmHWM sampled every
20 ms (the report: the largest VmHWM in its process tree, the notebook kernel included).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from steps import (
    CLV_ATOL,
    FITTED_SCORES_RTOL,
    LIFETIMES_MONTH_WEEKS,
    MONEY_RTOL,
    MONTH_RTOL,
    OBSERVATION_END,
    P_ALIVE_ATOL,
    Context,
    Step,
    _close,
    _equal,
    _first_problem,
    check_params,
)

LIFETIMES_JOB = Path(__file__).resolve().parent / "lifetimes_job.py"
JOB_MONTHS, JOB_DISCOUNT_ANNUAL = 12, 0.10  # the CLI's defaults
REPORT_TARGET_GIB = 3.0
REPORT_COLUMNS = {
    "order_col": "order_id",
    "channel_col": "channel",
    "product_col": "product",
    "loyalty_col": "loyalty",
    "margin_col": "margin",
}
IDS = {"": "string ids", "_int": "integer ids + timestamps"}
"""Suffix of a step's name (and of its data file) → what the ids and dates are."""
_RUNS: list[tuple[str, str, float, float]] = []  # side, process name, seconds, peak MiB


# ---- data ----------------------------------------------------------------------------------


def integer_shop(parquet: Path) -> Path:
    """The shop with integer ids and timestamps (cached beside it): ``C0000153`` → 153, and
    each row's date plus a seeded time of day (the day, so every number, is unchanged)."""
    path = parquet.with_name(parquet.stem + "_int.parquet")
    if path.exists():
        return path
    frame = pl.read_parquet(parquet)
    seconds = np.random.default_rng(2024).integers(0, 86_400, size=frame.height)
    frame = frame.with_columns(
        customer_id=pl.col("customer_id").str.slice(1).cast(pl.Int64),
        date=pl.col("date").cast(pl.Datetime("us")) + pl.duration(seconds=pl.Series(seconds)),
    )
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    frame.write_parquet(tmp)
    os.replace(tmp, path)
    return path


def _data(ctx: Context, ids: str) -> Path:
    return integer_shop(ctx.parquet) if ids == "_int" else ctx.parquet


def _job_dir(ctx: Context, name: str) -> Path:
    path = ctx.workdir / "processes" / name
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---- running a process ---------------------------------------------------------------------


def clv_command() -> list[str]:
    """The installed ``clv`` command (the console script beside this interpreter)."""
    script = Path(sys.executable).with_name("clv")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from clv.cli import main; sys.exit(main())"]


def _status_kib(pid: int, key: str) -> int:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def _tree(pid: int) -> list[int]:
    import psutil

    try:
        return [pid] + [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def run_process(cmd: list[str], pycache: Path, *, tree: bool = False) -> tuple[float, float]:
    """Run ``cmd`` as a fresh process: (wall seconds, peak RSS MiB); raise if it fails.

    Bytecode is cached under ``pycache`` (``PYTHONPYCACHEPREFIX``), as an installed package
    has its ``.pyc`` files, even where the environment sets ``PYTHONDONTWRITEBYTECODE``. The
    peak is the VmHWM of the process (``tree``: of the largest process in its tree), sampled
    every 20 ms by a thread (a forked child's ``ru_maxrss`` would start at this process's).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(pycache)
    peak = [0]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(open(os.devnull, "wb"))
        err = stack.enter_context(tempfile.TemporaryFile())
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)

        def sample() -> None:
            while proc.returncode is None:
                pids = _tree(proc.pid) if tree else [proc.pid]
                peak[0] = max([peak[0], *(_status_kib(p, "VmHWM") for p in pids)])
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        seconds = time.perf_counter() - t0
        sampler.join()
        if proc.returncode != 0:
            err.seek(0)
            tail = (err.read().decode(errors="replace").strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {tail}")
    return seconds, peak[0] / 1024


# ---- the two sides -------------------------------------------------------------------------


def _clv_args(job: str, out: Path) -> list[str]:
    if job == "report":
        args = [a for k, v in REPORT_COLUMNS.items() for a in ("-p", f"{k}={v}")]
        return [*args, "--out", str(out / "reports")]
    args = ["--observation-end", OBSERVATION_END, "--overwrite"]
    if job == "score":
        args += ["--horizon", str(JOB_MONTHS), "--horizon-unit", "M"]
        args += ["--discount-rate", str(JOB_DISCOUNT_ANNUAL)]
    name = {"summarize": "summary.parquet", "fit": "model.json", "score": "scores.parquet"}[job]
    return [*args, "--out", str(out / name)]


def clv_side(job: str) -> Callable[[tuple[Path, Path]], dict[str, Any]]:
    """``clv JOB DATA ...`` as one fresh process; returns the data file and the output folder."""

    def run(inputs: tuple[Path, Path]) -> dict[str, Any]:
        data, out = inputs
        cmd = [*clv_command(), job, str(data), *_clv_args(job, out)]
        seconds, mib = run_process(cmd, out.parent / "pycache", tree=job == "report")
        _RUNS.append(("clv", f"clv {job}", seconds, mib))
        return {"data": data, "out": out}

    return run


def lifetimes_side(job: str, ids: str) -> Callable[[Context], dict[str, Any]]:
    """``bench/lifetimes_job.py --job JOB`` as a fresh process (the report: its core job)."""

    def run(ctx: Context) -> dict[str, Any]:
        out = _job_dir(ctx, f"lifetimes-{job}{ids}")
        core = "score" if job == "report" else job
        cmd = [sys.executable, str(LIFETIMES_JOB), str(_data(ctx, ids)), "--job", core]
        cmd += ["--observation-end", OBSERVATION_END, "--months", str(JOB_MONTHS)]
        cmd += ["--discount-rate", str(JOB_DISCOUNT_ANNUAL)]
        cmd += ["--out", str(out / "out.parquet"), "--params-out", str(out / "params.json")]
        seconds, mib = run_process(cmd, out.parent / "pycache")
        _RUNS.append(("lifetimes", f"{LIFETIMES_JOB.name} --job {core}", seconds, mib))
        return {"out": out}

    return run


# ---- checks --------------------------------------------------------------------------------


def _by_id(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("customer_id").cast(pl.String)).sort("customer_id")


def _their_params(theirs: dict[str, Any]) -> dict[str, float]:
    return json.loads((theirs["out"] / "params.json").read_text())


def check_summary_job(ours: dict[str, Any], theirs: dict[str, Any], ctx: Context) -> str | None:
    a = pl.read_parquet(ours["out"] / "summary.parquet")
    b = _by_id(pl.read_parquet(theirs["out"] / "out.parquet"))
    return _first_problem(
        None if a["customer_id"].is_sorted() else "clv's summary is not sorted by customer_id",
        _equal("customer_id", a["customer_id"].to_numpy(), b["customer_id"].to_numpy()),
        *(_equal(c, a[c].to_numpy(), b[c].to_numpy()) for c in ("frequency", "recency", "T")),
        _close("monetary_value", a["monetary_value"], b["monetary_value"], MONEY_RTOL),
    )


def check_fit_job(ours: dict[str, Any], theirs: dict[str, Any], ctx: Context) -> str | None:
    model = json.loads((ours["out"] / "model.json").read_text())
    return check_params(model["bgnbd"] | model["gamma_gamma"], _their_params(theirs))


def check_scores_job(ours: dict[str, Any], theirs: dict[str, Any], ctx: Context) -> str | None:
    """Same customers and summaries, parameters to 1e-6, P(alive) to 1e-5 (two separate fits),
    lifetimes' CLV equal to clv's model scored with lifetimes' month (4.345 weeks) to 1e-5,
    and the CLV each side wrote within the months' 0.074 % difference."""
    from clv.data.io import read_transactions
    from clv.data.rfm import rfm_summary
    from clv.models.fitting import fit

    # the same deterministic fit the process made, to score it with lifetimes' month
    summary = rfm_summary(read_transactions(ours["data"]), observation_end=OBSERVATION_END)
    model = fit(summary)
    problem = check_params(model.bgnbd | model.gamma_gamma, _their_params(theirs))
    if problem:
        return problem
    a = pl.read_parquet(ours["out"] / "scores.parquet")
    b = _by_id(pl.read_parquet(theirs["out"] / "out.parquet"))
    same_months = model.score(
        a.select("customer_id", "frequency", "recency", "T", "monetary_value"),
        horizon=JOB_MONTHS,
        horizon_unit="M",
        month_days=LIFETIMES_MONTH_WEEKS * 7,
        discount_rate_monthly=(1 + JOB_DISCOUNT_ANNUAL) ** (1 / 12) - 1,
        time_unit="W",
    )
    return _first_problem(
        _equal("customer_id", a["customer_id"].to_numpy(), b["customer_id"].to_numpy()),
        *(
            _equal(c, a[c].cast(pl.Float64).to_numpy(), b[c].to_numpy())
            for c in ("frequency", "recency", "T")
        ),
        _close("monetary_value", a["monetary_value"], b["monetary_value"], MONEY_RTOL),
        _close("p_alive", a["p_alive"], b["p_alive"], FITTED_SCORES_RTOL, P_ALIVE_ATOL),
        _close(
            "clv (lifetimes' month)", same_months["clv"], b["clv"], FITTED_SCORES_RTOL, CLV_ATOL
        ),
        _close("clv as written", a["clv"], b["clv"], MONTH_RTOL),
    )


def check_report_job(ours: dict[str, Any], theirs: dict[str, Any], ctx: Context) -> str | None:
    """The run succeeded; its model's parameters (1e-6) and P(alive) (1e-5) are lifetimes'."""
    runs = sorted(p for p in (ours["out"] / "reports").glob("*") if p.is_dir())
    if not runs:
        return "no report run folder"
    manifest = json.loads((runs[-1] / "manifest.json").read_text())
    if manifest.get("status") != "succeeded":
        return f"report run {manifest.get('status')}"
    model = json.loads((runs[-1] / "model.json").read_text())
    problem = check_params(model["bgnbd"] | model["gamma_gamma"], _their_params(theirs))
    a = _by_id(pl.read_parquet(runs[-1] / "scores.parquet"))
    b = _by_id(pl.read_parquet(theirs["out"] / "out.parquet"))
    return _first_problem(
        problem,
        _equal("customer_id", a["customer_id"].to_numpy(), b["customer_id"].to_numpy()),
        _close("p_alive", a["p_alive"], b["p_alive"], FITTED_SCORES_RTOL, P_ALIVE_ATOL),
    )


# ---- the rows ------------------------------------------------------------------------------


def _row_extra() -> dict[str, Any]:
    """Each process's seconds (the first run is the warm-up, which compiles the bytecode) and
    peak MiB over this step's runs; ``memory`` has the largest peak of each side."""
    runs: dict[str, dict[str, Any]] = {}
    for side, name, seconds, peak in _RUNS:
        run = runs.setdefault(name, {"side": side, "seconds": [], "peak_mib": 0.0})
        run["seconds"].append(round(seconds, 3))
        run["peak_mib"] = round(max(run["peak_mib"], peak), 1)
    _RUNS.clear()
    memory: dict[str, float] = {}
    for key, side in (("peak_mib", "clv"), ("lifetimes_peak_mib", "lifetimes")):
        peaks = [r["peak_mib"] for r in runs.values() if r["side"] == side]
        if peaks:
            memory[key] = max(peaks)
    extra: dict[str, Any] = {"processes": runs, "memory": memory}
    if "clv report" in runs:
        extra["memory_target_met"] = memory.get("peak_mib", 0) < REPORT_TARGET_GIB * 1024
    return extra


TARGETS = {"summarize": 4.0, "fit": 8.0, "score": 8.0, "report": 1.25}
"""Speed-ups asked for (the report: at least 1.25x faster than lifetimes' core job)."""
CHECKS = {
    "summarize": check_summary_job,
    "fit": check_fit_job,
    "score": check_scores_job,
    "report": check_report_job,
}


def _step(job: str, ids: str) -> Step:
    what = IDS[ids]
    if job == "report":
        label = f"whole `clv report`, every column ({what}) vs lifetimes core job"
        note = (
            "clv = `clv report DATA` with order, channel, product, loyalty and margin columns "
            "(peak: largest process of its tree, target < 3 GiB); lifetimes = "
            "bench/lifetimes_job.py --job score (summary + both fits + 12-month CLV)"
        )
    else:
        label = f"whole process: clv {job} ({what})"
        note = f"fresh processes: `clv {job}` vs bench/lifetimes_job.py --job {job}"
    return Step(
        f"{job}_process{ids}",
        label,
        lambda ctx: (_data(ctx, ids), _job_dir(ctx, f"clv-{job}{ids}")),
        clv_side(job),
        lifetimes_side(job, ids),
        CHECKS[job],
        target=TARGETS[job],
        note=note,
        row_extra=_row_extra,
    )


PROCESS_STEPS: list[Step] = [
    *(_step(job, ids) for job in ("summarize", "fit", "score") for ids in IDS),
    _step("report", ""),
]
"""The whole-process steps, after the in-process ones in the benchmark's table."""
