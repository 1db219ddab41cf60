"""Driver memory of ``clv kpis --engine spark`` (local mode): time and peak resident memory.

    .venv/bin/python bench/spark_kpis.py --customers 1000000

Runs the command in this process on the cached shop of ``bench/bench.py`` (Parquet, with an
order id) and reports the wall time and the driver's peak memory: this Python process (its
peak resident set) and the JVM (its ``VmHWM``; in local mode it runs the executors too, so it
is an upper bound of a cluster's driver). Extra arguments are passed on to ``clv kpis``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spark_engine import driver_memory

from bench import HERE, SEED, shop_files


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--data-dir", type=Path, default=HERE / "data")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--driver-memory", default="2g", help="spark.driver.memory (local mode)")
    p.add_argument("--out", type=Path, required=True, help="the kpis.json to write")
    args, extra = p.parse_known_args(argv)

    from clv.cli import main as clv

    _, parquet, _ = shop_files(args.customers, SEED, args.data_dir)
    command = ["kpis", str(parquet), "--order-col", "order_id", *extra, "--engine", "spark"]
    command += ["--spark-master", args.master, "--spark-conf"]
    command += [f"spark.driver.memory={args.driver_memory}", "--out", str(args.out)]
    warnings.filterwarnings("ignore", message=".*rows repeat an earlier row exactly")
    t0 = time.perf_counter()
    code = clv(command)
    seconds = time.perf_counter() - t0
    print(json.dumps({"exit": code, "seconds": round(seconds, 1)} | driver_memory(), indent=2))
    return code


if __name__ == "__main__":
    sys.exit(main())
