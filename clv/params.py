"""The one parameter spec: every parameter of :func:`clv.analyze`, the report notebooks and the
``clv`` commands, declared once with its type, default, bounds and help.

Everything else is derived from :data:`SPEC`: the CLI options (``--horizon``), the notebooks'
``parameters`` cells (``horizon: float = 12  # ...``, a test checks them), ``--config`` TOML,
``-p name=value`` and the strings papermill passes, and the defaults of ``clv.analyze``
(a test checks its signature against the spec). :func:`validate` reads and checks values
before any data is read.

>>> validate({"horizon": "24", "purchase_model": "auto"})
{'horizon': 24.0, 'purchase_model': 'auto'}
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from clv.errors import UsageError

NOTEBOOKS = ("customer_value", "loyalty_review")
"""The report notebooks of ``notebooks/``."""

_BOTH = frozenset(NOTEBOOKS)
_CV = frozenset({"customer_value"})
_LR = frozenset({"loyalty_review"})

_KINDS = {
    "str": ("str", "text"),
    "path": ("str", "a file path"),
    "int": ("int", "a whole number"),
    "float": ("float", "a number"),
    "bool": ("bool", "true or false"),
    "date": ("str", "a date YYYY-MM-DD"),
    "choice": ("str", "one of {choices}"),
    "floats": ("list", "a list of {length} numbers such as [0.2, 0.8]"),
    "ints": ("list", "a list of whole numbers such as [4, 10]"),
    "costs": ("dict", "a table of numbers such as {{search = 12.5, social = 30}}"),
    "settings": ("dict", "settings KEY=VALUE such as spark.sql.shuffle.partitions=64"),
    "master": ("str", "a Spark master: local, local[N], yarn, spark://host:port or k8s://url"),
    "ids": (
        "Union[list, str]",
        'ids such as ["1001", "1002"] or 1001,1002, or a .txt/.csv file of ids',
    ),
}
"""Each kind: its Python type in a notebook's parameters cell, and its values in words."""


@dataclass(frozen=True)
class Param:
    """One parameter: its name is the library keyword, the notebook parameter and, with dashes,
    the CLI option.

    ``kind`` is a key of the kinds above; ``low``/``high`` bound numbers (``open_high``: the
    high bound is excluded); ``words`` are literal values accepted besides the kind (``"auto"``);
    ``nullable`` accepts ``none``; ``notebooks`` take it as a parameter; ``group`` says which
    commands take it as an option (see :data:`COMMANDS`); ``notebook_default`` gives a
    notebook's own default where its purpose needs one (the loyalty review's data set).
    """

    name: str
    kind: str
    default: Any
    help: str
    group: str
    nullable: bool = False
    choices: tuple[str, ...] = ()
    words: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    open_low: bool = False
    open_high: bool = False
    length: int | None = None
    notebooks: frozenset[str] = _BOTH
    notebook_default: Mapping[str, Any] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """The CLI option: ``--horizon-unit``."""
        return "--" + self.name.replace("_", "-")

    def default_for(self, notebook: str | None = None) -> Any:
        """The default, or the notebook's own one."""
        return self.notebook_default.get(notebook or "", self.default)

    def annotation(self) -> str:
        """The type a notebook's parameters cell declares (papermill shows it)."""
        python = _KINDS[self.kind][0]
        return f"Optional[{python}]" if self.nullable else python

    def expected(self) -> str:
        """The accepted values, in words, for an error message."""
        what = _KINDS[self.kind][1].format(
            choices=", ".join(self.choices), length=self.length or ""
        )
        what = what.replace("  ", " ")
        if self.low is not None and self.high is not None:
            low = "(" if self.open_low else "["
            high = ")" if self.open_high else "]"
            what += f" in {low}{self.low:g}, {self.high:g}{high}"
        elif self.low is not None:
            what += f" {'>' if self.open_low else '>='} {self.low:g}"
        extra = [f'"{w}"' for w in self.words] + (["none"] if self.nullable else [])
        return what + (" or " + " or ".join(extra) if extra else "")


def _p(name: str, kind: str, default: Any, help: str, group: str, **more: Any) -> Param:
    return Param(name, kind, default, help, group, **more)


_UNITS = ("D", "W", "M")
_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd", "auto")


def _column(name: str, what: str, default: str | None = None) -> Param:
    return _p(name, "str", default, what, "read", nullable=default is None)


