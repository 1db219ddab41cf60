"""Every report option with every other: a pairwise (all-pairs) matrix over the report's
options, on each data shape of :mod:`tests.shapes`, run through ``clv.analyze`` and the
report's table and figure builders in this process (the notebook's own cells, executed here).

The notebook itself runs in a kernel once per shape (``test_report.py``); here its cells run
in one process, so the matrix stays inside the suite's time budget.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
from typing import Any
from unittest import mock

import matplotlib
import pytest

from clv import params
from clv.report.parameters import notebook_path
from tests import shapes

matplotlib.use("Agg")

pytestmark = pytest.mark.slow

FACTORS: dict[str, list[Any]] = {
    "purchase_model": ["bgnbd", "mbgnbd", "pareto_nbd", "auto"],
    "by": [None, "channel", "loyalty"],
    "interval": [None, 0.9],
    "time_unit": ["W", "D", "M"],
    "margin": [None, 0.3],
    "currency": ["", "SEK"],
    "mask_ids": [True, False],
    "horizon_unit": ["M", "W"],
}
"""The report's options and the values the matrix combines."""


def pairwise(factors: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Cases that hold every pair of values of every two factors at least once (greedy)."""
    names = list(factors)
    todo = {
        ((a, x), (b, y))
        for a, b in itertools.combinations(names, 2)
        for x in range(len(factors[a]))
        for y in range(len(factors[b]))
    }
    cases = []
    while todo:
        (a, x), (b, y) = min(todo)
        case = {a: x, b: y}
        for name in names:
            if name in case:
                continue

            case[name] = max(
                range(len(factors[name])), key=lambda v, n=name: _gain(todo, case, n, v)
            )
        todo -= {((p, case[p]), (q, case[q])) for p, q in itertools.combinations(names, 2)}
        cases.append({n: factors[n][i] for n, i in case.items()})
    return cases


def _gain(todo: set, case: dict[str, int], name: str, value: int) -> int:
    """How many pairs not yet covered ``name=value`` would cover beside ``case``."""
    return sum(
        ((o, case[o]), (name, value)) in todo or ((name, value), (o, case[o])) in todo for o in case
    )


def allowed(shape: shapes.Shape, case: dict[str, Any]) -> dict[str, Any]:
    """The case on this shape: its parameters with the case's options (a margin rate replaces
    the shape's margin column: the spec forbids both, a pair ``test_params`` covers)."""
    options = {k: v for k, v in {**shape.parameters, **case}.items() if k != "data"}
    if case["margin"] is not None:
        options.pop("margin_col", None)
    return options


def run_cells(notebook: str, values: dict[str, Any], *, run_dir: Any = None) -> dict[str, Any]:
    """The notebook's code cells executed in this process with ``values`` as parameters (and
    ``run_dir``, where the notebook writes its files, as ``clv report`` sets it)."""
    cells = json.loads(notebook_path(notebook).read_text())["cells"]
    namespace: dict[str, Any] = {**params.defaults(notebook), **values}
    namespace |= {"run_dir": None if run_dir is None else str(run_dir), "id_salt": "0" * 32}
    shown: list[str] = []

    def display(*objects: Any, **options: Any) -> None:
        shown.extend(getattr(o, "data", None) or repr(o) for o in objects)

    quiet = contextlib.redirect_stdout(io.StringIO())
    with quiet, mock.patch("IPython.display.display", display):
        for cell in cells:
            tags = cell["metadata"].get("tags", [])
            if cell["cell_type"] == "code" and "parameters" not in tags:
                source = "".join(cell["source"])
                exec(compile(source, f"{notebook}:{cell['id']}", "exec"), namespace)
    namespace["_shown"] = "\n".join(shown)
    return namespace


GROUPS = {"cdnow": [None], "shop": [None, "channel", "loyalty"], "no_dropout": [None]}
"""The ``by`` groups each shape has columns for (the others are usage errors)."""

CASES = {name: pairwise(FACTORS | {"by": by}) for name, by in GROUPS.items()}


def test_the_matrix_covers_every_pair() -> None:
    for name, cases in CASES.items():
        factors = FACTORS | {"by": GROUPS[name]}
        for a, b in itertools.combinations(factors, 2):
            seen = {(c[a], c[b]) for c in cases}
            assert len(seen) == len(factors[a]) * len(factors[b]), (name, a, b)
        assert len(cases) < 20


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> dict[str, shapes.Shape]:
    """Each shape, its file made once (by the first case that needs it)."""
    return {}


@pytest.mark.parametrize(
    ("shape_name", "case"), [(n, i) for n, cases in CASES.items() for i in range(len(cases))]
)
def test_customer_value_with_every_pair_of_options(shape_name, case, made, tmp_path_factory):
    if shape_name not in made:
        made[shape_name] = shapes.make(shape_name, tmp_path_factory.mktemp(shape_name))
    shape = made[shape_name]
    options = allowed(shape, CASES[shape_name][case])
    values = params.validate(options, notebook="customer_value")
    ns = run_cells("customer_value", {"data": shape.data, **values})
    analysis = ns["analysis"]
    model = analysis.model
    assert model.time_unit == values["time_unit"]
    if values["by"] is not None:
        assert type(model).__name__ == "GroupedClvModel" and model.by == values["by"]
    scores = analysis.scores
    if values["interval"] is not None:
        assert {"clv_low", "clv_high"} <= set(scores.columns)
        assert (scores["clv_low"] <= scores["clv"] + 1e-9).all()
    for key, value in _numbers(analysis.kpis):
        assert math.isfinite(value), key
    basis = "margin" if values["margin"] or "margin_col" in options else "revenue"
    assert analysis.money.basis == basis
    if values["currency"]:
        assert values["currency"] in ns["_shown"]
    ids = set(analysis.transactions["customer_id"].head(200).to_list())
    if values["mask_ids"]:
        assert not any(f">{i}<" in ns["_shown"] for i in ids)


def _numbers(value: Any, key: str = "") -> list[tuple[str, float]]:
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _numbers(v, f"{key}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _numbers(v, f"{key}[{i}]")]
    if isinstance(value, float):
        return [(key, value)]
    return []


LOYALTY_CASES = pairwise(FACTORS | {"by": GROUPS["shop"]})
"""loyalty_review needs a loyalty column: the shop shape only."""


@pytest.mark.parametrize("case", range(len(LOYALTY_CASES)))
def test_loyalty_review_with_every_pair_of_options(case, made, tmp_path_factory):
    if "shop" not in made:
        made["shop"] = shapes.make("shop", tmp_path_factory.mktemp("shop"))
    shape = made["shop"]
    options = allowed(shape, LOYALTY_CASES[case])
    values = params.validate(options, notebook="loyalty_review")
    ns = run_cells("loyalty_review", {"data": shape.data, **values})
    analysis = ns["analysis"]
    if values["by"] is not None:
        assert analysis.model.by == values["by"]
    for key, value in _numbers(analysis.kpis):
        assert math.isfinite(value), key
    members = analysis.members_at_risk  # on the at-risk list, shown by its head and length
    assert set(members["customer_id"]) <= set(analysis.at_risk["customer_id"])
    assert analysis.members_at_risk_head.equals(members.head(analysis.members_at_risk_head.height))
    assert analysis.members_at_risk_counts.customers == members.height
    if values["currency"]:
        assert values["currency"] in ns["_shown"]
