"""Run a parameterised notebook with papermill, export self-contained HTML, keep every run.

A run is a folder ``<out_dir>/<UTC timestamp>-<notebook>/`` holding the executed notebook,
the HTML report, ``scores.parquet``, ``at_risk.csv``, ``model.json``, ``kpis.json`` and
``manifest.json`` (parameters, input file and its sha256, row counts, package versions,
timings per step, status). Runs are never overwritten; ``<out_dir>/index.html`` lists them all.

Parameters are validated here, before papermill starts: names come from the notebook's cell
tagged ``parameters``, types from :data:`PARAMETER_SPEC` (or, for a name it does not list,
from the default value). The notebooks call :func:`save_run`, :func:`run_parameters` and
:func:`run_metadata` from here; they show things with :mod:`clv.render` and compute their
sections with :mod:`clv.sections`.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import inspect
import json
import math
import os
import secrets
import sys
import time
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from clv import __version__
from clv.errors import ClvError, DataError, ModelError, ReportError, UsageError
from clv.io import atomic_output, read_transactions
from clv.io import write_json as io_write_json
from clv.render import export_html, format_number, headings, mask_ids, utc_now, value_text

_PACKAGE = Path(__file__).resolve().parent
NOTEBOOK_DIR = next(
    (d for d in (_PACKAGE.parent / "notebooks", _PACKAGE / "notebooks") if d.is_dir()),
    _PACKAGE / "notebooks",
)
"""Where the report notebooks live: ``notebooks/`` of the repository (an editable install),
or the copy a wheel carries inside the package."""

INJECTED = ("run_dir", "id_salt")
"""Parameters ``run_report`` sets itself; a user cannot pass them."""

_CLV_ERRORS = {"ClvError", "DataError", "ModelError", "ReportError", "UsageError"}


# --------------------------------------------------------------------------- parameters


@dataclass(frozen=True)
class Spec:
    """What a notebook parameter accepts.

    ``kind`` is one of ``str``, ``path``, ``int``, ``float``, ``bool``, ``date``, ``choice``,
    ``floats`` / ``ints`` (a list of numbers) or ``costs`` (a table name -> number);
    ``words`` are extra literal values accepted besides the kind (such as ``"auto"``);
    ``low``/``high`` bound numbers (inclusive); ``nullable`` accepts ``none``.
    """

    kind: str
    nullable: bool = False
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    length: int | None = None

    def expected(self) -> str:
        """The accepted values, in words, for an error message."""
        what = {
            "str": "text",
            "path": "a file path",
            "int": "a whole number",
            "float": "a number",
            "bool": "true or false",
            "date": "a date YYYY-MM-DD",
            "choice": "one of " + ", ".join(self.choices),
            "floats": "a list of numbers such as [0.2, 0.8]",
            "ints": "a list of whole numbers such as [4, 10]",
            "costs": "a table of numbers such as {search = 12.5, social = 30}",
        }[self.kind]
        if self.length is not None:
            what = what.replace("a list", f"a list of {self.length}")
        if self.low is not None and self.high is not None:
            what += f" from {self.low:g} to {self.high:g}"
        elif self.low is not None:
            what += f" >= {self.low:g}"
        extra = [f'"{w}"' for w in self.words] + (["none"] if self.nullable else [])
        return what + (" or " + " or ".join(extra) if extra else "")


_UNITS = ("D", "W", "M")
_COLUMN = Spec("str", nullable=True)

PARAMETER_SPEC: dict[str, Spec] = {
    "data": Spec("path", nullable=True),
    "customer_col": Spec("str"),
    "date_col": Spec("str"),
    "amount_col": Spec("str"),
    "order_col": _COLUMN,
    "channel_col": _COLUMN,
    "product_col": _COLUMN,
    "loyalty_col": _COLUMN,
    "margin_col": _COLUMN,
    "date_format": Spec("str", nullable=True),
    "separator": Spec("str"),
    "negative_amounts": Spec("choice", choices=("error", "drop", "net")),
    "observation_end": Spec("date", nullable=True),
    "calibration_end": Spec("date", nullable=True, words=("auto", "none")),
    "time_unit": Spec("choice", choices=_UNITS),
    "horizon": Spec("int", low=1),
    "horizon_unit": Spec("choice", choices=_UNITS),
    "discount_rate_annual": Spec("float", low=0.0, high=1.0),
    "margin": Spec("float", low=0.0, high=1.0),
    "penalizer": Spec("float", low=0.0),
    "top_share": Spec("float", low=0.01, high=0.99),
    "tier_cuts": Spec("floats", low=0.0, high=1.0, length=2),
    "at_risk_min_value_quantile": Spec("float", low=0.0, high=1.0),
    "at_risk_max_p_alive": Spec("float", low=0.0, high=1.0),
    "channel_costs": Spec("costs", nullable=True, low=0.0),
    "retention_uplift_points": Spec("float", low=0.0, high=100.0),
    "retention_cost": Spec("float", nullable=True, low=0.0),
    "acquisition_cost": Spec("float", nullable=True, low=0.0),
    "member_discount_rate": Spec("float", low=0.0, high=1.0),
    "cost_per_reward": Spec("float", low=0.0),
    "launch_date": Spec("date", nullable=True),
    "milestones": Spec("ints", low=1.0),
    "review_month": Spec("date", nullable=True, words=("auto",)),
    "synthetic_customers": Spec("int", low=10),
    "seed": Spec("int", low=0),
    "title": Spec("str", nullable=True),
    "mask_ids": Spec("bool"),
    "run_dir": Spec("path", nullable=True),
    "id_salt": Spec("str", nullable=True),
}
"""Every notebook parameter clv knows, as data. A name not listed here takes its type from
its default value in the notebook."""


def notebook_path(notebook: str | os.PathLike[str]) -> Path:
    """The ``.ipynb`` file for a notebook name (``customer_value``) or path."""
    text = str(notebook)
    if text.endswith(".ipynb"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"{path}: notebook not found")
        return path
    path = NOTEBOOK_DIR / f"{text}.ipynb"
    if not path.is_file():
        names = ", ".join(notebook_names()) or "none found"
        raise UsageError(f"unknown notebook {text!r}; choose one of {names}")
    return path


def notebook_names() -> list[str]:
    """Names of the report notebooks in :data:`NOTEBOOK_DIR`."""
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, Any]:
    """Names and default values of the notebook's cell tagged ``parameters``, in order."""
    path = notebook_path(notebook)
    # plain JSON: importing nbformat costs seconds (jsonschema), and this runs on every call
    cells = [
        c
        for c in json.loads(path.read_text(encoding="utf-8"))["cells"]
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(cells) != 1:
        raise ReportError(f"{path.name}: needs exactly one cell tagged 'parameters'")
    source = cells[0]["source"]
    defaults: dict[str, Any] = {}
    for node in ast.parse("".join(source) if isinstance(source, list) else source).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else getattr(node, "target", None)
        if not isinstance(target, ast.Name) or getattr(node, "value", None) is None:
            continue
        try:
            defaults[target.id] = ast.literal_eval(node.value)
        except ValueError:
            raise ReportError(
                f"{path.name}: parameter {target.id} needs a literal default value"
            ) from None
    return defaults


def parse_value(text: str) -> Any:
    """Read a ``-p name=value`` value as a TOML scalar, array or inline table.

    ``none``/``null`` give ``None``; ``true``/``false`` booleans; ``12`` and ``0.1`` numbers;
    ``1997-09-30`` a date; ``[0.2, 0.8]`` a list; ``{search = 10}`` a table; anything else
    is kept as text (quotes optional).
    """
    stripped = text.strip()
    if stripped.lower() in ("none", "null"):
        return None
    if stripped in ("True", "False"):
        return stripped == "True"
    try:
        return tomllib.loads(f"v = {stripped}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["horizon=6", "title=Q3 review"]`` -> ``{"horizon": "6", "title": "Q3 review"}``.

    Values stay text; :func:`validate_parameters` reads them by the parameter's type.
    """
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"-p {pair!r}: write parameters as name=value, e.g. -p horizon=6")
        out[name.strip()] = value
    return out


def read_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parameters from a TOML file: the same names as ``-p``, at the top level."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"{path}: not valid TOML ({e})") from None


def validate_parameters(
    notebook: str | os.PathLike[str], params: Mapping[str, Any]
) -> dict[str, Any]:
    """Check names and values against the notebook's parameters; return them normalised.

    Text values (from ``-p``) are read by the parameter's type (see :func:`parse_value`);
    dates become ``YYYY-MM-DD`` text. Raises :class:`UsageError` naming the parameter and
    what it expects, or listing the valid names for an unknown one.
    """
    defaults = notebook_parameters(notebook)
    name = Path(str(notebook)).stem
    out: dict[str, Any] = {}
    for key, value in params.items():
        if key in INJECTED:
            raise UsageError(f"{key} is set by clv report itself; leave it out")
        if key not in defaults:
            valid = ", ".join(k for k in defaults if k not in INJECTED)
            raise UsageError(f"unknown parameter {key!r} for {name}; valid parameters: {valid}")
        spec = PARAMETER_SPEC.get(key) or _infer_spec(defaults[key])
        out[key] = _coerce(key, spec, value)
    cuts = out.get("tier_cuts")
    if cuts is not None and not cuts[0] < cuts[1]:
        raise UsageError(
            f"tier_cuts: expected two increasing shares such as [0.2, 0.8], not {cuts}"
        )
    return out


def _infer_spec(default: Any) -> Spec:
    if isinstance(default, bool):
        return Spec("bool")
    if isinstance(default, int):
        return Spec("int")
    if isinstance(default, float):
        return Spec("float")
    if isinstance(default, list):
        return Spec("floats")
    if isinstance(default, dict):
        return Spec("costs", nullable=True)
    return Spec("str", nullable=True)


def _coerce(name: str, spec: Spec, value: Any) -> Any:
    def bad() -> UsageError:
        return UsageError(f"parameter {name}: expected {spec.expected()}, got {value!r}")

    raw = value
    if isinstance(value, str) and spec.kind not in ("str", "path"):
        raw = parse_value(value)
    elif isinstance(value, str) and spec.nullable and value.strip().lower() in ("none", "null"):
        raw = None
    if isinstance(raw, str) and raw.strip().lower() in spec.words:
        return raw.strip().lower()
    if raw is None:
        if spec.nullable:
            return None
        raise bad()
    kind = spec.kind
    if kind in ("str", "path"):
        if not isinstance(raw, str) or (kind == "path" and not raw.strip()):
            raise bad()
        return raw
    if kind == "choice":
        if str(raw) not in spec.choices:
            raise bad()
        return str(raw)
    if kind == "bool":
        if not isinstance(raw, bool):
            raise bad()
        return raw
    if kind == "date":
        if isinstance(raw, dt.date):
            return raw.isoformat()[:10]
        try:
            return dt.date.fromisoformat(str(raw).strip()).isoformat()
        except ValueError:
            raise bad() from None
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw != int(raw):
            raise bad()
        return _bounded(int(raw), spec, bad)
    if kind == "float":
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            raise bad()
        return _bounded(float(raw), spec, bad)
    if kind in ("floats", "ints"):
        items = list(raw) if isinstance(raw, list | tuple) else None
        if items is None or (spec.length is not None and len(items) != spec.length):
            raise bad()
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in items):
            raise bad()
        if kind == "ints":
            if any(v != int(v) for v in items):
                raise bad()
            return [_bounded(int(v), spec, bad) for v in items]
        return [_bounded(float(v), spec, bad) for v in items]
    if kind == "costs":
        if not isinstance(raw, dict) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in raw.values()
        ):
            raise bad()
        return {str(k): _bounded(float(v), spec, bad) for k, v in raw.items()}
    raise bad()


def _bounded(value: float, spec: Spec, bad: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise bad()
    if (spec.low is not None and value < spec.low) or (spec.high is not None and value > spec.high):
        raise bad()
    return value


def resolve_calibration_end(
    transactions: pl.DataFrame,
    calibration_end: str | dt.date | None,
    *,
    dataset: str | None = None,
    observation_end: str | dt.date | None = None,
) -> dt.date | None:
    """The calibration end of the holdout check.

    ``"auto"``: 1997-09-30 (the published split) when ``dataset`` is ``"cdnow"`` (the
    embedded CDNOW sample the notebook loaded; None for a file of the user's), otherwise
    the day that leaves the last 25 % of the period (first transaction to
    ``observation_end``) as holdout. ``None`` or ``"none"``: no holdout check. A date must
    pass :func:`clv.rfm.calibration_holdout`'s own check (first transaction <= calibration end
    < observation end), which is run here on the first transaction alone.
    """
    from clv.rfm import as_date, calibration_holdout

    if calibration_end is None or str(calibration_end).lower() == "none":
        return None
    first, last = transactions.select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    ).row(0)
    end = as_date(observation_end, "observation_end") if observation_end is not None else last
    if str(calibration_end).lower() == "auto":
        if dataset == "cdnow":
            from clv.datasets import CDNOW_CALIBRATION_END

            return as_date(CDNOW_CALIBRATION_END)
        return first + dt.timedelta(days=round(0.75 * (end - first).days))
    cal = as_date(calibration_end, "calibration_end")
    try:  # the same rule as the holdout split itself, on one row: cheap
        calibration_holdout(
            transactions.sort("date").head(1), calibration_end=cal, observation_end=end
        )
    except DataError:
        raise UsageError(
            f"calibration_end {cal} must fall on or after the first transaction {first} and "
            f"before the observation end {end}; pass calibration_end=none to skip the holdout "
            "check"
        ) from None
    return cal


def run_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values (those clv knows) from its global namespace."""
    return {k: namespace[k] for k in PARAMETER_SPEC if k in namespace and k not in INJECTED}


# --------------------------------------------------------------------------- running


def check_data(parameters: Mapping[str, Any]) -> None:
    """Read, summarize, fit and score the ``data`` file as the notebook will.

    :func:`run_report` calls it before a run folder exists, so a data or model problem
    fails in seconds with its one-line error naming the file, and leaves nothing behind.
    Embedded data (``data`` None) is not checked. 4 s at 1 M customers (all columns); the notebook
    then does the same work again.
    """
    data = parameters.get("data")
    if data is None:
        return
    from clv.models import fit
    from clv.rfm import rfm_summary

    keywords = inspect.signature(read_transactions).parameters
    read = {k: v for k, v in parameters.items() if k in keywords and k != "source"}
    transactions = read_transactions(data, **read)
    end = parameters.get("observation_end")
    try:
        summary = rfm_summary(
            transactions, observation_end=end, time_unit=parameters.get("time_unit", "W")
        )
        if "calibration_end" in parameters:
            resolve_calibration_end(
                transactions, parameters["calibration_end"], observation_end=end
            )
        model = fit(summary, penalizer=parameters.get("penalizer", 0.0))
        model.score(
            summary,
            horizon=parameters.get("horizon", 12),
            horizon_unit=parameters.get("horizon_unit", "M"),
            discount_rate_annual=parameters.get("discount_rate_annual", 0.10),
            margin=parameters.get("margin", 1.0),
        )
    except (DataError, ModelError) as e:
        if str(data) in str(e):
            raise
        raise type(e)(f"{data}: {e}") from None


def run_report(
    data: str | os.PathLike[str] | None = None,
    *,
    notebook: str = "customer_value",
    parameters: Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike[str] = "reports",
    config: str | os.PathLike[str] | None = None,
    progress: bool = True,
    kernel_name: str = "python3",
) -> Path:
    """Run a report notebook into a new run folder and export its HTML; return the folder.

    Parameters
    ----------
    data
        Transactions file; ``None`` uses the notebook's default (embedded data). Same as the
        ``data`` parameter (giving both with different values is an error).
    notebook
        ``customer_value`` or ``loyalty_review`` (or a path to a ``.ipynb``).
    parameters
        Notebook parameters: typed values or ``-p`` text (see :func:`parse_assignments`).
        They override the ``config`` file's values.
    out_dir
        Folder of runs; created if missing. ``index.html`` there is rebuilt after each run.
    config
        A TOML file of parameters (same names).
    progress
        Show papermill's progress bar on stderr.

    Raises
    ------
    UsageError
        An unknown parameter or a wrong value, before anything runs.
    DataError, ModelError
        The data file cannot be read, summarized or modelled (:func:`check_data`), before
        anything runs.
    ReportError
        A cell failed: the message is the cell's one-line error; the run folder keeps the
        partial notebook and its manifest says ``failed``.
    """
    t0 = time.perf_counter()
    path = notebook_path(notebook)
    name = path.stem
    given: dict[str, Any] = dict(read_config(config)) if config is not None else {}
    given.update(parameters or {})
    if data is not None:
        if given.get("data") not in (None, str(data)):
            raise UsageError(f"two data files given: {data} and data={given['data']}; pass one")
        given["data"] = str(data)
    params = validate_parameters(path, given)
    effective = notebook_parameters(path) | params
    if params.get("data") is not None:
        check_data(effective)  # before the file's path is resolved: errors name it as given
        params["data"] = effective["data"] = str(_input_file(params["data"]))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    run_dir = _new_run_dir(out, name)
    params["run_dir"] = str(run_dir.resolve())
    params["id_salt"] = secrets.token_hex(16)
    manifest: dict[str, Any] = {
        "run": run_dir.name,
        "notebook": name,
        "status": "running",
        "clv_version": __version__,
        "started_at": utc_now(),
        "finished_at": None,
        "error": None,
        "parameters": {k: v for k, v in effective.items() if k not in INJECTED},
        "input": _input_fingerprint(params.get("data"), name),
        "row_counts": {},
        "headline": {},
        "versions": package_versions(),
        "timings_s": {"validate": round(time.perf_counter() - t0, 3)},
        "files": [],
    }
    write_manifest(run_dir, manifest)
    _log(progress, f"clv report: running {name} into {run_dir}")
    nb_file = run_dir / f"{name}.ipynb"
    partial = run_dir / f".{name}.partial.ipynb"
    error: ReportError | None = None
    interrupted = False
    t1 = time.perf_counter()
    try:
        _execute(path, partial, params, run_dir, progress=progress, kernel_name=kernel_name)
    except KeyboardInterrupt:
        interrupted = True
    except ReportError as e:
        error = e
    execute_s = round(time.perf_counter() - t1, 3)
    if partial.exists():
        os.replace(partial, nb_file)
    manifest = read_manifest(run_dir) | {"timings_s": manifest["timings_s"]}
    manifest["timings_s"]["execute"] = execute_s
    if nb_file.exists():
        manifest["timings_s"]["sections"] = _section_timings(nb_file)
    if interrupted or error is not None:
        manifest["status"] = "failed"
        manifest["error"] = "interrupted" if interrupted else str(error)
    else:
        t2 = time.perf_counter()
        try:
            export_html(
                nb_file, run_dir / f"{name}.html", title=effective.get("title"), manifest=manifest
            )
        except Exception as e:
            manifest["status"] = "failed"
            manifest["error"] = f"HTML export failed: {type(e).__name__}: {e}".splitlines()[0]
            error = ReportError(manifest["error"])
        else:
            manifest["status"] = "succeeded"
        manifest["timings_s"]["export_html"] = round(time.perf_counter() - t2, 3)
    manifest["finished_at"] = utc_now()
    manifest["timings_s"]["total"] = round(time.perf_counter() - t0, 3)
    manifest["files"] = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("."))
    if "manifest.json" not in manifest["files"]:
        manifest["files"].append("manifest.json")
    write_manifest(run_dir, manifest)
    write_index(out)
    if interrupted:
        _log(True, f"clv report: interrupted; run {run_dir.name} marked failed")
        raise KeyboardInterrupt
    if error is not None:
        error.run_dir = run_dir  # type: ignore[attr-defined]
        raise error
    _log(progress, f"clv report: wrote {run_dir / (name + '.html')}")
    return run_dir


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
        )
    except PapermillExecutionError as e:
        raise _cell_error(e.ename, e.evalue, e.exec_count) from None
    except ClvError:
        raise
    except Exception as e:  # the kernel died or could not start
        text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ReportError(f"the notebook could not run: {text}") from None


