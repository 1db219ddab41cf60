"""Prediction intervals: the range of each customer's own value over the horizon.

A customer's realised value is random even with the parameters known: how many purchases
they make, when, and what each order is worth. Each customer's predictive distribution given
their history (x, t_x, T, m) is, as the models tell the story:

- alive at T with probability P(alive) (FHL 2005a note 021; Batislam et al. eq. 11; note 009
  eq. 21); a customer who is not makes no purchase;
- given alive, the purchase rate lambda ~ Gamma(r+x, alpha+T) (FHL 2005a section 5; known at
  the one-rate limits), and the dropout: BG/NBD's p ~ Beta(a, b+x) (MBG/NBD's Beta(a, b+x+1)),
  the customer leaving after each purchase with probability p; Pareto/NBD's mu ~ Gamma(s,
  beta+T), the customer leaving after an exponential time of rate mu (SMC 1987 section 4);
  none at the no-dropout limits;
- purchases as a Poisson process of rate lambda in (T, T+horizon]; the customer's spend level
  nu ~ Gamma(q+px, v+x m) (Gamma-Gamma's posterior, Fader, Hardie & Lee 2005b; note 025),
  shared by their future orders, each Gamma(p, nu) (nu fixed at the equal-spend limit; each
  order worth the customer's own value at the steady-spend limit);
- each order discounted at the end of its month, as :meth:`clv.models.ClvModel.score` discounts
  (so the distribution's mean is the CLV).

Given alive, all of this depends on the frequency and age (x, T) only, and the value is a
customer's scale (``v + x m``; ``1/nu``; ``m`` or ``theta``) times a draw ``U`` whose
distribution depends on (x, T) and whether the customer has a spend seen. So the value's
distribution function is ``F(v) = 1 - P(alive) + P(alive) F_U(v / scale)``, and each end of
the range is ``scale`` times a quantile of ``U`` at the level that solves it. ``U`` is drawn
(seeded Monte Carlo, Latin hypercube in the rate, the dropout and the spend level) once per
distinct (x, T, spend seen): 1 M customers share 18 k keys, hence many draws each, and who is
alive is not drawn at all. Each key's draws come from a generator seeded by the seed and the
key, so a customer's range does not depend on the order of the customers. Parameters are
held at their estimates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import betaincinv, gammaincinv

from clv.errors import UsageError
from clv.models.cashflows import CashFlowGrid

PREDICTION_DRAWS = 8_000
"""Draws of ``U`` per distinct (frequency, age, spend seen), the same for every key: a
customer's range depends on their own numbers and the seed only, not on who else is scored
(the whole shop, one channel, a sample). The ends of 90 % ranges move between seeds by about
1.5 % (median over customers; 500 draws per customer, the draws of who is alive included,
moved them by 9 %)."""

_SMALLEST_DROPOUT = 1e-12  # a beta draw that underflows to 0 would make the geometric fail


def _key_generator(seed: int, x: float, T: float, spender: bool) -> np.random.Generator:
    """The generator of one key's draws: seeded by the seed and the key's exact values."""
    bits = int(np.float64(T).view(np.uint64))
    return np.random.default_rng([seed, int(x), bits, int(spender)])


@dataclass(frozen=True)
class Strata:
    """The draws' inputs that depend on (x, spend seen) only, at the midpoints of ``draws``
    equal-probability strata (inverse distribution functions): the purchase rate times
    ``alpha+T`` (Gamma(r+x, 1)), the dropout (BG/NBD's p ~ Beta(a, b+x+shift); Pareto/NBD's
    mu times ``beta+T``, Gamma(s, 1)) and the spend level (Gamma(q+px, 1)); None where the
    model has no such input. Each key takes them in its own random order (Latin hypercube
    sampling, McKay, Beckman & Conover 1979), so none of the three adds noise of its own."""

    draws: int
    rate: np.ndarray | None
    dropout: np.ndarray | None
    spend: np.ndarray | None

    @classmethod
    def of(cls, model: Any, x: float, spender: bool, draws: int) -> Strata:
        """The strata of frequency ``x`` (``spender``: a repeat purchase with a spend)."""
        spec, params, gg = model.spec, model.purchase, model.gamma_gamma
        mid = (np.arange(draws) + 0.5) / draws
        rate = None if "rate" in params else gammaincinv(params["r"] + x, mid)
        dropout = None
        if spec.dropout == "a":  # BG/NBD, MBG/NBD and their one-rate limits
            shift = 1 if spec.name.startswith("mbgnbd") else 0
            dropout = betaincinv(params["a"], params["b"] + x + shift, mid)
        elif spec.dropout == "s":  # Pareto/NBD and its one-rate limit
            dropout = gammaincinv(params["s"], mid)
        spend = None
        if "nu" not in gg and not ("theta" in gg and spender):  # the spend level is unknown
            spend = gammaincinv(gg["q"] + (gg["p"] * x if spender and "p" in gg else 0.0), mid)
        return cls(draws, rate, dropout, spend)


def draw_alive(
    model: Any,
    x: float,
    T: float,
    strata: Strata,
    *,
    grid: CashFlowGrid,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Purchases in the horizon of a customer alive at T with frequency ``x``, and ``U``,
    their discounted value over the customer's scale (:func:`value_scale`): one draw per
    stratum of ``strata`` (of this x and spend seen). Times in the model's time unit."""
    spec, params, gg = model.spec, model.purchase, model.gamma_gamma
    draws = strata.draws
    if strata.rate is None:
        lam = np.full(draws, params["rate"])
    else:
        lam = rng.permutation(strata.rate) / (params["alpha"] + T)
    window = np.full(draws, grid.horizon)
    most = None  # purchases until the one after which the customer leaves
    if spec.dropout == "a" and strata.dropout is not None:
        p = rng.permutation(strata.dropout)
        most = rng.geometric(np.maximum(p, _SMALLEST_DROPOUT))
    elif spec.dropout == "s" and strata.dropout is not None:
        mu = rng.permutation(strata.dropout) / (params["beta"] + T)
        window = np.minimum(rng.exponential(1.0 / mu), grid.horizon)
    events = rng.poisson(lam * window)
    made = events if most is None else np.minimum(events, most)
    buying = np.flatnonzero(made)
    n, ev, win = made[buying], events[buying], window[buying]
    # the orders' times: ``n`` uniform times on (0, window) (their order does not matter);
    # when the customer left after the n-th of ``ev`` events, the first ``n`` of ``ev``
    # uniform times: the k-th order statistic is S_k / S_(ev+1), S the sums of exponential
    # spacings (S_(ev+1) = S_n + Gamma(ev-n+1))
    cell = np.repeat(np.arange(n.size), n)
    time = rng.random(cell.size) * win[cell]
    cut = n < ev
    if cut.any():
        cn = n[cut]
        own = np.repeat(np.arange(cn.size), cn)
        spacing = rng.exponential(1.0, own.size)
        sums = np.cumsum(spacing)
        within = sums - np.concatenate([[0.0], sums])[np.cumsum(cn) - cn][own]
        last = np.bincount(own, weights=spacing, minlength=cn.size)
        rest = rng.gamma(ev[cut] - cn + 1.0, 1.0)
        time[np.repeat(cut, n)] = win[cut][own] * within / (last + rest)[own]
    month = np.minimum(np.searchsorted(grid.ends, time), grid.ends.size - 1)
    discount = 1.0 / grid.factors[month]
    # steady spend: every order of a customer is worth their own value
    worth = discount if "theta" in gg else rng.gamma(gg["p"], 1.0, cell.size) * discount
    value = np.bincount(cell, weights=worth, minlength=n.size)
    if strata.spend is not None:  # the spend level is unknown: drawn
        value = value / rng.permutation(strata.spend)[buying]
    u = np.zeros(draws)
    u[buying] = value
    return made, u


