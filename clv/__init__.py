"""clv: customer-value analytics from a transactions table.

Folders are layers, and imports flow down only (see docs/architecture.md):
:mod:`clv.data` (read, summarize) → :mod:`clv.models` (fit, score) → :mod:`clv.analysis`
(the one pipeline, segments, KPIs) → :mod:`clv.report` (figures, notebooks, HTML) →
:mod:`clv.cli`. :mod:`clv.engines` runs the same formulas on Apache Spark.

The names below are imported on first use, so ``clv --help`` does not pay for scipy.
"""

import sys
import warnings
from importlib import import_module
from importlib.abc import Loader, MetaPathFinder
from importlib.machinery import ModuleSpec
from types import ModuleType

__version__ = "0.2.0.dev0"

_EXPORTS = {
    "ClvError": "clv.errors",
    "DataError": "clv.errors",
    "ModelError": "clv.errors",
    "ReportError": "clv.errors",
    "UsageError": "clv.errors",
    "read_transactions": "clv.data.io",
    "load_transactions": "clv.data.io",
    "write_frame": "clv.data.write",
    "rfm_summary": "clv.data.rfm",
    "calibration_holdout": "clv.data.rfm",
    "cdnow": "clv.data.datasets",
    "synthetic_shop": "clv.data.datasets",
    "fit": "clv.models.fitting",
    "ClvModel": "clv.models.model",
    "analyze": "clv.analysis.pipeline",
    "Analysis": "clv.analysis.results",
    "Period": "clv.data.period",
    "Money": "clv.analysis.money",
    "with_customer_group": "clv.data.groups",
    "channel_shop": "clv.data.simulate",
    "GroupedClvModel": "clv.models.groups",
    "load_model": "clv.models.groups",
    "new_customer_value": "clv.models.acquisition",
    "group_value": "clv.analysis.group_value",
    "run_report": "clv.report.runner",
}
"""Public name → the module that defines it."""

_MODULES = {
    "datasets": "clv.data.datasets",
    "plots": "clv.report.plots",
    "models": "clv.models",
}
"""Modules reachable as attributes of ``clv`` (``clv.datasets.cdnow()``)."""

MOVED = {
    "clv.io": "clv.data.io",
    "clv.rfm": "clv.data.rfm",
    "clv.datasets": "clv.data.datasets",
    "clv._optimize": "clv.models.optimize",
    "clv.bgnbd": "clv.models.bgnbd",
    "clv.gamma_gamma": "clv.models.gamma_gamma",
    "clv.validation": "clv.analysis.validation",
    "clv.segments": "clv.analysis.segments",
    "clv.kpis": "clv.analysis.kpis",
    "clv.plots": "clv.report.plots",
    "clv.render": "clv.report.render",
    "clv.sections": "clv.report.sections",
}
"""Module paths of clv 0.1 → where the module lives now (imported with a DeprecationWarning)."""

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return import_module(_MODULES[name])
    raise AttributeError(f"module 'clv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__, *_MODULES]


class _MovedModules(MetaPathFinder, Loader):
    """``import clv.io`` (a 0.1 path) gives ``clv.data.io``, with a DeprecationWarning."""

    def find_spec(self, fullname: str, path: object, target: object = None) -> ModuleSpec | None:
        return ModuleSpec(fullname, self) if fullname in MOVED else None

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        warnings.warn(
            f"{spec.name} moved to {MOVED[spec.name]}; import it from there",
            DeprecationWarning,
            stacklevel=2,
        )
        return import_module(MOVED[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The module is already executed under its new name."""


sys.meta_path.append(_MovedModules())
