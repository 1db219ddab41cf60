"""The models layer: one module per model, the shared optimizer, ``fit`` and ``ClvModel``."""

from clv.models.fitting import fit
from clv.models.model import ClvModel

__all__ = ["ClvModel", "fit"]
