"""The analysis of a report run, computed by the runner while the notebook's cells run.

``clv report`` reads and checks the data before a run folder exists (a bad file fails with
its one line and leaves nothing). When the notebook declares the ``analysis_file``
parameter, the runner then goes on with that same :class:`~clv.analysis.results.Analysis`
on a thread: it computes the tables the notebook reads (:func:`wanted`, two chains at once:
the models on one thread, the order tables on the other). The Analysis without its tables
goes to ``analysis_file`` at once, and each table to a file of its own (:func:`table_file`)
the moment it is made; their frames are Arrow IPC files beside them, mapped rather than
unpickled. The notebook's first cell, :func:`analysis`, loads the Analysis; a cell that reads
a table the runner has not made yet waits for it, so the cells run while the runner is still
computing. Run by hand (no ``analysis_file``), it calls :func:`clv.analyze` itself. A table
that fails in the runner is not handed over, so the notebook computes it again and fails in
the cell that shows it, with the same one-line error, as without the hand-off.
"""

from __future__ import annotations

import gc
import os
import pickle
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping
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
        ("calibration", "model"),
        ("overview", "orders", "monthly", "returning_vs_new", "cohorts", "loyalty_by_month"),
    ),
    (
        ("channel_value",),
        (
            "holdout",
            "scores",
            "segments",
            "customers",
            "top_profile",
            "middle_to_top",
            "retention",
            "channels",
            "loyalty",
            "at_risk",
            "findings",
            "_kpis",
        ),
    ),
)
"""The tables :func:`compute` makes on two threads: the first chain of each phase (the models:
NumPy) beside the second (polars tables). The tables chain starts its second phase once the
models chain has made the first (the fitted model); the models chain reads no table of the
other and never waits. Each chain goes in the order the notebook shows its tables, so the
notebook's cells run as they come. What is left (the KPIs with the per-channel models) comes
after."""

LATER_NICE = 10
"""How much lower (Linux nice) the models chain runs after its first phase: the per-channel
models are read by the notebook's last cell only, so they take the CPU that the tables and the
notebook's figures leave, and the figures keep pace with the tables."""

BACKBONE = frozenset({"model", "scores", "segments", "orders", "customers", "_kpis"})
"""Tables computed whether or not the notebook names them: almost every other table needs them
(``_kpis``: :attr:`~clv.analysis.results.Analysis.kpis` but the per-channel models')."""

_PROPERTIES = frozenset(n for n, v in vars(Analysis).items() if isinstance(v, cached_property))


def wanted(notebook: Path) -> tuple[str, ...]:
    """The Analysis tables a notebook reads: every ``analysis.<table>`` in its code cells."""
    import nbformat

    cells = nbformat.read(notebook, as_version=4).cells
    source = "\n".join(c.source for c in cells if c.cell_type == "code")
    return tuple(sorted(set(re.findall(r"\banalysis\.(\w+)", source)) & _PROPERTIES))


def compute(
    analysis: Analysis,
    names: Iterable[str],
    *,
    stop: threading.Event | None = None,
    done: Callable[[], None] | None = None,
) -> None:
    """Compute ``names`` (Analysis tables) and what they need, each once.

    The summary first, then the :data:`PHASES` (two chains side by side, each on a thread of
    its own), then the rest. A table that raises is left uncomputed. Once ``stop`` is set, no
    further table is started. ``done`` is called after each table, on the thread that made it.
    """
    names, stop = tuple(names), stop or threading.Event()
    _compute(analysis, ("summary",), stop, done)
    models_made = [threading.Event() for _ in PHASES]
    finished = {"summary"} | {n for phase in PHASES for part in phase for n in part}
    errors: list[BaseException] = []

    def needed(part: tuple[str, ...]) -> list[str]:
        return [n for n in part if n in names or n in BACKBONE]

    def models() -> None:
        for k, phase in enumerate(PHASES):
            if k == 1:  # the per-channel models: read by the notebook's last cell only
                _lower_priority(LATER_NICE)
            try:
                _compute(analysis, needed(phase[0]), stop, done)
            finally:  # the tables chain never waits for a chain that ended
                models_made[k].set()
        tables_thread.join()
        _compute(analysis, [n for n in names if n not in finished], stop, done)

    def tables() -> None:
        for k, phase in enumerate(PHASES):
            if k:
                models_made[k - 1].wait()
            _compute(analysis, needed(phase[1]), stop, done)

    def run(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as e:  # raised to the caller, as on its own thread
            errors.append(e)

    # daemon threads: an interrupted run does not wait for their tables at exit
    models_thread, tables_thread = (
        threading.Thread(target=run, args=(target,), name=f"clv-{target.__name__}", daemon=True)
        for target in (models, tables)
    )
    tables_thread.start()
    models_thread.start()
    models_thread.join()
    if errors:
        raise errors[0]


def _lower_priority(nice: int) -> None:
    """Lower the calling thread's priority by ``nice`` (threads it starts inherit it). Linux
    only, where a thread has a nice value of its own; elsewhere nothing changes."""
    if sys.platform == "linux":
        with suppress(OSError):
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)


