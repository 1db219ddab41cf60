"""The one-way data flow of ARCHITECTURE.md: folders are layers, imports only flow down."""

import ast
import warnings
from pathlib import Path

import pytest

import clv

PACKAGE = Path(clv.__file__).parent
LAYERS = ["errors", "data", "models", "analysis", "report", "engines", "cli"]
"""From the bottom up. A module imports only its own layer or the ones below it; ``engines``
(Spark) sits above ``analysis`` so that its jobs can call the pipeline's steps."""


DISPATCH = ("clv.data.engines", "clv.engines.spark")
"""The one upward import: ``engine="spark"`` reaches the Spark engine on first use, so the
one-machine path never imports pyspark."""


def layer_of(module: str) -> str:
    """``clv.data.io`` -> ``data``; ``clv.cli`` -> ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def clv_imports(path: Path) -> set[str]:
    """The clv modules ``path`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clv."):
            found.add(node.module)
        elif isinstance(node, ast.ImportFrom) and node.module == "clv":
            found |= {f"clv.{a.name}" for a in node.names if a.name != "__version__"}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("clv.")}
    return found


def dotted(path: Path) -> str:
    return "clv." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)


def test_every_module_sits_in_a_layer():
    for path in modules():
        assert layer_of(dotted(path)) in LAYERS, f"{path} is outside the layers {LAYERS}"


def test_layers_import_only_downwards():
    for path in modules():
        own = LAYERS.index(layer_of(dotted(path)))
        for imported in clv_imports(path) - (
            {DISPATCH[1]} if dotted(path) == DISPATCH[0] else set()
        ):
            other = layer_of(imported)
            assert other in LAYERS, f"{path} imports {imported}, outside the layers"
            assert LAYERS.index(other) <= own, f"{dotted(path)} imports the higher {imported}"


def test_no_import_cycles():
    graph = {dotted(p): clv_imports(p) for p in modules()}
    graph[DISPATCH[0]].discard(DISPATCH[1])
    for start in graph:
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            assert module != start, f"{start} imports itself through {sorted(seen)}"
            if module not in seen:
                seen.add(module)
                todo.extend(graph.get(module, ()))


def test_pandas_only_at_the_lifetimes_boundary():
    allowed = {"clv.models.lifetimes_engine", "clv.data.io", "clv.engines.spark"}
    for path in modules():
        text = path.read_text()
        uses = "import pandas" in text or ".to_pandas(" in text
        assert not uses or dotted(path) in allowed, f"{dotted(path)} uses pandas"


@pytest.mark.parametrize("old", sorted(clv.MOVED))
def test_old_module_paths_still_import(old):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = __import__(old, fromlist=["_"])
    assert module.__name__ == clv.MOVED[old]
    assert any(issubclass(w.category, DeprecationWarning) for w in caught)


def test_public_modules_are_attributes():
    assert clv.datasets.cdnow is clv.cdnow
    assert clv.models.fit is clv.fit
    assert callable(clv.plots.purchase_count_fit)


@pytest.mark.parametrize(
    ("old", "name", "new"),
    [
        ("clv.segments", "at_risk", "clv.analysis.risk"),
        ("clv.segments", "gini", "clv.analysis.profile"),
        ("clv.segments", "value_tiers", "clv.analysis.segments"),
        ("clv.kpis", "retention_economics", "clv.analysis.retention"),
        ("clv.kpis", "loyalty_by_month", "clv.analysis.loyalty"),
        ("clv.plots", "cohort_retention", "clv.report.plots_kpis"),
        ("clv.sections", "describe", "clv.analysis.tables"),
        ("clv.io", "write_frame", "clv.data.write"),
    ],
)
def test_old_functions_are_found_where_they_moved(old, name, new):
    """A 0.1 module split across modules: each of its functions still resolves, to the same
    object, the moved ones with a warning that names their new place."""
    import importlib

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        module = importlib.import_module(old)
        found = getattr(module, name)
    assert found is getattr(importlib.import_module(new), name)
    if new != clv.MOVED[old]:  # (the module's own import warned once, when first imported)
        assert any(new in str(w.message) for w in caught if w.category is DeprecationWarning)
    with pytest.raises(AttributeError, match="has no attribute 'no_such_function'"):
        module.no_such_function  # noqa: B018
