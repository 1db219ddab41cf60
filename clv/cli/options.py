"""The options of the ``clv`` commands: one vocabulary shared with the library keywords and the
notebook parameters, and the translation of library keywords in messages into flags."""

import argparse
import re
import shlex
from argparse import SUPPRESS
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from clv import params


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block plus the error; an
    ``appendix`` adds text computed when help is shown (not when the parser is built)."""

    def __init__(self, *args, appendix: Callable[[], str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.appendix = appendix

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        return super().format_help() + (self.appendix() if self.appendix else "")


def source(text: str) -> Path | str:
    """A transactions file, or a URL kept as written (``s3a://lake/orders/``: a path would
    merge its two slashes) for ``--engine spark``."""
    return text if "://" in text else Path(text)


def add_file(p: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """The transactions file (the report's is optional: the embedded data set)."""
    if optional:
        p.add_argument(
            "file", nargs="?", type=source, help="transactions file (default: the embedded data)"
        )
    else:
        p.add_argument("file", type=source, help="transactions file: .csv, .parquet or .ndjson")


_GROUPS = {
    "source": "embedded data",
    "read": "columns and parsing",
    "spark": "Spark (with --engine spark)",
    "period": "period",
    "model": "model",
    "interval": "intervals",
    "money": "horizon and money",
    "kpis": "segments and KPIs",
    "loyalty": "loyalty programme",
    "report": "report",
}


def add_parameters(p: argparse.ArgumentParser, command: str) -> None:
    """The command's options, one per parameter of :data:`clv.params.SPEC` in its groups.

    An option not given stays out of the namespace (the library's default applies); values
    are read and checked by :func:`clv.params.validate` (:func:`given_parameters`).
    """
    groups: dict[str, argparse._ArgumentGroup] = {}
    for name, param in params.command_spec(command).items():
        if name == "data":
            continue
        g = groups.get(param.group) or p.add_argument_group(_GROUPS[param.group])
        groups[param.group] = g
        flags = [param.flag, *param.aliases]
        default = param.default_for(None)
        shown = "none" if default is None else str(default)
        what = f"{param.help} (default: {shown})"
        if param.kind == "settings":
            what += "; repeat the option for more"
        if param.kind == "bool":
            g.add_argument(
                *flags, action=argparse.BooleanOptionalAction, default=SUPPRESS, help=what
            )
            continue
        g.add_argument(
            *flags,
            dest=name,
            default=SUPPRESS,
            action="append" if param.kind == "settings" else "store",
            metavar="|".join(param.choices) if param.choices else _METAVARS[param.kind],
            help=what.replace("%", "%%"),
        )


_METAVARS = {
    "str": "TEXT",
    "path": "FILE",
    "int": "N",
    "float": "X",
    "date": "DATE",
    "floats": "[X, Y]",
    "ints": "[N, ...]",
    "costs": "FILE|TABLE",
    "settings": "KEY=VALUE",
    "master": "URL",
    "ids": "ID,ID,...|FILE",
}


def given_parameters(args: argparse.Namespace, *, pairs: bool = True) -> dict[str, Any]:
    """The spec's parameters given as options, read and checked (``UsageError`` naming the
    option). ``--channel-costs FILE`` (a ``.csv`` or ``.json``) is read here. ``pairs=False``:
    pairs of options are checked later, with ``-p``, ``--config`` and the notebook's defaults."""
    given = {name: getattr(args, name) for name in params.SPEC if hasattr(args, name)}
    given.pop("data", None)
    costs = given.get("channel_costs")
    from_file = isinstance(costs, str) and not costs.lstrip().startswith("{")
    if isinstance(costs, str) and from_file:  # the other options are checked first
        given["channel_costs"] = {}
    checked = params.validate(given, pairs=pairs)
    if isinstance(costs, str) and from_file:
        from clv.data.io import read_channel_costs

        table = read_channel_costs(costs)
        checked["channel_costs"] = params.coerce(params.SPEC["channel_costs"], table)
    return checked


def as_flags(message: str) -> str:
    """Library keywords in a message as CLI flags: ``customer_col='X'`` -> ``--customer-col X``,
    ``observation_end=2024-01-01`` -> ``--observation-end 2024-01-01``, ``decimal_comma=True``
    -> ``--decimal-comma``, a bare ``observation_end=`` -> ``--observation-end``."""
    names = "|".join(params.SPEC)

    def flag(match: re.Match[str]) -> str:
        option = "--" + match[1].replace("_", "-")
        value = next((v for v in match.groups()[1:] if v is not None), "")
        if value in ("", "True"):
            return option
        return f"{option} {shlex.quote(value)}"

    message = message.replace("penalizer={'gamma_gamma': ...}", "gg_penalizer=")
    pattern = rf"\b({names})=(?:'([^']*)'|\"([^\"]*)\"|(True)\b|([^\s'\",;()]+))?"
    return re.sub(pattern, flag, message)


def add_out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help=what)
    p.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")


def report_parameters_help() -> str:
    from clv.report.parameters import parameters_help

    return parameters_help()