SPEC: dict[str, Param] = {
    p.name: p
    for p in (
        # ---- the data ----------------------------------------------------------------------
        _p(
            "data",
            "path",
            None,
            "transactions file: CSV, Parquet or NDJSON; none: the embedded data set",
            "source",
            nullable=True,
        ),
        _p(
            "dataset",
            "choice",
            "cdnow",
            "embedded data used when data is none: cdnow or synthetic_shop",
            "source",
            choices=("cdnow", "synthetic_shop"),
            notebook_default={"loyalty_review": "synthetic_shop"},
        ),
        _p(
            "synthetic_customers",
            "int",
            5000,
            "customers of the synthetic shop (dataset synthetic_shop)",
            "source",
            low=10,
        ),
        _column("customer_col", "column of the customer id", "customer_id"),
        _column("date_col", "column of the order date", "date"),
        _column("amount_col", "column of the amount (currency)", "amount"),
        _column("quantity_col", "column of the quantity, with price_col instead of amount_col"),
        _column("price_col", "column of the unit price (amount is quantity x price)"),
        _column("order_col", "column of the order id; none: one order per customer and day"),
        _column("channel_col", "column of the acquisition channel"),
        _column("product_col", "column of the product"),
        Param(
            "loyalty_col",
            "str",
            None,
            "column of the loyalty member flag (true/false, 1/0)",
            "read",
            nullable=True,
            notebook_default={"loyalty_review": "loyalty"},
        ),
        _column("margin_col", "column of the margin of the row (currency)"),
        _p(
            "date_format",
            "str",
            None,
            'strftime format such as "%d/%m/%Y"; none: detected',
            "read",
            nullable=True,
        ),
        _p("separator", "str", ",", "CSV separator", "read"),
        _p("decimal_comma", "bool", False, "amounts written 1 234,50 (decimal comma)", "read"),
        _p("encoding", "str", "utf-8", "text encoding of a CSV file: utf-8, cp1250, ...", "read"),
        _p(
            "negative_amounts",
            "choice",
            "error",
            "refunds: error, drop or net",
            "read",
            choices=("error", "drop", "net"),
        ),
        _p(
            "keep_placeholder_ids",
            "bool",
            False,
            "keep ids such as (blank) or guest (left out by default)",
            "read",
        ),
        _p(
            "exclude_customers",
            "ids",
            None,
            "customers to leave out: 1001,1002 or ids.txt",
            "read",
            nullable=True,
        ),
        _p(
            "allow_dates_from",
            "date",
            None,
            "earliest valid date; none: 1990-01-01",
            "read",
            nullable=True,
        ),
        _p("allow_dates_to", "date", None, "latest valid date; none: today", "read", nullable=True),
        _p(
            "engine",
            "choice",
            "polars",
            "polars (this machine) or spark (Apache Spark; needs clv[spark])",
            "read",
            choices=("polars", "spark"),
        ),
        _p(
            "spark_master",
            "master",
            None,
            "Spark master such as yarn; none: the active one, else local[*]",
            "spark",
            nullable=True,
        ),
        _p(
            "spark_conf",
            "settings",
            None,
            "Spark settings with engine spark: a table of setting and value",
            "spark",
            nullable=True,
        ),
        # ---- the period --------------------------------------------------------------------
        _p(
            "observation_end",
            "date",
            None,
            "last day observed; none: the last transaction",
            "period",
            nullable=True,
        ),
        _p(
            "time_unit",
            "choice",
            "W",
            "time unit of the models: D, W or M",
            "period",
            choices=_UNITS,
        ),
        _p(
            "calibration_end",
            "date",
            "auto",
            "holdout check's calibration end: auto, a date or none",
            "model",
            nullable=True,
            words=("auto",),
        ),
        # ---- the model ---------------------------------------------------------------------
        _p(
            "purchase_model",
            "choice",
            "bgnbd",
            "bgnbd, mbgnbd, pareto_nbd or auto (the best on the holdout, opt-in)",
            "model",
            choices=_MODELS,
        ),
        _p(
            "penalizer",
            "float",
            0.0,
            "L2 penalty of the purchase model's fit",
            "model",
            low=0.0,
        ),
        _p("gg_penalizer", "float", 0.0, "L2 penalty of the Gamma-Gamma fit", "model", low=0.0),
        _p(
            "by",
            "choice",
            None,
            "channel or loyalty: one model per first-order channel or membership",
            "model",
            nullable=True,
            choices=("channel", "loyalty"),
        ),
        _p(
            "interval",
            "float",
            None,
            "e.g. 0.9: clv_low/clv_high from the parameters' uncertainty only",
            "interval",
            nullable=True,
            low=0.5,
            high=0.999,
        ),
        _p(
            "prediction_interval",
            "float",
            None,
            "e.g. 0.9: clv_pred_low/high, a customer's own range",
            "interval",
            nullable=True,
            low=0.5,
            high=0.999,
        ),
        _p(
            "interval_method",
            "choice",
            "normal",
            "parameter draws: normal (asymptotic) or bootstrap",
            "interval",
            choices=("normal", "bootstrap"),
        ),
        _p(
            "seed",
            "int",
            1,
            "seed of everything random (interval draws, the synthetic shop)",
            "interval",
            low=0,
        ),
        # ---- money -------------------------------------------------------------------------
        _p("horizon", "float", 12.0, "CLV horizon, in horizon_unit", "money", low=0, open_low=True),
        _p(
            "horizon_unit",
            "choice",
            "M",
            "unit of horizon: D, W or M",
            "money",
            choices=_UNITS,
        ),
        _p(
            "discount_rate_annual",
            "float",
            0.10,
            "annual discount rate of future cash flows (0.10 is 10 %)",
            "money",
            low=0.0,
            high=1.0,
            open_high=True,
            aliases=("--discount-rate",),
        ),
        _p(
            "margin",
            "float",
            None,
            "margin as a share of revenue; none: CLV on revenue or margin_col",
            "money",
            nullable=True,
            low=0.0,
            high=1.0,
            open_low=True,
        ),
        _p(
            "currency",
            "str",
            "",
            "currency of money figures: ISO code (SEK, PLN, EUR) or a symbol such as kr",
            "money",
        ),
        # ---- segments and KPIs -------------------------------------------------------------
        _p(
            "top_share",
            "float",
            0.10,
            'share of customers called "top"',
            "kpis",
            low=0.01,
            high=0.99,
        ),
        _p(
            "tier_cuts",
            "floats",
            [0.2, 0.8],
            "top / middle / bottom tiers cut at these shares of customers",
            "kpis",
            low=0.0,
            high=1.0,
            open_low=True,
            open_high=True,
            length=2,
        ),
        _p(
            "at_risk_min_value_quantile",
            "float",
            0.8,
            "at risk: value if they stay at least this quantile",
            "kpis",
            low=0.0,
            high=1.0,
        ),
        _p(
            "at_risk_max_p_alive",
            "float",
            0.5,
            "at risk: P(alive) at most this",
            "kpis",
            low=0.0,
            high=1.0,
        ),
        _p(
            "at_risk_overdue_gaps",
            "float",
            None,
            "at risk: silent > k usual gaps; none: k from holdout",
            "kpis",
            nullable=True,
            low=1.0,
        ),
        _p(
            "channel_costs",
            "costs",
            None,
            "acquisition cost per customer by channel (currency)",
            "kpis",
            nullable=True,
            low=0.0,
        ),
        _p(
            "retention_uplift_points",
            "float",
            5.0,
            "retention economics: annual retention points gained",
            "kpis",
            low=0.0,
            high=100.0,
            notebooks=_CV,
        ),
        _p(
            "retention_cost",
            "float",
            None,
            "cost per active customer of that retention (currency)",
            "kpis",
            nullable=True,
            low=0.0,
            notebooks=_CV,
        ),
        _p(
            "acquisition_cost",
            "float",
            None,
            "cost of acquiring one customer (currency)",
            "kpis",
            nullable=True,
            low=0.0,
            notebooks=_CV,
        ),
        # ---- the loyalty programme ---------------------------------------------------------
        _p(
            "member_discount_rate",
            "float",
            0.0,
            "share of the list price members get off",
            "loyalty",
            low=0.0,
            high=1.0,
            open_high=True,
        ),
        _p("cost_per_reward", "float", 0.0, "cost of one reward (currency)", "loyalty", low=0.0),
        _p(
            "margin_after_member_discount",
            "bool",
            True,
            "recorded margin is after the member discount",
            "loyalty",
        ),
        _p(
            "milestones",
            "ints",
            [4, 10],
            "order counts that earn a reward",
            "loyalty",
            low=1,
            notebooks=_LR,
        ),
        _p(
            "launch_date",
            "date",
            None,
            "programme launch: compares before and after",
            "loyalty",
            nullable=True,
            notebooks=_LR,
        ),
        _p(
            "review_month",
            "date",
            "auto",
            "month reviewed (any day of it); auto: the last month",
            "loyalty",
            nullable=True,
            words=("auto",),
            notebooks=_LR,
        ),
        # ---- the report --------------------------------------------------------------------
        _p(
            "title",
            "str",
            "Customer value report",
            "the report's title",
            "report",
            notebook_default={"loyalty_review": "Loyalty programme review"},
        ),
        _p(
            "language",
            "choice",
            "en",
            "language of the report: en, sv, pl, uk or fi (words, numbers, money, dates)",
            "report",
            choices=("en", "sv", "pl", "uk", "fi"),
        ),
        _p(
            "mask_ids",
            "bool",
            True,
            "show salted hashes instead of customer ids in the report",
            "report",
        ),
        _p(
            "compare_to",
            "str",
            "previous",
            "run this one is compared with: previous, none or a run folder",
            "report",
            notebooks=_CV,
        ),
        _p(
            "run_dir",
            "path",
            None,
            "set by clv report: the run folder the files are written to",
            "injected",
            nullable=True,
        ),
        _p(
            "id_salt",
            "str",
            None,
            "set by clv report: the salt of the masked ids",
            "injected",
            nullable=True,
        ),
    )
}
"""Every parameter, once. Names are the library keywords."""

