"""The report's parameters: which notebook, its ``parameters`` cell, ``-p`` text and TOML
configs. Types, defaults and bounds come from the one spec, :mod:`clv.params`."""

from __future__ import annotations

import ast
import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from clv import params
from clv.data.write import atomic_output
from clv.errors import ReportError, UsageError

_PACKAGE = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = next(
    (d for d in (_PACKAGE.parent / "notebooks", _PACKAGE / "notebooks") if d.is_dir()),
    _PACKAGE / "notebooks",
)
"""Where the report notebooks live: ``notebooks/`` of the repository (an editable install),
or the copy a wheel carries inside the package."""


def parameters_help() -> str:
    """Every parameter of each report notebook with its default (for ``clv report --help``)."""
    lines = ["", "report parameters (the option of the same name, -p NAME=VALUE or --config):"]
    for notebook in params.NOTEBOOKS:
        lines.append(f"  {notebook}:")
        for name, p in params.notebook_spec(notebook).items():
            if name not in params.INJECTED:
                default = p.default_for(notebook)
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
    if text not in params.NOTEBOOKS:
        names = ", ".join(params.NOTEBOOKS)
        raise UsageError(f"unknown notebook {text!r}; choose one of {names} or an .ipynb path")
    return NOTEBOOK_DIR / f"{text}.ipynb"


def notebook_parameters(notebook: str | os.PathLike[str]) -> dict[str, Any]:
    """Names and default values of the notebook's cell tagged ``parameters``, in order."""
    path = notebook_path(notebook)
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
        elif isinstance(node, ast.AnnAssign):
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


def parse_assignments(pairs: Iterable[str]) -> dict[str, str]:
    """``["horizon=6", "title=Q3 review"]`` -> ``{"horizon": "6", "title": "Q3 review"}``.

    Values stay text; :func:`validate_parameters` reads them by the parameter's kind.
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
    notebook: str | os.PathLike[str], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Check names and values against the notebook's parameters; return them normalised.

    Names are those of the notebook's ``parameters`` cell; values are read and checked by
    :mod:`clv.params` (a name the spec does not know, in a notebook of your own, keeps the
    value as given). Raises :class:`UsageError` naming the parameter and what it expects.
    """
    declared = notebook_parameters(notebook)
    name = Path(str(notebook)).stem
    for key in values:
        if key in params.INJECTED:
            raise UsageError(f"{key} is set by clv report itself; leave it out")
        if key not in declared:
            valid = ", ".join(k for k in declared if k not in params.INJECTED)
            raise UsageError(f"unknown parameter {key!r} for {name}; valid parameters: {valid}")
    known = {k: v for k, v in values.items() if k in params.SPEC}
    return {**values, **params.validate(known, notebook=name if name in params.NOTEBOOKS else None)}


def write_parameters_cells() -> None:
    """Rewrite each report notebook's ``parameters`` cell from the spec (after a parameter was
    added or changed in :mod:`clv.params`): ``python -m clv.report.parameters``."""
    for name in params.NOTEBOOKS:
        path = notebook_path(name)
        doc = json.loads(path.read_text(encoding="utf-8"))
        for cell in doc["cells"]:
            if "parameters" in cell.get("metadata", {}).get("tags", []):
                cell["source"] = params.parameters_cell(name).splitlines(True)
        with atomic_output(path, overwrite=True) as tmp:
            tmp.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    write_parameters_cells()
