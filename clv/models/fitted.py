"""What the notebook helpers read of a fitted model: :class:`Fitted` is the shape of a
:class:`~clv.models.model.ClvModel` (which imports those helpers, so they cannot import it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from clv.data.rfm import TimeUnit
from clv.models.optimize import Params
from clv.models.purchase import PurchaseModel


class Fitted(Protocol):
    """A fitted purchase model + Gamma-Gamma (:class:`~clv.models.model.ClvModel`)."""

    purchase: Params
    gamma_gamma: Params
    purchase_model: str
    time_unit: TimeUnit
    observation_end: str | None
    n_customers: int
    n_repeat_buyers: int
    standard_errors: dict[str, Params]
    at_boundary: dict[str, list[str]]
    log_likelihood: dict[str, float]
    diagnostics: list[dict[str, Any]]

    @property
    def spec(self) -> PurchaseModel: ...


class GroupedFitted(Protocol):
    """A model per group, the pooled one alongside (:class:`~clv.models.groups.GroupedClvModel`)."""

    by: str
    pooled_groups: dict[str, str]

    @property
    def pooled(self) -> Fitted: ...

    @property
    def groups(self) -> Mapping[str, Fitted]: ...
