"""The analysis of a report run, computed by the runner while the notebook's kernel starts.

``clv report`` reads and checks the data before a run folder exists (a bad file fails with
its one line and leaves nothing). When the notebook declares the ``analysis_file``
parameter, the runner then goes on with that same :class:`~clv.analysis.results.Analysis`
on a thread: it computes the tables the notebook reads (:func:`wanted`, two chains at once:
the models on one thread, the order tables on the other) and pickles the Analysis to
``analysis_file``, while papermill starts the kernel and the notebook imports its modules.
The notebook's first cell, :func:`analysis`, waits for the file and loads it (its frames are
Arrow IPC files beside it, mapped rather than unpickled); run by hand
(no ``analysis_file``), it calls :func:`clv.analyze` itself. A table that fails in the runner
is left uncomputed, so the notebook computes it again and fails in the cell that shows it,
with the same one-line error, as without the hand-off.

At 1 M customers the runner's head start hides the kernel's start and imports (about 4 s)
and the data is read and summarized once instead of twice (about 3 s).
"""

from __future__ import annotations

import os
import pickle
import re
import threading
import time
from collections.abc import Iterable, Mapping
from contextlib import suppress
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO, cast

import polars as pl

from clv.analysis.results import Analysis
from clv.data.write import pid_alive
from clv.errors import ReportError

POLL_S = 0.05
"""How often the kernel looks for the runner's file (seconds)."""

PHASES = (
    (
        ("calibration", "model", "scores", "segments"),
        ("orders", "monthly", "cohorts", "returning_vs_new", "loyalty_by_month"),
    ),
    (
        ("channel_value",),
        (
            "customers",
            "holdout",
            "overview",
            "at_risk",
            "top_profile",
            "middle_to_top",
            "retention",
        ),
    ),
)
"""The tables :func:`compute` makes two at a time: in each phase the first chain (the models:
NumPy on one core) runs beside the second (polars tables), and neither reads a table the other
makes in that phase. What is left (the KPIs, the first page's findings) comes after."""

BACKBONE = frozenset({"model", "scores", "segments", "orders", "customers"})
"""Tables computed whether or not the notebook names them: almost every other table needs them."""

_PROPERTIES = frozenset(n for n, v in vars(Analysis).items() if isinstance(v, cached_property))


