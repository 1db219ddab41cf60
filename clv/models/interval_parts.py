"""The first-order expansion behind :mod:`clv.models.intervals`: each customer's gradient of
log CLV (and of log expected purchases) in the seven log-parameters, per model of a group.

The derivatives are central differences of the exact formulas: the denominator of FHL (2005a)
eq. (10) and the Gamma-Gamma order value (Fader, Hardie & Lee 2005b, eq. 5) per customer, the
numerator of eq. (10) on a grid of ages per frequency, interpolated.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import polars as pl

from clv.models.bgnbd import BGNBD_PARAMS, conditional_denominator, conditional_numerator
from clv.models.cashflows import CashFlowGrid
from clv.models.draws import Fitted, IntervalMethod, parameter_draws
from clv.models.gamma_gamma import GAMMA_GAMMA_PARAMS, expected_order_value
from clv.models.optimize import Params

GRID_AGES = 33
"""Ages (T) per distinct frequency at which each draw evaluates the numerator of eq. (10)."""

_STEP = 1e-4
"""Central-difference step in the log-parameters."""


@dataclass(frozen=True)
class NumeratorGrid:
    """The numerator of FHL (2005a) eq. (10) on (frequency, age) nodes."""

    xs: np.ndarray  # distinct frequencies
    ages: np.ndarray  # GRID_AGES ages (T), evenly spaced

    @classmethod
    def of(cls, x: np.ndarray, T: np.ndarray) -> NumeratorGrid:
        low, high = float(T.min()), float(T.max())
        return cls(np.unique(x), np.linspace(low, max(high, low + 1e-9), GRID_AGES))

    def locate(self, x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Flat index of each customer's lower node and the weight of the upper one."""
        step = self.ages[1] - self.ages[0]
        j = np.clip(((T - self.ages[0]) // step).astype(np.int64), 0, GRID_AGES - 2)
        weight = (T - self.ages[j]) / step
        return np.searchsorted(self.xs, x) * GRID_AGES + j, weight

    def log_gradient(self, bgnbd: Params, grid: CashFlowGrid) -> tuple[np.ndarray, np.ndarray]:
        """``(4, nodes)`` derivatives of the log discounted and log horizon numerators."""
        theta = np.log([bgnbd[n] for n in BGNBD_PARAMS])
        rows = np.exp(theta + np.concatenate([np.eye(4), -np.eye(4)]) * _STEP)
        params = {n: rows[:, k, None, None] for k, n in enumerate(BGNBD_PARAMS)}
        x, T = self.xs[None, :, None], self.ages[None, None, :]
        prev = np.zeros((rows.shape[0], self.xs.size, GRID_AGES))
        discounted = np.zeros_like(prev)
        for end, factor in zip(grid.ends, grid.factors, strict=True):
            cur = conditional_numerator(params, end, x, T)
            discounted += (cur - prev) / factor
            prev = cur
        if grid.ends[-1] != grid.horizon:
            prev = conditional_numerator(params, grid.horizon, x, T)
        d_discounted, d_horizon = (
            ((np.log(v[:4]) - np.log(v[4:])) / (2 * _STEP)).reshape(4, -1)
            for v in (discounted, prev)
        )
        return d_discounted, d_horizon


def _central(
    f: Callable[[Params], np.ndarray], params: Params, names: tuple[str, ...]
) -> np.ndarray:
    """Derivatives of ``log f`` in each log-parameter, one row per parameter."""
    out = []
    for name in names:
        up, down = dict(params), dict(params)
        up[name] *= np.exp(_STEP)
        down[name] *= np.exp(-_STEP)
        out.append((np.log(f(up)) - np.log(f(down))) / (2 * _STEP))
    return np.array(out)


def _log_gradients(
    model: Fitted,
    nodes: tuple[np.ndarray, np.ndarray],
    customers: tuple[np.ndarray, ...],
    locate: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """``(customers, 7)`` gradients of log CLV and of log expected purchases in
    (log r, log alpha, log a, log b, log p, log q, log v)."""
    x, tx, T, m = customers
    index, weight = locate
    # the denominator is 1 without a repeat purchase (derivatives 0), the order value the
    # population mean without a positive repeat spend: each evaluated where it varies
    log_den = np.zeros((4, x.size))
    repeat = x > 0
    log_den[:, repeat] = _central(
        lambda p: conditional_denominator(p, x[repeat], tx[repeat], T[repeat]),
        model.bgnbd,
        BGNBD_PARAMS,
    )
    log_value = np.empty((3, x.size))
    spender = repeat & (m > 0)
    log_value[:, spender] = _central(
        lambda p: expected_order_value(p, x[spender], m[spender]),
        model.gamma_gamma,
        GAMMA_GAMMA_PARAMS,
    )
    log_value[:, ~spender] = _central(
        lambda p: expected_order_value(p, np.zeros(1), np.zeros(1)),
        model.gamma_gamma,
        GAMMA_GAMMA_PARAMS,
    )
    lower, upper = 1 - weight, index + 1
    disc, hor = (n[:, index] * lower + n[:, upper] * weight for n in nodes)
    zeros = np.zeros_like(log_value)
    return (
        np.concatenate([disc - log_den, log_value]).T,
        np.concatenate([hor - log_den, zeros]).T,
    )


@dataclass
class Part:
    """The customers scored by one model, their log gradients' inputs and its draws."""

    model: Fitted
    rows: np.ndarray  # indices into the summary
    nodes: tuple[np.ndarray, np.ndarray]
    grid_of: NumeratorGrid
    shifts: np.ndarray  # (draws, 7) log-parameter draws minus the estimate
    covariance: np.ndarray  # (7, 7), block diagonal

    def gradients(
        self, rows: np.ndarray, customers: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, 7)`` gradients of log CLV and of log expected purchases of the customers
        ``rows`` of ``customers`` (frequency, recency, T, monetary value arrays)."""
        x, tx, T, m = (c[rows] for c in customers)
        return _log_gradients(self.model, self.nodes, (x, tx, T, m), self.grid_of.locate(x, T))


def codes(column: pl.Series) -> tuple[list[str], np.ndarray]:
    """The distinct values of ``column`` as strings (null: ``""``), sorted, and each row's
    index into them."""
    values = column.cast(pl.String).fill_null("")
    names = sorted(values.unique().to_list())
    return names, values.cast(pl.Enum(names)).to_physical().to_numpy()


def model_parts(
    model: Fitted,
    group_models: Mapping[str, Fitted],
    labels: tuple[list[str], np.ndarray] | None,
    summary: pl.DataFrame,
    customers: tuple[np.ndarray, ...],
    *,
    grid: CashFlowGrid,
    method: IntervalMethod,
    draws: int,
    seed: int,
) -> list[Part]:
    """One :class:`Part` per model that scores some customers: ``model`` for the customers
    whose label (``labels``: names and each row's index, from :func:`codes`) has no model in
    ``group_models``, then each group's; the k-th model's draws are seeded ``seed + k``."""
    x, _, T, _ = customers
    own = np.zeros(x.size, dtype=bool)
    assigned: list[tuple[Fitted, np.ndarray]] = []
    for name, group_model in group_models.items():
        rows = np.array([], np.int64)
        if labels is not None and name in labels[0]:
            rows = np.flatnonzero(labels[1] == labels[0].index(name))
        own[rows] = True
        assigned.append((group_model, rows))
    parts = []
    for k, (part_model, rows) in enumerate([(model, np.flatnonzero(~own)), *assigned]):
        if rows.size == 0:
            continue
        fitted_on = None  # the normal draws need only the model
        if method == "bootstrap":
            fitted_on = summary if k == 0 else summary[rows]
        bg, gg = parameter_draws(
            part_model, draws=draws, method=method, seed=seed + k, summary=fitted_on
        )
        theta = np.log(
            [part_model.bgnbd[n] for n in BGNBD_PARAMS]
            + [part_model.gamma_gamma[n] for n in GAMMA_GAMMA_PARAMS]
        )
        cov = np.zeros((7, 7))
        if part_model.covariance_log:
            cov[:4, :4] = np.nan_to_num(part_model.covariance_log["bgnbd"])  # boundary: held
            cov[4:, 4:] = np.nan_to_num(part_model.covariance_log["gamma_gamma"])
        grid_of = NumeratorGrid.of(x[rows], T[rows])
        nodes = grid_of.log_gradient(part_model.bgnbd, grid)
        shifts = np.log(np.hstack([bg, gg])) - theta
        parts.append(Part(part_model, rows, nodes, grid_of, shifts, cov))
    return parts
