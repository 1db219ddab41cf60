"""The one-way data flow of ARCHITECTURE.md: a module imports only the steps before it."""

import ast
from pathlib import Path

import clv

FLOW = [
    "errors",
    "io",
    "datasets",
    "rfm",
    "_optimize",
    "bgnbd",
    "gamma_gamma",
    "models",
    "validation",
    "segments",
    "kpis",
    "plots",
    "render",
    "sections",
    "report",
    "cli",
]
PACKAGE = Path(clv.__file__).parent


def clv_imports(module: str) -> set[str]:
    """The clv modules ``module`` imports, at the top or inside functions."""
    found = set()
    for node in ast.walk(ast.parse((PACKAGE / f"{module}.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module == "clv":
            found |= {a.name for a in node.names if (PACKAGE / f"{a.name}.py").exists()}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("clv."):
            found.add(node.module.removeprefix("clv."))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("clv.") for a in node.names if a.name.startswith("clv.")}
    return found


def test_every_module_has_a_place_in_the_flow():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(FLOW)


def test_modules_import_only_earlier_steps():
    for position, module in enumerate(FLOW):
        later = clv_imports(module) - set(FLOW[:position])
        assert not later, f"clv/{module}.py imports later steps {sorted(later)}"


def test_pandas_only_at_the_lifetimes_boundary():
    for module in FLOW:
        text = (PACKAGE / f"{module}.py").read_text()
        uses = "import pandas" in text or ".to_pandas(" in text
        assert not uses or module == "models", f"clv/{module}.py uses pandas"
