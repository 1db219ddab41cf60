"""Benchmark the Spark engine (local mode) against the polars engine: time, memory, same numbers.

    .venv/bin/python bench/spark_engine.py                       # 1 M customers, ~3 M rows
    .venv/bin/python bench/spark_engine.py --customers 200000    # the parity check of issue 18
    .venv/bin/python bench/spark_engine.py --customers 10000000 --driver-memory 8g --no-compare
                                                                 # issue 31: 10 M / ~30 M rows

The shop of ``bench/bench.py`` (string customer ids) is written once more with a time of
day on every row (``date`` a timestamp, hours 0-23), so both engines read timestamps. Each
Spark step runs twice in one session and the second (warm) run is reported; the session
start is timed once (cold). The polars engine runs the same steps on the same file, once.
Before anything is reported, the Spark results are compared with the polars ones: the
summary to 1e-9, the fitted parameters to 1e-6 and the scores to 1e-9 (relative); a
mismatch exits with status 1 (``--no-compare`` skips the polars engine, for sizes one machine
cannot hold twice). The reading step is the whole one-machine rule set
(:func:`clv.engines.spark_read.read_checked`). Peak memory is reported for the driver: the
Python process (its peak resident set) and, in local mode, the JVM (its ``VmHWM``: the JVM
runs the executors too, so this is an upper bound of a cluster's driver).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import HERE, SEED, machine, shop_files, versions

warnings.filterwarnings("ignore", message=".*rows repeat an earlier row exactly")


def timestamped(parquet: Path) -> Path:
    """The shop with a time of day on each row (cached beside it)."""
    out = parquet.with_name(parquet.stem + "_timestamps.parquet")
    if not out.exists():
        frame = pl.read_parquet(parquet)
        hours = pl.duration(hours=pl.int_range(pl.len()) % 24, minutes=17)
        frame.with_columns(date=pl.col("date").cast(pl.Datetime("us")) + hours).write_parquet(out)
    return out


def worst(got: pl.DataFrame, want: pl.DataFrame, columns: list[str]) -> float:
    """The largest relative difference (absolute below 1) over ``columns``."""
    assert got["customer_id"].to_list() == want["customer_id"].to_list()
    return max(
        float(
            np.max(
                np.abs(got[c].to_numpy() - want[c].to_numpy())
                / np.maximum(1, np.abs(want[c].to_numpy()))
            )
        )
        for c in columns
    )


def driver_memory() -> dict[str, float]:
    """Peak resident memory (MiB) of this Python process and of its JVM children so far."""
    import resource

    import psutil

    out = {"python": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error, OSError):
            if "java" in child.name():
                status = Path(f"/proc/{child.pid}/status").read_text()
                hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
                out["jvm"] = int(hwm.split()[1]) / 1024
    return {k: round(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--data-dir", type=Path, default=HERE / "data")
    p.add_argument("--out", type=Path, default=HERE / "results-spark.json")
    p.add_argument("--driver-memory", default="2g", help="spark.driver.memory (local mode)")
    p.add_argument("--repeat", type=int, default=2, help="runs in one session; the last is kept")
    p.add_argument("--no-compare", action="store_true", help="skip the polars engine")
    args = p.parse_args(argv)

    import clv

    _, parquet, _ = shop_files(args.customers, SEED, args.data_dir)
    source = timestamped(parquet)
    seconds: dict[str, float] = {}

    t0 = time.perf_counter()
    from clv.engines import spark as cs

    cs.spark_session(master=args.master, conf={"spark.driver.memory": args.driver_memory})
    seconds["session_start"] = time.perf_counter() - t0

    def spark_steps() -> dict[str, Any]:
        out: dict[str, Any] = {}
        t = time.perf_counter()
        tx = cs.read_transactions(source, order_col="order_id")
        out["read_and_check"] = time.perf_counter() - t
        t = time.perf_counter()
        summary = cs.rfm_summary(tx, observation_end="2024-12-31").cache()
        n = summary.count()
        out["summary"] = time.perf_counter() - t
        t = time.perf_counter()
        model = cs.fit(summary)
        out["fit"] = time.perf_counter() - t
        t = time.perf_counter()
        scores = cs.score(model, summary, horizon=12).cache()
        scores.count()
        out["score"] = time.perf_counter() - t
        out["results"] = (n, summary, model, scores)
        return out

    for _ in range(args.repeat - 1):  # warm-up
        spark_steps()
    warm = spark_steps()
    n, summary, model, scores = warm.pop("results")
    seconds |= {f"spark_{k}": v for k, v in warm.items()}
    seconds["spark_total"] = sum(warm.values())
    distinct = summary.select("frequency", "recency", "T").distinct().count()

    memory = driver_memory()
    passed, checks = True, {}
    if not args.no_compare:
        t = time.perf_counter()
        want = clv.rfm_summary(
            clv.read_transactions(source, order_col="order_id"), observation_end="2024-12-31"
        )
        want_model = clv.fit(want)
        want_scores = want_model.score(want, horizon=12)
        seconds["polars_total"] = time.perf_counter() - t

        got, got_scores = cs.to_polars(summary), cs.to_polars(scores)
        checks = {
            "summary": worst(got, want, ["recency", "T", "monetary_value", "revenue"]),
            "params": max(
                abs(getattr(model, part)[k] / v - 1)
                for part in ("bgnbd", "gamma_gamma")
                for k, v in getattr(want_model, part).items()
            ),
            "scores": worst(
                got_scores,
                want_scores,
                ["p_alive", "expected_purchases", "expected_order_value", "clv"],
            ),
        }
        same = got.select("frequency", "orders").equals(want.select("frequency", "orders"))
        tolerance = {"summary": 1e-9, "params": 1e-6, "scores": 1e-9}
        passed = same and all(checks[k] <= tolerance[k] for k in checks)
    results = {
        "customers": n,
        "rows": pl.scan_parquet(source).select(pl.len()).collect().item(),
        "distinct_bgnbd_rows": distinct,
        "master": args.master,
        "repeat": args.repeat,
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
        "driver_peak_mib": memory,
        "worst_relative_difference": checks,
        "check": ("passed" if passed else "FAILED") if checks else "not compared",
        "machine": machine(),
        "versions": versions() | {"pyspark": __import__("pyspark").__version__},
    }
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(
        json.dumps(
            {
                k: results[k]
                for k in (
                    "customers",
                    "rows",
                    "distinct_bgnbd_rows",
                    "seconds",
                    "driver_peak_mib",
                    "worst_relative_difference",
                    "check",
                )
            },
            indent=2,
        )
    )
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
