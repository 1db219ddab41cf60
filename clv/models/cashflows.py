"""The monthly cash-flow grid of a CLV horizon: month ends and their discount factors."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit, unit_days
from clv.errors import UsageError

MONTH_DAYS = 365.25 / 12
"""Length of a month in days for CLV cash flows (lifetimes hard-codes 30)."""


class MoneyOptions(TypedDict):
    """The money keywords shared by :func:`cash_flow_grid` and ``score`` (as a ``**`` dict)."""

    horizon: float
    horizon_unit: TimeUnit
    discount_rate_annual: float
    month_days: float


@dataclass(frozen=True)
class CashFlowGrid:
    """Month ends of a horizon in the model's time unit, and the discount factor of each.

    ``ends[i]`` is the end of month ``i + 1`` (the last one cut at the horizon), ``factors[i]``
    ``(1 + d)^(i+1)`` (a last partial month at its fractional end) and ``horizon`` the whole
    horizon, all in the model's time unit.
    """

    ends: np.ndarray
    factors: np.ndarray
    horizon: float


def cash_flow_grid(
    *,
    horizon: float,
    horizon_unit: TimeUnit,
    model_unit: TimeUnit,
    discount_rate_annual: float = 0.10,
    month_days: float = MONTH_DAYS,
    discount_rate_monthly: float | None = None,
) -> CashFlowGrid:
    """The grid on which :meth:`clv.models.ClvModel.score` discounts (lifetimes' method).

    ``horizon`` in ``horizon_unit`` (``M``: months of ``month_days`` days); the monthly rate
    is ``(1 + discount_rate_annual)^(1/12) - 1`` unless ``discount_rate_monthly`` is given.
    """
    if horizon <= 0:
        raise UsageError(f"horizon must be positive, not {horizon}")
    if month_days <= 0:
        raise UsageError(f"month_days must be positive, not {month_days}")
    d = (
        (1 + discount_rate_annual) ** (1 / 12) - 1
        if discount_rate_monthly is None
        else discount_rate_monthly
    )
    horizon_days = horizon * (month_days if horizon_unit == "M" else unit_days(horizon_unit))
    model_days = TIME_UNIT_DAYS[model_unit]
    n_months = math.ceil(horizon_days / month_days - 1e-9)
    months = np.arange(1, n_months + 1)
    ends_days = np.minimum(months * month_days, horizon_days)
    exponents = np.where(months * month_days <= horizon_days, months, ends_days / month_days)
    return CashFlowGrid(ends_days / model_days, (1 + d) ** exponents, horizon_days / model_days)
