"""BG/NBD and Gamma-Gamma: fit on weighted distinct rows, score customers, save and load.

The likelihoods are exactly those of lifetimes' ``BetaGeoFitter`` and ``GammaGammaFitter``
(same penalizer, same normalisation by the total weight, same time scaling and starting
point). ``engine="fast"`` (the default) evaluates them in vectorised numpy with analytic
gradients; ``engine="lifetimes"`` calls lifetimes itself (the reference of the tests).
pandas appears only inside :func:`_fit_lifetimes`, at that boundary.

References
----------
BG/NBD: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a), "Counting Your Customers the
Easy Way: An Alternative to the Pareto/NBD Model", Marketing Science 24 (2), 275-284; and
Hardie's notes at brucehardie.com/notes/004 (likelihood) and 021 (P(alive)).
Gamma-Gamma: Fader, Hardie and Lee (2005b), "RFM and CLV: Using Iso-Value Curves for
Customer Base Analysis", Journal of Marketing Research 42 (4), 415-430; and
brucehardie.com/notes/025 ("The Gamma-Gamma Model of Monetary Value").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from clv.errors import DataError, ModelError, UsageError
from clv.rfm import TIME_UNIT_DAYS, TimeUnit, time_unit_of, unit_days

Engine = Literal["fast", "lifetimes"]
Params = dict[str, float]

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GAMMA_GAMMA_PARAMS = ("p", "q", "v")
MONTH_DAYS = 365.25 / 12
"""Length of a month in days for CLV cash flows (lifetimes hard-codes 30)."""

CORRELATION_WARNING = 0.3
"""|Pearson correlation| of frequency and monetary value above which Gamma-Gamma is doubtful.

Gamma-Gamma assumes spend per order is independent of purchase frequency. Fader, Hardie and
Lee (2005b, section 3) report 0.11 on CDNOW and call it weak; by Cohen's conventions 0.1 is
a small, 0.3 a medium and 0.5 a large correlation, so at |r| > 0.3 the dependence is no
longer negligible and the expected order values (and CLV) may be biased.
"""

GRADIENT_TOLERANCE = 1e-5
"""Largest accepted gradient norm (mean negative log-likelihood per customer, log parameters)."""

_FORMAT = "clv-model"
_FORMAT_VERSION = 1
_BFGS_OPTIONS = {"gtol": 1e-6, "maxiter": 2000}  # then Newton steps: see _newton_polish
_POLISH_STEPS = 3
_POLISH_GRADIENT = 1e-11  # gradient norm at which polishing stops (near its rounding)


# --------------------------------------------------------------------------------------------
# Likelihoods (exactly lifetimes'), with analytic gradients in log-parameter space
# --------------------------------------------------------------------------------------------


def _dot(u: np.ndarray, v: np.ndarray) -> float:
    """sum(u * v) without BLAS: OpenBLAS threads cost 10-20x here on 2 cores (measured)."""
    return float(np.sum(u * v))


@dataclass(frozen=True)
class _BgRows:
    """BG/NBD rows prepared once per fit.

    One-time buyers are collapsed by T. For repeat buyers, ``A3 = -(r+x) ln(alpha+T)``
    depends on (x, T) only and ``A4 = ln a - ln(b+x-1) - (r+x) ln(alpha+t_x)`` on (x, t_x)
    only; there are far fewer distinct pairs than rows (15 k vs 470 k on 1 M customers), so
    both are computed per pair, gathered per row, and per-row weights are summed back per
    pair (``bincount``) for the gradient.
    """

    xs: np.ndarray  # distinct frequencies
    wx: np.ndarray  # customers per distinct frequency
    Tu: np.ndarray  # distinct T
    Ru: np.ndarray  # distinct recency
    w_once: np.ndarray  # one-time buyers per distinct T
    xt_x: np.ndarray  # distinct (x, T) pairs of repeat buyers: index into xs and Tu
    xt_t: np.ndarray
    xr_x: np.ndarray  # distinct (x, t_x) pairs of repeat buyers: index into xs and Ru
    xr_r: np.ndarray
    w_xt: np.ndarray  # repeat buyers per (x, T) pair
    row_xt: np.ndarray  # repeat buyers' rows: index into the pairs; weights
    row_xr: np.ndarray
    w: np.ndarray
    wsum: float

    @classmethod
    def of(cls, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray) -> _BgRows:
        x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
        xs, x_all = np.unique(x, return_inverse=True)
        Tu, T_all = np.unique(T, return_inverse=True)
        Ru, R_all = np.unique(tx, return_inverse=True)
        pos = x > 0
        xi = x_all[pos].astype(np.int64)
        xt, row_xt = np.unique(xi * Tu.size + T_all[pos], return_inverse=True)
        xr, row_xr = np.unique(xi * Ru.size + R_all[pos], return_inverse=True)
        return cls(
            xs=xs,
            wx=np.bincount(x_all, weights=w, minlength=xs.size),
            Tu=Tu,
            Ru=Ru,
            w_once=np.bincount(T_all[~pos], weights=w[~pos], minlength=Tu.size),
            xt_x=xt // Tu.size,
            xt_t=xt % Tu.size,
            xr_x=xr // Ru.size,
            xr_r=xr % Ru.size,
            w_xt=np.bincount(row_xt, weights=w[pos], minlength=xt.size),
            row_xt=row_xt,
            row_xr=row_xr,
            w=w[pos],
            wsum=float(np.sum(w)),
        )

    def rescaled(self, scale: float) -> _BgRows:
        """The same rows with recency and T multiplied by ``scale`` (the grouping is kept)."""
        return replace(self, Tu=self.Tu * scale, Ru=self.Ru * scale)


def _logaddexp_and_share(A3: np.ndarray, A4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``ln(e^A3 + e^A4)`` and the share ``e^A4 / (e^A3 + e^A4)`` with one exp and one log.

    ``max(A3, A4) + ln(1 + e^-|A4-A3|)``: as ``np.logaddexp`` but ``ln`` instead of
    ``log1p`` (an absolute error below 2.2e-16 per row, far under the rounding of the sum)
    and the exponential shared with ``expit(A4 - A3)``; half the cost of both.
    """
    diff = A4 - A3
    e = np.exp(-np.abs(diff))
    one_e = 1.0 + e
    return np.maximum(A3, A4) + np.log(one_e), np.where(diff > 0, 1.0, e) / one_e


def _repeat_log_sum(A3: np.ndarray, A4: np.ndarray, d: _BgRows) -> tuple[float, np.ndarray]:
    """``sum w ln(e^A3 + e^A4)`` over the repeat rows, and each row's share of ``e^A4``.

    ``A3`` is given per (x, T) pair, ``A4`` per (x, t_x) pair. Both are exponentiated per
    pair after subtracting the largest of either for their frequency (so nothing
    overflows), then a row costs one log and one division instead of logaddexp's exp and
    log. When some row's sum is not a normal float (exponents spread by more than ~690,
    only at extreme parameters) the rows go through :func:`_logaddexp_and_share`.
    """
    shift = np.full(d.xs.size, -np.inf)
    np.maximum.at(shift, d.xt_x, A3)
    np.maximum.at(shift, d.xr_x, A4)
    e3 = np.exp(A3 - shift[d.xt_x])[d.row_xt]
    e4 = np.exp(A4 - shift[d.xr_x])[d.row_xr]
    total = e3 + e4
    if total.min() > 1e-300:  # False for NaN
        return _dot(d.w, np.log(total)) + _dot(d.w_xt, shift[d.xt_x]), e4 / total
    log_sum, share4 = _logaddexp_and_share(A3[d.row_xt], A4[d.row_xr])
    return _dot(d.w, log_sum), share4