def wanted(notebook: Path) -> tuple[str, ...]:
    """The Analysis tables a notebook reads: every ``analysis.<table>`` in its code cells."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    source = "\n".join(c.source for c in cells if c.cell_type == "code")
    return tuple(sorted(set(re.findall(r"\banalysis\.(\w+)", source)) & _PROPERTIES))


def compute(
    analysis: Analysis, names: Iterable[str], *, stop: threading.Event | None = None
) -> None:
    """Compute ``names`` (Analysis tables) and what they need, each once.

    The summary first, then the :data:`PHASES` (two chains side by side), then the rest. A
    table that raises is left uncomputed. Once ``stop`` is set, no further table is started.
    """
    names, stop = tuple(names), stop or threading.Event()
    _compute(analysis, ("summary",), stop)
    done = {"summary"}
    for models, tables in PHASES:
        first, second = ([n for n in c if n in names or n in BACKBONE] for c in (models, tables))
        # a daemon thread: an interrupted run does not wait for its table at exit
        beside = threading.Thread(
            target=_compute, args=(analysis, second, stop), name="clv-tables", daemon=True
        )
        beside.start()
        _compute(analysis, first, stop)
        beside.join()
        done.update(first, second)
    _compute(analysis, [n for n in names if n not in done], stop)


def _compute(analysis: Analysis, names: Iterable[str], stop: threading.Event) -> None:
    for name in names:
        if stop.is_set():
            return
        with suppress(Exception):  # computed again where the notebook shows it, and raised there
            getattr(analysis, name)


def _lean(analysis: Analysis, names: tuple[str, ...]) -> Analysis:
    """``analysis`` without the tables computed on the way that the notebook does not read
    (the orders and customer tables, the calibration summary: half the pickle at 1 M
    customers); the notebook computes any of them again if it asks."""
    lean = object.__new__(Analysis)
    lean.__dict__ = {k: v for k, v in vars(analysis).items() if k not in _PROPERTIES or k in names}
    return lean


class Handoff:
    """The runner's side: compute the Analysis on a thread and pickle it to ``path``.

    A marker file says the hand-off is pending; the thread removes it when it is done,
    whether it wrote the Analysis or failed (``error`` then holds why: a full disk, say), so
    the kernel never waits for a file that will not come. ``close()`` waits for a write in
    progress and removes every file: a run leaves no hand-off behind, whatever way it ends.
    """

    def __init__(self, analysis: Analysis, names: Iterable[str], path: Path) -> None:
        self.path = path
        self.error: BaseException | None = None
        self.seconds: float | None = None
        """How long computing and writing the Analysis took (None until it is written)."""
        self._writing = path.with_name(f".writing{path.name}")
        self._lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._analysis: Analysis | None = analysis
        pending_file(path).touch()
        self._thread = threading.Thread(
            target=self._run, args=(tuple(names),), name="clv-analysis", daemon=True
        )
        self._thread.start()

    def _run(self, names: tuple[str, ...]) -> None:
        t0 = time.perf_counter()
        analysis = cast(Analysis, self._analysis)
        self._analysis = None  # this thread's alone from here
        try:
            compute(analysis, names, stop=self._stop)
            lean = _lean(analysis, names)
            del analysis  # the tables the notebook does not read can go
            with self._lock:
                if self._closed:
                    return
                with open(self._writing, "wb") as f:
                    _FramePickler(f, self.path).dump(lean)
                os.replace(self._writing, self.path)
                self.seconds = round(time.perf_counter() - t0, 3)
        except BaseException as e:  # a full disk, MemoryError, a table that cannot be pickled
            self.error = e
            with suppress(OSError):
                self._writing.unlink(missing_ok=True)
        finally:
            with suppress(OSError):
                pending_file(self.path).unlink(missing_ok=True)

    def close(self) -> None:
        """Stop: no file is written after this, and none is left."""
        self._stop.set()
        with self._lock:
            self._closed = True
            frames = self.path.parent.glob(frame_file(self.path, "*").name)
            for path in (self.path, self._writing, pending_file(self.path), *frames):
                with suppress(OSError):
                    path.unlink(missing_ok=True)


def file_name(pid: int) -> str:
    """The hand-off file of the runner ``pid`` (a ``.<name>.<pid>.tmp`` file: a killed run's
    is removed by the next run, as other temporary files are)."""
    return f".analysis.{pid}.tmp"


def frame_file(path: Path, n: int | str) -> Path:
    """The Arrow IPC file of the hand-off ``path``'s ``n``-th frame."""
    stem, pid, tmp = path.name.rsplit(".", 2)
    return path.with_name(f"{stem}-{n}.{pid}.{tmp}")


class _FramePickler(pickle.Pickler):
    """Pickles an Analysis with each polars frame written beside it as uncompressed Arrow
    IPC (1 s for the 840 MB of a 1 M-customer report, where pickling the frames takes 4 s;
    the kernel maps them instead of unpickling: 0.8 s instead of 3.6 s)."""

    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.path, self.frames = path, 0

    def persistent_id(self, obj: Any) -> str | None:
        if not isinstance(obj, pl.DataFrame):
            return None
        out = frame_file(self.path, self.frames)
        obj.write_ipc(out, compression="uncompressed")
        self.frames += 1
        return out.name


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, path: Path) -> None:
        super().__init__(file)
        self.path = path

    def persistent_load(self, pid: Any) -> pl.DataFrame:
        return pl.read_ipc(self.path.with_name(Path(str(pid)).name))


def pending_file(path: Path) -> Path:
    """The marker beside the hand-off file ``path`` that exists while it is being made."""
    return path.with_name(f".pending{path.name}")


def analysis(namespace: Mapping[str, Any]) -> Analysis:
    """The notebook's Analysis: the runner's (``analysis_file``) or :func:`clv.analyze` of
    the notebook's parameters (``namespace``: its globals)."""
    path = namespace.get("analysis_file")
    if path is None:
        from clv.analysis.pipeline import analyze
        from clv.report.parameters import analysis_keywords

        return analyze(**analysis_keywords(namespace))
    file = Path(path)
    runner = int(file.name.rsplit(".", 2)[1])  # .analysis.<pid>.tmp: the runner's pid
    while not file.exists():
        if not pending_file(file).exists() and not file.exists():
            raise ReportError("clv report could not hand over the analysis")
        if not pid_alive(runner):
            raise ReportError("clv report stopped before it handed over the analysis")
        time.sleep(POLL_S)
    with open(file, "rb") as f:
        return _FrameUnpickler(f, file).load()  # written by this run's own runner process
