"""The models layer: one module per model, the shared optimizer, ``fit`` and ``ClvModel``.

``fit`` and ``ClvModel`` load on first use: importing a light module of this layer (the checks
of money and time) does not load SciPy.
"""

from importlib import import_module

__all__ = ["ClvModel", "fit"]


def __getattr__(name: str) -> object:
    if name == "fit":
        return import_module("clv.models.fitting").fit
    if name == "ClvModel":
        return import_module("clv.models.model").ClvModel
    raise AttributeError(f"module 'clv.models' has no attribute {name!r}")