def _bgnbd_nll(log_params: np.ndarray, d: _BgRows, penalizer: float) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, a, b = params
    xs, wx, wsum, w = d.xs, d.wx, d.wsum, d.w
    # terms of x only, on the distinct x
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs)
    b_term = b + np.maximum(xs, 1) - 1
    # terms of T or t_x only, on their distinct values
    lTu, lRu = np.log(alpha + d.Tu), np.log(alpha + d.Ru)
    # one-time buyers: ll = A1 + A2 + A3 with A3 = -r ln(alpha + T)
    ll_once = -r * _dot(d.w_once, lTu)
    # repeat buyers: ll = A1 + A2 + ln(e^A3 + e^A4), A3 per (x, T) and A4 per (x, t_x) pair
    rx_t, lT = r + xs[d.xt_x], lTu[d.xt_t]
    rx_r, lR = r + xs[d.xr_x], lRu[d.xr_r]
    A3 = -rx_t * lT
    A4 = (np.log(a) - np.log(b_term))[d.xr_x] - rx_r * lR
    ll_repeat, share4 = _repeat_log_sum(A3, A4, d)
    value = -(_dot(wx, a1 + a2) + ll_once + ll_repeat) / wsum + penalizer * float(np.sum(params**2))

    pi4 = w * share4  # customers on the "dropped out after t_x" branch
    s4 = np.bincount(d.row_xr, weights=pi4, minlength=d.xr_x.size)
    # and per (x, T) pair on the "alive at T" branch
    s3 = d.w_xt - np.bincount(d.row_xt, weights=pi4, minlength=d.xt_x.size)
    g_r = (
        _dot(wx, digamma(r + xs) - digamma(r) + np.log(alpha))
        - _dot(d.w_once, lTu)
        - (_dot(s3, lT) + _dot(s4, lR))
    )
    g_alpha = (
        r * wsum / alpha
        - r * _dot(d.w_once, 1.0 / (alpha + d.Tu))
        - _dot(s3, rx_t / (alpha + d.Tu[d.xt_t]))
        - _dot(s4, rx_r / (alpha + d.Ru[d.xr_r]))
    )
    pi4x = np.bincount(d.xr_x, weights=s4, minlength=xs.size)
    g_a = _dot(wx, digamma(a + b) - digamma(a + b + xs)) + float(pi4x.sum()) / a
    g_b = _dot(wx, digamma(a + b) + digamma(b + xs) - digamma(b) - digamma(a + b + xs)) - _dot(
        pi4x, 1.0 / b_term
    )
    grad_ll = np.array([g_r, g_alpha, g_a, g_b])
    return value, -params * grad_ll / wsum + 2.0 * penalizer * params**2


def bgnbd_negative_log_likelihood(
    log_params: np.ndarray,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    weights: np.ndarray,
    penalizer: float = 0.0,
) -> tuple[float, np.ndarray]:
    """lifetimes' BG/NBD objective and its gradient, both in log-parameter space.

    FHL (2005a) eq. (6), written as in Hardie's note 004 (section 7 of the paper)::

        ll = ln G(r+x) - ln G(r) + r ln alpha + ln B(a, b+x) - ln B(a, b)
             + ln[ (alpha+T)^-(r+x) + 1{x>0} a / (b+x-1) (alpha+t_x)^-(r+x) ]

    returned as ``-sum(w ll) / sum(w) + penalizer * sum(params**2)`` with
    ``params = exp(log_params) = (r, alpha, a, b)``: the value of
    ``BetaGeoFitter._negative_log_likelihood``. The gradient is analytic (digamma).
    Time in whatever unit ``recency`` and ``T`` are in (lifetimes scales them so max T = 1).
    """
    return _bgnbd_nll(log_params, _BgRows.of(frequency, recency, T, weights), penalizer)


@dataclass(frozen=True)
class _GgRows:
    """Gamma-Gamma rows prepared once per fit: parameter-free sums precomputed, the rest
    summed per distinct frequency (only ln(x m + v) and 1/(x m + v) are per row).

    Customers are collapsed to weighted distinct (x, m) rows (spends are often whole
    cents: 265 k distinct pairs among 680 k repeat buyers of a 1 M-customer shop), sorted by
    (x, m) so that per-frequency sums are contiguous (``np.add.reduceat``).
    """

    xs: np.ndarray  # distinct frequencies
    x_start: np.ndarray  # first row of each distinct frequency
    wx: np.ndarray  # customers per distinct frequency
    xm: np.ndarray  # x * m per row (total repeat spend)
    w: np.ndarray
    sum_w_log_m: float  # sum w ln m
    sum_wx_log_m: float  # sum w x ln m
    wsum: float

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> _GgRows:
        x, m, w = (np.asarray(v, dtype=float) for v in (x, m, w))
        xs, xi = np.unique(x, return_inverse=True)
        order = np.argsort(m)  # then a stable (radix, small integers) sort by frequency
        xi = xi.astype(np.min_scalar_type(xs.size))[order]
        by_x = np.argsort(xi, kind="stable")
        xi, m, w = xi[by_x], m[order[by_x]], w[order[by_x]]
        new = np.ones(xi.size, dtype=bool)
        new[1:] = (xi[1:] != xi[:-1]) | (m[1:] != m[:-1])
        first = np.flatnonzero(new)
        xi, m, w = xi[first], m[first], np.add.reduceat(w, first)
        x_start = np.flatnonzero(np.r_[True, xi[1:] != xi[:-1]])
        x = xs[xi]
        log_m = np.log(m)
        return cls(
            xs=xs,
            x_start=x_start,
            wx=np.add.reduceat(w, x_start),
            xm=x * m,
            w=w,
            sum_w_log_m=_dot(w, log_m),
            sum_wx_log_m=_dot(w * x, log_m),
            wsum=float(np.sum(w)),
        )


def _gamma_gamma_nll(
    log_params: np.ndarray, d: _GgRows, penalizer: float
) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    p, q, v = params
    xs, wx, wsum = d.xs, d.wx, d.wsum
    px = p * xs
    xm_v = d.xm + v
    # per distinct x: sum of w ln(x m + v) and of w / (x m + v)
    s_log = np.add.reduceat(d.w * np.log(xm_v), d.x_start)
    s_inv = np.add.reduceat(d.w / xm_v, d.x_start)
    per_x = gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + px * np.log(xs)
    ll = _dot(wx, per_x) + p * d.sum_wx_log_m - d.sum_w_log_m - _dot(px + q, s_log)
    value = -ll / wsum + penalizer * float(np.sum(params**2))

    g_p = (
        _dot(wx * xs, digamma(px + q) - digamma(px) + np.log(xs)) + d.sum_wx_log_m - _dot(xs, s_log)
    )
    g_q = _dot(wx, digamma(px + q) - digamma(q) + np.log(v)) - float(s_log.sum())
    g_v = q * wsum / v - _dot(px + q, s_inv)
    return value, -params * np.array([g_p, g_q, g_v]) / wsum + 2.0 * penalizer * params**2