def _cell_error(ename: str, evalue: str, exec_count: int | None) -> ReportError:
    line = (evalue or "").strip().splitlines()[0] if (evalue or "").strip() else ""
    if ename in _CLV_ERRORS:
        error = ReportError(line or ename)
        error.exit_code = 2 if ename == "UsageError" else 1
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


def _input_file(data: str) -> Path:
    path = Path(data).expanduser()
    if not path.is_file():
        raise DataError(f"{data}: file not found")
    return path.resolve()


def _input_fingerprint(data: str | None, notebook: str) -> dict[str, Any]:
    """Input file, size and sha256; for the embedded data, the file it is read from."""
    if data is None:
        if notebook == "loyalty_review":
            return {"path": None, "name": "synthetic shop (clv.datasets.synthetic_shop)"}
        from clv.datasets import _lifetimes_dir

        path = _lifetimes_dir() / "datasets" / "CDNOW_sample.txt"
        info = {"name": "CDNOW sample (embedded)"}
    else:
        path = Path(data)
        info = {"name": path.name}
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"path": str(path), **info, "bytes": path.stat().st_size, "sha256": digest.hexdigest()}


def package_versions() -> dict[str, str | None]:
    """Versions of Python and the packages a report depends on (without importing them)."""
    names = [
        "clv",
        "polars",
        "pandas",
        "numpy",
        "scipy",
        "lifetimes",
        "matplotlib",
        "seaborn",
        "papermill",
        "nbconvert",
        "ipykernel",
    ]
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for n in names:
        try:
            out[n] = version(n)
        except PackageNotFoundError:
            out[n] = None
    return out