def _compute(
    analysis: Analysis,
    names: Iterable[str],
    stop: threading.Event,
    done: Callable[[], None] | None,
) -> None:
    for name in names:
        if stop.is_set():
            return
        with suppress(Exception):  # computed again where the notebook shows it, and raised there
            getattr(analysis, name)
        if done is not None:
            done()


def _lean(analysis: Analysis, names: tuple[str, ...]) -> Analysis:
    """``analysis`` without its tables but those in ``names`` computed so far."""
    lean = object.__new__(Analysis)
    lean.__dict__ = {k: v for k, v in vars(analysis).items() if k not in _PROPERTIES or k in names}
    return lean


class Handoff:
    """The runner's side: compute the Analysis on a thread and hand each table over as it
    is made.

    First the Analysis without its tables goes to ``path`` (with the names of the tables to
    come), then each table the notebook reads to a file of its own (:func:`table_file`) the
    moment it is made, so the notebook's cells run while later tables are computed. A writer
    thread does the writing: the threads that compute never wait for the disk. The tables the
    notebook does not read (the calibration summary, the orders table) stay here. A marker
    file says the hand-off is pending; it is removed once every table is handed over or the
    hand-off failed, so the kernel never waits for a file that will not come. ``error`` holds
    why the Analysis itself could not be handed over (a full disk, say); a table that cannot
    be, the notebook computes itself. ``close()`` waits for a write in progress and removes
    every file: a run leaves no hand-off behind, whatever way it ends.
    """

    def __init__(self, analysis: Analysis, names: Iterable[str], path: Path) -> None:
        self.path = path
        self.error: BaseException | None = None
        self.seconds: float | None = None
        """How long computing and handing over the tables took (None until all are)."""
        self._writing = path.with_name(f".writing{path.name}")
        self._lock = threading.Lock()  # the files and the frames written
        self._closed = False
        self._stop = threading.Event()
        self._analysis: Analysis | None = analysis
        self._sent: set[str] = set()
        self._sending = threading.Lock()  # _sent, updated by both computing threads
        self._queue: queue.SimpleQueue[tuple[Path, Any] | None] = queue.SimpleQueue()
        self._frames: dict[int, tuple[str, pl.DataFrame]] = {}
        pending_file(path).touch()
        self._thread = threading.Thread(
            target=self._run, args=(tuple(names),), name="clv-analysis", daemon=True
        )
        self._thread.start()

    def _run(self, names: tuple[str, ...]) -> None:
        t0 = time.perf_counter()
        analysis = cast(Analysis, self._analysis)
        self._analysis = None  # this thread's alone from here
        writer = threading.Thread(target=self._write_all, name="clv-handoff", daemon=True)
        writer.start()
        try:
            base = _lean(analysis, names)
            self._sent.update(k for k in vars(base) if k in _PROPERTIES)
            self._queue.put((self.path, (base, tuple(n for n in names if n not in self._sent))))
            compute(analysis, names, stop=self._stop, done=lambda: self._send(analysis, names))
        except BaseException as e:  # MemoryError making the base, say: the kernel is told
            self.error = e
        finally:
            self._queue.put(None)
            writer.join()
            if self.error is None and not self._stop.is_set():
                self.seconds = round(time.perf_counter() - t0, 3)
            with suppress(OSError):
                pending_file(self.path).unlink(missing_ok=True)

    def _send(self, analysis: Analysis, names: tuple[str, ...]) -> None:
        """Queue every table in ``names`` made since the last call (tables made on the way to
        another one too) for the writer."""
        computed = vars(analysis)
        with self._sending:
            new = [n for n in names if n in computed and n not in self._sent]
            self._sent.update(new)
        for name in new:
            self._queue.put((table_file(self.path, name), computed[name]))

    def _write_all(self) -> None:
        """The writer: pickle what is queued, in order, until ``None``."""
        while (item := self._queue.get()) is not None:
            out, value = item
            with self._lock:
                if self._closed or self.error is not None:
                    continue
                try:
                    with open(self._writing, "wb") as f:
                        _FramePickler(f, self.path, self._frames).dump(value)
                    os.replace(self._writing, out)
                except BaseException as e:  # a full disk: the notebook computes the rest
                    with suppress(OSError):
                        self._writing.unlink(missing_ok=True)
                    self._stop.set()
                    if out == self.path:  # the notebook has no Analysis
                        self.error = e

    def wait(self) -> None:
        """Until every table is made and handed over (or the hand-off stopped)."""
        self._thread.join()

    def close(self) -> None:
        """Stop: no file is written after this, and none is left."""
        self._stop.set()
        with self._lock:
            self._closed = True
            self._frames.clear()
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


