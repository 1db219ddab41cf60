"""The report layer: parameters, the papermill runner, run folders, rendering and figures."""

from importlib import import_module

__all__ = ["run_report"]


def __getattr__(name: str) -> object:
    if name in __all__:
        return getattr(import_module("clv.report.runner"), name)
    raise AttributeError(f"module 'clv.report' has no attribute {name!r}")
