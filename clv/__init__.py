"""clv: customer-value analytics from a transactions table.

Folders are layers, and imports flow down only (see docs/architecture.md):
:mod:`clv.params` (the one parameter spec) → :mod:`clv.data` (read, summarize) →
:mod:`clv.models` (fit, score) → :mod:`clv.analysis` (the one pipeline, segments, KPIs) →
:mod:`clv.report` (figures, notebooks, HTML) → :mod:`clv.cli`. :mod:`clv.engines` runs the
same formulas on Apache Spark.

The names below are imported on first use, so ``clv --help`` does not pay for SciPy; type
checkers read them from the ``TYPE_CHECKING`` block.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.3.0.dev0"

if TYPE_CHECKING:
    from clv import models, params, plots
    from clv.analysis.group_value import group_value
    from clv.analysis.money import Money
    from clv.analysis.pipeline import analyze
    from clv.analysis.results import Analysis
    from clv.data import datasets
    from clv.data.datasets import cdnow, synthetic_shop
    from clv.data.groups import with_customer_group
    from clv.data.io import load_transactions, read_transactions
    from clv.data.period import Period
    from clv.data.rfm import calibration_holdout, rfm_summary
    from clv.data.simulate import channel_shop
    from clv.data.write import write_frame
    from clv.errors import ClvError, DataError, ModelError, ReportError, UsageError
    from clv.models.acquisition import new_customer_value
    from clv.models.fitting import fit
    from clv.models.groups import GroupedClvModel, load_model
    from clv.models.model import ClvModel
    from clv.report.runner import run_report

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
    "channel_shop": "clv.data.simulate",
    "with_customer_group": "clv.data.groups",
    "Period": "clv.data.period",
    "fit": "clv.models.fitting",
    "ClvModel": "clv.models.model",
    "GroupedClvModel": "clv.models.groups",
    "load_model": "clv.models.groups",
    "new_customer_value": "clv.models.acquisition",
    "analyze": "clv.analysis.pipeline",
    "Analysis": "clv.analysis.results",
    "Money": "clv.analysis.money",
    "group_value": "clv.analysis.group_value",
    "run_report": "clv.report.runner",
}
"""Public name → the module that defines it."""

_MODULES = {
    "datasets": "clv.data.datasets",
    "models": "clv.models",
    "params": "clv.params",
    "plots": "clv.plots",
}
"""Modules reachable as attributes of ``clv`` (``clv.datasets.cdnow()``)."""

__all__ = [
    "Analysis",
    "ClvError",
    "ClvModel",
    "DataError",
    "GroupedClvModel",
    "ModelError",
    "Money",
    "Period",
    "ReportError",
    "UsageError",
    "__version__",
    "analyze",
    "calibration_holdout",
    "cdnow",
    "channel_shop",
    "datasets",
    "fit",
    "group_value",
    "load_model",
    "load_transactions",
    "models",
    "new_customer_value",
    "params",
    "plots",
    "read_transactions",
    "rfm_summary",
    "run_report",
    "synthetic_shop",
    "with_customer_group",
    "write_frame",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    if name in _MODULES:
        return import_module(_MODULES[name])
    raise AttributeError(f"module 'clv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return list(__all__)