INJECTED = tuple(name for name, p in SPEC.items() if p.group == "injected")
"""Parameters ``clv report`` sets itself; a user cannot pass them."""

COMMANDS: dict[str, tuple[str, ...]] = {
    "summarize": ("read", "spark", "period"),
    "fit": ("read", "spark", "period", "model"),
    "score": ("read", "spark", "period", "model", "interval", "money"),
    "kpis": ("read", "spark", "period", "model", "interval", "money", "kpis", "loyalty"),
    "segments": ("read", "spark", "period", "model", "interval", "money", "kpis"),
    "report": (
        *("source", "read", "spark", "period", "model", "interval"),
        *("money", "kpis", "loyalty", "report"),
    ),
}
"""Which groups of parameters each ``clv`` command takes as options."""

EXCLUSIVE: tuple[tuple[str, str], ...] = (
    ("amount_col", "quantity_col"),
    ("margin", "margin_col"),
)
"""Pairs that cannot both be given: a usage error naming both."""

NEEDS: tuple[tuple[str, str], ...] = (
    ("quantity_col", "price_col"),
    ("price_col", "quantity_col"),
    ("interval_method", "interval"),
    ("channel_costs", "channel_col"),
    ("member_discount_rate", "loyalty_col"),
    ("cost_per_reward", "loyalty_col"),
    ("by=channel", "channel_col"),
    ("by=loyalty", "loyalty_col"),
    ("spark_master", "engine=spark"),
    ("spark_conf", "engine=spark"),
)
"""``(a, b)``: ``a`` given (or ``a=value``) without ``b`` is a usage error naming both."""


