"""The Pareto/NBD purchase model: likelihood, fit, and its formulas.

Customers buy at Poisson rate lambda ~ Gamma(r, alpha) while alive and die at exponential
rate mu ~ Gamma(s, beta), both unobserved and independent. Unlike BG/NBD, a one-time buyer
can be gone: P(alive) < 1 for everyone, falling with the time since the last purchase.
Parameters ``r, alpha, s, beta`` (alpha and beta in the summary's time unit).

The likelihood is that of lifetimes' ``ParetoNBDFitter`` per customer (the same
hypergeometric representation, hence equal to 1e-9); the objective is normalised by the
total weight as BG/NBD's is (lifetimes divides Pareto/NBD's by the mean weight, so its
penalizer acts ~n times more weakly). The hypergeometric tail integral depends on (x, y)
only, y = t_x or T, so it is evaluated once per distinct point of the union of the (x, t_x)
and (x, T) pairs (:mod:`clv.models.pairs`); its gradient is analytic in z (alpha, beta)
and by central differences in the 2F1 parameters a and b (r, s; relative step 1e-5); the
rest of the gradient is analytic.

References
----------
Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987), "Counting Your Customers: Who
Are They and What Will They Do Next?", Management Science 33 (1), 1-24. Fader, P. S. and
Hardie, B. G. S. (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions"
(brucehardie.com/notes/009): eq. (18)-(20) the likelihood, (21) P(alive), (22) E[Y(t)].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
from scipy.special import digamma, gammaincc, gammaln, hyp2f1, roots_legendre

from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize
from clv.models.pairs import SMALLEST_SUM, PairRows

PARETO_NBD_PARAMS = ("r", "alpha", "s", "beta")

_STEP = 1e-3  # relative step of the five-point differences in the 2F1 parameters a and b

LOG_PARAM_LIMIT = 300.0
"""Largest |log parameter| at which the likelihood is evaluated: SciPy's hyp2f1 crashes the
process (a segmentation fault) with parameters near 1e307, where BFGS's line search can step
when s and beta run off together."""
_NODES, _WEIGHTS = roots_legendre(96)
_STENCIL = np.array([2.0, 1.0, -1.0, -2.0])  # f'(a) ~ (-f(a+2h) + 8f(a+h) - 8f(a-h) + f(a-2h))/12h
_WEIGHTS_5 = np.array([-1.0, 8.0, -8.0, 1.0]) / 12.0


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
    branch follows the first element of the parameters (both are exact wherever |z| < 1).
    """
    rsx = r + s + x
    if np.ravel(alpha)[0] >= np.ravel(beta)[0]:
        top, b2 = alpha, s + 1
    else:
        top, b2 = beta, r + x
    z = np.abs(alpha - beta) / (top + y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(hyp2f1(rsx, b2, rsx + 1, z)) - rsx * np.log(top + y)


def _tail_and_gradient(
    r: float, alpha: float, s: float, beta: float, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_log_tail` and its gradient in (r, alpha, s, beta), shape (4, n).

    With ``H(a, b, z) = 2F1(a, b; a+1; z)``, ``a = r+s+x`` and the branch of
    :func:`_log_tail`, ``ln H - a ln(top+y)`` is differentiated by the chain rule: ``dH/dz =
    a b / (a+1) 2F1(a+1, b+1; a+2; z)`` (DLMF 15.5.1); ``dH/da`` and ``dH/db`` (no closed
    form) by five-point central differences with relative step :data:`_STEP` (error
    O(step^4) ~ 1e-12; rounding of the 2F1 values magnified by 1/step only ~1e-13, so the
    gradient, and the optimum, do not move with the last bits of SciPy's or the CPU's
    arithmetic). Ten 2F1 per point.
    """
    a = r + s + x
    if alpha >= beta:
        top, other, b = alpha, beta, np.full_like(a, s + 1)
    else:
        top, other, b = beta, alpha, r + x
    ty = top + y
    z = (top - other) / ty
    ha, hb = _STEP * a, _STEP * b
    with np.errstate(divide="ignore", invalid="ignore"):
        da, db = np.outer(_STENCIL, ha), np.outer(_STENCIL, hb)
        h = hyp2f1(
            np.concatenate([[a, a + 1], a + da, np.broadcast_to(a, da.shape)]),
            np.concatenate([[b, b + 1], np.broadcast_to(b, da.shape), b + db]),
            np.concatenate([[a + 1, a + 2], a + da + 1, np.broadcast_to(a + 1, da.shape)]),
            z,
        )
        lty = np.log(ty)
        g = np.log(h[0]) - a * lty
        ga = _WEIGHTS_5 @ h[2:6] / (ha * h[0]) - lty
        gb = _WEIGHTS_5 @ h[6:10] / (hb * h[0])
        gz = a * b / (a + 1) * h[1] / h[0]
    if alpha >= beta:  # b = s+1, z = (alpha-beta)/(alpha+y)
        grad = [ga, -a / ty + gz * (beta + y) / ty**2, ga + gb, -gz / ty]
    else:  # b = r+x, z = (beta-alpha)/(beta+y)
        grad = [ga + gb, -gz / ty, ga, -a / ty + gz * (alpha + y) / ty**2]
    return g, np.stack(grad)


@dataclass(frozen=True)
class _ParetoRows:
    """Weighted rows grouped into pairs (:class:`~clv.models.pairs.PairRows`), and the
    union of their (x, T) and (x, t_x) pairs (``ux, uy``): the tail integral of
    :func:`_log_tail` is one function of (x, y), evaluated once per distinct point."""

    rows: PairRows
    ux: np.ndarray
    uy: np.ndarray
    u_xt: np.ndarray  # each (x, T) pair's index into the union
    u_xr: np.ndarray  # each (x, t_x) pair's index into the union

    @classmethod
    def of(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> _ParetoRows:
        p = PairRows.of(x, tx, T, w, repeat_only=False)
        ys, y_of = np.unique(np.concatenate([p.Tu, p.Ru]), return_inverse=True)
        keys = np.concatenate(
            [p.xt_x * ys.size + y_of[p.xt_t], p.xr_x * ys.size + y_of[p.Tu.size + p.xr_r]]
        )
        union, u_of = np.unique(keys, return_inverse=True)
        n_xt = p.xt_x.size
        return cls(p, p.xs[union // ys.size], ys[union % ys.size], u_of[:n_xt], u_of[n_xt:])

    def rescaled(self, scale: float) -> _ParetoRows:
        """The same rows with recency and T multiplied by ``scale``."""
        return replace(self, rows=self.rows.rescaled(scale), uy=self.uy * scale)


def _pareto_nll(
    log_params: np.ndarray, d: _ParetoRows, penalizer: float, *, gradient: bool = True
) -> tuple[float, np.ndarray]:
    if not np.all(np.abs(log_params) < LOG_PARAM_LIMIT):  # a line search far out: not finite
        return float("nan"), np.full(4, np.nan)
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, s, beta = params
    p, xs = d.rows, d.rows.xs
    if gradient:
        g, dg = _tail_and_gradient(r, alpha, s, beta, d.ux, d.uy)
    else:
        g = _log_tail(r, alpha, s, beta, d.ux, d.uy)
    # note 009 eq. (18)-(20): ll = A1 + ln[E - c F(T) + c F(t_x)] with E = (alpha+T)^-(r+x)
    # (beta+T)^-s and c F(T) (c = s/(r+s+x), F = e^g) per (x, T) pair, c F(t_x) per (x, t_x)
    # pair. c F(T) = s int_T^inf (alpha+t)^-(r+x) (beta+t)^-(s+1) dt <= E, so E - c F(T) is
    # in [0, E] and each row's sum is exact to a few ulp of E (no cancellation)
    rsx = r + s + xs
    log_c = np.log(s) - np.log(rsx)
    lTa, lTb = np.log(alpha + p.Tu), np.log(beta + p.Tu)
    rx_t = r + xs[p.xt_x]
    log_e = -rx_t * lTa[p.xt_t] - s * lTb[p.xt_t]
    log_dead_T = log_c[p.xt_x] + g[d.u_xt]
    log_dead_R = log_c[p.xr_x] + g[d.u_xr]
    shift = np.full(xs.size, -np.inf)
    np.maximum.at(shift, p.xt_x, log_e)
    np.maximum.at(shift, p.xr_x, log_dead_R)
    e_T = np.exp(log_e - shift[p.xt_x])
    dead_T = np.exp(log_dead_T - shift[p.xt_x])
    dead_R = np.exp(log_dead_R - shift[p.xr_x])
    total = (e_T - dead_T)[p.row_xt] + p.per_row_xr(dead_R)
    if total.min() > SMALLEST_SUM:  # False for NaN
        ll_rows = dot(p.w, np.log(total)) + dot(p.w_xt, shift[p.xt_x])
        u_T, u_R = p.pair_sums(p.w / total)  # customers / total per pair: weights below
        w_e, w_dead_T, w_dead_R = e_T * u_T, dead_T * u_T, dead_R * u_R
    else:  # exponents spread by more than ~690 (extreme parameters): row by row, in logs
        ll_r, (w_e, w_dead_T, w_dead_R) = _rows_in_logs(log_e, log_dead_T, log_dead_R, p)
        ll_rows = dot(p.w, ll_r)
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    value = -(dot(d.rows.wx, a1) + ll_rows) / p.wsum + penalizer * float(np.sum(params**2))
    if not gradient:
        return value, np.full(4, np.nan)
    # d ll / d params: sum over pairs of (customer weight x share) x d(log term)
    wx, wsum = p.wx, p.wsum
    # ln c enters with -w_dead_T per (x, T) and +w_dead_R per (x, t_x) pair: net -dlog_c
    dlog_c = np.bincount(p.xt_x, weights=w_dead_T, minlength=xs.size) - np.bincount(
        p.xr_x, weights=w_dead_R, minlength=xs.size
    )
    grad = w_dead_R @ dg[:, d.u_xr].T - w_dead_T @ dg[:, d.u_xt].T
    grad[0] += dot(wx, digamma(r + xs) - digamma(r) + np.log(alpha)) - dot(w_e, lTa[p.xt_t])
    grad[0] += dot(dlog_c, 1.0 / rsx)
    grad[1] += r * wsum / alpha - dot(w_e, rx_t / (alpha + p.Tu[p.xt_t]))
    grad[2] += wsum * np.log(beta) - dot(w_e, lTb[p.xt_t]) - dot(dlog_c, 1.0 / s - 1.0 / rsx)
    grad[3] += s * wsum / beta - s * dot(w_e, 1.0 / (beta + p.Tu[p.xt_t]))
    return value, -params * grad / wsum + 2.0 * penalizer * params**2


def _rows_in_logs(
    log_e: np.ndarray, log_dead_T: np.ndarray, log_dead_R: np.ndarray, p: PairRows
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Each row's ``ln[E - c F(T) + c F(t_x)]`` (as lifetimes: ``logaddexp`` of ln E and
    ``ln c F(t_x) + log1p(-F(T)/F(t_x))``), and the three terms' customer-weighted shares
    summed per pair."""
    e, dT, dR = log_e[p.row_xt], log_dead_T[p.row_xt], log_dead_R[p.row_xr]
    with np.errstate(divide="ignore"):
        ll = np.logaddexp(e, dR + np.log1p(-np.exp(np.minimum(dT - dR, 0.0))))
    n_xt, n_xr = p.xt_x.size, p.xr_x.size
    return ll, (
        np.bincount(p.row_xt, weights=p.w * np.exp(e - ll), minlength=n_xt),
        np.bincount(p.row_xt, weights=p.w * np.exp(dT - ll), minlength=n_xt),
        np.bincount(p.row_xr, weights=p.w * np.exp(dR - ll), minlength=n_xr),
    )


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


def _log_tails(
    params: Params, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_log_tail` at (x, t_x) and at (x, T), evaluated once per distinct point when
    ``x, tx, T`` are arrays of one length (customers share few: 14 k points for 311 k
    distinct rows) and the parameters numbers; the same values as evaluating each row."""
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    shapes = {np.shape(v) for v in (x, tx, T)}
    (shape,) = shapes if len(shapes) == 1 else [()]
    if len(shape) != 1 or not shape[0] or any(np.ndim(v) for v in (r, alpha, s, beta)):
        return _log_tail(r, alpha, s, beta, x, tx), _log_tail(r, alpha, s, beta, x, T)
    xs, x_of = np.unique(x, return_inverse=True)
    ys, y_of = np.unique(np.concatenate([tx, T]), return_inverse=True)
    keys = np.tile(x_of.astype(np.int64), 2) * ys.size + y_of
    points, point_of = np.unique(keys, return_inverse=True)
    g = _log_tail(r, alpha, s, beta, xs[points // ys.size], ys[points % ys.size])[point_of]
    return g[: x.size], g[x.size :]


def _log_dead(params: Params, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> np.ndarray:
    """ln[s/(r+s+x) A0]: the "died in (t_x, T]" part of the mixture."""
    r, s = params["r"], params["s"]
    g1, g2 = _log_tails(params, x, tx, T)
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
    return _pareto_nll(log_params, _ParetoRows.of(frequency, recency, T, weights), penalizer)


def fit_pareto_nbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit Pareto/NBD on weighted rows (time scaled so max T = 1, as lifetimes does)."""
    scale = 1.0 / float(np.max(T))
    rows = _ParetoRows.of(x, tx, T, w)
    scaled = rows.rescaled(scale)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _pareto_nll(theta, scaled, penalizer)

    opt = optimize("Pareto/NBD", objective, 4, float(np.sum(w)), advice(penalizer))
    return fit_from(
        opt,
        lambda theta: -_pareto_nll(theta, rows, 0.0, gradient=False)[0] * rows.rows.wsum,
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
    ``s-1`` computed as ``-expm1((s-1) ln q)/(s-1)`` (``-ln q`` at s = 1); ``s`` may be an
    array of parameter draws.
    """
    r, alpha, s, beta = (params[k] for k in PARETO_NBD_PARAMS)
    return (r + x) / (alpha + T) * _expected_time_alive(s, beta, T, t)


def _expected_time_alive(s, beta, T, t) -> np.ndarray:
    """E[min(tau, t)]: the expected time alive in the next ``t`` of a customer alive at T,
    whose death rate mu is Gamma(s, beta+T) (SMC 1987 section 4): ``E[(1 - e^(-mu t))/mu]
    = (beta+T)/(s-1) [1 - ((beta+T)/(beta+T+t))^(s-1)]``, the bracket over ``s-1`` computed
    as ``-expm1((s-1) ln q)/(s-1)`` (``-ln q`` at s = 1); ``s`` may be an array of draws."""
    log_q = np.log((beta + T) / (beta + T + t))
    with np.errstate(divide="ignore", invalid="ignore"):
        bracket = np.where(np.equal(s, 1), -log_q, -np.expm1((s - 1) * log_q) / (s - 1))
    return (beta + T) * bracket


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


# --------------------------------------------------------------------------- P(X(t) = n)
# Pareto/NBD's purchase-count distribution of a new customer, P(X(t) = n).
#
# Given the lifetime ``tau``, a customer of age ``t`` buys Poisson(``lambda min(tau, t)``) times;
# mixed over ``lambda ~ Gamma(r, rate=alpha)`` the count is negative binomial with exposure
# ``u = min(tau, t)``, and mixed over ``mu ~ Gamma(s, rate=beta)`` the lifetime is Pareto
# (Lomax): ``P(tau > u) = (beta / (beta + u))^s`` (Schmittlein, Morrison & Colombo 1987;
# Fader, Hardie & Lee 2006, "Deriving an Expression for P(X(t) = x) Under the Pareto/NBD
# Model", whose closed form needs the Gauss hypergeometric function). Here::
#
#     P(X(t) = n) = P(tau > t) NB(n; t) + integral_0^t NB(n; u) f_tau(u) du
#
# with the integral by Gauss-Legendre quadrature, accurate to about 1e-10.

NODES = 128
"""Gauss-Legendre nodes of the integral over the lifetime."""


def _log_nbd(params: Params, n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """ln P(n purchases in an exposure ``u``) under Gamma(r, alpha)-mixed Poisson."""
    r, alpha = params["r"], params["alpha"]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_share = np.where(n > 0, n * (np.log(u) - np.log(alpha + u)), 0.0)
    return (
        gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * (np.log(alpha) - np.log(alpha + u))
    ) + log_share


def probability_of_purchases(
    params: Params, t: np.ndarray | float, n: np.ndarray | int
) -> np.ndarray:
    """P(X(t) = n): a new customer's probability of ``n`` repeat purchases by age ``t``
    (model time units); ``t`` and ``n`` broadcast together."""
    return _counts_over_lifetime(partial(_log_nbd, params), params, t, n)


def _counts_over_lifetime(
    log_count: Callable[[np.ndarray, np.ndarray], np.ndarray],
    params: Params,
    t: np.ndarray | float,
    n: np.ndarray | int,
) -> np.ndarray:
    """``P(tau > t) P(n | t) + int_0^t P(n | u) f_tau(u) du`` with ``ln P(n | u)`` =
    ``log_count(n, u)`` and the Pareto (Lomax) lifetime ``tau`` of Gamma(s, beta) death
    rates; ``t`` and ``n`` broadcast together."""
    s, beta = params["s"], params["beta"]
    t_arr, n_arr = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
    nodes, weights = np.polynomial.legendre.leggauss(NODES)
    u = t_arr[..., None] * (nodes + 1) / 2  # the lifetime, on [0, t]
    log_density = np.log(s) + s * np.log(beta) - (s + 1) * np.log(beta + u)
    inside = np.exp(log_count(n_arr[..., None], u) + log_density) @ weights * t_arr / 2
    survives = np.exp(s * (np.log(beta) - np.log(beta + t_arr)) + log_count(n_arr, t_arr))
    return survives + inside


# --------------------------------------------------------------------------------------------
# The one-rate limit: everyone buys at one rate (r -> infinity at r/alpha = rate), dropout kept
# --------------------------------------------------------------------------------------------
# As r -> infinity at a fixed mean rate, the gamma of purchase rates becomes a point mass:
# G(r+x)/G(r) alpha^r (alpha+t)^-(r+x) -> rate^x e^(-rate t). The individual-level likelihood
# of note 009 (section 3; SMC 1987 section 2),
#
#     L(rate, mu | x, t_x, T) = rate^x / (rate+mu) [rate e^-(rate+mu)T + mu e^-(rate+mu)t_x],
#
# is then mixed over the death rate mu ~ Gamma(s, beta) alone. With A(y) = E[e^-(rate+mu)y]
# = e^(-rate y) (beta/(beta+y))^s, and rho(y) = E[mu/(rate+mu)] under the gamma tilted by
# e^(-mu y), i.e. mu ~ Gamma(s, beta+y):
#
#     L(rate, s, beta | x, t_x, T) = rate^x [A(T) (1 - rho(T)) + A(t_x) rho(t_x)],
#     P(alive at T | x, t_x, T)    = rate^x A(T) / L,
#
# the limit of note 009 eq. (18)-(21). rho is one integral, by quadrature
# (:func:`_dropout_share`); the rest is closed form.

ONE_RATE_PARAMS = ("rate", "s", "beta")

_SHARE_NODES, _SHARE_WEIGHTS = roots_legendre(64)
_SHARE_CUT = 45.0
"""The share's integrands are integrated up to where they have fallen by e^-45 (a relative
error of ~1e-20 left out)."""


def _dropout_share(
    rate: float, s: float, beta: float, y: np.ndarray, *, gradient: bool = False
) -> tuple[np.ndarray, ...]:
    """``ln rho(y)`` and ``ln(1 - rho(y))``, rho(y) = E[mu/(rate+mu)] for mu ~ Gamma(s,
    beta+y); with ``gradient`` also their derivatives in z = rate (beta+y) and in s.

    With X = mu (beta+y) ~ Gamma(s, 1), rho = E[X/(X+z)] and ``1 - rho = z E[1/(X+z)] =
    z int_0^inf (1+u)^-s e^(-z u) du``; with ``u = e^w - 1`` (and integrating by parts)::

        rho = s Q,  1 - rho = z R,  Q = int_0^inf e^(-s w - z (e^w - 1)) dw,  R = int e^w ...

    Both by 64-point Gauss-Legendre on ``[0, min(45/s, ln(1 + 45/z))]`` (the integrands are
    below e^-45 of their peak beyond), normalised by their sum (``s Q + z R = 1`` exactly):
    relative error below 1e-12 for z in [1e-6, 1e5] and s in [1e-3, 1e5] (the tests check it
    against SciPy's adaptive quadrature). Positive sums of positive terms: no cancellation.
    """
    z = rate * (beta + np.asarray(y, dtype=float))
    with np.errstate(divide="ignore", over="ignore"):
        top = np.minimum(_SHARE_CUT / s, np.log1p(_SHARE_CUT / z))
    w = top[:, None] * (_SHARE_NODES + 1) / 2
    weight = top[:, None] / 2 * _SHARE_WEIGHTS
    grow = np.expm1(w)
    e = weight * np.exp(-s * w - z[:, None] * grow)  # weights folded in
    ew = e * (grow + 1)
    q, r = e.sum(axis=1), ew.sum(axis=1)
    p, u = s * q, z * r
    log_total = np.log(p + u)
    log_rho, log_rest = np.log(p) - log_total, np.log(u) - log_total
    if not gradient:
        return log_rho, log_rest
    p_s = q - s * (e * w).sum(axis=1)
    p_z = -s * (e * grow).sum(axis=1)
    u_s = -z * (ew * w).sum(axis=1)
    u_z = r - z * (ew * grow).sum(axis=1)
    total = p + u
    return (
        log_rho,
        log_rest,
        p_z / p - (p_z + u_z) / total,
        u_z / u - (p_z + u_z) / total,
        p_s / p - (p_s + u_s) / total,
        u_s / u - (p_s + u_s) / total,
    )


def _log_survival(rate, s, beta, y):
    """``ln A(y) = -rate y - s ln(1 + y/beta)``: ln P(no purchase and alive through y)."""
    return -rate * y - s * np.log1p(y / beta)


@dataclass(frozen=True)
class _OneRateRows:
    """Weighted rows grouped by (t_x, T): the likelihood's only term that varies by x is
    ``x ln rate``. ``ys`` are the distinct times, ``age_at``/``recency_at`` each pair's indices."""

    ys: np.ndarray
    age_at: np.ndarray
    recency_at: np.ndarray
    w: np.ndarray  # customers per (t_x, T) pair
    purchases: float  # sum w x
    wsum: float

    @classmethod
    def of(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> _OneRateRows:
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        ys, index = np.unique(np.concatenate([T, tx]), return_inverse=True)
        pairs, row = np.unique(index[: T.size] * ys.size + index[T.size :], return_inverse=True)
        return cls(
            ys,
            pairs // ys.size,
            pairs % ys.size,
            np.bincount(row, weights=w, minlength=pairs.size),
            dot(w, x),
            float(np.sum(w)),
        )

    def rescaled(self, scale: float) -> _OneRateRows:
        """The same rows with recency and T multiplied by ``scale``."""
        return replace(self, ys=self.ys * scale)


def _one_rate_nll(
    log_params: np.ndarray, d: _OneRateRows, penalizer: float
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood of the one-rate limit and its gradient (log-parameters)::

    ll = x ln(rate) + ln[A(T) (1 - rho(T)) + A(t_x) rho(t_x)]
    """
    if not np.all(np.abs(log_params) < LOG_PARAM_LIMIT):
        return float("nan"), np.full(3, np.nan)
    params = np.exp(np.asarray(log_params, dtype=float))
    rate, s, beta = params
    ys = d.ys
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_rho, log_rest, rho_z, rest_z, rho_s, rest_s = _dropout_share(
            rate, s, beta, ys, gradient=True
        )
        log_a = _log_survival(rate, s, beta, ys)
        alive = log_a[d.age_at] + log_rest[d.age_at]
        dead = log_a[d.recency_at] + log_rho[d.recency_at]
        log_sum = np.logaddexp(alive, dead)
        share_T, share_R = np.exp(alive - log_sum) * d.w, np.exp(dead - log_sum) * d.w
    ll = d.purchases * np.log(rate) + dot(d.w, log_sum)
    value = -ll / d.wsum + penalizer * float(np.sum(params**2))
    # per distinct time: d ln A and d ln rho (z = rate (beta + y))
    a_rate, a_s, a_beta = -ys, -np.log1p(ys / beta), s * ys / (beta * (beta + ys))
    ts, rs = d.age_at, d.recency_at
    grad = np.array(
        [
            d.purchases / rate
            + dot(share_T, a_rate[ts] + rest_z[ts] * (beta + ys[ts]))
            + dot(share_R, a_rate[rs] + rho_z[rs] * (beta + ys[rs])),
            dot(share_T, a_s[ts] + rest_s[ts]) + dot(share_R, a_s[rs] + rho_s[rs]),
            dot(share_T, a_beta[ts] + rest_z[ts] * rate)
            + dot(share_R, a_beta[rs] + rho_z[rs] * rate),
        ]
    )
    return value, -params * grad / d.wsum + 2.0 * penalizer * params**2


def fit_one_rate(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit the one-rate limit (``rate`` per time unit, ``s``, ``beta`` in the time unit) on
    weighted rows, time scaled so max T = 1 as lifetimes scales Pareto/NBD's."""
    scale = 1.0 / float(np.max(T))
    rows = _OneRateRows.of(x, tx, T, w)
    scaled = rows.rescaled(scale)
    opt = optimize(
        "Pareto/NBD with one purchase rate",
        lambda theta: _one_rate_nll(theta, scaled, penalizer),
        3,
        rows.wsum,
        advice(penalizer),
    )
    # a rate is an inverse time, beta a time: back to the rows' unit
    theta = opt.theta + np.log([scale, 1.0, 1.0 / scale])
    return fit_from(
        replace(opt, theta=theta),
        lambda log_params: -_one_rate_nll(log_params, rows, 0.0)[0] * rows.wsum,
    )


def _one_rate_log_terms(
    params: Params, x: np.ndarray, tx: np.ndarray, T: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per customer: ``ln A(T)`` and ``ln[A(T) (1 - rho(T)) + A(t_x) rho(t_x)]``, rho
    evaluated once per distinct time."""
    rate, s, beta = (params[k] for k in ONE_RATE_PARAMS)
    tx, T = np.broadcast_arrays(np.asarray(tx, dtype=float), np.asarray(T, dtype=float))
    ys, index = np.unique(np.concatenate([T.ravel(), tx.ravel()]), return_inverse=True)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_rho, log_rest = _dropout_share(rate, s, beta, ys)
        log_a = _log_survival(rate, s, beta, ys)
    age_at, recency_at = index[: T.size].reshape(T.shape), index[T.size :].reshape(T.shape)
    log_sum = np.logaddexp(
        log_a[age_at] + log_rest[age_at], log_a[recency_at] + log_rho[recency_at]
    )
    return log_a[age_at], log_sum


def one_rate_denominator(
    params: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """``1 / P(alive)`` = ``L / (rate^x A(T))`` = ``1 - rho(T) + rho(t_x) A(t_x)/A(T)``."""
    log_alive, log_sum = _one_rate_log_terms(params, x, recency, T)
    return np.exp(log_sum - log_alive)


def one_rate_p_alive(
    params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(alive at T | x, t_x, T) at the one-rate limit (note 009 eq. 21 as r -> infinity)."""
    log_alive, log_sum = _one_rate_log_terms(params, frequency, recency, T)
    return np.exp(log_alive - log_sum)


def one_rate_numerator(params: ParamArrays, t, x, T) -> np.ndarray:
    """E[Y(t)] of a customer alive at T: ``rate`` times the expected time alive in the next
    ``t`` (note 009 eq. 22 without P(alive), as r -> infinity). Depends on (T, t) only."""
    rate, s, beta = (params[k] for k in ONE_RATE_PARAMS)
    return rate * _expected_time_alive(s, beta, T, t) + 0.0 * np.asarray(x)


def one_rate_expected_new(params: ParamArrays, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)] = rate beta/(s-1) [1 - (beta/(beta+t))^(s-1)] of a new customer (SMC 1987
    eq. 17 as r -> infinity)."""
    return one_rate_numerator(params, np.asarray(t, dtype=float), 0.0, 0.0)


def _log_poisson(rate: float, n: np.ndarray, u: np.ndarray) -> np.ndarray:
    """ln P(n purchases in an exposure ``u``) at one rate: the Poisson pmf."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(n > 0, n * np.log(rate * u), 0.0) - rate * u - gammaln(n + 1)


def one_rate_probability_of_purchases(
    params: Params, t: np.ndarray | float, n: np.ndarray | int
) -> np.ndarray:
    """P(X(t) = n) of a new customer: Poisson(rate min(tau, t)) over the Pareto lifetime."""
    return _counts_over_lifetime(partial(_log_poisson, params["rate"]), params, t, n)


def one_rate_probability_at_least(
    params: Params, t: float, k: int, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """P(X(T, T+t) >= k | x, t_x, T) = P(alive) P(at least k in t | alive at T).

    Alive at T, the customer lives ``tau`` longer, Pareto with ``P(tau > u) = (b/(b+u))^s``
    (``b = beta+T``), buying at ``rate`` until min(tau, t); with ``C(u) = P(Poisson(rate u)
    < k)`` (the regularised upper incomplete gamma function ``Q(k, rate u)``)::

        P(< k | alive) = (b/(b+t))^s C(t) + int_0^t s/b (b/(b+u))^(s+1) C(u) du

    the integral by 96-point Gauss-Legendre in ``v = ln(1 + u/b)`` (density ``s e^(-s v)``).
    """
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    if k < 1:
        return np.ones(x.shape)
    rate, s, beta = (params[k_] for k_ in ONE_RATE_PARAMS)
    ages, row = np.unique(T, return_inverse=True)
    b = (beta + ages)[:, None]
    span = np.log1p(t / b)
    v = span * (_NODES + 1) / 2
    u = b * np.expm1(v)
    integral = np.sum(s * np.exp(-s * v) * gammaincc(k, rate * u) * span / 2 * _WEIGHTS, axis=1)
    fewer = np.exp(-s * span[:, 0]) * float(gammaincc(k, rate * t)) + integral
    alive = one_rate_p_alive(params, x, tx, T)
    return np.clip(alive * (1 - fewer[np.ravel(row)].reshape(x.shape)), 0.0, 1.0)
