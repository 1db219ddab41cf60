"""The one-way data flow of ARCHITECTURE.md: folders are layers, imports only flow down."""

import ast
import re
from pathlib import Path

import pytest

import clv

PACKAGE = Path(clv.__file__).parent
LAYERS = ["errors", "params", "data", "models", "analysis", "plots", "report", "engines", "cli"]
"""From the bottom up. A module imports only its own layer or the ones below it; ``plots``
(the figures) sits above ``analysis`` and below ``report``, which arranges them; ``engines``
(Spark) sits above ``analysis`` so that its jobs can call the pipeline's steps."""


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
        for imported in clv_imports(path):
            other = layer_of(imported)
            assert other in LAYERS, f"{path} imports {imported}, outside the layers"
            assert LAYERS.index(other) <= own, f"{dotted(path)} imports the higher {imported}"


def test_no_import_cycles():
    graph = {dotted(p): clv_imports(p) for p in modules()}
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


def test_public_modules_are_attributes():
    assert clv.datasets.cdnow is clv.cdnow
    assert clv.models.fit is clv.fit
    assert callable(clv.plots.probability_alive_matrix)
    assert clv.params.SPEC["horizon"].default == 12


def test_the_namespace_is_the_api():
    """``dir(clv)`` lists the API and nothing else; every name in it resolves."""
    assert dir(clv) == clv.__all__ == sorted(clv.__all__)
    for name in clv.__all__:
        assert getattr(clv, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'MOVED'"):
        clv.MOVED  # noqa: B018


def test_no_process_wide_tricks():
    """Library code never changes the process behind the user's back."""
    pattern = re.compile(r"setpriority|gc\.freeze|OPENBLAS_NUM_THREADS|meta_path")
    for path in PACKAGE.rglob("*.py"):
        assert not pattern.search(path.read_text()), path