def table_file(path: Path, name: str) -> Path:
    """The file of the hand-off ``path``'s table ``name``."""
    return frame_file(path, f"table-{name}")


class _FramePickler(pickle.Pickler):
    """Pickles with each polars frame written beside as uncompressed Arrow IPC (1 s for the
    840 MB of a 1 M-customer report, where pickling the frames takes 4 s; the kernel maps
    them instead of unpickling: 0.8 s instead of 3.6 s). ``frames`` (by ``id``) is shared by
    the pickles of one hand-off: a frame in several tables is written once."""

    def __init__(
        self, file: BinaryIO, path: Path, frames: dict[int, tuple[str, pl.DataFrame]]
    ) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.path, self.frames = path, frames

    def persistent_id(self, obj: Any) -> str | None:
        if not isinstance(obj, pl.DataFrame):
            return None
        if id(obj) not in self.frames:  # the frame is kept: its id is not reused
            out = frame_file(self.path, len(self.frames))
            obj.write_ipc(out, compression="uncompressed")
            self.frames[id(obj)] = (out.name, obj)
        return self.frames[id(obj)][0]


class _FrameUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, path: Path, frames: dict[str, pl.DataFrame]) -> None:
        super().__init__(file)
        self.path, self.frames = path, frames

    def persistent_load(self, pid: Any) -> pl.DataFrame:
        name = Path(str(pid)).name
        if name not in self.frames:
            self.frames[name] = pl.read_ipc(self.path.with_name(name))
        return self.frames[name]


def pending_file(path: Path) -> Path:
    """The marker beside the hand-off file ``path`` that exists while it is being made."""
    return path.with_name(f".pending{path.name}")


class _Inbox:
    """The kernel's side of a hand-off: the tables still to come from the runner."""

    def __init__(self, path: Path) -> None:
        self.path, self.coming = path, set[str]()
        self.runner = int(path.name.rsplit(".", 2)[1])  # .analysis.<pid>.tmp: the runner's pid
        self.frames: dict[str, pl.DataFrame] = {}

    def wait(self, file: Path) -> bool:
        """Wait for ``file``: True once it is there, False if the runner is done without it."""
        while not file.exists():
            if not pending_file(self.path).exists():
                return file.exists()
            if not pid_alive(self.runner):
                raise ReportError("clv report stopped before it handed over the analysis")
            time.sleep(POLL_S)
        return True

    def load(self, file: Path) -> Any:
        with open(file, "rb") as f:
            return _FrameUnpickler(f, self.path, self.frames).load()  # this run's own runner


class _Received(Analysis):
    """The runner's Analysis in the notebook: a table the runner makes is read from its file
    when a cell first asks for it (waiting for it if need be); any other is computed here."""

    def __getattribute__(self, name: str) -> Any:
        if name in _PROPERTIES:
            computed = object.__getattribute__(self, "__dict__")
            inbox: _Inbox = computed["_inbox"]
            if name in inbox.coming and name not in computed:
                inbox.coming.discard(name)
                file = table_file(inbox.path, name)
                if inbox.wait(file):  # else it failed there: computed (and raised) here
                    computed[name] = inbox.load(file)
        return super().__getattribute__(name)


def analysis(namespace: Mapping[str, Any]) -> Analysis:
    """The notebook's Analysis: the runner's (``analysis_file``) or :func:`clv.analyze` of
    the notebook's parameters (``namespace``: its globals)."""
    path = namespace.get("analysis_file")
    if path is None:
        from clv.analysis.pipeline import analyze
        from clv.report.parameters import analysis_keywords

        return analyze(**analysis_keywords(namespace))
    gc.freeze()  # the imported modules: never scanned again by the collector (0.6 s at 1 M)
    inbox = _Inbox(Path(path))
    if not inbox.wait(inbox.path):
        raise ReportError("clv report could not hand over the analysis")
    received, coming = inbox.load(inbox.path)
    inbox.coming.update(coming)
    received.__class__ = _Received
    received.__dict__["_inbox"] = inbox
    return cast(Analysis, received)
