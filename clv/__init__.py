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

MOVED_NAMES = {
    "clv.io": ("clv.data.write", "clv.data.columns", "clv.data.sources"),
    "clv.segments": ("clv.analysis.profile", "clv.analysis.risk"),
    "clv.kpis": ("clv.analysis.loyalty", "clv.analysis.retention"),
    "clv.plots": ("clv.report.plots_kpis",),
    "clv.sections": ("clv.analysis.tables", "clv.models.history", "clv.analysis.validation"),
}
"""Where the functions of a 0.1 module that moved to another module than the rest now live
(``clv.segments.at_risk`` is ``clv.analysis.risk.at_risk``)."""

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
        module = import_module(MOVED[spec.name])
        if spec.name not in MOVED_NAMES:
            return module
        return _OldModule(spec.name, module, MOVED_NAMES[spec.name])

    def exec_module(self, module: ModuleType) -> None:
        """The module is already executed under its new name."""


class _OldModule(ModuleType):
    """A 0.1 module whose functions now live in several modules: the new module's names, and
    the others found where they moved (each with a DeprecationWarning naming the new place)."""

    def __init__(self, old: str, module: ModuleType, elsewhere: tuple[str, ...]) -> None:
        super().__init__(module.__name__, module.__doc__)
        self.__dict__.update(vars(module))
        self._clv_old, self._clv_elsewhere = old, elsewhere

    def __getattr__(self, name: str) -> object:
        for where in self._clv_elsewhere:
            found = getattr(import_module(where), name, None)
            if found is not None:
                warnings.warn(
                    f"{self._clv_old}.{name} moved to {where}.{name}; import it from there",
                    DeprecationWarning,
                    stacklevel=2,
                )
                return found
        raise AttributeError(f"module {self._clv_old!r} has no attribute {name!r}")


sys.meta_path.append(_MovedModules())
