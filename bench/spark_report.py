"""The whole report on Spark (local mode): wall time and the driver's peak memory.

    .venv/bin/python bench/spark_report.py --customers 1000000
    .venv/bin/python bench/spark_report.py --customers 10000000 --driver-memory 8g --no-polars

Runs ``clv report DATA --engine spark`` as a fresh process on the cached shop of
``bench/bench.py`` (Parquet, with an order id and every optional column mapped) and, unless
``--no-polars``, the same report on the polars engine, then checks that both wrote the same
``kpis.json`` (numbers to 1e-6). Memory is sampled every 50 ms for each process of the run's
tree: the notebook kernel is the Spark driver's Python (its VmHWM is what the report holds on
the driver), the JVM is reported apart (in local mode it runs the executors too, so it is an
upper bound of a cluster's driver JVM).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from processes import _status_kib, _tree, clv_command

from bench import HERE, SEED, machine, shop_files, versions

COLUMNS = ["--order-col", "order_id", "--channel-col", "channel", "--loyalty-col", "loyalty"]
COLUMNS += ["--product-col", "product", "--margin-col", "margin"]


def _role(pid: int) -> str:
    """``kernel`` (the notebook's Python: the driver), ``jvm`` or ``other``."""
    with contextlib.suppress(OSError):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        if "ipykernel" in cmdline:
            return "kernel"
        if "java" in cmdline.split(" ", 1)[0]:
            return "jvm"
    return "other"


def run_report(args: list[str], out: Path, env: dict[str, str]) -> dict[str, Any]:
    """``clv report`` with ``args`` into ``out`` in the environment ``env``: wall seconds and
    each role's peak MiB."""
    command = [*clv_command(), "report", *args, "--out", str(out)]
    peaks: dict[str, float] = {}
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, env=env)

        def sample() -> None:
            while proc.returncode is None:
                for pid in _tree(proc.pid):
                    role = _role(pid)
                    peaks[role] = max(peaks.get(role, 0.0), _status_kib(pid, "VmHWM") / 1024)
                time.sleep(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        seconds = time.perf_counter() - t0
        sampler.join()
        if proc.returncode:
            err.seek(0)
            tail = err.read().decode(errors="replace").strip().splitlines()[-1:]
            raise RuntimeError(f"clv report exited {proc.returncode}: {tail}")
    (run,) = out.glob("*-customer_value")
    kpis = json.loads((run / "kpis.json").read_text())
    return {"seconds": round(seconds, 1), "peak_mib": {k: round(v) for k, v in peaks.items()}} | {
        "kpis": kpis
    }


def worst_difference(got: Any, want: Any, at: str = "") -> tuple[float, str]:
    """The largest relative difference between two JSON documents' numbers (inf: not alike)
    and where it is (``channels.0.clv``)."""
    if isinstance(want, dict):
        if not isinstance(got, dict) or got.keys() != want.keys():
            return math.inf, at
        pairs = [worst_difference(got[k], want[k], f"{at}.{k}".lstrip(".")) for k in want]
        return max(pairs, default=(0.0, at))
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return math.inf, at
        pairs = [worst_difference(got[i], w, f"{at}.{i}") for i, w in enumerate(want)]
        return max(pairs, default=(0.0, at))
    if isinstance(want, float) and isinstance(got, int | float):
        if math.isnan(want) and math.isnan(got):
            return 0.0, at
        return abs(got - want) / max(abs(want), 1.0), at
    return (0.0 if got == want else math.inf), at


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path, default=HERE / "data")
    p.add_argument("--driver-memory", default="4g", help="the local JVM's heap (local mode)")
    p.add_argument("--no-polars", action="store_true", help="skip the polars engine's report")
    p.add_argument("--json", type=Path, help="write the results here")
    args = p.parse_args(argv)

    _, parquet, _ = shop_files(args.customers, SEED, args.data_dir)
    # the kernel starts a local session (local[*]); its JVM's heap is a spark-submit setting
    submit = f"--driver-memory {args.driver_memory} pyspark-shell"
    env = os.environ | {"PYSPARK_SUBMIT_ARGS": submit}
    results: dict[str, Any] = {"machine": machine(), "versions": versions()}
    results["config"] = {"customers": args.customers, "data": str(parquet), "submit": submit}
    with tempfile.TemporaryDirectory() as folder:
        engines = ("spark",) if args.no_polars else ("polars", "spark")
        for engine in engines:
            command = [str(parquet), *COLUMNS, "--engine", engine]
            results[engine] = run_report(command, Path(folder) / engine, env)
    if not args.no_polars:
        worst, at = worst_difference(results["spark"]["kpis"], results["polars"]["kpis"])
        results["kpis_worst_relative_difference"] = worst
        results["kpis_worst_at"] = at
        if worst > 1e-6:
            results["kpis_at_worst"] = {e: _at(results[e]["kpis"], at) for e in engines}
    for engine in engines:
        results[engine].pop("kpis")
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    worst = results.get("kpis_worst_relative_difference", 0.0)
    return 0 if worst <= 1e-6 else 1


def _at(document: Any, at: str) -> Any:
    for key in at.split("."):
        document = document[int(key)] if isinstance(document, list) else document[key]
    return document


if __name__ == "__main__":
    sys.exit(main())
