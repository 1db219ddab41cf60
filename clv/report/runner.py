"""Run a parameterised notebook with papermill, export self-contained HTML, keep every run.

A run is a folder ``<out_dir>/<UTC timestamp>-<notebook>/`` holding the executed notebook,
the HTML report, ``scores.parquet``, ``at_risk.csv``, ``lost.csv``, ``model.json``,
``kpis.json`` and ``manifest.json`` (see :mod:`clv.report.runs`). Runs are never overwritten.
Parameters are validated by :mod:`clv.report.parameters` before papermill starts.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import sys
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from clv import __version__
from clv.analysis.pipeline import analyze
from clv.analysis.results import Analysis
from clv.data.exclusions import is_id_file
from clv.data.write import storage_error
from clv.errors import ClvError, ClvInfo, DataError, ModelError, ReportError, UsageError
from clv.models.fitting import check_fittable
from clv.params import INJECTED, analysis_keywords
from clv.report.compare import resolve_compare_to, runs_salt
from clv.report.index import HEARTBEAT_S, record_failed_check, recover, write_index
from clv.report.parameters import (
    notebook_parameters,
    notebook_path,
    read_config,
    validate_parameters,
)
from clv.report.pdf import find_engine, print_pdf
from clv.report.render import export_html, utc_now
from clv.report.runs import (
    _input_file,
    _input_fingerprint,
    _section_timings,
    package_versions,
    update_manifest,
    write_manifest,
)

# --------------------------------------------------------------------------- running


_CLV_ERRORS = {"ClvError", "DataError", "ModelError", "ReportError", "UsageError"}


def check_data(parameters: Mapping[str, Any]) -> Analysis:
    """Read the ``data`` file and resolve the analysis' period and money, as the notebook will.

    :func:`run_report` calls it before a run folder exists, so a problem with the data, a
    parameter or data no model can be fitted to fails with its one-line error naming the file
    and leaves nothing behind: read, summary and :func:`clv.models.fitting.check_fittable`.
    With ``engine="spark"`` it is not called: the kernel's first cell reads and checks on
    Spark (see :func:`run_report`).
    """
    data = parameters.get("data")
    try:
        analysis = analyze(**analysis_keywords(parameters))
        check_fittable(analysis.summary)
    except (DataError, ModelError) as e:
        if data is None or str(data) in str(e):
            raise
        raise type(e)(f"{data}: {e}") from None
    return analysis


def run_report(
    data: str | os.PathLike[str] | None = None,
    *,
    notebook: str = "customer_value",
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    config: str | os.PathLike[str] | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
    pdf: bool = False,
) -> Path:
    """Run a report notebook into a new run folder and export its HTML; return the folder.

    The chain: check the parameters (:mod:`clv.params`), check the data (:func:`check_data`),
    run the notebook with papermill (its first cell calls :func:`clv.analyze`), export the
    HTML, write the run record.

    Parameters
    ----------
    data
        Transactions file; ``None`` uses the notebook's default (embedded data). Same as the
        ``data`` parameter (giving both with different values is an error).
    notebook
        ``customer_value`` or ``loyalty_review`` (or a path to a ``.ipynb``).
    parameters
        Notebook parameters: typed values or ``-p`` text. They override the ``config`` file's.
    out_dir
        Folder of runs; created if missing. ``index.html`` there is rebuilt after each run.
    config
        A TOML file of parameters (same names).
    progress
        Show papermill's progress bar on stderr.
    pdf
        Also print the HTML to ``<notebook>.pdf`` (A4) with headless Chromium
        (:mod:`clv.report.pdf`); without Chromium, a one-line error before anything runs.

    Raises
    ------
    UsageError
        An unknown parameter or a wrong value, before anything runs.
    DataError, ModelError
        The data file cannot be read, summarized or modelled (:func:`check_data`), before
        anything runs. With ``engine="spark"`` the data are read and checked once, on Spark,
        by the notebook's first cells (one Spark session per report, the kernel's): the same
        one-line error is then a ``ReportError`` of a failed run.
    ReportError
        A cell failed: the message is the cell's one-line error; the run folder keeps the
        partial notebook and its manifest says ``failed``.
    """
    t0 = time.perf_counter()
    path = notebook_path(notebook)
    name = path.stem
    if Path(out_dir).exists() and not Path(out_dir).is_dir():
        raise UsageError(f"{out_dir}: is a file; the runs folder (out_dir=) must be a folder")
    checked_at = utc_now()
    try:  # a failed check leaves no run folder, and one line in the runs folder's history
        values, effective = _checked(path, data, parameters, config, out_dir)
        given_data = values.get("data")  # errors name the file as given
        if given_data is not None:  # the notebook runs in its run folder: an absolute path
            where = _input_file(given_data, str(effective.get("engine") or "polars"))
            values["data"] = effective["data"] = where
        engine = find_engine() if pdf else None
    except ClvError as e:
        source = data if data is not None else (parameters or {}).get("data")
        record_failed_check(out_dir, name, str(e), data=source, started_at=checked_at)
        raise
    out = _runs_folder(out_dir)
    if is_id_file(values.get("exclude_customers")):  # the notebook runs in its run folder
        ids_file = str(Path(values["exclude_customers"]).expanduser().resolve())
        values["exclude_customers"] = effective["exclude_customers"] = ids_file
    recover(out)  # runs killed earlier: marked interrupted; temporary files removed
    run_dir = _new_run_dir(out, name)
    injected = {"run_dir": str(run_dir.resolve()), "id_salt": runs_salt(out)}
    now = utc_now()
    manifest: dict[str, Any] = {
        "run": run_dir.name,
        "notebook": name,
        "status": "running",
        "clv_version": __version__,
        "started_at": now,
        "finished_at": None,
        "error": None,
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "heartbeat_at": now,
        "parameters": {k: v for k, v in effective.items() if k not in INJECTED},
        "input": _input_fingerprint(values.get("data"), name),
        "row_counts": {},
        "headline": {},
        "versions": package_versions(),
        "timings_s": {"validate": round(time.perf_counter() - t0, 3)},
        "files": [],
    }
    timings = manifest["timings_s"]
    nb_file = run_dir / f"{name}.ipynb"
    outcome: BaseException | None = None
    try:  # every way out of this block, a kill -9 aside, ends in a final status below
        write_manifest(run_dir, manifest)
        write_index(out)  # the run is listed while it runs (and as interrupted if killed)
        _log(progress, f"clv report: running {name} into {run_dir}")
        with _heartbeat(run_dir):
            partial = run_dir / f".{name}.partial.ipynb"
            t1 = time.perf_counter()
            try:
                _execute(
                    path,
                    partial,
                    values | injected,
                    run_dir,
                    progress=progress,
                    kernel_name=kernel_name,
                )
            finally:
                timings["execute"] = round(time.perf_counter() - t1, 3)
                if partial.exists():
                    os.replace(partial, nb_file)
                if effective.get("engine") == "spark":
                    _reading_warnings(nb_file, shown=str(given_data), read=values.get("data"))
            t2 = time.perf_counter()
            try:
                html = run_dir / f"{name}.html"
                export_html(
                    nb_file,
                    html,
                    title=effective.get("title"),
                    manifest=manifest,
                    language=effective.get("language", "en"),
                )
            except (ClvError, OSError):
                raise
            except Exception as e:  # nbconvert's own errors
                text = f"{type(e).__name__}: {e}".splitlines()[0]
                raise ReportError(f"HTML export failed: {text}") from None
            finally:
                timings["export_html"] = round(time.perf_counter() - t2, 3)
            if engine is not None:
                t3 = time.perf_counter()
                try:
                    print_pdf(html, run_dir / f"{name}.pdf", engine=engine)
                finally:
                    timings["export_pdf"] = round(time.perf_counter() - t3, 3)
    except BaseException as e:  # Ctrl-C and SIGTERM too: recorded, re-raised below
        outcome = e
        if isinstance(e, ReportError) and e.about_data and given_data is not None:
            outcome = _naming(e, str(given_data), values["data"])
    _finish(run_dir, out, nb_file, timings, t0, outcome)
    if isinstance(outcome, KeyboardInterrupt | SystemExit):
        _log(True, f"clv report: interrupted; run {run_dir.name} marked interrupted")
        raise outcome
    if isinstance(outcome, OSError):
        raise storage_error(outcome.filename or run_dir, outcome) from None
    if isinstance(outcome, ReportError):
        outcome.run_dir = run_dir
    if outcome is not None:
        raise outcome
    _log(progress, f"clv report: wrote {run_dir / (name + '.html')}")
    return run_dir


def _checked(
    path: Path,
    data: str | os.PathLike[str] | None,
    parameters: Mapping[str, Any] | None,
    config: str | os.PathLike[str] | None,
    out_dir: str | os.PathLike[str],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The parameters given and in effect, checked, and the data checked (:func:`check_data`);
    an explicit ``compare_to`` run folder is checked and made absolute (the notebook runs in
    its run folder)."""
    given: dict[str, Any] = dict(read_config(config)) if config is not None else {}
    given.update(parameters or {})
    if data is not None:
        if given.get("data") not in (None, str(data)):
            raise UsageError(f"two data files given: {data} and data={given['data']}; pass one")
        given["data"] = str(data)
    values = validate_parameters(path, given)
    effective = notebook_parameters(path) | values
    target = effective.get("compare_to")
    if isinstance(target, str) and target.strip().lower() not in ("previous", "none"):
        folder = resolve_compare_to(target, out_dir, path.stem, before=None)
        values["compare_to"] = effective["compare_to"] = str(folder)
    if effective.get("engine") != "spark":  # Spark reads in the kernel: one session per report
        check_data(effective)  # before the file's path is resolved: errors name it as given
    return values, effective


