"""Intervals for CLV from the uncertainty of the fitted parameters, and P(top tier).

Parameter sets come from :mod:`clv.models.draws` (asymptotic normal of the log-parameters,
or a bootstrap over customers). Each customer's log CLV is expanded to first order in the
log-parameters (the delta method), so a draw costs one
matrix product per chunk of :data:`CHUNK_CUSTOMERS` customers and memory does not grow with
their number (gradients are computed per block of :data:`BLOCK_CUSTOMERS`); a customer whose
drawn CLV cannot reach the top-tier cut of any draw (or exceeds it in all) is not drawn at
all (:func:`_top_counts`). The interval covers the uncertainty of the parameters only, not
the randomness of each customer's future purchases (the prediction interval of
:mod:`clv.models.prediction` does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl
from scipy.special import ndtri

from clv.errors import UsageError
from clv.models.cashflows import CashFlowGrid
from clv.models.draws import DRAWS, Fitted, IntervalMethod, parameter_draws
from clv.models.gamma_gamma import expected_order_value
from clv.models.optimize import Params
from clv.models.purchase import PurchaseModel
from clv.models.threads import run_all

CHUNK_CUSTOMERS = 10_000
"""Customers drawn at once: draws x chunk x 8 bytes per matrix (16 MB at 200 draws)."""

BLOCK_CUSTOMERS = 200_000
"""Customers whose gradients are computed at once (a few arrays of 7 x block x 8 bytes
for BG/NBD and Gamma-Gamma)."""

TOP_SAMPLE = 20_000
"""Customers (a seeded sample; all when fewer) on whose draws each draw's top-tier cut is set."""

SURE_MARGIN = 1e-5
"""Relative margin of :func:`_top_counts`' bound, far above the float32 rounding (6e-8 per
operation) of the drawn log CLV it stands for."""


# --------------------------------------------------------------------------------------------
# The first-order expansion: each customer's gradient of log CLV (and of log expected
# purchases) in the log-parameters, per model of a group. The derivatives are central
# differences of the exact formulas: the denominator of FHL (2005a) eq. (10) and the
# Gamma-Gamma order value (Fader, Hardie & Lee 2005b, eq. 5) per customer, the numerator of
# eq. (10) on a grid of ages per frequency, interpolated.
# --------------------------------------------------------------------------------------------

GRID_AGES = 33
"""Ages (T) per distinct frequency at which each draw evaluates the numerator of eq. (10)."""

_STEP = 1e-4
"""Central-difference step in the log-parameters."""