def notebook_spec(notebook: str) -> dict[str, Param]:
    """The parameters a notebook takes, in the spec's order."""
    if notebook not in NOTEBOOKS:
        raise UsageError(f"unknown notebook {notebook!r}; choose one of {', '.join(NOTEBOOKS)}")
    return {name: p for name, p in SPEC.items() if notebook in p.notebooks}


def defaults(notebook: str | None = None) -> dict[str, Any]:
    """Every parameter's default (for a notebook: those it takes, with its own defaults)."""
    params = SPEC if notebook is None else notebook_spec(notebook)
    return {name: p.default_for(notebook) for name, p in params.items()}


def command_spec(command: str) -> dict[str, Param]:
    """The parameters a ``clv`` command takes as options."""
    groups = COMMANDS[command]
    return {name: p for name, p in SPEC.items() if p.group in groups}


def parameters_cell(notebook: str) -> str:
    """The source of a notebook's ``parameters`` cell, made from the spec (a test checks each
    notebook's cell against it): ``name: type = default  # help`` per parameter."""
    lines = ["from typing import Optional, Union", ""]
    for name, p in notebook_spec(notebook).items():
        default = json.dumps(p.default_for(notebook), ensure_ascii=False)
        default = {"null": "None", "true": "True", "false": "False"}.get(default, default)
        lines.append(f"{name}: {p.annotation()} = {default}  # {p.help}")
    return "\n".join(lines)


