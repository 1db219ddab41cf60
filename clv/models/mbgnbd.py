"""The MBG/NBD purchase model: likelihood with analytic gradient, fit, and its formulas.

The modified BG/NBD lets a customer drop out right after the first purchase too (with the
same probability p as after each repeat purchase), so a one-time buyer is not alive for
sure: P(alive) < 1 for everyone, falling with the time since the last purchase. Parameters
``r, alpha, a, b`` (alpha in the summary's time unit); the likelihood is exactly that of
lifetimes' ``ModifiedBetaGeoFitter`` (same penalizer, normalisation by the total weight,
time scaling and starting point), on weighted distinct (frequency, recency, T) rows.

References
----------
Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and comparison
of models for customer base analysis", International Journal of Research in Marketing 24
(3), 201-209 (eq. 5 the likelihood; eq. 8-11 the formulas below).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from clv.models import bgnbd_counts
from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize

MBGNBD_PARAMS = ("r", "alpha", "a", "b")


class _MbgRows:
    """Weighted rows with their distinct frequencies, recencies and ages: terms of x alone
    (gammaln, digamma) are evaluated per distinct x, logs per distinct t_x and T."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        self.xs, self.xi = np.unique(x, return_inverse=True)
        self.Ru, self.ri = np.unique(tx, return_inverse=True)
        self.Tu, self.ti = np.unique(T, return_inverse=True)
        self.x, self.w = x, w
        self.wx = np.bincount(self.xi, weights=w, minlength=self.xs.size)
        self.wsum = float(np.sum(w))


def _mbgnbd_nll(log_params: np.ndarray, d: _MbgRows, penalizer: float) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, a, b = params
    xs, wx, w, wsum = d.xs, d.wx, d.w, d.wsum
    lTu, lRu = np.log(alpha + d.Tu), np.log(alpha + d.Ru)
    lT, lR = lTu[d.ti], lRu[d.ri]
    rx = (r + xs)[d.xi]
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + xs + 1) - gammaln(b) - gammaln(a + b + xs + 1)
    A3 = -rx * lT
    A4 = (np.log(a) - np.log(b + xs))[d.xi] - rx * lR
    top = np.maximum(A3, A4)
    e3, e4 = np.exp(A3 - top), np.exp(A4 - top)
    total = e3 + e4
    ll = dot(wx, a1 + a2) + dot(w, top + np.log(total))
    value = -ll / wsum + penalizer * float(np.sum(params**2))
    s4 = w * e4 / total  # weight on the "dropped out after t_x" branch
    s3 = w - s4
    s4x = np.bincount(d.xi, weights=s4, minlength=xs.size)
    g_r = dot(wx, digamma(r + xs) - digamma(r) + np.log(alpha)) - dot(s3, lT) - dot(s4, lR)
    inv_T, inv_R = (1.0 / (alpha + d.Tu))[d.ti], (1.0 / (alpha + d.Ru))[d.ri]
    g_alpha = r * wsum / alpha - dot(s3 * rx, inv_T) - dot(s4 * rx, inv_R)
    g_a = dot(wx, digamma(a + b) - digamma(a + b + xs + 1)) + float(s4.sum()) / a
    g_b = dot(wx, digamma(a + b) + digamma(b + xs + 1) - digamma(b) - digamma(a + b + xs + 1))
    g_b -= dot(s4x, 1.0 / (b + xs))
    grad = np.array([g_r, g_alpha, g_a, g_b])
    return value, -params * grad / wsum + 2.0 * penalizer * params**2


def mbgnbd_negative_log_likelihood(
    log_params: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
    penalizer: float = 0.0,
) -> tuple[float, np.ndarray]:
    """lifetimes' MBG/NBD objective and its analytic gradient, in log-parameter space.

    Batislam et al. (2007) eq. (5)::

        ll = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x+1) - ln B(a, b)
             + ln[ (alpha+T)^-(r+x) + a / (b+x) (alpha+t_x)^-(r+x) ]

    returned as ``-sum(w ll) / sum(w) + penalizer * sum(params**2)`` with ``params =
    exp(log_params) = (r, alpha, a, b)``: ``ModifiedBetaGeoFitter._negative_log_likelihood``.
    """
    return _mbgnbd_nll(log_params, _MbgRows(frequency, recency, T, weights), penalizer)