def _section_timings(nb_file: Path) -> dict[str, float]:
    """Seconds per report section: papermill's cell durations summed under each heading."""
    import nbformat

    nb = nbformat.read(nb_file, as_version=4)
    out: dict[str, float] = {}
    section = "setup"
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            heads = [h for h in headings(cell.source) if h[0] == 2]
            if heads:
                section = heads[0][1]
            continue
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if isinstance(duration, int | float):
            out[section] = round(out.get(section, 0.0) + duration, 3)
    return out


def _log(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- files


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write a run-folder JSON file atomically (see :func:`clv.io.write_json`)."""
    return io_write_json(path, obj, overwrite=True)


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` of a run atomically."""
    return write_json(Path(run_dir) / "manifest.json", manifest)


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's ``manifest.json`` (empty dict if missing or unreadable)."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def run_metadata(run_dir: str | os.PathLike[str] | None) -> pl.DataFrame:
    """Run facts for the methods section: run, time, input and its sha256, versions.

    No absolute path appears: the input is named by its file name.
    """
    m = read_manifest(run_dir) if run_dir is not None else {}
    inp = m.get("input") or {}
    rows = [
        ("run", m.get("run") or "interactive (not run by clv report)"),
        ("started (UTC)", m.get("started_at") or utc_now()),
        ("notebook", m.get("notebook") or "-"),
        ("input", inp.get("name") or "-"),
        ("input sha256", inp.get("sha256") or "-"),
        ("input bytes", value_text(inp["bytes"]) if "bytes" in inp else "-"),
    ]
    for name, v in (m.get("versions") or package_versions()).items():
        rows.append((f"version of {name}", v or "-"))
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def save_run(
    run_dir: str | os.PathLike[str] | None,
    *,
    transactions: pl.DataFrame | None = None,
    scores: pl.DataFrame | None = None,
    at_risk: pl.DataFrame | None = None,
    model: Any = None,
    kpis: Mapping[str, Any] | None = None,
    id_salt: str | None = None,
) -> None:
    """Write a run's artefacts (called by the notebook); a no-op when ``run_dir`` is None.

    ``scores.parquet`` and ``at_risk.csv`` keep the real customer ids; ``at_risk.csv`` also
    has ``customer_ref``, the masked id the HTML shows, so a row of the report can be found.
    Row counts and headline numbers are merged into ``manifest.json``.
    """
    if run_dir is None:
        return
    from clv.io import write_frame

    run = Path(run_dir)
    counts: dict[str, int] = {}
    if transactions is not None:
        counts["transactions"] = transactions.height
    if scores is not None:
        write_frame(scores, run / "scores.parquet", overwrite=True)
        counts["customers"] = scores.height
    if at_risk is not None:
        if id_salt is not None and "customer_id" in at_risk.columns:
            at_risk = at_risk.with_columns(
                mask_ids(at_risk["customer_id"], id_salt).alias("customer_ref")
            )
        write_frame(at_risk, run / "at_risk.csv", overwrite=True)
        counts["at_risk"] = at_risk.height
    if model is not None:
        _save_model(model, run / "model.json")
    if kpis is not None:
        write_json(run / "kpis.json", kpis)
    manifest = read_manifest(run)
    manifest.setdefault("row_counts", {}).update(counts)
    if kpis is not None:
        manifest["headline"] = headline(kpis)
    write_manifest(run, manifest)


def _save_model(model: Any, path: Path) -> None:
    save = getattr(model, "save", None)
    if callable(save):
        with atomic_output(path, overwrite=True) as tmp:
            save(tmp)
        return
    fields = {k: getattr(model, k, None) for k in ("bgnbd", "gamma_gamma", "time_unit")}
    write_json(path, fields)


HEADLINE_KEYS = (
    "customers",
    "orders",
    "revenue",
    "repeat_customer_rate",
    "top_10pct_revenue_share",
    "predicted_clv_total",
)
"""Numbers copied from ``kpis.json`` into the manifest and shown in ``index.html``."""


def headline(kpis: Mapping[str, Any]) -> dict[str, Any]:
    """The headline subset of a KPI dict (missing keys left out)."""
    return {k: kpis[k] for k in HEADLINE_KEYS if k in kpis and kpis[k] is not None}


# --------------------------------------------------------------------------- index


def write_index(out_dir: str | os.PathLike[str]) -> Path:
    """Rebuild ``<out_dir>/index.html``: every run (newest first) with its status and numbers."""
    out = Path(out_dir)
    runs = []
    for manifest_file in out.glob("*/manifest.json"):
        m = read_manifest(manifest_file.parent)
        if m:
            runs.append((manifest_file.parent.name, m))
    runs.sort(key=lambda r: (r[1].get("started_at") or "", r[0]), reverse=True)
    e = html.escape
    rows = []
    for folder, m in runs:
        h = m.get("headline") or {}
        report = f"{folder}/{m.get('notebook', '')}.html"
        link = f'<a href="{e(report)}">report</a>' if (out / report).is_file() else "-"
        status = m.get("status", "?")
        rows.append(
            "<tr>"
            f"<td>{e(str(m.get('started_at') or ''))}</td>"
            f"<td>{e(str(m.get('notebook', '')))}</td>"
            f"<td>{e(str((m.get('input') or {}).get('name') or '-'))}</td>"
            f'<td class="status {e(status)}">{e(status)}</td>'
            f'<td class="num">{e(format_number(h.get("customers"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(format_number(h.get("revenue"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(format_number(h.get("repeat_customer_rate"), "{:.1%}"))}</td>'
            f'<td class="num">{e(format_number(h.get("top_10pct_revenue_share"), "{:.1%}"))}</td>'
            f'<td class="num">{e(format_number(h.get("predicted_clv_total"), "{:,.0f}"))}</td>'
            f'<td>{link} · <a href="{e(folder)}/">folder</a></td>'
            f"<td>{e(_no_paths(str(m.get('error') or ''), m))}</td>"
            "</tr>"
        )
    page = _INDEX.format(
        rows="\n".join(rows) or '<tr><td colspan="11">no runs yet</td></tr>',
        count=len(runs),
        when=e(utc_now()),
    )
    target = out / "index.html"
    with atomic_output(target, overwrite=True) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return target


def _no_paths(text: str, manifest: Mapping[str, Any]) -> str:
    """``text`` without the input file's folder (no machine paths in an HTML page)."""
    path = (manifest.get("input") or {}).get("path")
    if path:
        text = text.replace(str(Path(path).parent) + os.sep, "")
    return text


_INDEX = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>clv report runs</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px; padding: 0 1rem;
  color: #1f2933; }}
.wrap {{ overflow-x: auto; }}
table {{ border-collapse: collapse; font-size: .9rem; font-variant-numeric: tabular-nums; }}
th, td {{ padding: .3rem .6rem; border-bottom: 1px solid #d9dee3; text-align: left;
  white-space: nowrap; }}
th {{ background: #f4f6f8; }} td.num {{ text-align: right; }}
td.failed {{ color: #b42318; font-weight: 600; }} td.running {{ color: #9a6700; }}
td.succeeded {{ color: #1a7f37; }}
</style>
</head>
<body>
<h1>clv report runs</h1>
<p>{count} run(s), newest first; updated {when} (UTC). Each folder keeps its notebook,
scores, at-risk list, model, KPIs and manifest.</p>
<div class="wrap"><table>
<thead><tr><th>started (UTC)</th><th>notebook</th><th>data</th><th>status</th>
<th>customers</th><th>revenue</th><th>repeat rate</th><th>top 10 % share</th>
<th>predicted CLV</th><th>open</th><th>error</th></tr></thead>
<tbody>
{rows}
</tbody>
</table></div>
</body>
</html>
"""
