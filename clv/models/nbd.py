"""The no-dropout limits of the purchase models: NBD, and Poisson (one purchase rate).

When nobody drops out, BG/NBD and MBG/NBD (dropout probability p = 0) and Pareto/NBD (dropout
rate mu = 0) are all the NBD model: each customer buys at Poisson rate lambda ~ Gamma(r,
alpha) forever (Ehrenberg 1959; FHL 2005a eq. 1-2 without the dropout process). When in
addition everyone buys at one rate (the gamma's shape r -> infinity at a fixed mean
lambda = r/alpha), it is a Poisson process of rate lambda for everyone. Both are exact limits
of each purchase model's likelihood (the same function of the data), so the likelihood-ratio
tests of :mod:`clv.models.limits` compare them with the full model.

Parameters ``r, alpha`` (NBD; alpha in the summary's time unit) and ``rate`` (Poisson,
purchases per time unit). Times in the model's time unit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaincc, gammaln, xlogy

from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize

NBD_PARAMS = ("r", "alpha")
POISSON_PARAMS = ("rate",)


# --------------------------------------------------------------------------------------------
# Likelihoods and fits
# --------------------------------------------------------------------------------------------


def _pairs(x: np.ndarray, T: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct (x, T) pairs, sorted, and the customers of each (the likelihood ignores t_x)."""
    xs, x_of = np.unique(x, return_inverse=True)
    ts, t_of = np.unique(T, return_inverse=True)
    keys, inverse = np.unique(x_of.astype(np.int64) * ts.size + t_of, return_inverse=True)
    customers = np.bincount(inverse, weights=w, minlength=keys.size)
    return xs[keys // ts.size], ts[keys % ts.size], customers


def _nbd_nll(
    log_params: np.ndarray, rows: tuple[np.ndarray, ...], penalizer: float
) -> tuple[float, np.ndarray]:
    """Mean negative NBD log-likelihood and its gradient in (log r, log alpha)::

    ll = ln G(r+x) - ln G(r) + r ln alpha - (r+x) ln(alpha+T)

    FHL (2005a) eq. (6) at a = 0 (no dropout), lifetimes' normalisation and penalizer.
    """
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha = params
    x, T, w = rows
    wsum = float(np.sum(w))
    log_at = np.log(alpha + T)
    ll = dot(w, gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * log_at)
    g_r = dot(w, digamma(r + x) - digamma(r) + np.log(alpha) - log_at)
    g_alpha = dot(w, r / alpha - (r + x) / (alpha + T))
    value = -ll / wsum + penalizer * float(np.sum(params**2))
    grad = -params * np.array([g_r, g_alpha]) / wsum + 2.0 * penalizer * params**2
    return value, grad


def fit_nbd(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float) -> Fit:
    """Fit the NBD (no dropout) on weighted rows, time scaled so max T = 1 as lifetimes does;
    parameters, standard errors and total log-likelihood in the rows' time unit."""
    x, T, w = (np.asarray(v, dtype=float) for v in (x, T, w))
    scale = 1.0 / float(np.max(T))
    rows = _pairs(x, T, w)
    scaled = (rows[0], rows[1] * scale, rows[2])
    opt = optimize(
        "NBD",
        lambda theta: _nbd_nll(theta, scaled, penalizer),
        2,
        float(np.sum(w)),
        advice(penalizer),
    )
    return fit_from(
        opt,
        lambda theta: -_nbd_nll(theta, rows, 0.0)[0] * float(np.sum(w)),
        scale=scale,
        time_params=(1,),
    )


def fit_poisson(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float = 0.0
) -> Fit:
    """The Poisson limit in closed form: ``rate = sum(w x) / sum(w T)`` (purchases per time
    unit), the maximum of ``ll = x ln(rate) - rate T`` (the NBD as r -> infinity at r/alpha =
    rate); its standard error ``sqrt(rate / sum(w T))``. Not penalised (one parameter)."""
    x, T, w = (np.asarray(v, dtype=float) for v in (x, T, w))
    purchases, exposure = dot(w, x), dot(w, T)
    rate = purchases / exposure
    ll = float(xlogy(purchases, rate) - rate * exposure)
    var_log = 1.0 / purchases  # (d2 ll / d(ln rate)^2)^-1 = 1 / (rate * exposure)
    return Fit(
        np.array([rate]),
        np.array([rate * np.sqrt(var_log)]),
        ll,
        0.0,
        "closed form",
        np.zeros(1, dtype=bool),
        np.array([[var_log]]),
    )


# --------------------------------------------------------------------------------------------
# Formulas: P(alive) = 1; the rate given the history is Gamma(r+x, alpha+T) (NBD) or known
# --------------------------------------------------------------------------------------------


def _shape_rate(params: ParamArrays, x: np.ndarray | float, T: np.ndarray | float):
    """The gamma posterior of lambda given (x, T): shape r+x and rate alpha+T (NBD)."""
    return params["r"] + x, params["alpha"] + T


def p_alive(params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray):
    """1: nobody drops out."""
    return np.ones(np.shape(frequency))


def denominator(params: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray):
    """``1 / P(alive)`` = 1."""
    return np.ones(np.shape(x))


def nbd_numerator(params: ParamArrays, t, x, T) -> np.ndarray:
    """E[Y(t) | x, T] = (r+x)/(alpha+T) t: the posterior mean rate times ``t``."""
    shape, rate = _shape_rate(params, x, T)
    return np.asarray(shape / rate * t, dtype=float)


def poisson_numerator(params: ParamArrays, t, x, T) -> np.ndarray:
    """E[Y(t)] = rate t for everyone."""
    return np.asarray(params["rate"] * t + 0.0 * np.asarray(x) + 0.0 * np.asarray(T), dtype=float)


def nbd_expected_new(params: ParamArrays, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] = r/alpha t of a new customer."""
    return nbd_numerator(params, np.asarray(t, dtype=float), 0.0, 0.0)


def poisson_expected_new(params: ParamArrays, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] = rate t of a new customer."""
    return poisson_numerator(params, np.asarray(t, dtype=float), 0.0, 0.0)


def _log_nbd_pmf(shape, rate, t, n) -> np.ndarray:
    """ln P(N(t) = n) when lambda ~ Gamma(shape, rate): the NBD pmf (FHL 2005a eq. 8 at p=0)."""
    with np.errstate(divide="ignore"):
        return (
            gammaln(shape + n)
            - gammaln(shape)
            - gammaln(n + 1)
            + shape * np.log(rate / (rate + t))
            + xlogy(n, t / (rate + t))
        )


def nbd_probability_of_purchases(params: Params, t, n) -> np.ndarray:
    """P(X(t) = n) of a new customer: NBD(r, alpha) over ``t``."""
    t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
    return np.exp(_log_nbd_pmf(params["r"], params["alpha"], t, n))


def poisson_probability_of_purchases(params: Params, t, n) -> np.ndarray:
    """P(X(t) = n) of a new customer: Poisson(rate t)."""
    t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
    mean = params["rate"] * t
    with np.errstate(divide="ignore"):
        return np.exp(xlogy(n, mean) - mean - gammaln(n + 1))


def nbd_probability_at_least(params: Params, t: float, k: int, frequency, recency, T):
    """P(Y(t) >= k | x, T) = 1 - sum_{n<k} NBD(n; r+x, alpha+T, t)."""
    if k < 1:
        return np.ones(np.shape(frequency))
    shape, rate = _shape_rate(params, np.asarray(frequency, dtype=float), np.asarray(T))
    below = sum(np.exp(_log_nbd_pmf(shape, rate, t, n)) for n in range(k))
    return np.clip(1.0 - below, 0.0, 1.0)


def poisson_probability_at_least(params: Params, t: float, k: int, frequency, recency, T):
    """P(Y(t) >= k) = P(k, rate t), the regularised lower incomplete gamma function."""
    if k < 1:
        return np.ones(np.shape(frequency))
    return np.full(np.shape(frequency), 1.0 - float(gammaincc(k, params["rate"] * t)))