def declared(notebook: str, namespace: Mapping[str, Any]) -> dict[str, Any]:
    """A notebook's parameters from its namespace, read and checked by the spec.

    Only the declared names are taken (a stray global never reaches the analysis); the values
    papermill injects as text (``'{"search": 20}'``, ``"0.9"``) are read by their kind.
    ``run_dir`` and ``id_salt``, set by ``clv report``, stay out.
    """
    names = [name for name in notebook_spec(notebook) if name not in INJECTED]
    return validate({name: namespace[name] for name in names if name in namespace})


def analysis_keywords(values: Mapping[str, Any]) -> dict[str, Any]:
    """The keywords of :func:`clv.analyze` among checked parameter values: ``data`` is its
    ``source``; the report's own parameters (title, ids) stay out."""
    skip = ("report", "injected", "source")
    out = {k: v for k, v in values.items() if k in SPEC and SPEC[k].group not in skip}
    for name in ("dataset", "synthetic_customers"):
        if name in values:
            out[name] = values[name]
    out["source"] = values.get("data")
    return out


def parse_text(text: str) -> Any:
    """A value given as text (``-p``, papermill, the CLI) as TOML or JSON: ``none``/``null``
    give None, ``true``/``false`` booleans, ``12`` and ``0.1`` numbers, ``1997-09-30`` a date,
    ``[0.2, 0.8]`` a list, ``{search = 10}`` or ``{"search": 10}`` a table; else the text."""
    stripped = text.strip()
    if stripped.lower() in ("none", "null"):
        return None
    if stripped in ("True", "False"):
        return stripped == "True"
    if stripped.lower() in ("nan", "inf", "+inf", "-inf", "infinity", "-infinity"):
        return float(stripped)
    try:
        return tomllib.loads(f"v = {stripped}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    try:
        return json.loads(stripped)
    except ValueError:
        return text


def validate(
    values: Mapping[str, Any],
    *,
    strict: bool = True,
    notebook: str | None = None,
    pairs: bool = True,
) -> dict[str, Any]:
    """Read and check parameter values by the spec; return them normalised.

    Text is read by the parameter's kind (see :func:`parse_text`); dates become ``YYYY-MM-DD``;
    numbers are bounded and finite. ``strict``: an unknown or injected name is an error.
    Pairs are checked on the values given, completed by the ``notebook``'s own defaults
    (``pairs=False``: later, once every source of values is merged).
    Raises :class:`UsageError` naming the parameter and what it expects.
    """
    out: dict[str, Any] = {}
    for name, value in values.items():
        p = SPEC.get(name)
        if p is None:
            if not strict:
                continue
            valid = ", ".join(k for k in SPEC if k not in INJECTED)
            raise UsageError(f"unknown parameter {name!r}; valid parameters: {valid}")
        out[name] = coerce(p, value)
    cuts = out.get("tier_cuts")
    if cuts is not None and not cuts[0] < cuts[1]:
        raise UsageError(f"tier_cuts={cuts}: expected two increasing shares such as [0.2, 0.8]")
    if not pairs:
        return out
    given = {k for k, v in out.items() if v is not None and v != SPEC[k].default}
    given |= {f"{k}={out[k]}" for k in given if isinstance(out[k], str)}
    present = given | {k for k, v in defaults(notebook).items() if v is not None and notebook}
    for first, second in EXCLUSIVE:
        if {first, second} <= given:
            raise UsageError(f"{first}= and {second}= given together; give one of them")
    for first, second in NEEDS:
        if first in given and second not in present:
            raise UsageError(f"{_named(first)} needs {_named(second)}")
    return out


def _named(name: str) -> str:
    """A parameter (``by``) or a parameter's value (``by=channel``) as a message names it."""
    return name if "=" in name else f"{name}="


def coerce(p: Param, value: Any) -> Any:
    """One value of parameter ``p``, read and checked (see :func:`validate`)."""

    def bad() -> UsageError:
        return UsageError(f"{p.name}={value!r}: expected {p.expected()}")

    raw = value
    if isinstance(value, str) and p.kind == "ids":
        raw = parse_text(value) if value.strip().startswith("[") else value.strip()
        raw = None if str(raw).lower() in ("none", "null", "") else raw
    elif isinstance(value, str) and p.kind not in ("str", "path"):
        raw = parse_text(value)
    elif isinstance(value, str) and p.nullable and value.strip().lower() in ("none", "null"):
        raw = None
    if isinstance(raw, str) and raw.strip().lower() in p.words:
        return raw.strip().lower()
    if raw is None:
        if p.nullable:
            return None
        raise bad()
    kind = p.kind
    if kind in ("str", "path"):
        if not isinstance(raw, str) or (kind == "path" and not raw.strip()):
            if kind == "path" and hasattr(raw, "__fspath__"):
                return str(raw)
            raise bad()
        return raw
    if kind == "choice":
        if str(raw) not in p.choices:
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
        if _not_number(raw) or not math.isfinite(raw) or raw != int(raw):
            raise bad()
        return _bounded(int(raw), p, bad)
    if kind == "float":
        if _not_number(raw):
            raise bad()
        return _bounded(float(raw), p, bad)
    if kind in ("floats", "ints"):
        items = list(raw) if isinstance(raw, list | tuple) else None
        if items is None or (p.length is not None and len(items) != p.length):
            raise bad()
        if any(_not_number(v) or not math.isfinite(v) for v in items):
            raise bad()
        if kind == "ints":
            if any(v != int(v) for v in items):
                raise bad()
            return [_bounded(int(v), p, bad) for v in items]
        return [_bounded(float(v), p, bad) for v in items]
    if kind == "ids":  # text: ids separated by commas or a file, read with the data
        if hasattr(raw, "__fspath__"):
            return str(raw)
        if isinstance(raw, str):
            return raw
        items = list(raw) if isinstance(raw, list | tuple) else None
        if items is None or any(isinstance(v, bool) or not isinstance(v, str | int) for v in items):
            raise bad()
        return [str(v).strip() for v in items]
    if kind == "master":  # what Spark accepts, before it starts a JVM that prints its refusal
        if not isinstance(raw, str) or not re.fullmatch(_MASTER, raw.strip()):
            raise bad()
        return raw.strip()
    if kind == "settings":  # a table, or KEY=VALUE texts (--spark-conf, repeated)
        pairs = _flat(raw) if isinstance(raw, Mapping) else _pairs(p, raw)
        if any(not k.strip() for k, _ in pairs):
            raise bad()
        return {k.strip(): _setting(v, bad) for k, v in pairs} or None
    if kind == "costs":
        if not isinstance(raw, Mapping) or any(_not_number(v) for v in raw.values()):
            raise bad()
        return {str(k): _bounded(float(v), p, bad) for k, v in raw.items()}
    raise bad()


def _pairs(p: Param, raw: Any) -> list[tuple[str, str]]:
    """``"k=v"`` or a list of them → ``[(k, v), ...]``; an error names the text without ``=``."""
    texts = [raw] if isinstance(raw, str) else raw if isinstance(raw, list | tuple) else [raw]
    pairs = []
    for text in texts:
        key, sep, value = str(text).partition("=")
        if not isinstance(text, str) or not sep or not key.strip():
            raise UsageError(f"{p.name}={text!r}: expected {p.expected()}")
        pairs.append((key.strip(), value.strip()))
    return pairs


def _flat(table: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """A TOML table's settings by their dotted names: ``{spark: {executor: {memory: 8g}}}``
    (what ``spark.executor.memory = "8g"`` reads as) → ``[("spark.executor.memory", "8g")]``."""
    pairs: list[tuple[str, Any]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        pairs += _flat(value, f"{name}.") if isinstance(value, Mapping) else [(name, value)]
    return pairs


def _setting(value: Any, bad: Any) -> str:
    """A setting's value as Spark reads it: ``true``, ``400``, ``8g``."""
    if not isinstance(value, str | int | float):
        raise bad()
    return str(value).lower() if isinstance(value, bool) else str(value)


_MASTER = r"local(\[([1-9]\d*|\*)(\s*,\s*[1-9]\d*)?\])?|yarn|(spark|k8s)://\S+"
"""Spark's masters: ``local``, ``local[4]``, ``local[*]``, ``local[2, 3]`` (retries), ``yarn``,
``spark://host:7077`` and ``k8s://https://host:443``."""


def _not_number(value: Any) -> bool:
    return isinstance(value, bool) or not isinstance(value, int | float)


def _bounded(value: float, p: Param, bad: Any) -> Any:
    if not math.isfinite(value):
        raise bad()
    if p.low is not None and (value < p.low or (p.open_low and value == p.low)):
        raise bad()
    if p.high is not None and (value > p.high or (p.open_high and value == p.high)):
        raise bad()
    return value
