"""The Pareto/NBD purchase model: likelihood, fit, and its formulas.

Customers buy at Poisson rate lambda ~ Gamma(r, alpha) while alive and die at exponential
rate mu ~ Gamma(s, beta), both unobserved and independent. Unlike BG/NBD, a one-time buyer
can be gone: P(alive) < 1 for everyone, falling with the time since the last purchase.
Parameters ``r, alpha, s, beta`` (alpha and beta in the summary's time unit).

The likelihood is that of lifetimes' ``ParetoNBDFitter`` per customer (the same
hypergeometric representation, hence equal to 1e-9); the objective is normalised by the
total weight as BG/NBD's is (lifetimes divides Pareto/NBD's by the mean weight, so its
penalizer acts ~n times more weakly). The hypergeometric terms depend on (x, t_x) and
(x, T) only, so they are evaluated once per distinct pair; their gradient is taken by
central differences (step 1e-5 in log-parameters, all perturbations in one vectorised
call), the rest analytically.

References
----------
Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987), "Counting Your Customers: Who
Are They and What Will They Do Next?", Management Science 33 (1), 1-24. Fader, P. S. and
Hardie, B. G. S. (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions"
(brucehardie.com/notes/009): eq. (18)-(20) the likelihood, (21) P(alive), (22) E[Y(t)].
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma, gammaln, hyp2f1, roots_legendre

from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize

PARETO_NBD_PARAMS = ("r", "alpha", "s", "beta")

_STEP = 1e-5  # central-difference step in log-parameters for the hypergeometric terms
_NODES, _WEIGHTS = roots_legendre(96)


def _log_tail(
    r: np.ndarray | float,
    alpha: np.ndarray | float,
    s: np.ndarray | float,
    beta: np.ndarray | float,
    x: np.ndarray,
    y: np.ndarray,
) -> np.ndarray:
    """``ln[(r+s+x) int_y^inf (alpha+t)^-(r+x) (beta+t)^-(s+1) dt]`` (note 009 eq. 19-20).

    ``2F1(r+s+x, s+1; r+s+x+1; (alpha-beta)/(alpha+y)) / (alpha+y)^(r+s+x)`` if alpha >=
    beta, else ``2F1(r+s+x, r+x; r+s+x+1; (beta-alpha)/(beta+y)) / (beta+y)^(r+s+x)``. The
    branch follows the first element of the parameters (both are exact wherever |z| < 1,
    so perturbed parameters keep the branch of the point they perturb).
    """
    rsx = r + s + x
    if np.ravel(alpha)[0] >= np.ravel(beta)[0]:
        top, b2 = alpha, s + 1
    else:
        top, b2 = beta, r + x
    z = np.abs(alpha - beta) / (top + y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(hyp2f1(rsx, b2, rsx + 1, z)) - rsx * np.log(top + y)


class _ParetoRows:
    """Weighted distinct rows with their distinct (x, t_x) and (x, T) pairs."""

    def __init__(self, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> None:
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        self.x, self.tx, self.T, self.w = x, tx, T, w
        self.wsum = float(np.sum(w))
        self.xs, x_all = np.unique(x, return_inverse=True)
        self.wx = np.bincount(x_all, weights=w, minlength=self.xs.size)
        self.pairs = []
        for y in (tx, T):
            yu, yi = np.unique(y, return_inverse=True)
            keys, row = np.unique(x_all * yu.size + yi, return_inverse=True)
            self.pairs.append((self.xs[keys // yu.size], yu[keys % yu.size], row))


def _pareto_nll(
    log_params: np.ndarray, d: _ParetoRows, penalizer: float, *, gradient: bool = True
) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, s, beta = params
    x, T, w, wsum = d.x, d.T, d.w, d.wsum
    # per pair: ln of the tail integral, and its derivatives (central differences)
    shifts = np.vstack([np.zeros(4), *(_STEP * e for e in (np.eye(4), -np.eye(4)))])
    p = params * np.exp(shifts)  # (9, 4): the point, then +h and -h per parameter
    pr, palpha, ps, pbeta = (p[:, i : i + 1] for i in range(4))
    logs, dlogs = [], []
    for px, py, row in d.pairs:
        g = _log_tail(pr, palpha, ps, pbeta, px, py)
        logs.append(g[0][row])
        dlogs.append(((g[1:5] - g[5:9]) / (2 * _STEP))[:, row])
    (g1, g2), (d1, d2) = logs, dlogs
    # ln A0 = ln(e^g1 - e^g2), g1 >= g2 (t_x <= T); A0 = 0 when t_x = T
    ratio = np.exp(np.minimum(g2 - g1, 0.0))
    with np.errstate(divide="ignore"):
        log_a0 = g1 + np.log1p(-ratio)
    rx = r + x
    lT_a, lT_b = np.log(alpha + T), np.log(beta + T)
    first = -rx * lT_a - s * lT_b
    second = np.log(s) + log_a0 - np.log(r + s + x)
    top = np.maximum(first, second)
    e1, e2 = np.exp(first - top), np.exp(second - top)
    total = e1 + e2
    a1 = gammaln(r + d.xs) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    ll = dot(d.wx, a1) + dot(w, top + np.log(total))
    value = -ll / wsum + penalizer * float(np.sum(params**2))
    if not gradient:
        return value, np.full(4, np.nan)
    share2 = w * e2 / total
    share1 = w - share2
    safe = ratio < 1
    dlog_a0 = np.where(safe, (d1 - ratio * d2) / np.where(safe, 1 - ratio, 1.0), 0.0)
    g = np.empty(4)  # d ll / d log-parameter
    g[0] = r * (
        dot(d.wx, digamma(r + d.xs) - digamma(r) + np.log(alpha))
        - dot(share1, lT_a)
        - dot(share2, 1.0 / (r + s + x))
    )
    g[1] = alpha * (r * wsum / alpha - dot(share1, rx / (alpha + T)))
    g[2] = s * (wsum * np.log(beta) - dot(share1, lT_b) + dot(share2, 1.0 / s - 1.0 / (r + s + x)))
    g[3] = beta * (s * wsum / beta - dot(share1, s / (beta + T)))
    g += share2 @ dlog_a0.T
    return value, -g / wsum + 2.0 * penalizer * params**2


def pareto_nbd_log_likelihood(
    params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """Each customer's log-likelihood under Pareto/NBD, note 009 eq. (18)-(20)::

        ll = ln G(r+x) - ln G(r) + r ln alpha + s ln beta
             + ln[ (alpha+T)^-(r+x) (beta+T)^-s + s/(r+s+x) A0 ]

    with ``A0 = F(t_x) - F(T)`` of :func:`_log_tail`: lifetimes'
    ``ParetoNBDFitter._conditional_log_likelihood``.
    """
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + s * np.log(beta)
        + _log_mix(params, x, tx, T)
    )


def _log_mix(params: Params, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    return np.logaddexp(
        -(r + x) * np.log(alpha + T) - s * np.log(beta + T), _log_dead(params, x, tx, T)
    )


def _log_dead(params: Params, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln[s/(r+s+x) A0]: the "died in (t_x, T]" part of the mixture."""
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    g1 = _log_tail(r, alpha, s, beta, x, tx)
    g2 = _log_tail(r, alpha, s, beta, x, T)
    with np.errstate(divide="ignore"):
        return np.log(s / (r + s + x)) + g1 + np.log1p(-np.exp(np.minimum(g2 - g1, 0.0)))