def fit_mbgnbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit MBG/NBD on weighted rows as lifetimes does (time scaled so max T = 1).

    Parameters, standard errors and total log-likelihood in the rows' time unit.
    """
    x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
    scale = 1.0 / T.max()
    rows = _MbgRows(x, tx, T, w)
    scaled = _MbgRows(x, tx * scale, T * scale, w)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _mbgnbd_nll(theta, scaled, penalizer)

    opt = optimize("MBG/NBD", objective, 4, w.sum(), advice(penalizer))
    return fit_from(
        opt,
        lambda theta: -_mbgnbd_nll(theta, rows, 0.0)[0] * w.sum(),
        scale=scale,
        time_params=(1,),
    )


# --------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------


def p_alive(
    params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T) under MBG/NBD, Batislam et al. (2007) eq. (11).

    ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``, for one-time buyers too.
    """
    return 1.0 / conditional_denominator(params, frequency, recency, T)


def conditional_denominator(
    params: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """The denominator of Batislam et al. (2007) eq. (10), ``1 / P(alive)``."""
    r, alpha, a, b = (params[k] for k in MBGNBD_PARAMS)
    x = np.asarray(x, dtype=float)
    log_odds = np.log(a / (b + x)) + (r + x) * np.log((alpha + T) / (alpha + recency))
    return 1.0 + np.exp(log_odds)


def conditional_numerator(
    params: ParamArrays, t: np.ndarray | float, x: np.ndarray | float, T: np.ndarray | float
):
    """The numerator of Batislam et al. (2007) eq. (10); depends on (x, T, t) only.

    ``(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))]``
    (Euler's transformation where 2F1 overflows); broadcasts ``t`` against ``x, T``.
    """
    r, alpha, a, b = (params[k] for k in MBGNBD_PARAMS)
    _a, _b, _c = r + x, b + x + 1, a + b + x
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
        bad = ~np.isfinite(ln_hyp)
        if np.any(bad):
            alt = np.log(hyp2f1(_c - _a, _c - _b, _c, z)) + (_c - _a - _b) * np.log1p(-z)
            ln_hyp = np.where(bad, alt, ln_hyp)
        second = -np.expm1(ln_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    return (a + b + x) / (a - 1) * second


def conditional_expected_purchases(
    params: Params, t: float, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t], Batislam et al. (2007) eq. (10)."""
    x = np.asarray(frequency, dtype=float)
    T = np.asarray(T, dtype=float)
    return conditional_numerator(params, t, x, T) / conditional_denominator(
        params, x, np.asarray(recency, dtype=float), T
    )


def expected_purchases_new_customer(params: Params, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)]: a new customer's expected repeat purchases by age ``t`` (Batislam eq. 9).

    ``b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]`` (the mean of
    :func:`probability_of_purchases`, as the tests check).
    """
    r, alpha, a, b = (params[k] for k in MBGNBD_PARAMS)
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b + 1, a + b, t / (alpha + t))
    return b / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)


def probability_of_purchases(params: Params, t: np.ndarray | float, n: np.ndarray | int):
    """P(X(t) = n) of a new customer (Batislam eq. 8; see :mod:`clv.models.bgnbd_counts`)."""
    return bgnbd_counts.probability_of_purchases(params, t, n, shift=1)


def probability_at_least(
    params: Params, t: float, k: int, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(at least ``k`` purchases in the next ``t`` | x, t_x, T) (see bgnbd_counts)."""
    return bgnbd_counts.probability_at_least(params, t, k, frequency, recency, T, shift=1)
