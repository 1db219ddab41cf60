"""Run a parameterised notebook with papermill, export self-contained HTML, keep every run.

A run is a folder ``<out_dir>/<UTC timestamp>-<notebook>/`` holding the executed notebook,
the HTML report, ``scores.parquet``, ``at_risk.csv``, ``model.json``, ``kpis.json`` and
``manifest.json`` (parameters, input file and its sha256, row counts, package versions,
timings per step, status). Runs are never overwritten; ``<out_dir>/index.html`` lists them all.

Parameters are validated here, before papermill starts: names come from the notebook's cell
tagged ``parameters``, types from :data:`PARAMETER_SPEC` (or, for a name it does not list,
from the default value). The notebooks call :class:`Display` and :func:`save_run` from here.
"""

from __future__ import annotations

import ast
import datetime as dt
import hashlib
import html
import io
import json
import math
import os
import re
import secrets
import sys
import time
import tomllib
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import polars as pl

from clv import __version__
from clv.errors import ClvError, DataError, ReportError, UsageError
from clv.io import atomic_output

_PACKAGE = Path(__file__).resolve().parent
NOTEBOOK_DIR = next(
    (d for d in (_PACKAGE.parent / "notebooks", _PACKAGE / "notebooks") if d.is_dir()),
    _PACKAGE / "notebooks",
)
"""Where the report notebooks live: ``notebooks/`` of the repository (an editable install),
or the copy a wheel carries inside the package."""

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
"""nbconvert template folders shipped with clv (``clv_report``)."""

INJECTED = ("run_dir", "id_salt")
"""Parameters ``run_report`` sets itself; a user cannot pass them."""

ARTEFACTS = ("scores.parquet", "at_risk.csv", "model.json", "kpis.json")
"""Files the notebook writes into its run folder through :func:`save_run`."""

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


# --------------------------------------------------------------------------- running


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
    if params.get("data") is not None:
        params["data"] = str(_input_file(params["data"]))
    effective = notebook_parameters(path) | params
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
        "started_at": _utc_now(),
        "finished_at": None,
        "error": None,
        "parameters": {k: v for k, v in effective.items() if k not in INJECTED},
        "input": _fingerprint(params.get("data"), name),
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
    manifest["finished_at"] = _utc_now()
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
            extra_arguments=["--IPKernelApp.log_level=ERROR"],
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


def _fingerprint(data: str | None, notebook: str) -> dict[str, Any]:
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
            heads = [h for h in _headings(cell.source) if h[0] == 2]
            if heads:
                section = heads[0][1]
            continue
        duration = cell.get("metadata", {}).get("papermill", {}).get("duration")
        if isinstance(duration, int | float):
            out[section] = round(out.get(section, 0.0) + duration, 3)
    return out


def _utc_now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log(show: bool, text: str) -> None:
    if show:
        print(text, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- files


def write_json(path: str | os.PathLike[str], obj: Any) -> Path:
    """Write JSON atomically (NaN and infinities become null, dates ISO text)."""
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(_jsonable(obj), indent=2, allow_nan=False) + "\n")
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dt.date):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and not isinstance(obj, str | bytes):  # numpy scalars
        return _jsonable(obj.item())
    return obj


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> Path:
    """Write ``manifest.json`` of a run atomically."""
    return write_json(Path(run_dir) / "manifest.json", manifest)