_WARNING = re.compile(r"^.+?:\d+: (UserWarning|ClvInfo): (.+)$", re.MULTILINE)
"""A warning as Python prints it on stderr: ``file:line: Category: message``."""


def _reading_warnings(nb_file: Path, *, shown: str, read: str | None) -> None:
    """With ``engine="spark"`` the kernel reads the data (no :func:`check_data` here): repeat
    the warnings of the notebook's ``clv.analyze`` cell, as the check would have given them
    (naming the file as given, not by the absolute path the kernel read)."""
    try:
        cells = json.loads(nb_file.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return  # no notebook, or one cut off mid-write: the run's status says why
    for cell in cells:
        if cell.get("cell_type") == "code" and "clv.analyze(" in "".join(cell.get("source", "")):
            text = "".join(
                "".join(out.get("text", ""))
                for out in cell.get("outputs", [])
                if out.get("output_type") == "stream" and out.get("name") == "stderr"
            )
            for kind, message in _WARNING.findall(text):
                message = message.replace(read, shown) if read else message
                warnings.warn(message, ClvInfo if kind == "ClvInfo" else UserWarning, stacklevel=2)
            return


def _naming(error: ReportError, given: str, resolved: str) -> ReportError:
    """A cell's data or model error naming the data file as given (the kernel read it by its
    absolute path), as :func:`check_data` names it."""
    text = str(error).replace(resolved, given)
    named = ReportError(text if given in text else f"{given}: {text}")
    named.about_data = True
    return named


def _finish(
    run_dir: Path,
    out: Path,
    nb_file: Path,
    timings: dict[str, Any],
    t0: float,
    outcome: BaseException | None,
) -> None:
    """Record the run's final status, timings and files in its manifest; rebuild the index."""
    if outcome is None:
        status, error = "succeeded", None
    elif isinstance(outcome, KeyboardInterrupt | SystemExit):
        status, error = "interrupted", "interrupted"
    elif isinstance(outcome, OSError):
        status, error = "failed", str(storage_error(outcome.filename or run_dir, outcome))
    else:
        status, error = "failed", " ".join(f"{type(outcome).__name__}: {outcome}".split())
        if isinstance(outcome, ClvError):
            error = " ".join(str(outcome).split())
    if nb_file.exists():
        with suppress(OSError, ValueError):  # a notebook cut off mid-write has no timings
            timings["sections"] = _section_timings(nb_file)
    timings["total"] = round(time.perf_counter() - t0, 3)

    def final(manifest: dict[str, Any]) -> None:
        files = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
        manifest.update(status=status, error=error, finished_at=utc_now(), timings_s=timings)
        manifest["files"] = sorted({*files, "manifest.json"})

    try:
        update_manifest(run_dir, final)
        write_index(out)
    except OSError as e:  # a full disk: the next run shows this one as interrupted
        if outcome is None:
            raise storage_error(e.filename or run_dir, e) from None


@contextmanager
def _heartbeat(run_dir: Path) -> Iterator[None]:
    """Stamp ``heartbeat_at`` in the manifest every HEARTBEAT_S seconds while the block runs."""
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            with suppress(OSError):  # a full disk: the run's final status reports it
                update_manifest(run_dir, lambda m: m.update(heartbeat_at=utc_now()))

    thread = threading.Thread(target=beat, name="clv-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _runs_folder(out_dir: str | os.PathLike[str]) -> Path:
    """``out_dir``, created if missing; a one-line error if it is a file or cannot be made."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: is a file; the runs folder (out_dir) must be a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".write-check.{os.getpid()}.tmp"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise storage_error(out, e) from None
    return out


def _execute(
    source: Path,
    output: Path,
    params: dict[str, Any],
    run_dir: Path,
    *,
    progress: bool,
    kernel_name: str,
) -> None:
    """papermill, with a cell's ClvError turned into a ReportError carrying its one line."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    try:
        pm.execute_notebook(
            str(source),
            str(output),
            parameters=params,
            kernel_name=kernel_name,
            language="python",
            progress_bar=progress,
            log_output=False,
            cwd=str(run_dir),
            # keep the kernel's own log (a warning about local TCP on every start) off stderr
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            shutdown_kernel="immediate",
        )
    except PapermillExecutionError as e:
        raise _cell_error(e.ename, e.evalue, e.exec_count) from None
    except KeyboardInterrupt:
        _quiet_abandoned_cell()
        raise
    except (ClvError, OSError):
        raise
    except Exception as e:  # the kernel died or could not start
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ReportError(f"the notebook could not run: {text}") from None


def _quiet_abandoned_cell() -> None:
    """After Ctrl-C, the cell nbclient was waiting on ends with ``DeadKernelError`` once the
    kernel stops, and asyncio would print that task's traceback when it is collected (at
    random, at exit). The run is recorded as interrupted: silence that loop's late reports."""
    from jupyter_core.utils import ensure_event_loop

    ensure_event_loop().set_exception_handler(lambda loop, context: None)


_JAVA_CAUSE = re.compile(
    r"^(?:Caused by|): (?:[\w$]+\.)*([\w$]+)(?:: (.*?))?\s*$((?:\n(?!\tat ).*)*)", re.MULTILINE
)
"""A cause in a JVM error's text (``Caused by: org.apache.spark.SparkException: Job ...``):
its class, its message's first line and the lines up to its stack (a Python worker's
traceback)."""


def _cell_error(ename: str, evalue: str, exec_count: int | None) -> ReportError:
    line = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
    causes = _JAVA_CAUSE.findall(evalue or "") if ename == "Py4JJavaError" else []
    if causes:  # the innermost cause says what failed; the first line names a py4j call
        name, message, more = causes[-1]
        traceback = [text for text in more.splitlines() if text.strip()]
        if name == "PythonException" and traceback:  # a worker's: its last line is the error
            name, message = "", traceback[-1]
        line = ": ".join(part.strip() for part in (name, message) if part.strip())
    if ename in _CLV_ERRORS:
        error = ReportError(line or ename)
        error.exit_code = 2 if ename == "UsageError" else 1
        error.about_data = ename in ("DataError", "ModelError")
        return error
    where = f" in cell {exec_count}" if exec_count else ""
    return ReportError(f"{ename}{where}: {line}" if line else f"{ename}{where}")


def _new_run_dir(out: Path, name: str) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    for n in range(1, 1000):
        candidate = out / (f"{stamp}-{name}" if n == 1 else f"{stamp}-{name}-{n}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise ReportError(f"{out}: cannot create a new run folder for {stamp}-{name}")


def _log(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)
