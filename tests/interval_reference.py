"""The straightforward implementation of :func:`clv.models.intervals.interval_scores` that
the fast one is tested against: every customer's gradient and drawn CLV computed in chunks of
customers (clv 0.1's code, kept as it was).

Intervals for CLV from the uncertainty of the fitted parameters, and P(top tier).

Parameter sets come from :mod:`clv.models.draws` (asymptotic normal of the log-parameters,
or a bootstrap over customers). Each customer's log
CLV is expanded to first order in the log-parameters (the delta method), so a draw costs one
matrix product per chunk of :data:`CHUNK_CUSTOMERS` customers and memory does not grow with
their number. The interval covers the uncertainty of the parameters only, not the randomness
of each customer's future purchases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
from scipy.special import ndtri

from clv.errors import UsageError
from clv.models.bgnbd import BGNBD_PARAMS, conditional_denominator, conditional_numerator
from clv.models.cashflows import CashFlowGrid
from clv.models.draws import DRAWS, Fitted, IntervalMethod, parameter_draws
from clv.models.gamma_gamma import GAMMA_GAMMA_PARAMS, expected_order_value
from clv.models.optimize import Params

CHUNK_CUSTOMERS = 10_000
"""Customers scored at once: draws x chunk x 8 bytes per matrix (16 MB at 200 draws)."""

TOP_SAMPLE = 20_000
"""Customers (a seeded sample; all when fewer) on whose draws each draw's top-tier cut is set."""

GRID_AGES = 33
"""Ages (T) per distinct frequency at which each draw evaluates the numerator of eq. (10)."""


# --------------------------------------------------------------------------------------------
# First-order expansion of each customer's log CLV in the log-parameters
# --------------------------------------------------------------------------------------------

_STEP = 1e-4
"""Central-difference step in the log-parameters."""


@dataclass(frozen=True)
class _NumeratorGrid:
    """The numerator of FHL (2005a) eq. (10) on (frequency, age) nodes."""

    xs: np.ndarray  # distinct frequencies
    ages: np.ndarray  # GRID_AGES ages (T), evenly spaced

    @classmethod
    def of(cls, x: np.ndarray, T: np.ndarray) -> _NumeratorGrid:
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
    log_den = _central(lambda p: conditional_denominator(p, x, tx, T), model.bgnbd, BGNBD_PARAMS)
    log_value = _central(
        lambda p: expected_order_value(p, x, m), model.gamma_gamma, GAMMA_GAMMA_PARAMS
    )
    disc, hor = (n[:, index] * (1 - weight) + n[:, index + 1] * weight for n in nodes)
    zeros = np.zeros_like(log_value)
    return (
        np.concatenate([disc - log_den, log_value]).T,
        np.concatenate([hor - log_den, zeros]).T,
    )


