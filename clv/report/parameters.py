"""Report parameters: the notebooks' parameter cells, their types as data, ``-p`` values and
TOML configs, all validated before a run starts."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import json
import math
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clv.errors import ReportError, UsageError

_PACKAGE = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = next(
    (d for d in (_PACKAGE.parent / "notebooks", _PACKAGE / "notebooks") if d.is_dir()),
    _PACKAGE / "notebooks",
)
"""Where the report notebooks live: ``notebooks/`` of the repository (an editable install),
or the copy a wheel carries inside the package."""

INJECTED = ("run_dir", "id_salt", "analysis_file")
"""Parameters ``run_report`` sets itself; a user cannot pass them."""


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
    "dataset": Spec("choice", choices=("cdnow", "synthetic_shop")),
    "currency": Spec("str"),
    "customer_col": Spec("str"),
    "date_col": Spec("str"),
    "amount_col": Spec("str"),
    "quantity_col": _COLUMN,
    "price_col": _COLUMN,
    "order_col": _COLUMN,
    "channel_col": _COLUMN,
    "product_col": _COLUMN,
    "loyalty_col": _COLUMN,
    "margin_col": _COLUMN,
    "date_format": Spec("str", nullable=True),
    "separator": Spec("str"),
    "decimal_comma": Spec("bool"),
    "encoding": Spec("str"),
    "negative_amounts": Spec("choice", choices=("error", "drop", "net")),
    "keep_placeholder_ids": Spec("bool"),
    "allow_dates_from": Spec("date", nullable=True),
    "allow_dates_to": Spec("date", nullable=True),
    "observation_end": Spec("date", nullable=True),
    "calibration_end": Spec("date", nullable=True, words=("auto", "none")),
    "time_unit": Spec("choice", choices=_UNITS),
    "horizon": Spec("int", low=1),
    "horizon_unit": Spec("choice", choices=_UNITS),
    "discount_rate_annual": Spec("float", low=0.0, high=1.0),
    "margin": Spec("float", nullable=True, low=0.0, high=1.0),
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
    "by": Spec("choice", nullable=True, choices=("channel", "loyalty")),
    "purchase_model": Spec("choice", choices=("bgnbd", "mbgnbd", "pareto_nbd", "auto")),
    "gg_penalizer": Spec("float", low=0.0),
    "interval": Spec("float", nullable=True, low=0.5, high=0.999),
    "interval_method": Spec("choice", choices=("normal", "bootstrap")),
    "title": Spec("str", nullable=True),
    "mask_ids": Spec("bool"),
    "run_dir": Spec("path", nullable=True),
    "id_salt": Spec("str", nullable=True),
    "analysis_file": Spec("path", nullable=True),
}
"""Every notebook parameter clv knows, as data. A name not listed here takes its type from
its default value in the notebook."""


def parameters_help() -> str:
    """Every parameter of each report notebook with its default (for ``clv report --help``)."""
    lines = ["", "report parameters (the option of the same name, -p NAME=VALUE or --config):"]
    for notebook in notebook_names():
        lines.append(f"  {notebook}:")
        for name, default in notebook_parameters(notebook).items():
            if name not in INJECTED:
                lines.append(f"    {name} = {'none' if default is None else repr(default)}")
    return "\n".join(lines) + "\n"


def notebook_path(notebook: str | os.PathLike[str]) -> Path:
    """The ``.ipynb`` file for a built-in notebook name (``customer_value``) or an existing
    ``.ipynb`` path; nothing else (a name never reaches outside the built-in folder)."""
    text = str(notebook)
    if text.endswith(".ipynb"):
        path = Path(text)
        if not path.is_file():
            raise UsageError(f"{path}: notebook not found")
        return path
    if text not in notebook_names():
        names = ", ".join(notebook_names()) or "none found"
        raise UsageError(f"unknown notebook {text!r}; choose one of {names} or an .ipynb path")
    return NOTEBOOK_DIR / f"{text}.ipynb"


def notebook_names() -> list[str]:
    """Names of the report notebooks in :data:`NOTEBOOK_DIR`."""
    return sorted(p.stem for p in NOTEBOOK_DIR.glob("*.ipynb"))


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, Any]:
    """Names and default values of the notebook's cell tagged ``parameters``, in order."""
    path = notebook_path(notebook)
    # plain JSON: importing nbformat costs seconds (jsonschema), and this runs on every call
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in doc["cells"] if "parameters" in c.get("metadata", {}).get("tags", [])]
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        what = "not JSON" if isinstance(e, ValueError) else "no list of cells"
        raise UsageError(f"{path}: not a Jupyter notebook ({what})") from None
    if len(cells) != 1:
        raise ReportError(f"{path.name}: needs exactly one cell tagged 'parameters'")
    source = cells[0]["source"]
    defaults: dict[str, Any] = {}
    for node in ast.parse("".join(source) if isinstance(source, list) else source).body:
        value: ast.expr | None
        if isinstance(node, ast.Assign):
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            target, value = node.target, node.value
        else:
            continue
        if not isinstance(target, ast.Name) or value is None:
            continue
        try:
            defaults[target.id] = ast.literal_eval(value)
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
    except UnicodeDecodeError as e:
        raise UsageError(
            f"{path}: not UTF-8 text (byte {e.object[e.start]:#04x}); save the config file as UTF-8"
        ) from None
    except OSError as e:
        reason = os.strerror(e.errno).lower() if e.errno else str(e)
        raise UsageError(f"{path}: config file cannot be read ({reason})") from None


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
    _check_money_and_time({**defaults, **out})
    return out


def _check_money_and_time(values: Mapping[str, Any]) -> None:
    """The models layer's one validation of discount rate, margin, horizon and penalizers."""
    from clv.models.checks import check_money_and_time, penalizers  # scipy: only when checking

    money = ("discount_rate_annual", "margin", "horizon", "horizon_unit")
    check_money_and_time(**{k: values[k] for k in money if values.get(k) is not None})
    if values.get("penalizer") is not None:
        penalizers(
            {"purchase": values["penalizer"], "gamma_gamma": values.get("gg_penalizer", 0.0)}
        )


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


def run_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The notebook's parameter values (those clv knows) from its global namespace."""
    return {k: namespace[k] for k in PARAMETER_SPEC if k in namespace and k not in INJECTED}


def analysis_keywords(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`clv.analyze` among a notebook's parameters (its globals).

    The notebook's ``data`` is the source; ``dataset`` and the rest pass under their own names,
    so a parameter, its CLI option and the library keyword are one thing.
    """
    from clv.analysis.pipeline import READ_KEYWORDS, analyze

    names = {*inspect.signature(analyze).parameters, *READ_KEYWORDS} - {"source", "read_options"}
    out = {k: namespace[k] for k in names if k in namespace}
    out["source"] = namespace.get("data")
    return out
