"""Prediction intervals: the range of each customer's own value over the horizon.

A customer's realised value is random even with the parameters known: how many purchases
they make, when, and what each order is worth. Each customer's predictive distribution given
their history (x, t_x, T, m) is drawn by seeded Monte Carlo, as the models tell the story:

- alive at T with probability P(alive) (FHL 2005a note 021; Batislam et al. eq. 11; note 009
  eq. 21); a customer who is not makes no purchase;
- given alive, the purchase rate lambda ~ Gamma(r+x, alpha+T) (FHL 2005a section 5; known at
  the Poisson limit), and the dropout: BG/NBD's p ~ Beta(a, b+x) (MBG/NBD's Beta(a, b+x+1)),
  the customer leaving after each purchase with probability p; Pareto/NBD's mu ~ Gamma(s,
  beta+T), the customer leaving after an exponential time of rate mu (SMC 1987 section 4);
  none at the no-dropout limits;
- purchases as a Poisson process of rate lambda in (T, T+horizon]; the customer's spend level
  nu ~ Gamma(q+px, v+x m) (Gamma-Gamma's posterior, Fader, Hardie & Lee 2005b; note 025),
  shared by their future orders, each Gamma(p, nu) (nu fixed at the equal-spend limit);
- each order discounted at the end of its month, as :meth:`clv.models.ClvModel.score` discounts
  (so the draws' mean is the CLV).

The purchase counts' distribution is P(X(T, T+t) = n | x, t_x, T) of each model (the tests
check it against BG/NBD's closed form). Parameters are held at their estimates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from clv.errors import UsageError
from clv.models.cashflows import CashFlowGrid

PREDICTION_DRAWS = 500
"""Draws per customer: a 5 % or 95 % quantile of 500 draws is that of a probability within
~1 % of it. The cost grows with draws x expected purchases: ~0.1-0.2 ms of CPU per customer
buying a few times a year (1 M customers: minutes), so the range is opt-in."""

CELLS = 2_000_000
"""Customer-draw cells simulated at once, scaled down for customers expected to buy often."""

_SMALLEST_DROPOUT = 1e-12  # a beta draw that underflows to 0 would make the geometric fail


def simulate_future(
    model: Any,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monetary_value: np.ndarray,
    *,
    grid: CashFlowGrid,
    draws: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """``(customers, draws)`` purchases in the horizon of ``grid`` and their discounted
    value (currency, before the margin), drawn from each customer's predictive distribution.

    ``model`` is a :class:`clv.models.ClvModel` (its purchase model or limit, and
    Gamma-Gamma); times in the model's time unit.
    """
    x, tx, T, m = (np.asarray(v, dtype=float) for v in (frequency, recency, T, monetary_value))
    shape = (x.size, draws)
    spec, params, gg = model.spec, model.purchase, model.gamma_gamma
    alive = rng.random(shape) < spec.p_alive(params, x, tx, T)[:, None]
    live = np.flatnonzero(alive)  # cells (customer, draw) alive at T: the others buy nothing
    who = live // draws
    if "rate" in params:
        lam = np.full(live.size, params["rate"])
    else:
        lam = rng.gamma(params["r"] + x[who], 1.0 / (params["alpha"] + T[who]))
    window = np.full(live.size, grid.horizon)
    most = None  # purchases until the one after which the customer leaves
    if spec.dropout == "a":  # BG/NBD, MBG/NBD and their one-rate limits
        shift = 1 if spec.name.startswith("mbgnbd") else 0
        p = rng.beta(params["a"], params["b"] + x[who] + shift)
        most = rng.geometric(np.maximum(p, _SMALLEST_DROPOUT))
    elif spec.dropout == "s":  # Pareto/NBD and its one-rate limit
        mu = rng.gamma(params["s"], 1.0 / (params["beta"] + T[who]))
        window = np.minimum(rng.exponential(1.0 / mu), grid.horizon)
    events = rng.poisson(lam * window)
    made = events if most is None else np.minimum(events, most)
    buying = np.flatnonzero(made)  # among the live cells
    made, events, window = made[buying], events[buying], window[buying]
    # the first ``made`` of ``events`` uniform times on (0, window): k-th order statistic
    # S_k / S_(events+1) with S the sums of exponential spacings (S_(events+1) = S_made +
    # Gamma(events - made + 1))
    cell = np.repeat(np.arange(made.size), made)
    spacing = rng.exponential(1.0, cell.size)
    sums = np.cumsum(spacing)
    before = np.concatenate([[0.0], sums])[np.cumsum(made) - made]
    within = sums - before[cell]
    rest = rng.gamma(events - made + 1.0, 1.0)
    last = np.bincount(cell, weights=spacing, minlength=made.size)
    time = window[cell] * within / (last + rest)[cell]
    month = np.minimum(np.searchsorted(grid.ends, time), grid.ends.size - 1)
    buyer = who[buying]
    if "theta" in gg:  # steady spend: every order of a customer is worth their own value
        spender = ((x > 0) & (m > 0))[buyer]
        zeta = np.where(spender, m[buyer], 0.0)
        drawn = np.flatnonzero(~spender)  # inverse gamma for customers without a spend seen
        zeta[drawn] = gg["theta"] / rng.gamma(gg["q"], 1.0, drawn.size)
        nu = None
    elif "nu" in gg:
        nu = np.full(buyer.size, gg["nu"])
    else:
        spender = (x > 0) & (m > 0)
        xs, ms = np.where(spender, x, 0.0)[buyer], np.where(spender, m, 0.0)[buyer]
        nu = rng.gamma(gg["q"] + gg["p"] * xs, 1.0 / (gg["v"] + xs * ms))
    order = zeta[cell] if nu is None else rng.gamma(gg["p"], 1.0, cell.size) / nu[cell]
    counts = np.zeros(x.size * draws, dtype=np.int64)
    value = np.zeros(x.size * draws)
    counts[live[buying]] = made
    value[live[buying]] = np.bincount(
        cell, weights=order / grid.factors[month], minlength=made.size
    )
    return counts.reshape(shape), value.reshape(shape)


def prediction_bounds(
    model: Any,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monetary_value: np.ndarray,
    expected_purchases: np.ndarray,
    *,
    grid: CashFlowGrid,
    level: float,
    margin: float,
    draws: int = PREDICTION_DRAWS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of their realised
    value over the horizon times ``margin`` (currency): ``clv_pred_low``, ``clv_pred_high``.

    Customers are simulated in chunks (in their order, one seeded generator), about
    :data:`CELLS` purchases at a time (``expected_purchases`` over the horizon sizes them).
    """
    if not 0 < level < 1:
        raise UsageError(f"prediction_interval must be between 0 and 1 (e.g. 0.9), not {level}")
    if draws < 2:
        raise UsageError(f"draws must be at least 2, not {draws}")
    rng = np.random.default_rng(seed)
    n = np.size(frequency)
    low, high = np.empty(n), np.empty(n)
    cost = np.cumsum((1.0 + np.nan_to_num(expected_purchases)) * draws)
    start = 0
    while start < n:
        base = cost[start - 1] if start else 0.0
        stop = max(start + 1, int(np.searchsorted(cost, base + CELLS, side="right")))
        rows = slice(start, stop)
        _, value = simulate_future(
            model,
            frequency[rows],
            recency[rows],
            T[rows],
            monetary_value[rows],
            grid=grid,
            draws=draws,
            rng=rng,
        )
        q = np.quantile(value, [(1 - level) / 2, (1 + level) / 2], axis=1)
        low[rows], high[rows] = margin * q[0], margin * q[1]
        start = stop
    return low, high