def _clipped(low: np.ndarray, point: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds widened to contain the point estimate (bootstrap percentiles of a skewed
    distribution can both fall on one side of it)."""
    return np.minimum(low, point), np.maximum(high, point)


@dataclass
class _Part:
    """The customers scored by one model, their log gradients' inputs and its draws."""

    model: Fitted
    rows: np.ndarray  # indices into the summary
    nodes: tuple[np.ndarray, np.ndarray]
    grid_of: _NumeratorGrid
    shifts: np.ndarray  # (draws, 7) log-parameter draws minus the estimate
    covariance: np.ndarray  # (7, 7), block diagonal

    def gradients(
        self, rows: np.ndarray, customers: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        x, tx, T, m = (c[rows] for c in customers)
        return _log_gradients(self.model, self.nodes, (x, tx, T, m), self.grid_of.locate(x, T))


def _parts(
    model: Fitted,
    group_models: Mapping[str, Fitted],
    labels: np.ndarray | None,
    summary: pl.DataFrame,
    customers: tuple[np.ndarray, ...],
    *,
    grid: CashFlowGrid,
    method: IntervalMethod,
    draws: int,
    seed: int,
) -> list[_Part]:
    x, _, T, _ = customers
    own = np.zeros(x.size, dtype=bool)
    assigned: list[tuple[Fitted, np.ndarray]] = []
    for name, group_model in group_models.items():
        rows = np.flatnonzero(labels == name) if labels is not None else np.array([], np.int64)
        own[rows] = True
        assigned.append((group_model, rows))
    parts = []
    for k, (part_model, rows) in enumerate([(model, np.flatnonzero(~own)), *assigned]):
        if rows.size == 0:
            continue
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
        grid_of = _NumeratorGrid.of(x[rows], T[rows])
        nodes = grid_of.log_gradient(part_model.bgnbd, grid)
        shifts = np.log(np.hstack([bg, gg])) - theta
        parts.append(_Part(part_model, rows, nodes, grid_of, shifts, cov))
    return parts


def interval_scores(
    model: Fitted,
    summary: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    grid: CashFlowGrid,
    interval: float = 0.9,
    method: IntervalMethod = "normal",
    draws: int = DRAWS,
    seed: int = 0,
    top_share: float = 0.2,
    by: str | None = None,
    group_models: Mapping[str, Fitted] | None = None,
    totals_by: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``clv_low/high``, ``expected_purchases_low/high`` and ``p_top`` to ``scores``.

    Each customer's log CLV (and log expected purchases) is expanded to first order in the
    seven log-parameters, ``log clv_i(theta) ~ log clv_i + g_i (theta - theta_hat)`` (the
    delta method; ``g_i`` by central differences of the exact formulas, the numerator of
    eq. 10 interpolated on a grid of ages). With ``method="normal"`` the bounds are then
    exactly ``clv_i exp(-/+ z sqrt(g_i S g_i'))`` (``S``: ``covariance_log``, block
    diagonal); with ``"bootstrap"`` they are percentiles of ``clv_i exp(g_i (theta_d -
    theta_hat))`` over the refitted draws. Totals are expanded the same way (gradient
    ``sum_i clv_i g_i / T``) and summed over the models' independent draws; ``p_top``
    compares each customer's drawn log CLV with each draw's top-tier cut (in float32).

    Parameters
    ----------
    scores
        :meth:`clv.models.ClvModel.score` of ``summary`` on ``grid`` (same rows, same order).
    interval
        Central probability of the interval (0.9: the 5th to the 95th percentile).
    method, draws, seed
        See :func:`clv.models.draws.parameter_draws`.
    top_share
        ``p_top`` is the share of draws in which the customer's CLV is at or above that
        draw's ``1 - top_share`` quantile of CLV over all customers (0.2: the ``good`` tier).
    by, group_models
        A column of ``summary`` (e.g. ``channel``) and models for some of its values, drawn
        independently; other rows use ``model``.
    totals_by
        Columns of ``summary`` (e.g. ``channel``, ``tier``) to total CLV over, with intervals.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        The scores with the five columns, and the totals: ``level`` (``"total"`` or a column
        of ``totals_by``), ``label`` (its value, sorted), ``customers``, ``clv``, ``clv_low``,
        ``clv_high`` (currency).
    """
    if not 0 < interval < 1:
        raise UsageError(f"interval must be between 0 and 1 (e.g. 0.9), not {interval}")
    if not 0 < top_share < 1:
        raise UsageError(f"top_share must be between 0 and 1, not {top_share}")
    columns = ("frequency", "recency", "T", "monetary_value")
    customers = tuple(summary[c].cast(pl.Float64).to_numpy() for c in columns)
    labels = None if by is None else summary[by].cast(pl.String).fill_null("").to_numpy()
    parts = _parts(
        model,
        group_models or {},
        labels,
        summary,
        customers,
        grid=grid,
        method=method,
        draws=draws,
        seed=seed,
    )
    n_draws = min(len(part.shifts) for part in parts)
    clv = scores["clv"].to_numpy()
    purchases = scores["expected_purchases"].to_numpy()
    n = clv.size
    rng = np.random.default_rng(seed)
    sample = np.arange(n) if n <= TOP_SAMPLE else rng.choice(n, TOP_SAMPLE, replace=False)
    in_sample = np.zeros(n, dtype=bool)
    in_sample[sample] = True
    sampled = []
    for part in parts:
        rows = part.rows[in_sample[part.rows]]
        g = part.gradients(rows, customers)[0]
        sampled.append(clv[rows, None] * np.exp(g @ part.shifts[:n_draws].T))
    cut = np.quantile(np.vstack(sampled), 1 - top_share, axis=0)
    masks = {("total", "total"): np.ones(n, dtype=bool)}
    for column in totals_by:
        values = summary[column].cast(pl.String).fill_null("").to_numpy()
        masks |= {(column, name): values == name for name in sorted(set(values.tolist()))}
    indicator = np.array(list(masks.values()), dtype=float)  # (labels, customers)
    totals = np.zeros((len(masks), n_draws))
    tails = np.array([(1 - interval) / 2, (1 + interval) / 2])
    z = float(ndtri(tails[1]))
    factors = {k: np.ones((n, 2)) for k in ("clv", "purchases")}
    p_top = np.empty(n)
    with np.errstate(divide="ignore"):  # CLV 0: never in the top tier
        log_clv = np.log(clv).astype(np.float32)
    log_cut = np.log(cut).astype(np.float32)
    for part in parts:
        shifts = part.shifts[:n_draws]
        shifts32 = shifts.astype(np.float32)
        weighted = np.zeros((len(masks), 7))  # sum of clv_i g_i per label
        for start in range(0, part.rows.size, CHUNK_CUSTOMERS):
            rows = part.rows[start : start + CHUNK_CUSTOMERS]
            g_clv, g_purchases = part.gradients(rows, customers)
            g32 = g_clv.astype(np.float32)
            log_ratio = np.zeros((rows.size, n_draws), np.float32)  # (chunk, draws)
            for k in range(g32.shape[1]):  # the sum in parameter order, as the fast code adds
                log_ratio += g32[:, k, None] * shifts32[:, k]
            log_ratio += log_clv[rows, None]
            p_top[rows] = np.count_nonzero(log_ratio >= log_cut, axis=1) / n_draws
            weighted += indicator[:, rows] @ (clv[rows, None] * g_clv)
            for key, g in (("clv", g_clv), ("purchases", g_purchases)):
                if method == "normal":
                    sd = np.sqrt(np.sum((g @ part.covariance) * g, axis=1))
                    factors[key][rows] = np.exp(np.outer(sd, [-z, z]))
                else:
                    factors[key][rows] = np.exp(np.quantile(g @ shifts.T, tails, axis=1).T)
        # each total to first order too: log T_k + (sum_i clv_i g_i / T_k) (theta - theta_hat)
        part_totals = indicator[:, part.rows] @ clv[part.rows]
        with np.errstate(divide="ignore", invalid="ignore"):
            gradient = np.where(part_totals[:, None] > 0, weighted / part_totals[:, None], 0.0)
        totals += part_totals[:, None] * np.exp(gradient @ shifts.T)
    clv_low, clv_high = _clipped(clv * factors["clv"][:, 0], clv, clv * factors["clv"][:, 1])
    ep_low, ep_high = _clipped(
        purchases * factors["purchases"][:, 0], purchases, purchases * factors["purchases"][:, 1]
    )
    out = scores.with_columns(
        expected_purchases_low=ep_low,
        expected_purchases_high=ep_high,
        clv_low=clv_low,
        clv_high=clv_high,
        p_top=p_top,
    )
    point = np.array([clv[mask].sum() for mask in masks.values()])
    bounds = np.quantile(totals, tails, axis=1)
    low, high = _clipped(bounds[0], point, bounds[1])
    total_frame = pl.DataFrame(
        {
            "level": [level for level, _ in masks],
            "label": [label for _, label in masks],
            "customers": [int(mask.sum()) for mask in masks.values()],
            "clv": point,
            "clv_low": low,
            "clv_high": high,
        }
    )
    return out, total_frame


def grouped_scores(model: Any, summary: pl.DataFrame, **money: Any) -> pl.DataFrame:
    """:meth:`clv.models.groups.GroupedClvModel.score` without intervals as clv 0.1 wrote it:
    a ``group_by`` of the rows, each part scored by its group's model, sorted back."""
    indexed = summary.with_row_index("_row")
    group = pl.col(model.by).cast(pl.String)
    parts = []
    for (name,), part in indexed.group_by(group, maintain_order=True):
        scored = model.model_of(name).score(part.drop("_row"), **money)
        parts.append(scored.with_columns(part["_row"]))
    scores = pl.concat(parts).sort("_row").drop("_row")
    at = 1 if "customer_id" in scores.columns else 0
    return scores.insert_column(at, summary[model.by].cast(pl.String))