def value_scale(gamma_gamma: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Each customer's scale of :func:`draw_alive`'s ``U`` (currency): ``v + x m`` (``v``
    without a spend seen), ``1/nu`` at equal spend, ``m`` (``theta``) at steady spend."""
    spender = (x > 0) & (m > 0)
    if "nu" in gamma_gamma:
        return np.full(x.shape, 1.0 / gamma_gamma["nu"])
    if "theta" in gamma_gamma:
        return np.where(spender, m, gamma_gamma["theta"])
    return gamma_gamma["v"] + np.where(spender, x * m, 0.0)


def _keys(gamma_gamma: dict[str, float], x: np.ndarray, T: np.ndarray, m: np.ndarray):
    """Distinct (x, T, spend seen) and each customer's index in them (spend seen does not
    matter at equal spend)."""
    spender = ((x > 0) & (m > 0)) if "nu" not in gamma_gamma else np.zeros(x.shape, bool)
    table = np.stack([x, T, spender.astype(float)])
    keys, index = np.unique(table, axis=1, return_inverse=True)
    return keys, np.ravel(index)


def simulate_future(
    model: Any,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monetary_value: np.ndarray,
    *,
    grid: CashFlowGrid,
    draws: int,
    seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """``(customers, draws)`` purchases in the horizon of ``grid`` and their discounted
    value (currency, before the margin), drawn from each customer's predictive distribution:
    alive with P(alive), then :func:`draw_alive` of their key (the draws of the ranges)."""
    x, tx, T, m = (np.asarray(v, dtype=float) for v in (frequency, recency, T, monetary_value))
    gg = model.gamma_gamma
    alive = (
        np.random.default_rng([seed, x.size]).random((x.size, draws))
        < (model.spec.p_alive(model.purchase, x, tx, T)[:, None])
    )
    keys, index = _keys(gg, x, T, m)
    counts = np.zeros((x.size, draws), dtype=np.int64)
    value = np.zeros((x.size, draws))
    scale = value_scale(gg, x, m)
    for k, (kx, kT, ks) in enumerate(keys.T):
        strata = Strata.of(model, kx, bool(ks), draws)
        rng = _key_generator(seed, kx, kT, bool(ks))
        made, u = draw_alive(model, kx, kT, strata, grid=grid, rng=rng)
        rows = np.flatnonzero(index == k)
        counts[rows] = np.where(alive[rows], made, 0)
        value[rows] = np.where(alive[rows], scale[rows, None] * u, 0.0)
    return counts, value


def prediction_bounds(
    model: Any,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    monetary_value: np.ndarray,
    *,
    grid: CashFlowGrid,
    level: float,
    margin: float,
    draws: int = PREDICTION_DRAWS,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Each customer's ``(1 - level)/2`` and ``(1 + level)/2`` quantiles of their realised
    value over the horizon times ``margin`` (currency): ``clv_pred_low``, ``clv_pred_high``.

    With ``P`` = P(alive), the value's quantile at ``l`` is 0 when ``l <= 1 - P`` and else
    ``scale`` times ``U``'s quantile at ``(l - 1 + P) / P`` (linear between order
    statistics, as ``numpy.quantile``), from ``draws`` draws per key.
    """
    if not 0 < level < 1:
        raise UsageError(f"prediction_interval must be between 0 and 1 (e.g. 0.9), not {level}")
    if draws < 2:
        raise UsageError(f"draws must be at least 2, not {draws}")
    x, tx, T, m = (np.asarray(v, dtype=float) for v in (frequency, recency, T, monetary_value))
    alive = model.spec.p_alive(model.purchase, x, tx, T)
    scale = margin * value_scale(model.gamma_gamma, x, m)
    keys, index = _keys(model.gamma_gamma, x, T, m)
    order = np.argsort(index, kind="stable")
    starts = np.searchsorted(index[order], np.arange(keys.shape[1] + 1))
    out = []
    for tail in ((1 - level) / 2, (1 + level) / 2):
        with np.errstate(divide="ignore", invalid="ignore"):
            out.append(np.where(alive > 0, (tail - 1 + alive) / alive, -1.0))
    levels = np.stack(out)  # (2, customers): U's level, <= 0 where the value's quantile is 0
    ends = np.zeros((2, x.size))
    strata: dict[tuple[float, bool], Strata] = {}
    for k, (kx, kT, ks) in enumerate(keys.T):
        rows = order[starts[k] : starts[k + 1]]
        spender = bool(ks)
        if (kx, spender) not in strata:
            strata[kx, spender] = Strata.of(model, kx, spender, draws)
        rng = _key_generator(seed, kx, kT, spender)
        _, u = draw_alive(model, kx, kT, strata[kx, spender], grid=grid, rng=rng)
        u.sort()
        at = np.clip(levels[:, rows], 0.0, 1.0) * (draws - 1)
        below = np.minimum(at.astype(np.int64), draws - 2)
        quantile = u[below] + (at - below) * (u[below + 1] - u[below])
        ends[:, rows] = np.where(levels[:, rows] > 0, quantile, 0.0) * scale[rows]
    return ends[0], ends[1]