@dataclass(frozen=True)
class NumeratorGrid:
    """The numerator of the expected purchases (FHL 2005a eq. 10 and its kin) on
    (frequency, age) nodes."""

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

    def log_gradient(
        self, spec: PurchaseModel, purchase: Params, grid: CashFlowGrid
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(k, nodes)`` derivatives of the log discounted and log horizon numerators in the
        purchase model's ``k`` log-parameters."""
        k = len(spec.params)
        theta = np.log([purchase[n] for n in spec.params])
        rows = np.exp(theta + np.concatenate([np.eye(k), -np.eye(k)]) * _STEP)
        params = {n: rows[:, i, None, None] for i, n in enumerate(spec.params)}
        x, T = self.xs[None, :, None], self.ages[None, None, :]
        prev = np.zeros((rows.shape[0], self.xs.size, GRID_AGES))
        discounted = np.zeros_like(prev)
        for end, factor in zip(grid.ends, grid.factors, strict=True):
            cur = spec.numerator(params, end, x, T)
            discounted += (cur - prev) / factor
            prev = cur
        if grid.ends[-1] != grid.horizon:
            prev = spec.numerator(params, grid.horizon, x, T)
        d_discounted, d_horizon = (
            ((np.log(v[:k]) - np.log(v[k:])) / (2 * _STEP)).reshape(k, -1)
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
    """``(customers, k + j)`` gradients of log CLV and of log expected purchases in the
    purchase model's ``k`` log-parameters (log r, log alpha, log a, log b for BG/NBD), then
    Gamma-Gamma's ``j`` (log p, log q, log v)."""
    x, tx, T, m = customers
    index, weight = locate
    spec, names = model.spec, model.gamma_gamma_params
    # BG/NBD's denominator is 1 without a repeat purchase (derivatives 0, as computed); the
    # order value is the population mean without a positive repeat spend
    log_den = _central(lambda p: spec.denominator(p, x, tx, T), model.purchase, spec.params)
    log_value = np.empty((len(names), x.size))
    spender = (x > 0) & (m > 0)
    log_value[:, spender] = _central(
        lambda p: expected_order_value(p, x[spender], m[spender]), model.gamma_gamma, names
    )
    log_value[:, ~spender] = _central(
        lambda p: expected_order_value(p, np.zeros(1), np.zeros(1)), model.gamma_gamma, names
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
    shifts: np.ndarray  # (draws, k + j) log-parameter draws minus the estimate
    covariance: np.ndarray  # (k + j, k + j), block diagonal

    def gradients(
        self, rows: np.ndarray, customers: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(rows, k + j)`` gradients of log CLV and of log expected purchases of the customers
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
        spec = part_model.spec
        theta = np.log(
            [part_model.purchase[n] for n in spec.params]
            + [part_model.gamma_gamma[n] for n in part_model.gamma_gamma_params]
        )
        k = len(spec.params)
        cov = np.zeros((theta.size, theta.size))
        if part_model.covariance_log:  # a boundary parameter's NaN: held
            cov[:k, :k] = np.nan_to_num(part_model.covariance_log[part_model.purchase_model])
            cov[k:, k:] = np.nan_to_num(part_model.covariance_log["gamma_gamma"])
        grid_of = NumeratorGrid.of(x[rows], T[rows])
        nodes = grid_of.log_gradient(spec, part_model.purchase, grid)
        shifts = np.log(np.hstack([bg, gg])) - theta
        parts.append(Part(part_model, rows, nodes, grid_of, shifts, cov))
    return parts


# --------------------------------------------------------------------------------------------
# Draws
# --------------------------------------------------------------------------------------------


def _clipped(low: np.ndarray, point: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bounds widened to contain the point estimate (bootstrap percentiles of a skewed
    distribution can both fall on one side of it)."""
    return np.minimum(low, point), np.maximum(high, point)


def _top_counts(
    g: np.ndarray, log_clv: np.ndarray, shifts32: np.ndarray, log_cut: np.ndarray
) -> np.ndarray:
    """Per customer, the draws whose drawn log CLV ``log_clv + g (theta_d - theta_hat)`` (in
    float32) is at or above the draw's cut ``log_cut``.

    ``|g (theta_d - theta_hat)|`` is at most ``reach = sum_k |g_k| max_d |shift_dk|``
    (Hölder), so a customer with ``log_clv - reach`` above every cut counts every draw and
    one with ``log_clv + reach`` below every cut none (with :data:`SURE_MARGIN` for the
    rounding); only the others are drawn, so the counts are those of drawing everyone.
    """
    g32 = g.astype(np.float32)
    with np.errstate(invalid="ignore"):  # a CLV of 0 (log -inf) is drawn
        reach = np.abs(g32).astype(np.float64) @ np.abs(shifts32).max(axis=0, initial=0.0)
        margin = SURE_MARGIN * (reach + np.abs(log_clv) + np.max(np.abs(log_cut)))
        above = log_clv - reach - margin >= np.max(log_cut)
        below = log_clv + reach + margin < np.min(log_cut)
    counts = np.where(above, shifts32.shape[0], 0)
    near = np.flatnonzero(~(above | below))
    for start in range(0, near.size, CHUNK_CUSTOMERS):
        rows = near[start : start + CHUNK_CUSTOMERS]
        log_ratio = np.zeros((rows.size, shifts32.shape[0]), np.float32)  # (near, draws)
        for k in range(g32.shape[1]):  # a product at a time: the same bits on every CPU and
            log_ratio += g32[rows, k, None] * shifts32[:, k]  # batch (a BLAS product's are not)
        log_ratio += log_clv[rows, None]
        counts[rows] = np.count_nonzero(log_ratio >= log_cut, axis=1)
    return counts


def _factors(
    g: np.ndarray, covariance: np.ndarray, shifts: np.ndarray, tails: np.ndarray, method: str
) -> np.ndarray:
    """``(customers, 2)`` multipliers of the point estimate at the two tails: ``exp(-/+ z
    sqrt(g S g'))`` (normal), or percentiles of ``exp(g (theta_d - theta_hat))``."""
    if method == "normal":
        z = float(ndtri(tails[1]))
        sd = np.sqrt(np.sum((g @ covariance) * g, axis=1))
        return np.exp(np.outer(sd, [-z, z]))
    out = np.empty((len(g), 2))
    for start in range(0, len(g), CHUNK_CUSTOMERS):
        drawn = g[start : start + CHUNK_CUSTOMERS] @ shifts.T
        out[start : start + CHUNK_CUSTOMERS] = np.exp(np.quantile(drawn, tails, axis=1).T)
    return out


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
    per_customer: bool = True,
    weights: np.ndarray | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``clv_low/high``, ``expected_purchases_low/high`` and ``p_top`` to ``scores``.

    Each customer's log CLV (and log expected purchases) is expanded to first order in the
    log-parameters (seven for BG/NBD and Gamma-Gamma; a limit's fewer), ``log clv_i(theta) ~ log
    clv_i + g_i (theta - theta_hat)`` (the delta method; ``g_i`` by central differences of the
    exact formulas, the numerator of eq. 10 interpolated on a grid of ages). With
    ``method="normal"`` the bounds are then exactly ``clv_i exp(-/+ z sqrt(g_i S g_i'))``
    (``S``: ``covariance_log``, block diagonal); with ``"bootstrap"`` they are percentiles of
    ``clv_i exp(g_i (theta_d - theta_hat))`` over the refitted draws. Totals are expanded the
    same way (gradient ``sum_i clv_i g_i / T``) and summed over the models' independent draws;
    ``p_top`` compares each customer's drawn log CLV with each draw's top-tier cut (in float32).

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
    per_customer
        False: the totals only (``scores`` is returned as given, without the five columns).
    weights
        The number of customers each row of ``summary`` stands for (distinct rows with
        their counts, as an engine that holds the customers elsewhere aggregates them);
        totals only (``per_customer=False``), normal draws. None: one customer per row.

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        The scores with the five columns (unless ``per_customer`` is False), and the totals:
        ``level`` (``"total"`` or a column of ``totals_by``), ``label`` (its value, sorted),
        ``customers``, ``clv``, ``clv_low``, ``clv_high`` (currency).
    """
    if not 0 < interval < 1:
        raise UsageError(f"interval must be between 0 and 1 (e.g. 0.9), not {interval}")
    if not 0 < top_share < 1:
        raise UsageError(f"top_share must be between 0 and 1, not {top_share}")
    if weights is not None and (per_customer or method != "normal"):
        raise UsageError("weighted rows give totals only (per_customer=False), normal draws")
    if summary.height == 0:  # nothing to draw: empty columns, a total of 0
        added = ("expected_purchases_low", "expected_purchases_high", "clv_low", "clv_high")
        empty = scores.with_columns(pl.lit(0.0).alias(c) for c in (*added, "p_top"))
        zero = {"level": "total", "label": "total", "customers": 0, "clv": 0.0}
        total = pl.DataFrame([zero | {"clv_low": 0.0, "clv_high": 0.0}])
        return (empty if per_customer else scores), total
    columns = ("frequency", "recency", "T", "monetary_value")
    customers = tuple(summary[c].cast(pl.Float64).to_numpy() for c in columns)
    labels = None if by is None else codes(summary[by])
    parts = model_parts(
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
    weighted_clv = clv if weights is None else clv * weights  # each row's customers' CLV
    n = clv.size
    masks = {("total", "total"): np.ones(n, dtype=bool)}
    for column in totals_by:
        names, index = codes(summary[column])
        masks |= {(column, name): index == k for k, name in enumerate(names)}
    indicator = np.array(list(masks.values()), dtype=float)  # (labels, customers)
    totals = np.zeros((len(masks), n_draws))
    tails = np.array([(1 - interval) / 2, (1 + interval) / 2])
    if per_customer:
        factors = {k: np.ones((n, 2)) for k in ("clv", "purchases")}
        p_top = np.empty(n)
        with np.errstate(divide="ignore"):  # CLV 0: never in the top tier
            log_clv = np.log(clv).astype(np.float32)
        cut = _top_cut(parts, customers, clv, n_draws, top_share, seed)
        log_cut = np.log(cut).astype(np.float32)
    errors = np.geterr()

    def draw(part: Part) -> np.ndarray:
        """Fill ``p_top`` and ``factors`` at the part's rows (with ``per_customer``); its
        share of the totals."""
        with np.errstate(**errors):  # the caller's, on the worker thread too
            shifts = part.shifts[:n_draws]
            shifts32 = shifts.astype(np.float32)
            weighted = np.zeros((len(masks), shifts.shape[1]))  # sum of clv_i g_i per label
            for start in range(0, part.rows.size, BLOCK_CUSTOMERS):
                rows = part.rows[start : start + BLOCK_CUSTOMERS]
                g_clv, g_purchases = part.gradients(rows, customers)
                weighted += indicator[:, rows] @ (weighted_clv[rows, None] * g_clv)
                if not per_customer:
                    continue
                p_top[rows] = _top_counts(g_clv, log_clv[rows], shifts32, log_cut) / n_draws
                for key, g in (("clv", g_clv), ("purchases", g_purchases)):
                    factors[key][rows] = _factors(g, part.covariance, shifts, tails, method)
            # each total to first order too: log T_k + (sum_i clv_i g_i / T_k) (theta - hat)
            part_totals = indicator[:, part.rows] @ weighted_clv[part.rows]
            with np.errstate(divide="ignore", invalid="ignore"):
                gradient = np.where(part_totals[:, None] > 0, weighted / part_totals[:, None], 0.0)
            return part_totals[:, None] * np.exp(gradient @ shifts.T)

    # the parts (one per model) write disjoint rows and spend their time in NumPy, which
    # releases the GIL: on threads they share the cores; their totals are added in order
    for share in run_all([partial(draw, part) for part in parts]):
        totals += share
    point = np.array([weighted_clv[mask].sum() for mask in masks.values()])
    counts = [mask.sum() if weights is None else weights[mask].sum() for mask in masks.values()]
    bounds = np.quantile(totals, tails, axis=1)
    low, high = _clipped(bounds[0], point, bounds[1])
    total_frame = pl.DataFrame(
        {
            "level": [level for level, _ in masks],
            "label": [label for _, label in masks],
            "customers": [int(count) for count in counts],
            "clv": point,
            "clv_low": low,
            "clv_high": high,
        }
    )
    if not per_customer:
        return scores, total_frame
    return _with_intervals(scores, factors, p_top), total_frame


def _with_intervals(
    scores: pl.DataFrame, factors: Mapping[str, np.ndarray], p_top: np.ndarray
) -> pl.DataFrame:
    """``scores`` with the bounds (the point estimates times ``factors``, widened to contain
    them) and ``p_top``."""
    clv, purchases = scores["clv"].to_numpy(), scores["expected_purchases"].to_numpy()
    clv_low, clv_high = _clipped(clv * factors["clv"][:, 0], clv, clv * factors["clv"][:, 1])
    ep_low, ep_high = _clipped(
        purchases * factors["purchases"][:, 0], purchases, purchases * factors["purchases"][:, 1]
    )
    return scores.with_columns(
        expected_purchases_low=ep_low,
        expected_purchases_high=ep_high,
        clv_low=clv_low,
        clv_high=clv_high,
        p_top=p_top,
    )


@dataclass(frozen=True)
class CustomerIntervals:
    """What every customer's interval and ``p_top`` share, made once: each model's part
    (its draws and grid of ages), each draw's top-tier cut; :meth:`scores` then adds the
    five columns of :func:`interval_scores` to any rows (a batch of customers on a worker),
    each row as :func:`interval_scores` of all customers gives it. Normal draws only."""

    parts: Mapping[str, Part]
    """The part of each group with a model of its own (by label)."""
    pooled: Part | None
    """The part of every other row."""
    by: str | None
    n_draws: int
    log_cut: np.ndarray
    tails: np.ndarray

    def scores(self, summary: pl.DataFrame, scores: pl.DataFrame) -> pl.DataFrame:
        """``scores`` (:meth:`clv.models.ClvModel.score` of ``summary``, the same rows)
        with ``clv_low/high``, ``expected_purchases_low/high`` and ``p_top``."""
        columns = ("frequency", "recency", "T", "monetary_value")
        customers = tuple(summary[c].cast(pl.Float64).to_numpy() for c in columns)
        n = summary.height
        labels = (
            np.full(n, "", dtype=object)
            if self.by is None
            else summary[self.by].cast(pl.String).fill_null("").to_numpy()
        )
        own = np.zeros(n, dtype=bool)
        assigned = []
        for name, part in self.parts.items():
            rows = np.flatnonzero(labels == name)
            own[rows] = True
            assigned.append((part, rows))
        if self.pooled is not None:
            assigned.append((self.pooled, np.flatnonzero(~own)))
        factors = {k: np.ones((n, 2)) for k in ("clv", "purchases")}
        p_top = np.empty(n)
        with np.errstate(divide="ignore"):  # CLV 0: never in the top tier
            log_clv = np.log(scores["clv"].to_numpy()).astype(np.float32)
        for part, rows in assigned:
            if rows.size == 0:
                continue
            shifts = part.shifts[: self.n_draws]
            g_clv, g_purchases = part.gradients(rows, customers)
            p_top[rows] = (
                _top_counts(g_clv, log_clv[rows], shifts.astype(np.float32), self.log_cut)
                / self.n_draws
            )
            for key, g in (("clv", g_clv), ("purchases", g_purchases)):
                factors[key][rows] = _factors(g, part.covariance, shifts, self.tails, "normal")
        return _with_intervals(scores, factors, p_top)


def customer_intervals(
    model: Fitted,
    groups: pl.DataFrame,
    sample: pl.DataFrame,
    *,
    grid: CashFlowGrid,
    interval: float = 0.9,
    draws: int = DRAWS,
    seed: int = 0,
    top_share: float = 0.2,
    by: str | None = None,
    group_models: Mapping[str, Fitted] | None = None,
) -> CustomerIntervals:
    """:class:`CustomerIntervals` of the customers an engine holds elsewhere, from two
    compact tables: ``groups``, the distinct (``by``, ``frequency``, ``T``) rows of all
    customers (each part's grid of ages reads only those), and ``sample``, the customers of
    :func:`top_sample` (their ``by``, ``frequency``, ``recency``, ``T``,
    ``monetary_value`` and point ``clv``; a row per customer), on which each draw's cut is
    set. The parts are drawn as :func:`interval_scores` draws them (normal draws, the
    k-th model seeded ``seed + k``)."""
    if not 0 < interval < 1:
        raise UsageError(f"interval must be between 0 and 1 (e.g. 0.9), not {interval}")
    columns = ("frequency", "recency", "T", "monetary_value")
    stand_in = groups.with_columns(recency=pl.lit(0.0), monetary_value=pl.lit(0.0))
    customers = tuple(stand_in[c].cast(pl.Float64).to_numpy() for c in columns)
    labels = None if by is None else codes(groups[by])
    parts = model_parts(
        model,
        group_models or {},
        labels,
        stand_in,
        customers,
        grid=grid,
        method="normal",
        draws=draws,
        seed=seed,
    )
    n_draws = min(len(part.shifts) for part in parts)
    own = {id(m): name for name, m in (group_models or {}).items()}
    by_name = {own[id(part.model)]: part for part in parts if id(part.model) in own}
    pooled = next((part for part in parts if id(part.model) not in own), None)
    sampled_customers = tuple(sample[c].cast(pl.Float64).to_numpy() for c in columns)
    names = (
        np.full(sample.height, "", dtype=object)
        if by is None
        else sample[by].cast(pl.String).fill_null("").to_numpy()
    )
    is_own = np.isin(names, list(by_name))
    sampled = [(part, np.flatnonzero(names == name)) for name, part in by_name.items()]
    if pooled is not None:
        sampled.append((pooled, np.flatnonzero(~is_own)))
    clv = sample["clv"].to_numpy()
    cut = cut_of(sampled, sampled_customers, clv, n_draws, top_share)
    tails = np.array([(1 - interval) / 2, (1 + interval) / 2])
    return CustomerIntervals(by_name, pooled, by, n_draws, np.log(cut).astype(np.float32), tails)


def _top_cut(
    parts: Sequence[Part],
    customers: tuple[np.ndarray, ...],
    clv: np.ndarray,
    n_draws: int,
    top_share: float,
    seed: int,
) -> np.ndarray:
    """Each draw's top-tier cut of CLV: its ``1 - top_share`` quantile over a seeded
    sample of :data:`TOP_SAMPLE` customers (all when fewer)."""
    n = clv.size
    in_sample = np.zeros(n, dtype=bool)
    in_sample[top_sample(n, seed)] = True
    sampled = [(part, part.rows[in_sample[part.rows]]) for part in parts]
    return cut_of(sampled, customers, clv, n_draws, top_share)


def top_sample(n: int, seed: int) -> np.ndarray:
    """The rows (of ``n`` customers in the summary's order) on which each draw's top-tier
    cut is set: a seeded sample of :data:`TOP_SAMPLE`, all when fewer."""
    rng = np.random.default_rng(seed)
    return np.arange(n) if n <= TOP_SAMPLE else rng.choice(n, TOP_SAMPLE, replace=False)


def cut_of(
    sampled: Sequence[tuple[Part, np.ndarray]],
    customers: tuple[np.ndarray, ...],
    clv: np.ndarray,
    n_draws: int,
    top_share: float,
) -> np.ndarray:
    """Each draw's ``1 - top_share`` quantile of the drawn CLV of the rows of
    ``customers`` (and their point ``clv``) each part scores."""
    drawn = []
    for part, rows in sampled:
        g = part.gradients(rows, customers)[0]
        drawn.append(clv[rows, None] * np.exp(g @ part.shifts[:n_draws].T))
    return np.quantile(np.vstack(drawn), 1 - top_share, axis=0)
