"""The value of a newly acquired customer, per group, with an interval.

As CLVTools' ``newcustomer()`` (Meierer et al., CLVTools) does for its models: the expected
purchases of a customer who has just made their first order, from the unconditional
expectation E[X(t)] of FHL (2005a) eq. (9) (or the purchase model's own), here with the first
order counted and every order valued at the Gamma-Gamma population mean ``p v / (q - 1)``
(Fader, Hardie & Lee 2005b, the mean of eq. 1 over nu), month by month and discounted as
:meth:`clv.models.ClvModel.score` discounts.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clv.models.cashflows import CashFlowGrid
from clv.models.draws import DRAWS, IntervalMethod, parameter_draws
from clv.models.gamma_gamma import mean_order_value
from clv.models.groups import GroupedClvModel
from clv.models.model import ClvModel


def _values(
    model: ClvModel, bg: np.ndarray, gg: np.ndarray, grid: CashFlowGrid, margin: float
) -> np.ndarray:
    """Values for parameter rows ``bg`` (n, k: the purchase model's) and ``gg`` (n, j:
    Gamma-Gamma's): ``margin * mean order value * (1 + sum_i (E[X(t_i)] - E[X(t_(i-1))]) /
    (1+d)^i)``, the first order undiscounted."""
    params = {n: bg[:, k, None] for k, n in enumerate(model.spec.params)}
    purchases = model.spec.expected_new(params, grid.ends[None, :])  # (n, months)
    steps = np.diff(purchases, axis=1, prepend=0.0)
    discounted = 1.0 + (steps / grid.factors).sum(axis=1)
    spend = {n: gg[:, k] for k, n in enumerate(model.gamma_gamma_params)}
    return margin * mean_order_value(spend) * discounted


def new_customer_value(
    model: ClvModel,
    *,
    grid: CashFlowGrid,
    margin: float = 1.0,
    interval: float | None = None,
    interval_method: IntervalMethod = "normal",
    draws: int = DRAWS,
    seed: int = 0,
    summary: pl.DataFrame | None = None,
) -> dict[str, float]:
    """Expected value over ``grid``'s horizon of a customer acquired today (currency).

    Returns ``{"new_customer_value": ...}``, with ``interval`` also ``..._low`` and
    ``..._high`` (percentiles over parameter draws, see
    :func:`clv.models.draws.parameter_draws`; ``summary`` for the bootstrap).

    Examples
    --------
    >>> grid = cash_flow_grid(horizon=12, horizon_unit="M", model_unit="W")  # doctest: +SKIP
    >>> new_customer_value(model, grid=grid)["new_customer_value"]  # doctest: +SKIP
    """
    point = np.array([[model.purchase[n] for n in model.spec.params]])
    point_gg = np.array([[model.gamma_gamma[n] for n in model.gamma_gamma_params]])
    value = float(_values(model, point, point_gg, grid, margin)[0])
    out = {"new_customer_value": value}
    if interval is not None:
        bg, gg = parameter_draws(
            model, draws=draws, method=interval_method, seed=seed, summary=summary
        )
        low, high = np.quantile(
            _values(model, bg, gg, grid, margin), [(1 - interval) / 2, (1 + interval) / 2]
        )
        out |= {
            "new_customer_value_low": min(float(low), value),
            "new_customer_value_high": max(float(high), value),
        }
    return out


def new_customer_values(
    model: GroupedClvModel,
    *,
    grid: CashFlowGrid,
    margin: float = 1.0,
    interval: float | None = None,
    interval_method: IntervalMethod = "normal",
    draws: int = DRAWS,
    seed: int = 0,
    summary: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """:func:`new_customer_value` per group of ``model`` (the pooled model's for the groups
    that use it): one row per group, sorted, with ``uses_pooled`` (bool)."""
    names = sorted([*model.groups, *model.pooled_groups])
    rows = []
    for k, name in enumerate(names):
        own = name in model.groups
        fitted_on = None  # the bootstrap's refits need the group's customers
        if summary is not None and own and interval_method == "bootstrap":
            fitted_on = summary.filter(pl.col(model.by).cast(pl.String) == name)
        rows.append(
            {model.by: name, "uses_pooled": not own}
            | new_customer_value(
                model.model_of(name),
                grid=grid,
                margin=margin,
                interval=interval,
                interval_method=interval_method,
                draws=draws,
                seed=seed + k,
                summary=fitted_on if own else summary,
            )
        )
    return pl.DataFrame(rows)