def pareto_nbd_negative_log_likelihood(
    log_params: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
    penalizer: float = 0.0,
) -> tuple[float, np.ndarray]:
    """``-sum(w ll) / sum(w) + penalizer * sum(params**2)`` and its gradient (log-parameters)."""
    return _pareto_nll(log_params, _ParetoRows(frequency, recency, T, weights), penalizer)


def fit_pareto_nbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit Pareto/NBD on weighted rows (time scaled so max T = 1, as lifetimes does)."""
    scale = 1.0 / float(np.max(T))
    rows = _ParetoRows(x, tx, T, w)
    scaled = _ParetoRows(x, np.asarray(tx) * scale, np.asarray(T) * scale, w)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _pareto_nll(theta, scaled, penalizer)

    opt = optimize("Pareto/NBD", objective, 4, float(np.sum(w)), advice(penalizer))
    return fit_from(
        opt,
        lambda theta: -_pareto_nll(theta, rows, 0.0, gradient=False)[0] * rows.wsum,
        scale=scale,
        time_params=(1, 3),
    )


# --------------------------------------------------------------------------------------------
# Formulas
# --------------------------------------------------------------------------------------------


def conditional_denominator(
    params: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``1 / P(alive)``: ``1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0`` (note 009 eq. 21)."""
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    x, tx, T = (np.asarray(v, dtype=float) for v in (x, recency, T))
    log_odds = _log_dead(params, x, tx, T) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)
    return 1.0 + np.exp(log_odds)


