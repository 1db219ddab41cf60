"""The engines registry: ``engine="spark"`` finds the engine that registered that name.

An engine module (:mod:`clv.engines.spark_analysis`: the functions of :mod:`clv.engines.spark`
and the Spark analysis) calls :func:`register` when it is imported, and
:func:`clv.data.rfm.rfm_summary`, :func:`clv.models.fitting.fit` and
:func:`clv.analysis.pipeline.analyze` look it up with :func:`get`. Nothing in the lower layers
imports an engine: :func:`get` imports the module named in :data:`MODULES` by name on first
use (as a plugin is loaded), so the one-machine path never imports pyspark.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol

from clv.errors import UsageError

if TYPE_CHECKING:
    from clv.data.io import Loaded

DataEngine = Literal["polars", "spark"]

MODULES = {"spark": "clv.engines.spark_analysis"}
"""Engine name → the module that registers it when imported."""


class Engine(Protocol):
    """What an engine provides: the reader, the RFM summaries, the fit and the analysis, on
    its frames."""

    def load_transactions(self, source: Any, **read_options: Any) -> Loaded: ...

    def rfm_summary(
        self, transactions: Any, *, observation_end: Any = None, time_unit: Any = "W"
    ) -> Any: ...

    def calibration_holdout(
        self,
        transactions: Any,
        *,
        calibration_end: Any,
        observation_end: Any = None,
        time_unit: Any = "W",
    ) -> Any: ...

    def fit(self, summary: Any, *, penalizer: Any = 0.0, purchase_model: str = "bgnbd") -> Any: ...

    def to_polars(self, frame: Any, *, sort_by: str | None = "customer_id") -> Any: ...

    def analysis(
        self,
        source: Any,
        request: Any,
        read_options: Mapping[str, Any],
        session: Mapping[str, Any],
    ) -> Any:
        """The :class:`clv.analysis.results.Analysis` of ``source`` read with
        ``read_options`` in the engine's ``session`` (``master`` and ``conf``), its period and
        money resolved by ``request`` (:class:`clv.analysis.pipeline.Request`)."""
        ...


_REGISTERED: dict[str, Engine] = {}


def register(name: str, engine: Engine) -> None:
    """Make ``engine`` the one ``engine=name`` uses (called by the engine's module)."""
    _REGISTERED[name] = engine


def get(name: str) -> Engine:
    """The engine registered as ``name``, its module imported on first use (a one-line
    :class:`UsageError` for an unknown name, or when the engine's packages are missing)."""
    if name not in _REGISTERED:
        if name not in MODULES:
            known = " or ".join(repr(n) for n in ("polars", *MODULES))
            raise UsageError(f"engine must be {known}, not {name!r}")
        importlib.import_module(MODULES[name])  # registers itself
    return _REGISTERED[name]
