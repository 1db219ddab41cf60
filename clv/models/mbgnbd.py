"""The MBG/NBD purchase model: likelihood with analytic gradient, fit, and its formulas.

The modified BG/NBD lets a customer drop out right after the first purchase too (with the
same probability p as after each repeat purchase), so a one-time buyer is not alive for
sure: P(alive) < 1 for everyone, falling with the time since the last purchase. Parameters
``r, alpha, a, b`` (alpha in the summary's time unit); the likelihood is exactly that of
lifetimes' ``ModifiedBetaGeoFitter`` (same penalizer, normalisation by the total weight,
time scaling and starting point), on weighted distinct (frequency, recency, T) rows whose
expensive terms are evaluated per distinct (x, T) and (x, t_x) pair (:mod:`clv.models.pairs`).

References
----------
Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and comparison
of models for customer base analysis", International Journal of Research in Marketing 24
(3), 201-209 (eq. 5 the likelihood; eq. 8-11 the formulas below).
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1

from clv.models import bgnbd
from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize
from clv.models.pairs import PairRows, pair_log_sum

MBGNBD_PARAMS = ("r", "alpha", "a", "b")


def _mbgnbd_nll(log_params: np.ndarray, d: PairRows, penalizer: float) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, a, b = params
    xs, wx, wsum = d.xs, d.wx, d.wsum
    # terms of x only, on the distinct x
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + xs + 1) - gammaln(b) - gammaln(a + b + xs + 1)
    # every row (one-time buyers too: not alive for sure) is ln(e^A3 + e^A4), with
    # A3 = -(r+x) ln(alpha+T) per (x, T) pair and A4 = ln a - ln(b+x) - (r+x) ln(alpha+t_x)
    # per (x, t_x) pair (one pair for all one-time buyers: t_x = 0)
    lTu, lRu = np.log(alpha + d.Tu), np.log(alpha + d.Ru)
    rx_t, lT = r + xs[d.xt_x], lTu[d.xt_t]
    rx_r, lR = r + xs[d.xr_x], lRu[d.xr_r]
    A3 = -rx_t * lT
    A4 = (np.log(a) - np.log(b + xs))[d.xr_x] - rx_r * lR
    # s3: customers on the "alive at T" branch per (x, T) pair; s4: on the "dropped out
    # after t_x" branch per (x, t_x) pair
    ll_rows, s3, s4 = pair_log_sum(A3, A4, d)
    value = -(dot(wx, a1 + a2) + ll_rows) / wsum + penalizer * float(np.sum(params**2))

    s4x = np.bincount(d.xr_x, weights=s4, minlength=xs.size)
    g_r = dot(wx, digamma(r + xs) - digamma(r) + np.log(alpha)) - dot(s3, lT) - dot(s4, lR)
    g_alpha = (
        r * wsum / alpha
        - dot(s3, rx_t / (alpha + d.Tu[d.xt_t]))
        - dot(s4, rx_r / (alpha + d.Ru[d.xr_r]))
    )
    g_a = dot(wx, digamma(a + b) - digamma(a + b + xs + 1)) + float(s4x.sum()) / a
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
    return _mbgnbd_nll(
        log_params, PairRows.of(frequency, recency, T, weights, repeat_only=False), penalizer
    )


def fit_mbgnbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit MBG/NBD on weighted rows as lifetimes does (time scaled so max T = 1).

    Parameters, standard errors and total log-likelihood in the rows' time unit.
    """
    x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
    scale = 1.0 / T.max()
    rows = PairRows.of(x, tx, T, w, repeat_only=False)
    scaled = rows.rescaled(scale)

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
    """P(X(t) = n) of a new customer (Batislam eq. 8; see :mod:`clv.models.bgnbd`)."""
    return bgnbd.probability_of_purchases(params, t, n, shift=1)


def probability_at_least(
    params: Params, t: float, k: int, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(at least ``k`` purchases in the next ``t`` | x, t_x, T) (see :mod:`clv.models.bgnbd`)."""
    return bgnbd.probability_at_least(params, t, k, frequency, recency, T, shift=1)
