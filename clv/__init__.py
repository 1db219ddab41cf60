"""clv: customer-value analytics from a transactions table.

The data flow, one module per step: :mod:`clv.io` (read) → :mod:`clv.rfm` (summarize) →
:mod:`clv.models` (fit, score; the formulas in :mod:`clv.bgnbd` and :mod:`clv.gamma_gamma`)
→ :mod:`clv.validation` → :mod:`clv.segments` and :mod:`clv.kpis` → :mod:`clv.plots`
→ :mod:`clv.render` and :mod:`clv.sections` → :mod:`clv.report`. Figures and reports are
imported from their modules.

The names below are imported on first use, so ``clv --help`` does not pay for scipy.
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "ClvError": "clv.errors",
    "DataError": "clv.errors",
    "ModelError": "clv.errors",
    "ReportError": "clv.errors",
    "UsageError": "clv.errors",
    "read_transactions": "clv.io",
    "write_frame": "clv.io",
    "rfm_summary": "clv.rfm",
    "calibration_holdout": "clv.rfm",
    "fit": "clv.models",
    "ClvModel": "clv.models",
    "cdnow": "clv.datasets",
    "synthetic_shop": "clv.datasets",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'clv' has no attribute {name!r}")


def __dir__() -> list[str]:
    return [*globals(), *__all__]
