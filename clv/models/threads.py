"""Independent model work on daemon threads, so that an interrupted run exits at once.

NumPy and SciPy's special functions release the GIL, so fits and interval draws that do not
depend on each other share the cores on threads. ``concurrent.futures`` would do, but Python
joins its workers when the interpreter exits: after Ctrl-C, a report would wait for every
queued fit before it ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_all(tasks: Sequence[Callable[[], T]], *, workers: int | None = None) -> list[T]:
    """Call every task, at most ``workers`` at once (default: the cores), on daemon threads.

    Returns their results in the order of ``tasks``; raises the first task's exception, in
    that order, once all have ended.
    """
    results: list[T | None] = [None] * len(tasks)
    errors: list[BaseException | None] = [None] * len(tasks)
    pending = iter(range(len(tasks)))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                i = next(pending, None)
            if i is None:
                return
            try:
                results[i] = tasks[i]()
            except BaseException as e:  # raised on the caller's thread below
                errors[i] = e

    count = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    threads = [threading.Thread(target=work, name="clv-model", daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None:
            raise error
    return results  # type: ignore[return-value]  # every task returned
