"""Independent model work on daemon threads: results in order, errors raised, no wait at exit."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from clv.models.threads import run_all


def test_results_come_in_the_order_of_the_tasks() -> None:
    def task(i: int) -> tuple[int, str]:
        time.sleep(0.01 * (5 - i))  # the later tasks end first
        return i, threading.current_thread().name

    results = run_all([lambda i=i: task(i) for i in range(5)], workers=3)
    assert [i for i, _ in results] == list(range(5))
    assert {name for _, name in results} <= {"clv-model"}
    assert run_all([]) == []


def test_the_first_error_in_task_order_is_raised_after_every_task_ran() -> None:
    ran: list[int] = []

    def task(i: int) -> int:
        ran.append(i)
        if i in (1, 3):
            raise ValueError(f"task {i}")
        return i

    with pytest.raises(ValueError, match="task 1"):
        run_all([lambda i=i: task(i) for i in range(5)], workers=2)
    assert sorted(ran) == list(range(5))


@pytest.mark.slow
def test_an_interrupted_process_does_not_wait_for_queued_work() -> None:
    """concurrent.futures joins its workers at exit: Ctrl-C would wait for every queued fit."""
    script = (
        "import threading, time\n"
        "from clv.models.threads import run_all\n"
        "threading.Thread(target=run_all, args=([lambda: time.sleep(3)] * 4,),"
        " kwargs={'workers': 2}, daemon=True).start()\n"
        "time.sleep(0.2)\n"
        "raise SystemExit(0)\n"
    )
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert time.perf_counter() - start < 2.5  # not the 6 s of the queued work