def gamma_gamma_negative_log_likelihood(
    log_params: np.ndarray,
    frequency: np.ndarray,
    monetary_value: np.ndarray,
    weights: np.ndarray,
    penalizer: float = 0.0,
) -> tuple[float, np.ndarray]:
    """lifetimes' Gamma-Gamma objective and its gradient, in log-parameter space.

    Hardie's note 025, eq. (1a) (FHL 2005b, eq. (3) with the spend of x orders)::

        ll = ln G(px+q) - ln G(px) - ln G(q) + q ln v + (px-1) ln m + px ln x
             - (px+q) ln(x m + v)

    returned as ``-sum(w ll) / sum(w) + penalizer * sum(params**2)``, ``params = (p, q, v)``:
    the value of ``GammaGammaFitter._negative_log_likelihood``. ``frequency > 0`` and
    ``monetary_value > 0`` (mean spend per repeat order, in currency units) are required.
    """
    return _gamma_gamma_nll(log_params, _GgRows.of(frequency, monetary_value, weights), penalizer)


def _hessian(fun: Callable[[np.ndarray], tuple[float, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Hessian by central differences of the analytic gradient, symmetrised."""
    n = x.size
    h = np.empty((n, n))
    for i in range(n):
        step = 1e-5 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += step
        down[i] -= step
        h[i] = (fun(up)[1] - fun(down)[1]) / (2 * step)
    return (h + h.T) / 2


def _newton_polish(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray]],
    x: np.ndarray,
    grad: np.ndarray,
    hess: np.ndarray,
) -> tuple[np.ndarray, float]:
    """Newton steps ``x - H^-1 g`` with a fixed Hessian, kept while the gradient norm falls.

    Near the optimum the mean negative log-likelihood of a million customers changes by
    less than its rounding (~1e-15 relative), so BFGS line searches stall there (dozens of
    wasted evaluations below a gradient norm of ~1e-7). The analytic gradient is far less
    noisy: from BFGS's stop (norm < 1e-6) one or two Newton steps with the Hessian computed
    there (for the standard errors anyway) reach ~1e-11. Returns the point and its gradient
    norm.
    """
    gnorm = float(np.linalg.norm(grad))
    for _ in range(_POLISH_STEPS):
        if gnorm < _POLISH_GRADIENT:
            break
        trial = x - np.linalg.solve(hess, grad)
        value, trial_grad = fun(trial)
        trial_norm = float(np.linalg.norm(trial_grad))
        if not (np.isfinite(value) and trial_norm < gnorm):
            break
        x, grad, gnorm = trial, trial_grad, trial_norm
    return x, gnorm


@dataclass
class _Fit:
    """One fitted sub-model: parameters, standard errors and how the optimizer ended."""

    params: np.ndarray  # natural parameters, in the summary's time unit
    standard_errors: np.ndarray
    log_likelihood: float  # total, unpenalised, in the summary's time unit
    gradient_norm: float
    message: str


def _optimize(
    name: str,
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    n_params: int,
    n_customers: float,
    advice: str,
) -> tuple[np.ndarray, np.ndarray, float, str]:
    """Minimise from lifetimes' start (all log-parameters 0.1); judge convergence.

    BFGS to a gradient norm of 1e-6, then :func:`_newton_polish`. Converged means: a finite
    objective, a gradient norm below :data:`GRADIENT_TOLERANCE` where BFGS stopped, and
    scipy's BFGS either reporting success or stopping for loss of precision (status 2: the
    gradient cannot be made smaller in floating point) with that small gradient, and an
    invertible (positive definite) Hessian so that standard errors exist. The size of a
    parameter is not judged (a = 0.0034 is legitimate). The Hessian is that of BFGS's stop
    (the polish moves the log-parameters by ~1e-6, far below the standard errors' accuracy).
    """
    x0 = np.full(n_params, 0.1)
    with np.errstate(all="ignore"):
        res = minimize(objective, x0, jac=True, method="BFGS", options=_BFGS_OPTIONS)
        x, value, grad = res.x, float(res.fun), np.asarray(res.jac, dtype=float)
        gnorm = float(np.linalg.norm(grad))
        ok = (
            np.isfinite(value)
            and np.all(np.isfinite(x))
            and gnorm < GRADIENT_TOLERANCE
            and (res.success or res.status == 2)
        )
        mean_hess = _hessian(objective, x) if ok else None
    if not ok:
        why = f"optimizer: {res.message}; gradient norm {gnorm:.2g}; objective {value:.6g}"
        raise ModelError(f"{name} did not converge ({why}); {advice}")
    hess = mean_hess * n_customers
    try:
        cov_log = np.linalg.inv(hess)
        chol_ok = np.all(np.linalg.eigvalsh(hess) > 0)
    except np.linalg.LinAlgError:
        chol_ok = False
    if not chol_ok:
        raise ModelError(
            f"{name} did not converge: the likelihood is flat or saddle-shaped at the optimum "
            f"(the data do not determine the parameters); {advice}"
        )
    with np.errstate(all="ignore"):
        x, gnorm = _newton_polish(objective, x, grad, mean_hess)
    return x, cov_log, gnorm, str(res.message)


_ADVICE = "fit on more customers or a longer period, or pass a penalizer (e.g. --penalizer 0.001)"


def _fit_bgnbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> _Fit:
    scale = 1.0 / T.max()  # lifetimes' _scale_time: the oldest customer has age 1
    rows = _BgRows.of(x, tx, T, w)
    scaled = rows.rescaled(scale)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _bgnbd_nll(theta, scaled, penalizer)

    theta, cov_log, gnorm, message = _optimize("BG/NBD", objective, 4, w.sum(), _ADVICE)
    params = np.exp(theta)
    params[1] /= scale
    se = params * np.sqrt(np.diag(cov_log))
    ll = -_bgnbd_nll(np.log(params), rows, 0.0)[0] * w.sum()
    return _Fit(params, se, float(ll), gnorm, message)


def _fit_gamma_gamma_fast(x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float) -> _Fit:
    rows = _GgRows.of(x, m, w)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _gamma_gamma_nll(theta, rows, penalizer)

    theta, cov_log, gnorm, message = _optimize("Gamma-Gamma", objective, 3, w.sum(), _ADVICE)
    params = np.exp(theta)
    se = params * np.sqrt(np.diag(cov_log))
    ll = -_gamma_gamma_nll(theta, rows, 0.0)[0] * w.sum()
    return _Fit(params, se, float(ll), gnorm, message)


def _fit_lifetimes(
    bg: tuple[np.ndarray, ...], gg: tuple[np.ndarray, ...], penalizer: float
) -> tuple[_Fit, _Fit]:
    """lifetimes' own fitters on the weighted distinct rows (pandas lives only here)."""
    import contextlib
    import io

    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

    x, tx, T, w = bg
    gx, gm, gw = gg
    fits = []
    for name, make, args in (
        ("BG/NBD", BetaGeoFitter, (x, tx, T)),
        ("Gamma-Gamma", GammaGammaFitter, (gx, gm)),
    ):
        weights = w if name == "BG/NBD" else gw
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                fitter = make(penalizer_coef=penalizer).fit(*args, weights=weights)
        except (ConvergenceError, np.linalg.LinAlgError) as e:
            raise ModelError(
                f"{name} did not converge (lifetimes: {e}); {_ADVICE}".replace("\n", " ")
            ) from None
        params = fitter.params_.to_numpy(dtype=float).copy()
        se = fitter.standard_errors_.to_numpy(dtype=float).copy()
        if name == "BG/NBD":
            ll = -bgnbd_negative_log_likelihood(np.log(params), x, tx, T, w)[0] * w.sum()
        else:
            ll = -gamma_gamma_negative_log_likelihood(np.log(params), gx, gm, gw)[0] * gw.sum()
        if not np.isfinite(ll) or not np.all(np.isfinite(se)):
            raise ModelError(f"{name} did not converge (non-finite result); {_ADVICE}")
        fits.append(_Fit(params, se, float(ll), float("nan"), "lifetimes"))
    return fits[0], fits[1]


# --------------------------------------------------------------------------------------------
# Model formulas (vectorised numpy; params as dicts)
# --------------------------------------------------------------------------------------------


def p_alive(bgnbd: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(alive at T | x, t_x, T) under BG/NBD (Fader, Hardie & Lee, note 021).

    The share of the "alive at T" term in the likelihood of FHL (2005a) eq. (6):
    ``1 / (1 + 1{x>0} a / (b+x-1) ((alpha+T) / (alpha+t_x))^(r+x))``, computed as lifetimes
    does (``expit`` of the log odds). Customers without a repeat purchase are alive for sure.
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    x = np.asarray(frequency, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_div = (r + x) * np.log((alpha + T) / (alpha + recency)) + np.log(
            a / (b + np.maximum(x, 1) - 1)
        )
    return np.where(x == 0, 1.0, expit(-log_div))


def _conditional_numerator(bgnbd: Params, t: float, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The numerator of FHL (2005a) eq. (10): depends on (x, T, t) only, not on t_x."""
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    _a, _b, _c = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_hyp = np.log(hyp2f1(_a, _b, _c, z))
        bad = np.isinf(ln_hyp)
        if np.any(bad):  # Euler's transformation, as lifetimes does
            alt = np.log(hyp2f1(_c - _a, _c - _b, _c, z)) + (_c - _a - _b) * np.log(1 - z)
            ln_hyp = np.where(bad, alt, ln_hyp)
    first = (a + b + x - 1) / (a - 1)
    second = 1 - np.exp(ln_hyp + (r + x) * np.log((alpha + T) / (alpha + t + T)))
    return first * second


def _conditional_denominator(
    bgnbd: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """The denominator of FHL (2005a) eq. (10), ``1 / P(alive)``."""
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = (a / (b + x - 1)) * ((alpha + T) / (alpha + recency)) ** (r + x)
    return 1 + np.where(x > 0, odds, 0.0)


def conditional_expected_purchases(
    bgnbd: Params, t: float, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray
) -> np.ndarray:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in (T, T+t], FHL (2005a) eq. (10).

    ``t``, ``recency`` and ``T`` are in the model's time unit. Equals lifetimes'
    ``conditional_expected_number_of_purchases_up_to_time`` (with its Euler-transform
    fallback when the Gauss hypergeometric function overflows).
    """
    x = np.asarray(frequency, dtype=float)
    T = np.asarray(T, dtype=float)
    return _conditional_numerator(bgnbd, t, x, T) / _conditional_denominator(
        bgnbd, x, np.asarray(recency, dtype=float), T
    )


def expected_purchases_new_customer(bgnbd: Params, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer by age ``t``, FHL (2005a) eq. (9).

    ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``; ``t`` in the
    model's time unit (vectorised over ``t``).
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)


def _log_poisson_gamma(r: float, alpha: float, t: np.ndarray, n: np.ndarray) -> np.ndarray:
    """ln[ G(r+n)/(G(r) n!) (alpha/(alpha+t))^r (t/(alpha+t))^n ]: the NBD pmf (FHL eq. 8)."""
    with np.errstate(divide="ignore"):
        return (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * np.log(alpha / (alpha + t))
            + n * np.log(t / (alpha + t))
        )


def probability_of_purchases(
    bgnbd: Params, t: np.ndarray | float, n: np.ndarray | int
) -> np.ndarray:
    """P(X(t) = n): a new customer's number of repeat purchases by age ``t``, FHL (2005a) eq. (8).

    ``B(a,b+n)/B(a,b) NBD(n; r, alpha, t) + 1{n>0} B(a+1,b+n-1)/B(a,b)
    [1 - sum_{j<n} NBD(j; r, alpha, t)]``; vectorised over ``t`` and ``n`` (broadcast);
    ``t`` in the model's time unit.
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=np.int64))
    first = np.exp(betaln(a, b + n) - betaln(a, b) + _log_poisson_gamma(r, alpha, t, n))
    cdf_below = np.zeros(t.shape)
    for j in range(int(n.max()) if n.size else 0):
        cdf_below += np.where(
            j < n, np.exp(_log_poisson_gamma(r, alpha, t, np.full(t.shape, j))), 0
        )
    with np.errstate(invalid="ignore"):
        second = np.where(
            n > 0,
            np.exp(betaln(a + 1, b + np.maximum(n, 1) - 1) - betaln(a, b)) * (1 - cdf_below),
            0,
        )
    return first + second


def conditional_probability_of_purchases(
    bgnbd: Params,
    t: float,
    n: int,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """P(X(T, T+t) = n | x, t_x, T): the BG/NBD conditional PMF of purchases in (T, T+t].

    Bayes' rule on FHL (2005a): the individual likelihood (their eq. 3) splits into "alive
    at T", ``(1-p)^x lambda^x e^(-lambda T)``, and "dropped out after t_x",
    ``1{x>0} p (1-p)^(x-1) lambda^x e^(-lambda t_x)``. A customer alive at T makes ``n``
    purchases in the next ``t`` with the probability of FHL eq. (2)-(3) (memoryless Poisson
    purchasing, dropout after each purchase); one who dropped out makes none. Integrating
    over the gamma and beta mixing distributions as in FHL eq. (6) and (8) gives, with
    ``L`` the likelihood of FHL eq. (6) (derived as Fader & Hardie's note 028 does for the
    Pareto/NBD, "Deriving the Conditional PMF of the Pareto/NBD Model")::

        L * P(n) = B(a, b+x+n)/B(a,b) G(r+x+n)/G(r) alpha^r t^n / (n! (alpha+T+t)^(r+x+n))
          + 1{n>0} B(a+1, b+x+n-1)/B(a,b) [ G(r+x)/G(r) alpha^r/(alpha+T)^(r+x)
                 - sum_{j<n} G(r+x+j)/G(r) alpha^r t^j / (j! (alpha+T+t)^(r+x+j)) ]
          + 1{n=0, x>0} B(a+1, b+x-1)/B(a,b) G(r+x)/G(r) alpha^r / (alpha+t_x)^(r+x)

    ``t``, ``recency`` and ``T`` in the model's time unit; vectorised over customers.
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    lb = betaln(a, b)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)  # G(r+x)/G(r) alpha^r
    # log L, FHL (2005a) eq. (6)
    log_alive = betaln(a, b + x) - lb + common - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dead = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - lb + common - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    log_lik = np.logaddexp(log_alive, log_dead)
    log_tail = [  # ln of G(r+x+j)/G(r) alpha^r t^j / (j! (alpha+T+t)^(r+x+j)), j = 0..n
        gammaln(r + x + j)
        - gammaln(r)
        + r * np.log(alpha)
        + (j * math.log(t) if j else 0.0)
        - gammaln(j + 1)
        - (r + x + j) * np.log(alpha + T + t)
        for j in range(n + 1)
    ]
    log_first = betaln(a, b + x + n) - lb + log_tail[n]
    if n == 0:
        return np.exp(log_first - log_lik) + np.exp(log_dead - log_lik)
    # alive at T, then n purchases in (T, T+t] followed by a dropout (FHL eq. 3, second term)
    no_more = np.exp(common - (r + x) * np.log(alpha + T) - log_lik)
    below = sum(np.exp(log_tail[j] - log_lik) for j in range(n))
    second = np.exp(betaln(a + 1, b + x + n - 1) - lb) * (no_more - below)
    return np.exp(log_first - log_lik) + second


def probability_at_least(
    bgnbd: Params,
    t: float,
    k: int,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
) -> np.ndarray:
    """P(X(T, T+t) >= k | x, t_x, T): at least ``k`` purchases in the next ``t`` time units.

    ``1 - sum_{n<k}`` of :func:`conditional_probability_of_purchases` (FHL 2005a, eq. 2-3, 6,
    8 by Bayes' rule; see there). ``k >= 1``; ``t`` in the model's time unit.
    """
    if k < 1:
        return np.ones(np.shape(frequency))
    total = sum(
        conditional_probability_of_purchases(bgnbd, t, n, frequency, recency, T) for n in range(k)
    )
    return np.clip(1.0 - total, 0.0, 1.0)


def expected_order_value(
    gamma_gamma: Params, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[Z | x, m]: conditional expected spend per order, note 025 eq. (5) (FHL 2005b eq. 5).

    ``(1 - w) p v/(q-1) + w m`` with ``w = p x / (p x + q - 1)``: lifetimes'
    ``conditional_expected_average_profit``. Customers without a repeat purchase with a
    positive amount get the population mean ``p v / (q - 1)``. Currency units.
    """
    p, q, v = (gamma_gamma[k] for k in GAMMA_GAMMA_PARAMS)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    weight = p * x / (p * x + q - 1)
    population_mean = v * p / (q - 1)
    individual = (1 - weight) * population_mean + weight * m
    return np.where((x > 0) & (m > 0), individual, population_mean)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _check_summary(summary: pl.DataFrame, columns: tuple[str, ...] = _SUMMARY_COLUMNS) -> None:
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary: missing column(s) {', '.join(missing)}; make it with clv.rfm.rfm_summary"
        )
    if summary.height == 0:
        raise DataError("summary: no customers")
    bad = summary.select(
        nulls=pl.any_horizontal(
            pl.col(c).is_null() | ~pl.col(c).cast(pl.Float64).is_finite() for c in columns
        ),
        negative=(pl.col("frequency") < 0) | (pl.col("recency") < 0),
        late=pl.col("recency") > pl.col("T"),
        fractional=pl.col("frequency").cast(pl.Float64)
        != pl.col("frequency").cast(pl.Float64).round(),
        one_time=(pl.col("frequency") == 0) & (pl.col("recency") != 0),
    )
    problems = {
        "nulls": "a missing or non-finite value",
        "negative": "a negative frequency or recency",
        "late": "recency greater than T",
        "fractional": "a fractional frequency",
        "one_time": "recency > 0 with frequency 0",
    }
    for column, what in problems.items():
        rows = bad.select(pl.arg_where(pl.col(column))).to_series()
        if rows.len():
            row = int(rows[0])
            who = summary["customer_id"][row] if "customer_id" in summary.columns else row
            raise DataError(
                f"summary row {row} (customer {who}): {what}; rebuild it with clv.rfm.rfm_summary"
            )


def _summary_unit(summary: pl.DataFrame, time_unit: TimeUnit | None) -> TimeUnit:
    """The summary's time unit: read off its columns, else the ``time_unit`` keyword."""
    if {"first_purchase", "observation_end"} <= set(summary.columns):
        if time_unit is not None and not (summary["T"] > 0).any():
            return time_unit  # only customers of age 0: every unit fits
        unit = time_unit_of(summary)
        if time_unit is not None and time_unit != unit:
            raise DataError(f"summary is in time unit {unit}, not {time_unit} as given")
        return unit
    if time_unit is None:
        raise DataError(
            "summary has no first_purchase/observation_end columns to tell its time unit; "
            "pass time_unit='D', 'W' or 'M'"
        )
    unit_days(time_unit)
    return time_unit


def _package_versions() -> dict[str, str]:
    out = {}
    for name in ("clv", "lifetimes", "numpy", "scipy", "polars"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def _fingerprint(bg_rows: tuple[np.ndarray, ...], gg_rows: tuple[np.ndarray, ...]) -> str:
    """sha256 of what the fit saw: the sorted distinct (frequency, recency, T, customers)
    rows, and the sorted spends per order and per customer of the Gamma-Gamma customers.
    Customer ids and row order do not enter."""
    x, m = gg_rows[0], gg_rows[1]
    digest = hashlib.sha256()
    for arr in (*bg_rows, np.sort(m), np.sort(x * m)):
        digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass
class ClvModel:
    """A fitted BG/NBD + Gamma-Gamma model: the only stateful object of clv.

    ``bgnbd`` (r, alpha, a, b; alpha in the model's ``time_unit``) and ``gamma_gamma``
    (p, q, v; v in currency units). ``standard_errors`` has the same two keys;
    ``log_likelihood`` the total (summed over customers, unpenalised) log-likelihood of
    each sub-model in the model's time unit.
    """

    bgnbd: Params
    gamma_gamma: Params
    standard_errors: dict[str, Params]
    log_likelihood: dict[str, float]
    time_unit: TimeUnit
    observation_end: str | None
    n_customers: int
    n_repeat_buyers: int
    n_excluded_gamma_gamma: int
    excluded_gamma_gamma_reason: str
    frequency_monetary_correlation: float | None
    penalizer: float
    engine: str
    versions: dict[str, str]
    data_fingerprint: str
    warnings: list[str] = field(default_factory=list)
    convergence: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per sub-model: ``gradient_norm`` at the optimum (mean objective, log parameters;
    NaN for the lifetimes engine) and the optimizer's ``message``."""

    # ---- predictions on summaries ---------------------------------------------------------

    def _arrays(
        self, summary: pl.DataFrame, time_unit: TimeUnit | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _check_summary(summary, ("frequency", "recency", "T"))
        unit = _summary_unit(summary, time_unit)
        if unit != self.time_unit:
            raise ModelError(
                f"the summary is in time unit {unit} but the model was fitted in "
                f"{self.time_unit}; rebuild the summary with time_unit={self.time_unit!r}"
            )
        return (
            summary["frequency"].cast(pl.Float64).to_numpy(),
            summary["recency"].cast(pl.Float64).to_numpy(),
            summary["T"].cast(pl.Float64).to_numpy(),
        )

    def _by_frequency_and_age(
        self, x: np.ndarray, T: np.ndarray, columns: Callable[[np.ndarray, np.ndarray], dict]
    ) -> dict[str, np.ndarray]:
        """Evaluate ``columns(x, T)`` on the distinct (x, T) pairs only, then gather back."""
        keys = pl.DataFrame({"x": x, "T": T})
        distinct = keys.unique(maintain_order=False)
        values = columns(distinct["x"].to_numpy(), distinct["T"].to_numpy())
        joined = keys.join(
            distinct.with_columns(**{k: pl.Series(v) for k, v in values.items()}),
            on=["x", "T"],
            how="left",
            maintain_order="left",
        )
        return {k: joined[k].to_numpy() for k in values}

    def expected_purchases(
        self, summary: pl.DataFrame, *, t: float, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T] (FHL 2005a eq. 10) per row of ``summary``; ``t`` in model units."""
        x, tx, T = self._arrays(summary, time_unit)
        num = self._by_frequency_and_age(
            x, T, lambda xs, Ts: {"n": _conditional_numerator(self.bgnbd, t, xs, Ts)}
        )["n"]
        return num / _conditional_denominator(self.bgnbd, x, tx, T)

    def probability_at_least(
        self, summary: pl.DataFrame, *, t: float, k: int = 1, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """P(at least ``k`` purchases in the next ``t`` model time units) per row (see
        :func:`probability_at_least`)."""
        x, tx, T = self._arrays(summary, time_unit)
        return probability_at_least(self.bgnbd, t, k, x, tx, T)

    def score(
        self,
        summary: pl.DataFrame,
        *,
        horizon: float,
        horizon_unit: TimeUnit = "M",
        discount_rate_annual: float = 0.10,
        margin: float = 1.0,
        month_days: float = MONTH_DAYS,
        discount_rate_monthly: float | None = None,
        time_unit: TimeUnit | None = None,
    ) -> pl.DataFrame:
        """Customer scores over the next ``horizon``: P(alive), purchases, order value, CLV.

        Parameters
        ----------
        summary
            An RFM summary in the model's time unit (``customer_id``, ``frequency``,
            ``recency``, ``T``, ``monetary_value``).
        horizon, horizon_unit
            Length of the future period: ``D`` days, ``W`` weeks or ``M`` months of
            ``month_days`` days.
        discount_rate_annual
            Annual discount rate r (0.10 = 10 %); cash flows are discounted monthly at
            ``(1 + r)^(1/12) - 1`` unless ``discount_rate_monthly`` is given.
        margin
            Share of spend that is profit (1.0: CLV in revenue).
        month_days
            Length of a month in days (365.25/12; lifetimes uses 30).
        time_unit
            Only for a summary without ``first_purchase``/``observation_end`` columns.

        Returns
        -------
        pl.DataFrame
            In the order of ``summary``: ``customer_id, frequency, recency, T,
            monetary_value``, ``p_alive`` (Hardie note 021), ``expected_purchases`` (repeat
            purchases over the horizon, FHL 2005a eq. 10), ``expected_order_value``
            (currency, Gamma-Gamma note 025 eq. 5; one-time buyers get ``p v/(q-1)``) and
            ``clv`` (currency): lifetimes' method, month by month, ``(E[Y(t_i)] -
            E[Y(t_(i-1))]) * expected_order_value * margin / (1 + d)^i``, each month's cash
            flow discounted at its end; a last partial month (horizon not a whole number of
            months) is discounted at its fractional end ``(1+d)^(t/month)``.
        """
        if horizon <= 0:
            raise UsageError(f"horizon must be positive, not {horizon}")
        if month_days <= 0:
            raise UsageError(f"month_days must be positive, not {month_days}")
        _check_summary(summary)
        x, tx, T = self._arrays(summary, time_unit)
        m = summary["monetary_value"].cast(pl.Float64).to_numpy()
        if self.gamma_gamma["q"] <= 1:
            raise ModelError(
                f"Gamma-Gamma q = {self.gamma_gamma['q']:.3g} <= 1: the mean order value is "
                "infinite; refit with more repeat buyers or a penalizer"
            )
        d = (
            (1 + discount_rate_annual) ** (1 / 12) - 1
            if discount_rate_monthly is None
            else discount_rate_monthly
        )
        horizon_days = horizon * (month_days if horizon_unit == "M" else unit_days(horizon_unit))
        model_days = TIME_UNIT_DAYS[self.time_unit]
        n_months = math.ceil(horizon_days / month_days - 1e-9)
        months = np.arange(1, n_months + 1)
        ends_days = np.minimum(months * month_days, horizon_days)
        ends = ends_days / model_days  # in the model's time unit
        exponents = np.where(months * month_days <= horizon_days, months, ends_days / month_days)
        factors = (1 + d) ** exponents
        H = horizon_days / model_days

        def per_x_and_age(xs: np.ndarray, Ts: np.ndarray) -> dict[str, np.ndarray]:
            prev = np.zeros(xs.size)
            discounted = np.zeros(xs.size)
            for end, factor in zip(ends, factors, strict=True):
                cur = _conditional_numerator(self.bgnbd, end, xs, Ts)
                discounted += (cur - prev) / factor
                prev = cur
            horizon_num = prev if ends[-1] == H else _conditional_numerator(self.bgnbd, H, xs, Ts)
            return {"horizon": horizon_num, "discounted": discounted}

        parts = self._by_frequency_and_age(x, T, per_x_and_age)
        denominator = _conditional_denominator(self.bgnbd, x, tx, T)
        value = expected_order_value(self.gamma_gamma, x, m)
        scores = {
            "p_alive": p_alive(self.bgnbd, x, tx, T),
            "expected_purchases": parts["horizon"] / denominator,
            "expected_order_value": value,
            "clv": margin * value * (parts["discounted"] / denominator),
        }
        ids = summary["customer_id"] if "customer_id" in summary.columns else None
        base = summary.select(
            *(["customer_id"] if ids is not None else []),
            "frequency",
            "recency",
            "T",
            "monetary_value",
        )
        return base.with_columns(pl.Series(k, v, dtype=pl.Float64) for k, v in scores.items())

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON document :meth:`save` writes."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        body = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "bgnbd": self.bgnbd,
            "gamma_gamma": self.gamma_gamma,
            "standard_errors": self.standard_errors,
            "log_likelihood": self.log_likelihood,
            "time_unit": self.time_unit,
            "observation_end": self.observation_end,
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
            "n_excluded_gamma_gamma": self.n_excluded_gamma_gamma,
            "excluded_gamma_gamma_reason": self.excluded_gamma_gamma_reason,
            "frequency_monetary_correlation": self.frequency_monetary_correlation,
            "penalizer": self.penalizer,
            "engine": self.engine,
            "versions": self.versions,
            "data_fingerprint": self.data_fingerprint,
            "warnings": list(self.warnings),
            "convergence": self.convergence,
        }
        return clean(body)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the model as JSON, atomically; an existing file is kept unless ``overwrite``."""
        from clv.io import atomic_output

        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClvModel:
        """Read a model written by :meth:`save`; ``ModelError`` naming the file if it is not one."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"{path}: no such model file; make one with clv fit") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{path}: not a clv model file (not JSON: {e})") from None
        if not isinstance(doc, dict):
            raise ModelError(f"{path}: not a clv model file (a JSON object is expected)")
        required = {
            "bgnbd": BGNBD_PARAMS,
            "gamma_gamma": GAMMA_GAMMA_PARAMS,
        }
        for key, names in required.items():
            block = doc.get(key)
            if not isinstance(block, dict) or not all(
                isinstance(block.get(n), int | float) and math.isfinite(block[n]) and block[n] > 0
                for n in names
            ):
                raise ModelError(
                    f"{path}: key {key!r} must hold positive numbers {', '.join(names)}; "
                    "refit with clv fit"
                )
        if doc.get("time_unit") not in TIME_UNIT_DAYS:
            raise ModelError(f"{path}: key 'time_unit' must be D, W or M; refit with clv fit")
        se = doc.get("standard_errors") or {}
        nan = float("nan")

        def floats(block: Any, names: tuple[str, ...]) -> Params:
            block = block if isinstance(block, dict) else {}
            return {n: float(block[n]) if block.get(n) is not None else nan for n in names}

        ll = doc.get("log_likelihood") or {}
        return cls(
            bgnbd={n: float(doc["bgnbd"][n]) for n in BGNBD_PARAMS},
            gamma_gamma={n: float(doc["gamma_gamma"][n]) for n in GAMMA_GAMMA_PARAMS},
            standard_errors={
                "bgnbd": floats(se.get("bgnbd"), BGNBD_PARAMS),
                "gamma_gamma": floats(se.get("gamma_gamma"), GAMMA_GAMMA_PARAMS),
            },
            log_likelihood={
                k: float(ll[k]) if ll.get(k) is not None else nan for k in ("bgnbd", "gamma_gamma")
            },
            time_unit=doc["time_unit"],
            observation_end=doc.get("observation_end"),
            n_customers=int(doc.get("n_customers") or 0),
            n_repeat_buyers=int(doc.get("n_repeat_buyers") or 0),
            n_excluded_gamma_gamma=int(doc.get("n_excluded_gamma_gamma") or 0),
            excluded_gamma_gamma_reason=str(doc.get("excluded_gamma_gamma_reason") or ""),
            frequency_monetary_correlation=doc.get("frequency_monetary_correlation"),
            penalizer=float(doc.get("penalizer") or 0.0),
            engine=str(doc.get("engine") or "unknown"),
            versions=dict(doc.get("versions") or {}),
            data_fingerprint=str(doc.get("data_fingerprint") or ""),
            warnings=list(doc.get("warnings") or []),
            convergence={
                k: {
                    "gradient_norm": nan
                    if v.get("gradient_norm") is None
                    else float(v["gradient_norm"]),
                    "message": str(v.get("message", "")),
                }
                for k, v in (doc.get("convergence") or {}).items()
                if isinstance(v, dict)
            },
        )


# --------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------


def _distinct_bgnbd_rows(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, days: float
) -> tuple[np.ndarray, ...]:
    """Distinct (frequency, recency, T) rows, sorted, and how many customers share each.

    Summaries from :func:`clv.rfm.rfm_summary` hold whole days divided by the unit's length:
    the rows are then grouped on one integer key made of (frequency, recency days, T days)
    and divided back, so the values are bit-identical with the summary's. Other summaries
    are grouped on their float values.
    """
    rec_days, age_days = np.rint(tx * days), np.rint(T * days)
    whole = bool(np.all(rec_days / days == tx) and np.all(age_days / days == T))
    span = int(age_days.max()) + 1 if whole else 0
    if whole and (int(x.max()) + 1) * span * span < 2**62:
        key = (x.astype(np.int64) * span + rec_days.astype(np.int64)) * span + age_days.astype(
            np.int64
        )
        keys, counts = np.unique(key, return_counts=True)
        age = keys % span
        rec = (keys // span) % span
        freq = keys // (span * span)
        return freq.astype(float), rec / days, age / days, counts.astype(float)
    grouped = (
        pl.DataFrame({"x": x, "tx": tx, "T": T})
        .group_by("x", "tx", "T")
        .agg(w=pl.len())
        .sort("x", "tx", "T")
    )
    return tuple(grouped[c].cast(pl.Float64).to_numpy() for c in ("x", "tx", "T", "w"))


def fit(
    summary: pl.DataFrame,
    *,
    penalizer: float = 0.0,
    engine: Engine = "fast",
    time_unit: TimeUnit | None = None,
) -> ClvModel:
    """Fit BG/NBD (all customers) and Gamma-Gamma (repeat buyers with positive spend).

    Parameters
    ----------
    summary
        An RFM summary from :func:`clv.rfm.rfm_summary` (``frequency``, ``recency``, ``T``,
        ``monetary_value``; ``first_purchase`` and ``observation_end`` tell the time unit).
    penalizer
        lifetimes' ``penalizer_coef``: ``penalizer * sum(params**2)`` is added to the mean
        negative log-likelihood (BG/NBD with time scaled so the oldest customer has age 1,
        as lifetimes does). 0.001 to 0.1 stabilises small or odd data.
    engine
        ``"fast"``: vectorised numpy likelihoods with analytic gradients, BFGS in
        log-parameter space from lifetimes' starting point, then Newton steps; BG/NBD on the
        weighted distinct (frequency, recency, T) rows, Gamma-Gamma on the weighted distinct
        (frequency, monetary value) rows (terms of x alone computed once per distinct
        frequency). ``"lifetimes"``: lifetimes' own fitters on the per-customer Gamma-Gamma
        rows and weighted BG/NBD rows (slow; the reference of the tests).
    time_unit
        Only for a summary without ``first_purchase``/``observation_end`` columns.

    Returns
    -------
    ClvModel
        Standard errors come from the inverse Hessian of the total negative log-likelihood
        (penalised objective times the number of customers) in log-parameter space, by
        central differences of the analytic gradient, mapped to the parameters by the delta
        method (``se = param * sqrt(diag(H^-1))``), as lifetimes reports them.

    Raises
    ------
    ModelError
        No repeat purchase in the data, or the optimizer did not converge (status, gradient
        norm, a finite likelihood and a positive definite Hessian are checked; the size of
        a parameter is not).

    Warns
    -----
    UserWarning
        When |corr(frequency, monetary_value)| among repeat buyers exceeds
        :data:`CORRELATION_WARNING` (Gamma-Gamma's independence assumption is doubtful).
    """
    if engine not in ("fast", "lifetimes"):
        raise UsageError(f"engine must be 'fast' or 'lifetimes', not {engine!r}")
    if not (penalizer >= 0 and math.isfinite(penalizer)):
        raise UsageError(f"penalizer must be a non-negative number, not {penalizer}")
    _check_summary(summary)
    unit = _summary_unit(summary, time_unit)
    n_customers = summary.height
    frame = summary.select(
        pl.col("frequency").cast(pl.Float64),
        pl.col("recency").cast(pl.Float64),
        pl.col("T").cast(pl.Float64),
        pl.col("monetary_value").cast(pl.Float64),
    )
    repeat = frame.filter(pl.col("frequency") > 0)
    if repeat.height == 0:
        raise ModelError(
            f"none of the {n_customers:,} customers made a repeat purchase, so BG/NBD and "
            "Gamma-Gamma cannot be fitted; use a longer period or a later --observation-end"
        )
    if float(frame["T"].max()) <= 0:
        raise ModelError(
            "every customer was first seen on the observation end (T = 0); use a later "
            "--observation-end"
        )
    spenders = repeat.filter(pl.col("monetary_value") > 0)
    n_excluded = n_customers - spenders.height
    reason = (
        f"{n_customers - repeat.height:,} customers without a repeat purchase"
        + (
            f" and {repeat.height - spenders.height:,} repeat buyers with no positive spend"
            if repeat.height > spenders.height
            else ""
        )
        + " are left out of the Gamma-Gamma fit (it models the spend of repeat orders)"
    )
    if spenders.height == 0:
        raise ModelError(
            "no repeat purchase has a positive amount, so Gamma-Gamma cannot be fitted; "
            "check the amount column"
        )

    messages: list[str] = []
    corr = None
    if spenders.height >= 3:
        c = spenders.select(pl.corr("frequency", "monetary_value")).item()
        corr = float(c) if c is not None and math.isfinite(c) else None
    if corr is not None and abs(corr) > CORRELATION_WARNING:
        msg = (
            f"frequency and monetary value are correlated among repeat buyers (r = {corr:.2f}, "
            f"|r| > {CORRELATION_WARNING}); Gamma-Gamma assumes they are independent, so "
            "expected order values and CLV may be biased"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)

    f = frame.to_numpy()
    bg_rows = _distinct_bgnbd_rows(f[:, 0], f[:, 1], f[:, 2], TIME_UNIT_DAYS[unit])
    g = spenders.select("frequency", "monetary_value").to_numpy()
    gg_rows = (g[:, 0], g[:, 1], np.ones(g.shape[0]))  # grouped inside _GgRows.of
    if engine == "fast":
        bg = _fit_bgnbd_fast(*bg_rows, penalizer)
        gg = _fit_gamma_gamma_fast(*gg_rows, penalizer)
    else:
        bg, gg = _fit_lifetimes(bg_rows, gg_rows, penalizer)
    gamma_gamma = dict(zip(GAMMA_GAMMA_PARAMS, map(float, gg.params), strict=True))
    if gamma_gamma["q"] <= 1:
        msg = (
            f"Gamma-Gamma q = {gamma_gamma['q']:.3g} <= 1: the population mean order value "
            "p v/(q-1) is not finite; scoring will fail (try a penalizer)"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)

    end = None
    if "observation_end" in summary.columns:
        value = summary["observation_end"].max()
        end = value.isoformat() if isinstance(value, dt.date) else None
    return ClvModel(
        bgnbd=dict(zip(BGNBD_PARAMS, map(float, bg.params), strict=True)),
        gamma_gamma=gamma_gamma,
        standard_errors={
            "bgnbd": dict(zip(BGNBD_PARAMS, map(float, bg.standard_errors), strict=True)),
            "gamma_gamma": dict(
                zip(GAMMA_GAMMA_PARAMS, map(float, gg.standard_errors), strict=True)
            ),
        },
        log_likelihood={"bgnbd": bg.log_likelihood, "gamma_gamma": gg.log_likelihood},
        time_unit=unit,
        observation_end=end,
        n_customers=n_customers,
        n_repeat_buyers=repeat.height,
        n_excluded_gamma_gamma=n_excluded,
        excluded_gamma_gamma_reason=reason,
        frequency_monetary_correlation=corr,
        penalizer=float(penalizer),
        engine=engine,
        versions=_package_versions(),
        data_fingerprint=_fingerprint(bg_rows, gg_rows),
        warnings=messages,
        convergence={
            name: {"gradient_norm": f.gradient_norm, "message": f.message}
            for name, f in (("bgnbd", bg), ("gamma_gamma", gg))
        },
    )


# --------------------------------------------------------------------------------------------
# Other purchase models, for comparison (through lifetimes)
# --------------------------------------------------------------------------------------------

PURCHASE_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")
"""BG/NBD (FHL 2005a), modified BG/NBD (Batislam, Denizel & Filiztekin 2007) and Pareto/NBD
(Schmittlein, Morrison & Colombo 1987; Fader & Hardie note 009)."""


def compare_purchase_models(
    summary: pl.DataFrame,
    *,
    t: float,
    penalizer: float = 0.0,
    time_unit: TimeUnit | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fit BG/NBD, modified BG/NBD and Pareto/NBD with lifetimes and predict ``t`` ahead.

    Each model is fitted by lifetimes on the weighted distinct (frequency, recency, T) rows.
    The log-likelihoods are totals over customers in the summary's time unit (lifetimes
    fits in a scaled time; its objectives differ by a constant and, for Pareto/NBD, a
    normalisation, so they are recomputed here from each model's own per-customer
    likelihood: FHL 2005a eq. 6; Batislam et al. 2007 eq. 5; Fader & Hardie note 009
    eq. 18). Pareto/NBD is slow (tens of seconds on 100,000 distinct rows).

    Returns
    -------
    (pl.DataFrame, pl.DataFrame)
        The models: ``model, parameters`` (JSON text), ``log_likelihood``, ``n_params``,
        ``aic``; and per customer, in the summary's order, ``expected_<model>``: expected
        repeat purchases in the next ``t`` (in the summary's time unit) under each model.
    """
    import contextlib
    import io

    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError

    _check_summary(summary, ("frequency", "recency", "T"))
    unit = _summary_unit(summary, time_unit)
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    if not (x > 0).any():
        raise ModelError("no customer made a repeat purchase: no purchase model can be fitted")
    rx, rtx, rT, w = _distinct_bgnbd_rows(x, tx, T, TIME_UNIT_DAYS[unit])
    rows, expected = [], {}
    for name, make in (
        ("bgnbd", BetaGeoFitter),
        ("mbgnbd", ModifiedBetaGeoFitter),
        ("pareto_nbd", ParetoNBDFitter),
    ):
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                fitter = make(penalizer_coef=penalizer).fit(rx, rtx, rT, weights=w)
        except (ConvergenceError, np.linalg.LinAlgError) as e:
            raise ModelError(f"{name} did not converge (lifetimes: {e}); {_ADVICE}") from None
        params = {k: float(v) for k, v in fitter.params_.items()}
        p = np.array(list(params.values()))
        with np.errstate(all="ignore"):
            if name == "bgnbd":
                ll = -_bgnbd_nll(np.log(p), _BgRows.of(rx, rtx, rT, w), 0.0)[0] * w.sum()
            elif name == "mbgnbd":
                ll = -float(fitter._negative_log_likelihood(np.log(p), rx, rtx, rT, w, 0.0))
                ll *= w.sum()
            else:
                ll = float(np.sum(w * fitter._conditional_log_likelihood(p, rx, rtx, rT)))
            predicted = np.asarray(
                fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
                dtype=float,
            )
        rows.append(
            {
                "model": name,
                "parameters": json.dumps(params),
                "log_likelihood": float(ll),
                "n_params": len(params),
                "aic": 2 * len(params) - 2 * float(ll),
            }
        )
        expected[f"expected_{name}"] = predicted
    return pl.DataFrame(rows), pl.DataFrame(expected)