def read_manifest(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The run's ``manifest.json`` (empty dict if missing or unreadable)."""
    try:
        return json.loads((Path(run_dir) / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def mask_ids(ids: pl.Series | Sequence[str], salt: str) -> pl.Series:
    """Salted SHA-256 of each customer id, shortened: ``"c-3f9a0c1b2d"`` (stable within a run)."""
    salt_b = salt.encode()
    values = [
        None if v is None else "c-" + hashlib.sha256(salt_b + str(v).encode()).hexdigest()[:10]
        for v in ids
    ]
    return pl.Series("customer_id", values, dtype=pl.String)


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


# --------------------------------------------------------------------------- HTML


def _headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, text)`` of the ATX headings of a markdown cell (outside code fences)."""
    out: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        hashes = len(line) - len(line.lstrip("#"))
        text = line[hashes:].strip().rstrip("#").strip()
        if 1 <= hashes <= 6 and text:
            out.append((hashes, text))
    return out


def _anchor(text: str) -> str:
    """The id nbconvert gives a markdown heading (rendered by nbconvert itself to be exact)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    found = re.search(r'id="([^"]*)"', markdown2html_mistune(f"## {text}"))
    return html.unescape(found.group(1)) if found else text.replace(" ", "-")


def export_html(
    notebook_file: str | os.PathLike[str],
    html_file: str | os.PathLike[str],
    *,
    title: str | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Export an executed notebook to one self-contained HTML file, atomically.

    No code and no prompts; figures are inline base64 PNG; nothing is loaded from the
    network (the ``clv_report`` template has no scripts and a Content-Security-Policy that
    only allows inline images and styles). Cells tagged ``remove-from-report`` are dropped.
    A table of contents lists the level-2 and level-3 headings.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook_file, html_file = Path(notebook_file), Path(html_file)
    nb = nbformat.read(notebook_file, as_version=4)
    manifest = manifest or {}
    remove = TagRemovePreprocessor(
        remove_cell_tags={"remove-from-report", "injected-parameters", "parameters"}
    )
    nb, _ = remove.preprocess(nb, {})
    toc = [
        {"level": level, "text": text, "anchor": _anchor(text)}
        for cell in nb.cells
        if cell.cell_type == "markdown"
        for level, text in _headings(cell.source)
        if level in (2, 3)
    ]
    title = title or notebook_file.stem.replace("_", " ").capitalize()
    data_name = (manifest.get("input") or {}).get("name") or "-"
    started = manifest.get("started_at") or _utc_now()
    exporter = HTMLExporter(
        template_name="clv_report",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    resources = {
        "metadata": {"name": title},
        "clv": {
            "title": title,
            "version": __version__,
            "toc": toc,
            "subtitle": f"Data: {data_name} · run {started} (UTC)",
            "footer": f"Made with clv {__version__} · run {manifest.get('run', '-')}. "
            "Customer ids are masked; the run folder's CSV and Parquet files hold the real ids.",
        },
    }
    body, _ = exporter.from_notebook_node(nb, resources=resources)
    with atomic_output(html_file, overwrite=True) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return html_file


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
            f'<td class="num">{e(_fmt(h.get("customers"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(_fmt(h.get("revenue"), "{:,.0f}"))}</td>'
            f'<td class="num">{e(_fmt(h.get("repeat_customer_rate"), "{:.1%}"))}</td>'
            f'<td class="num">{e(_fmt(h.get("top_10pct_revenue_share"), "{:.1%}"))}</td>'
            f'<td class="num">{e(_fmt(h.get("predicted_clv_total"), "{:,.0f}"))}</td>'
            f'<td>{link} · <a href="{e(folder)}/">folder</a></td>'
            f"<td>{e(_no_paths(str(m.get('error') or ''), m))}</td>"
            "</tr>"
        )
    page = _INDEX.format(
        rows="\n".join(rows) or '<tr><td colspan="11">no runs yet</td></tr>',
        count=len(runs),
        when=e(_utc_now()),
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


def _fmt(value: Any, pattern: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return pattern.format(value)
    return "-"


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


# --------------------------------------------------------------------------- notebook display


class Display:
    """What a report notebook shows: tables, figures, notes and headline cards, all escaped.

    Holds the only state a notebook needs: whether to mask customer ids and the salt.

    >>> show = Display(mask_ids=True, id_salt=None)  # doctest: +SKIP
    >>> show.table(scores.head(10), caption="Top customers")  # doctest: +SKIP
    """

    def __init__(self, *, mask_ids: bool = True, id_salt: str | None = None) -> None:
        self.mask_ids = mask_ids
        self.id_salt = id_salt or secrets.token_hex(16)

    def html(self, markup: str) -> None:
        """Show HTML that clv built (every data value in it already escaped)."""
        from IPython.display import HTML, display

        display(HTML(markup))

    def table(
        self,
        frame: pl.DataFrame | None,
        *,
        caption: str | None = None,
        max_rows: int = 25,
        formats: Mapping[str, str] | None = None,
        missing: str | None = None,
    ) -> None:
        """Show a frame as an HTML table (ids masked, values escaped, numbers formatted).

        ``frame`` None (a section whose column is absent) shows the ``missing`` note instead.
        """
        if frame is None:
            if missing:
                self.note(missing)
            return
        self.html(
            table_html(
                frame,
                caption=caption,
                max_rows=max_rows,
                formats=formats,
                id_salt=self.id_salt if self.mask_ids else None,
            )
        )

    def figure(self, fig: Any, *, alt: str | None = None) -> None:
        """Show a matplotlib Figure as an inline PNG (``alt`` defaults to its title)."""
        import base64

        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
        alt = alt or _figure_title(fig)
        data = base64.b64encode(buf.getvalue()).decode("ascii")
        self.html(f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">')

    def plot(self, figure: Any, *frames: Any, missing: str | None = None, **options: Any) -> None:
        """Draw ``figure(*frames, **options)`` (a :mod:`clv.plots` function) and show it.

        When a frame is None or empty (a section whose column is absent), shows the
        ``missing`` note instead of failing.
        """
        if any(f is None or (isinstance(f, pl.DataFrame) and f.height == 0) for f in frames):
            if missing:
                self.note(missing)
            return
        self.figure(figure(*frames, **options))

    def holdout(self, check: Mapping[str, Any] | None) -> None:
        """Show the holdout check of :func:`holdout_check` (a note when there is none)."""
        from clv import plots

        if check is None:
            self.note(MISSING["holdout"])
            return
        self.text(
            f"Calibration: up to {check['calibration_end']}; holdout: the "
            f"{check['holdout_days']} days after it. The model is refitted on the calibration "
            "period only, then its predictions are compared with what customers did next."
        )
        self.table(check["parameters"], caption="BG/NBD fitted on the calibration period")
        self.figure(plots.holdout_by_frequency(check["by_frequency"]))
        self.figure(
            plots.cumulative_tracking(check["tracking"], calibration_end=check["calibration_end"])
        )
        self.table(check["metrics"], caption="Holdout errors")

    def note(self, text: str) -> None:
        """Show a short note (e.g. why a section is empty)."""
        self.html(f'<p class="clv-note">{html.escape(text)}</p>')

    def text(self, text: str) -> None:
        """Show a paragraph of plain text."""
        self.html(f"<p>{html.escape(text)}</p>")

    def bullets(self, items: Iterable[str]) -> None:
        """Show findings as a bullet list."""
        lis = "".join(f"<li>{html.escape(str(i))}</li>" for i in items)
        self.html(f'<ul class="clv-findings">{lis}</ul>' if lis else "")

    def cards(self, values: Mapping[str, str]) -> None:
        """Show headline numbers as cards: label -> formatted value."""
        cards = "".join(
            f'<div class="clv-kpi"><div class="value">{html.escape(str(v))}</div>'
            f'<div class="label">{html.escape(str(k))}</div></div>'
            for k, v in values.items()
        )
        self.html(f'<div class="clv-headline">{cards}</div>')

    def params(self, values: Mapping[str, Any]) -> None:
        """Show the run's parameters (minus the injected ones) as a two-column table."""
        rows = [{"parameter": k, "value": _text(v)} for k, v in values.items() if k not in INJECTED]
        self.table(
            pl.DataFrame(rows, schema={"parameter": pl.String, "value": pl.String}),
            caption="Parameters",
            max_rows=200,
        )


def _figure_title(fig: Any) -> str:
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return sup.get_text()
    for ax in fig.get_axes():
        if ax.get_title():
            return ax.get_title()
    return "figure"


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name  # no machine paths in a report
    return str(value)


def table_html(
    frame: pl.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int = 25,
    formats: Mapping[str, str] | None = None,
    id_salt: str | None = None,
) -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows), inside a scrolling div.

    ``id_salt`` masks the ``customer_id`` column (see :func:`mask_ids`); ``formats`` maps a
    column to a format such as ``"{:.1%}"``; other floats get 2 decimals and thousands commas.
    """
    formats = dict(formats or {})
    shown = frame.head(max_rows)
    if id_salt is not None and "customer_id" in shown.columns:
        shown = shown.with_columns(mask_ids(shown["customer_id"], id_salt))
    e = html.escape
    numeric = {c for c, t in shown.schema.items() if t.is_numeric()}
    head = "".join(
        f'<th class="{"num" if c in numeric else "text"}">{e(c)}</th>' for c in shown.columns
    )
    body = []
    for row in shown.iter_rows():
        cells = []
        for c, v in zip(shown.columns, row, strict=True):
            cls = "num" if c in numeric else "text"
            cells.append(f'<td class="{cls}">{e(_cell(v, formats.get(c)))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if frame.height > max_rows:
        more = f'<p class="clv-more">first {max_rows:,} of {frame.height:,} rows</p>'
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return (
        f'<div class="clv-table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}</div>"
    )


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt is not None:
        try:
            return fmt.format(value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


# --------------------------------------------------------------------------- notebook steps


def load_data(
    data: str | os.PathLike[str] | None,
    *,
    observation_end: str | dt.date | None = None,
    default: str = "cdnow",
    synthetic_customers: int = 5_000,
    seed: int = 1,
    **read_options: Any,
) -> pl.DataFrame:
    """The report's transactions up to ``observation_end`` (inclusive; default: all).

    ``data`` is read with :func:`clv.io.read_transactions`; when it is None, the embedded
    default: ``"cdnow"`` (the CDNOW sample) or ``"synthetic_shop"`` (``synthetic_customers``
    customers drawn with ``seed``). ``read_options`` are ``read_transactions`` keywords
    (``customer_col``, ``channel_col``, ...). Every table of the report then describes the
    same period as the model.
    """
    if data is not None:
        from clv.io import read_transactions

        transactions = read_transactions(data, **read_options)
    elif default == "cdnow":
        from clv.datasets import cdnow

        transactions = cdnow()
    elif default == "synthetic_shop":
        from clv.datasets import synthetic_shop

        transactions = synthetic_shop(synthetic_customers, seed=seed)[0]
    else:
        raise UsageError(f"unknown embedded data {default!r}; use cdnow or synthetic_shop")
    if observation_end is None:
        return transactions
    from clv.rfm import as_date

    end = as_date(observation_end, "observation_end")
    observed = transactions.filter(pl.col("date") <= end)
    if observed.height < transactions.height:
        warnings.warn(
            f"{transactions.height - observed.height:,} rows after the observation end {end} "
            "are left out of the report",
            UserWarning,
            stacklevel=2,
        )
    return observed


def resolve_calibration_end(
    transactions: pl.DataFrame,
    calibration_end: str | dt.date | None,
    *,
    data: str | os.PathLike[str] | None = None,
    observation_end: str | dt.date | None = None,
) -> dt.date | None:
    """The calibration end of the holdout check.

    ``"auto"``: 1997-09-30 (the published split) for the embedded CDNOW sample, otherwise the
    day that leaves the last 25 % of the period (first transaction to ``observation_end``) as
    holdout. ``None`` or ``"none"``: no holdout check. A date is checked to fall inside the
    period.
    """
    from clv.rfm import as_date

    if calibration_end is None or str(calibration_end).lower() == "none":
        return None
    first, last = transactions.select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    ).row(0)
    end = as_date(observation_end, "observation_end") if observation_end is not None else last
    if str(calibration_end).lower() == "auto":
        if data is None and transactions["customer_id"].n_unique() == 2357:
            from clv.datasets import CDNOW_CALIBRATION_END

            return as_date(CDNOW_CALIBRATION_END)
        return first + dt.timedelta(days=round(0.75 * (end - first).days))
    cal = as_date(calibration_end, "calibration_end")
    if not first < cal < end:
        raise UsageError(
            f"calibration_end {cal} must fall between the first transaction {first} and the "
            f"observation end {end}; pass calibration_end=none to skip the holdout check"
        )
    return cal


def tiers_from_cuts(
    cuts: Sequence[float] = (0.2, 0.8), names: Sequence[str] = ("good", "middle", "bad")
) -> tuple[tuple[str, float], ...]:
    """``[0.2, 0.8]`` -> ``(("good", 0.2), ("middle", 0.6), ("bad", 0.2))``: tiers from the
    top down, cut at these cumulative shares of customers."""
    a, b = cuts
    if not 0 < a < b < 1:
        raise UsageError(f"tier_cuts must be two increasing shares in (0, 1), not {list(cuts)}")
    return ((names[0], a), (names[1], round(b - a, 12)), (names[2], round(1 - b, 12)))


def frequency_recency_grid(summary: pl.DataFrame, *, points: int = 30) -> pl.DataFrame:
    """Hypothetical customers for the frequency/recency matrices: every frequency from 0 to
    the 99th percentile, recencies from 0 to the longest ``T``, all observed for that ``T``.

    Returns a summary-like frame (``customer_id``, ``frequency``, ``recency``, ``T``,
    ``monetary_value``) to pass to ``ClvModel.score``.
    """
    import numpy as np

    t_max = float(summary["T"].max())
    f_max = max(int(summary["frequency"].quantile(0.99) or 1), 1)
    recency = np.minimum(np.round(np.linspace(0.0, t_max, points), 6), t_max)
    mv = float(summary.filter(pl.col("frequency") > 0)["monetary_value"].mean() or 1.0)
    # a customer without repeat purchases has recency 0 by definition: one row for frequency 0
    rows = [(f, float(r)) for f in range(f_max + 1) for r in recency if f > 0 or r == 0.0]
    grid = pl.DataFrame(rows, schema={"frequency": pl.Int64, "recency": pl.Float64}, orient="row")
    return grid.with_columns(
        customer_id=pl.format("grid-{}-{}", "frequency", pl.int_range(pl.len())),
        T=pl.lit(t_max),
        monetary_value=pl.when(pl.col("frequency") > 0).then(mv).otherwise(0.0),
    ).select("customer_id", "frequency", "recency", "T", "monetary_value")


MISSING = {
    "channel": "No channel column: this section is left out. Map one with channel_col "
    "(clv report -p channel_col=NAME) to compare acquisition channels.",
    "loyalty": "No loyalty column: this section is left out. Map one with loyalty_col "
    "(clv report -p loyalty_col=NAME) to review the loyalty program.",
    "holdout": "No holdout check: calibration_end is none.",
}
"""The note shown instead of a section whose optional column is absent."""


def customer_value_kpis(
    transactions: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    observation_end: str | dt.date | None = None,
    channel_costs: Mapping[str, float] | None = None,
    horizon: float = 12,
    horizon_unit: str = "M",
    orders: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """:func:`clv.kpis.headline_kpis` plus the predicted CLV over the horizon (``kpis.json``).

    Adds ``predicted_clv_total`` and ``predicted_clv_mean`` (currency, over ``horizon``
    ``horizon_unit``) and ``horizon`` (e.g. ``"12 M"``).
    """
    from clv.kpis import headline_kpis

    out = headline_kpis(
        transactions,
        scores,
        observation_end=observation_end,
        channel_costs=channel_costs,
        orders=orders,
        customers=customers,
    )
    clv = scores["clv"].fill_null(0.0)
    out["predicted_clv_total"] = float(clv.sum())
    out["predicted_clv_mean"] = float(clv.mean()) if clv.len() else None
    out["horizon"] = f"{horizon:g} {horizon_unit}"
    return out


def headline_cards(kpis: Mapping[str, Any], *, horizon: float, horizon_unit: str) -> dict[str, str]:
    """Headline numbers as label -> formatted text, for :meth:`Display.cards`."""
    unit = {"D": "days", "W": "weeks", "M": "months"}.get(horizon_unit, horizon_unit)
    spec = [
        ("customers", "customers", "{:,.0f}"),
        ("orders", "orders", "{:,.0f}"),
        ("revenue", "revenue", "{:,.0f}"),
        ("repeat_customer_rate", "repeat customer rate", "{:.1%}"),
        ("top_10pct_revenue_share", "revenue share of the top 10 %", "{:.1%}"),
        ("predicted_clv_total", f"predicted CLV, next {horizon:g} {unit}", "{:,.0f}"),
        ("predicted_clv_mean", "predicted CLV per customer", "{:,.2f}"),
        ("returning_vs_new_aov_ratio", "AOV returning / first orders", "{:.2f}"),
    ]
    return {label: _fmt(kpis.get(key), f) for key, label, f in spec if key in kpis}


def data_overview(transactions: pl.DataFrame) -> pl.DataFrame:
    """The transactions in a few lines: rows, customers, period, amounts, optional columns."""
    first, last = transactions.select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    ).row(0)
    optional = [
        c
        for c in ("order_id", "channel", "product", "loyalty", "margin")
        if c in transactions.columns
    ]
    rows = [
        ("rows", f"{transactions.height:,}"),
        ("customers", f"{transactions['customer_id'].n_unique():,}"),
        ("first day", str(first)),
        ("last day", str(last)),
        ("total amount", f"{transactions['amount'].sum():,.2f}"),
        ("mean amount per row", f"{transactions['amount'].mean():,.2f}"),
        ("optional columns", ", ".join(optional) or "none"),
    ]
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def describe(summary: pl.DataFrame) -> pl.DataFrame:
    """Mean, quartiles, 90th percentile and max of the RFM summary's numeric columns."""
    cols = [
        c
        for c in ("frequency", "recency", "T", "monetary_value", "orders", "revenue")
        if c in summary.columns
    ]
    rows = []
    for c in cols:
        s = summary[c].cast(pl.Float64)
        rows.append(
            (c, s.mean(), s.quantile(0.25), s.median(), s.quantile(0.75), s.quantile(0.9), s.max())
        )
    return pl.DataFrame(
        rows, schema=["column", "mean", "p25", "median", "p75", "p90", "max"], orient="row"
    )


def parameter_table(model: Any, which: str) -> pl.DataFrame:
    """Fitted parameters of ``model.bgnbd`` or ``model.gamma_gamma`` with standard errors."""
    params = getattr(model, which)
    errors = (getattr(model, "standard_errors", None) or {}).get(which, {})
    rows = [(k, float(v), errors.get(k)) for k, v in params.items()]
    frame = pl.DataFrame(
        rows,
        schema={"parameter": pl.String, "estimate": pl.Float64, "standard_error": pl.Float64},
        orient="row",
    )
    ll = (getattr(model, "log_likelihood", None) or {}).get(which)
    extra = [("log-likelihood", ll, None)] if ll is not None else []
    if extra:
        frame = pl.concat([frame, pl.DataFrame(extra, schema=frame.schema, orient="row")])
    return frame.with_columns(pl.col("estimate").round(4), pl.col("standard_error").round(4))


def model_notes(model: Any) -> list[str]:
    """Plain-language facts about the fit: converged, customers used, warnings."""
    notes = [
        f"Both models converged (the fit fails otherwise), on {model.n_customers:,} customers, "
        f"{model.n_repeat_buyers:,} of them repeat buyers; time unit {model.time_unit}.",
    ]
    if getattr(model, "n_excluded_gamma_gamma", 0):
        notes.append(
            f"{model.n_excluded_gamma_gamma:,} customers left out of Gamma-Gamma: "
            f"{model.excluded_gamma_gamma_reason}."
        )
    corr = getattr(model, "frequency_monetary_correlation", None)
    if corr is not None:
        notes.append(
            f"Correlation of frequency and order value among repeat buyers: {corr:.2f} "
            "(Gamma-Gamma assumes about 0)."
        )
    notes.extend(str(w) for w in getattr(model, "warnings", []) or [])
    return notes


def purchase_count_table(
    summary: pl.DataFrame, model: Any, *, max_frequency: int = 7
) -> pl.DataFrame:
    """Customers by repeat purchases, observed vs expected from the BG/NBD.

    Expected = the sum over customers of P(X(T_i) = n) (FHL 2005a eq. 8) at each customer's
    own age ``T_i``; the last row ``max_frequency+`` collects the rest.
    """
    import numpy as np

    from clv.models import probability_of_purchases

    T = summary["T"].cast(pl.Float64).to_numpy()
    freq = summary["frequency"].to_numpy()
    ts, weights = np.unique(T, return_counts=True)
    expected = [
        float((probability_of_purchases(model.bgnbd, ts, n) * weights).sum())
        for n in range(max_frequency)
    ]
    expected.append(float(len(T) - sum(expected)))
    observed = [int((freq == n).sum()) for n in range(max_frequency)]
    observed.append(int((freq >= max_frequency).sum()))
    labels = [str(n) for n in range(max_frequency)] + [f"{max_frequency}+"]
    return pl.DataFrame({"frequency": labels, "observed": observed, "expected": expected})


def with_scores(customers: pl.DataFrame, table: pl.DataFrame) -> pl.DataFrame:
    """``customers`` (:func:`clv.segments.customer_table`) joined with the segment table's
    tiers and scores, by ``customer_id``."""
    keep = [
        c
        for c in ("top", "tier", "clv_top", "value_tier", "p_alive", "expected_purchases", "clv")
        if c in table.columns
    ]
    keep = [c for c in keep if c not in customers.columns]
    return customers.join(table.select("customer_id", *keep), on="customer_id", how="left")


def as_table(values: Mapping[str, Any]) -> pl.DataFrame:
    """A flat dict as a two-column table of formatted values."""
    rows = [
        (str(k).replace("_", " "), _text_value(v))
        for k, v in values.items()
        if not isinstance(v, Mapping | list)
    ]
    return pl.DataFrame(rows, schema=["metric", "value"], orient="row")


def _text_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.2f}"
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return _text(v)


def at_risk_text(at_risk: pl.DataFrame, *, min_value_quantile: float, max_p_alive: float) -> str:
    """One sentence on the at-risk list: how many, the rule, the value at stake."""
    stake = at_risk["value_at_stake"].sum() if "value_at_stake" in at_risk.columns else 0.0
    return (
        f"{at_risk.height:,} customers have a historical value in the top "
        f"{1 - min_value_quantile:.0%} and a probability of still being active of at most "
        f"{max_p_alive:.0%}; together {stake:,.0f} of historical value is at stake. The full "
        "list, with the real customer ids, is at_risk.csv in the run folder."
    )


def members_only(frame: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``frame`` whose customer is a loyalty member (all rows without ``loyalty``)."""
    if "loyalty" not in customers.columns:
        return frame
    members = customers.filter(pl.col("loyalty")).select("customer_id")
    return frame.join(members, on="customer_id", how="semi", maintain_order="left")


def month_comparison(
    by_month: pl.DataFrame | None, review_month: Any = "auto"
) -> pl.DataFrame | None:
    """The review month next to the month before and the same month a year before.

    ``review_month``: any day of the month, or ``"auto"`` (the last month in ``by_month``).
    Returns ``None`` without data (no loyalty column).
    """
    from clv.rfm import as_date

    if by_month is None or by_month.height == 0:
        return None
    months = by_month.sort("month")
    if review_month is None or str(review_month).lower() == "auto":
        month = months["month"][-1]
    else:
        day = as_date(review_month, "review_month")
        month = dt.date(day.year, day.month, 1)
    prev = dt.date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)
    year = dt.date(month.year - 1, month.month, 1)
    labels = pl.DataFrame(
        {
            "period": ["this month", "last month", "a year before"],
            "month": [month, prev, year],
        }
    )
    return labels.join(months, on="month", how="left", maintain_order="left")


def before_after(orders: pl.DataFrame, launch_date: Any) -> pl.DataFrame | None:
    """:func:`clv.kpis.loyalty_before_after`, or ``None`` when no launch date is given."""
    if launch_date is None:
        return None
    from clv.kpis import loyalty_before_after

    return loyalty_before_after(orders, launch_date=launch_date)


def milestone_probabilities(
    model: Any,
    summary: pl.DataFrame,
    customers: pl.DataFrame,
    *,
    milestones: Sequence[int],
    horizon: float,
    horizon_unit: str = "M",
) -> pl.DataFrame:
    """P(a customer has at least ``k`` orders by the end of the horizon), per milestone.

    A customer with ``o`` orders needs ``k - o`` more purchases: the BG/NBD probability of at
    least that many in the horizon (1 when already there). Orders are counted as in
    :func:`clv.segments.customer_table`; the model counts purchase days, so this assumes one
    order per day. Returns ``customer_id`` and ``p_reach_<k>`` for
    :func:`clv.kpis.reward_milestones`.
    """
    from clv.rfm import TIME_UNIT_DAYS, unit_days

    t = horizon * unit_days(horizon_unit) / TIME_UNIT_DAYS[model.time_unit]
    joined = summary.select("customer_id", "frequency", "recency", "T").join(
        customers.select("customer_id", "orders"), on="customer_id", how="inner"
    )
    out = joined.select("customer_id")
    for k in milestones:
        need = (k - joined["orders"]).clip(lower_bound=0)
        p = pl.Series(f"p_reach_{k}", [1.0] * joined.height, dtype=pl.Float64)
        for n in sorted(set(need.to_list()) - {0}):
            rows = need == n
            part = joined.filter(rows)
            probs = model.probability_at_least(part, t=t, k=int(n), time_unit=model.time_unit)
            p = p.scatter(rows.arg_true(), probs)
        out = out.with_columns(p)
    return out


def run_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values (those clv knows) from its global namespace."""
    return {k: namespace[k] for k in PARAMETER_SPEC if k in namespace and k not in INJECTED}


def run_metadata(run_dir: str | os.PathLike[str] | None) -> pl.DataFrame:
    """Run facts for the methods section: run, time, input and its sha256, versions.

    No absolute path appears: the input is named by its file name.
    """
    m = read_manifest(run_dir) if run_dir is not None else {}
    inp = m.get("input") or {}
    rows = [
        ("run", m.get("run") or "interactive (not run by clv report)"),
        ("started (UTC)", m.get("started_at") or _utc_now()),
        ("notebook", m.get("notebook") or "-"),
        ("input", inp.get("name") or "-"),
        ("input sha256", inp.get("sha256") or "-"),
        ("input bytes", _text_value(inp["bytes"]) if "bytes" in inp else "-"),
    ]
    for name, v in (m.get("versions") or package_versions()).items():
        rows.append((f"version of {name}", v or "-"))
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


METHODS_HTML = """
<h3 id="Definitions">Definitions</h3>
<ul>
<li><b>Order</b>: an <code>order_id</code> when that column is given, otherwise a purchase
occasion (all of one customer's rows on one calendar day). <b>Revenue</b> is the sum of amounts;
<b>margin</b> is revenue times the margin rate, or the margin column.</li>
<li><b>AOV</b> (average order value) = revenue per order. A customer's first order is "new", every
later order "returning".</li>
<li><b>Repeat customer rate</b> = share of customers with more than one order.</li>
<li><b>Top 10 %</b> = the round(0.10 n) customers with the highest value: historical revenue for
the descriptive view, predicted CLV for the forward view. <b>Tiers</b>: good / middle / bad cut
at the tier_cuts shares of customers (20 / 60 / 20 % by default).</li>
<li><b>P(alive)</b>: the probability that a customer has not dropped out, given their purchase
history (BG/NBD). <b>Expected purchases</b>: repeat purchases expected over the horizon.</li>
<li><b>CLV</b>: expected purchases month by month, times the expected order value, times the
margin, discounted monthly at the annual discount rate, over the horizon.</li>
<li><b>At risk</b>: historical value at or above the chosen quantile and P(alive) at most the
chosen threshold; value at stake = value x (1 - P(alive)).</li>
</ul>
<h3 id="Methods">Methods</h3>
<ul>
<li>BG/NBD: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2).</li>
<li>Gamma-Gamma: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: using
iso-value curves for customer base analysis", Journal of Marketing Research 42(4).</li>
<li>Both are fitted by maximum likelihood on the RFM summary up to the observation end; the
holdout check refits on the calibration period only and compares its predictions with the
purchases that followed.</li>
<li>Member vs non-member comparisons describe customers who chose to join; they are not the
effect of the program.</li>
<li>Customer ids in this report are salted hashes; the run folder's scores.parquet and
at_risk.csv keep the real ids (at_risk.csv also has the masked id as customer_ref).</li>
</ul>
"""


def holdout_check(
    transactions: pl.DataFrame,
    *,
    calibration_end: dt.date | str | None,
    observation_end: str | dt.date | None = None,
    time_unit: str = "W",
    penalizer: float = 0.0,
) -> dict[str, Any] | None:
    """Refit on the calibration period and compare with the holdout (None without a split).

    Returns a dict: ``calibration_end``, ``holdout_days``, ``model`` (the calibration fit),
    ``parameters``, ``by_frequency`` (:func:`clv.validation.holdout_by_frequency`),
    ``metrics`` (:func:`clv.validation.holdout_metrics`) and ``tracking``
    (:func:`clv.validation.tracking`).
    """
    if calibration_end is None:
        return None
    from clv import models, validation
    from clv.rfm import as_date, calibration_holdout

    cal = as_date(calibration_end, "calibration_end")
    frame = calibration_holdout(
        transactions, calibration_end=cal, observation_end=observation_end, time_unit=time_unit
    )
    model = models.fit(frame, penalizer=penalizer)
    predictions = validation.holdout_predictions(frame, model)
    last = as_date(observation_end) if observation_end is not None else transactions["date"].max()
    return {
        "calibration_end": cal,
        "holdout_days": (last - cal).days,
        "model": model,
        "parameters": parameter_table(model, "bgnbd"),
        "by_frequency": validation.holdout_by_frequency(predictions),
        "metrics": validation.holdout_metrics(predictions),
        "tracking": validation.tracking(
            transactions, model, calibration_end=cal, observation_end=observation_end
        ),
    }