def p_alive(
    params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T) under Pareto/NBD, note 009 eq. (21)."""
    return 1.0 / conditional_denominator(params, frequency, recency, T)


def conditional_numerator(
    params: ParamArrays, t: np.ndarray | float, x: np.ndarray | float, T: np.ndarray | float
):
    """E[Y(t)] of a customer alive at T (note 009 eq. 22 without P(alive)); (x, T, t) only.

    ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)]``, the bracket over
    ``s-1`` computed as ``-expm1((s-1) ln q)/(s-1)`` (``-ln q`` at s = 1).
    """
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    log_q = np.log((beta + T) / (beta + T + t))
    bracket = -log_q if s == 1 else -np.expm1((s - 1) * log_q) / (s - 1)
    return (r + x) * (beta + T) / (alpha + T) * bracket


def conditional_expected_purchases(
    params: Params, t: float, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t], note 009 eq. (22)."""
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    return conditional_numerator(params, t, x, T) / conditional_denominator(params, x, tx, T)


def expected_purchases_new_customer(params: Params, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (SMC 1987 eq. 17)."""
    return conditional_numerator(params, np.asarray(t, dtype=float), 0.0, 0.0)


def probability_at_least(
    params: Params, t: float, k: int, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(X(T, T+t) >= k | x, t_x, T) = P(alive) P(at least k in t | alive at T).

    Alive at T, lambda ~ Gamma(r+x, alpha+T) and mu ~ Gamma(s, beta+T) (SMC 1987 section 4);
    the customer lives ``tau ~ Exp(mu)`` longer and buys at rate lambda until min(tau, t),
    so with ``C(u)`` the NBD probability of fewer than ``k`` purchases in ``u``::

        P(< k | alive) = (b'/(b'+t))^s C(t) + int_0^t s/b' (b'/(b'+u))^(s+1) C(u) du

    (``b' = beta+T``), the integral by 96-point Gauss-Legendre in ``ln(1 + u/(alpha+T))``.
    Depends on (x, T) only besides P(alive); ``t`` in the model's time unit.
    """
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    if k < 1:
        return np.ones(x.shape)
    r, alpha, s, beta = (params[k_] for k_ in PARETO_NBD_PARAMS)
    pairs, row = np.unique(np.stack([x, T]), axis=1, return_inverse=True)
    px, pT = pairs[0][:, None], pairs[1][:, None]
    ra, aa, bb = r + px, alpha + pT, beta + pT
    span = np.log1p(t / aa)
    u = aa * np.expm1(span * (_NODES + 1) / 2)  # nodes mapped onto (0, t)
    du = (aa + u) * span / 2 * _WEIGHTS

    def below(v: np.ndarray) -> np.ndarray:  # P(fewer than k purchases in v | lambda mix)
        j = np.arange(k).reshape((1,) * v.ndim + (k,))
        vv = v[..., None]
        ln = (
            gammaln(ra[..., None] + j)
            - gammaln(ra[..., None])
            - gammaln(j + 1)
            + ra[..., None] * np.log(aa[..., None] / (aa[..., None] + vv))
            + j * np.log(vv / (aa[..., None] + vv))
        )
        return np.exp(ln).sum(axis=-1)

    integral = np.sum(s / bb * (bb / (bb + u)) ** (s + 1) * below(u) * du, axis=1)
    fewer = (bb[:, 0] / (bb[:, 0] + t)) ** s * below(np.full_like(bb, t))[:, 0] + integral
    return np.clip(p_alive(params, x, tx, T) * (1 - fewer[np.ravel(row)]), 0.0, 1.0)
