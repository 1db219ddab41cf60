"""The optimizer shared by the purchase models and Gamma-Gamma (private to clv).

Every model is fitted as lifetimes fits it: the mean negative log-likelihood (plus lifetimes'
penalizer) is minimised in log-parameter space from lifetimes' starting point. Here: BFGS
with the gradient, a Hessian by central differences of the gradient, parameters whose
optimum lies at the boundary of the parameter space held where the optimizer left them
(their standard error is then unknown), the others refitted and polished by Newton steps,
and explicit convergence checks.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize

from clv.errors import ModelError

Params = dict[str, float]
"""Named model parameters, e.g. ``{"r": ..., "alpha": ..., "a": ..., "b": ...}``."""

ParamArrays = Mapping[str, np.ndarray | float]
"""Named parameters as numbers or arrays that broadcast against the data (parameter draws,
finite differences): the formulas take either."""

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]

GRADIENT_TOLERANCE = 1e-5
"""Largest accepted gradient norm (mean negative log-likelihood per customer, log parameters)."""

FLAT_CURVATURE = 1e-2
"""Smallest curvature of the total log-likelihood (per log-parameter squared) of a direction
the data determine: below it a log-parameter's standard error exceeds 10, i.e. the data
cannot tell the estimate from e^10 times it. Parameters along such a direction that the
optimizer moved far from the start (:data:`BOUNDARY_LOG_DISTANCE`) sit at a boundary."""

BOUNDARY_LOG_DISTANCE = 4.0
"""How far (in log units, a factor e^4 ~ 55) from lifetimes' start a flat parameter must
have drifted to count as a boundary estimate rather than a failed fit."""


def advice(penalizer: float, keyword: str = "penalizer") -> str:
    """How to fix a fit that did not converge (the end of each such ModelError message):
    ``keyword`` names the sub-model's penalizer (``gg_penalizer`` for Gamma-Gamma)."""
    other = ", or another purchase_model=" if keyword == "penalizer" else ""
    if penalizer > 0:
        return (
            f"fit on more customers or a longer period, try a larger {keyword} than "
            f"{penalizer:g}{other}"
        )
    return f"fit on more customers or a longer period, or pass a penalizer ({keyword}=0.001)"


ADVICE = advice(0.0)
"""The advice without a penalizer (kept for callers of the 0.1 layout)."""

_BFGS_OPTIONS = {"gtol": 1e-6, "maxiter": 2000}  # then Newton steps: see _newton_polish
_POLISH_STEPS = 3
_POLISH_GRADIENT = 1e-11  # gradient norm at which polishing stops (near its rounding)


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """sum(u * v) without BLAS: OpenBLAS threads cost 10-20x here on 2 cores (measured)."""
    return float(np.sum(u * v))


def _hessian(fun: Objective, x: np.ndarray) -> np.ndarray:
    """Hessian by central differences of the gradient, symmetrised."""
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
    fun: Objective, x: np.ndarray, grad: np.ndarray, hess: np.ndarray
) -> tuple[np.ndarray, float]:
    """Newton steps ``x - H^-1 g`` with a fixed Hessian, kept while the gradient norm falls.

    Near the optimum the mean negative log-likelihood of a million customers changes by
    less than its rounding (~1e-15 relative), so BFGS line searches stall there. The
    gradient is far less noisy: from BFGS's stop (norm < 1e-6) one or two Newton steps with
    the Hessian computed there reach ~1e-11. Returns the point and its gradient norm.
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
class Fit:
    """One fitted sub-model: parameters, standard errors and how the optimizer ended.

    ``standard_errors`` is NaN for a parameter at the boundary (``at_boundary`` True).
    """

    params: np.ndarray  # natural parameters, in the summary's time unit
    standard_errors: np.ndarray
    log_likelihood: float  # total, unpenalised, in the summary's time unit
    gradient_norm: float
    message: str
    at_boundary: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    covariance_log: np.ndarray | None = None  # of the log-parameters; NaN at a boundary


@dataclass
class Optimum:
    """Where :func:`optimize` ended, in log-parameter space."""

    theta: np.ndarray
    cov_log: np.ndarray  # covariance of the free log-parameters, NaN rows/columns elsewhere
    gradient_norm: float  # of the free parameters
    message: str
    at_boundary: np.ndarray


def _restricted(fun: Objective, theta: np.ndarray, free: np.ndarray) -> Objective:
    """``fun`` as a function of the free log-parameters, the others held at ``theta``."""

    def sub(z: np.ndarray) -> tuple[float, np.ndarray]:
        full = theta.copy()
        full[free] = z
        value, grad = fun(full)
        return value, grad[free]

    return sub


def _flat_parameters(total_hess: np.ndarray, theta: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Parameters the data leave undetermined and the optimizer drove far from the start.

    A direction of curvature below :data:`FLAT_CURVATURE` (or negative) in the total
    Hessian is flat; a parameter weighing at least 0.3 in such a direction, and at least
    :data:`BOUNDARY_LOG_DISTANCE` from the start, sits at a boundary (a -> 0: no dropout
    seen; r, alpha -> infinity together: one common purchase rate; q -> infinity ...).
    """
    if not np.all(np.isfinite(total_hess)):
        return np.abs(theta - x0) >= BOUNDARY_LOG_DISTANCE
    values, vectors = np.linalg.eigh(total_hess)
    weight = np.max(np.abs(vectors[:, values < FLAT_CURVATURE]), axis=1, initial=0.0)
    return (weight >= 0.3) & (np.abs(theta - x0) >= BOUNDARY_LOG_DISTANCE)


def optimize(
    name: str,
    objective: Objective,
    n_params: int,
    n_customers: float,
    advice_text: str,
) -> Optimum:
    """Minimise from lifetimes' start (all log-parameters 0.1); judge convergence.

    BFGS to a gradient norm of 1e-6. Parameters at a boundary (:func:`_flat_parameters`)
    are then held where BFGS left them and the others refitted. Converged means: a finite
    objective and a gradient norm of the free parameters below :data:`GRADIENT_TOLERANCE`
    with a positive definite Hessian of the free parameters (their standard errors); then
    :func:`_newton_polish`. The size of a parameter is not judged (a = 0.0034 is legitimate).
    A fit that failed (non-finite likelihood, a large gradient, no free parameter left) is
    a ``ModelError`` ending with ``advice_text``.
    """
    x0 = np.full(n_params, 0.1)
    with np.errstate(all="ignore"):
        res = minimize(objective, x0, jac=True, method="BFGS", options=_BFGS_OPTIONS)
        theta = np.asarray(res.x, dtype=float)
        value = float(res.fun)
        if not (np.isfinite(value) and np.all(np.isfinite(theta))):
            raise ModelError(
                f"{name} did not converge (the likelihood is not finite: {res.message}); "
                f"{advice_text}"
            )
        boundary = np.zeros(n_params, dtype=bool)
        free = ~boundary
        fun, message = objective, str(res.message)
        while True:  # each pass holds one more parameter, or ends with ``hess`` at theta
            sub = _restricted(objective, theta, free)
            hess = _hessian(sub, theta[free])
            flat = _flat_parameters(hess * n_customers, theta[free], x0[free])
            if not flat.any():
                break
            boundary[np.flatnonzero(free)[flat]] = True
            free = ~boundary
            if not free.any():
                raise ModelError(
                    f"{name} did not converge: the data determine none of its parameters; "
                    f"{advice_text}"
                )
            fun = _restricted(objective, theta, free)
            sres = minimize(fun, theta[free], jac=True, method="BFGS", options=_BFGS_OPTIONS)
            theta[free] = sres.x
            message = f"{sres.message} (with {int(boundary.sum())} parameter(s) at a boundary)"
        fun = _restricted(objective, theta, free)
        value, grad = fun(theta[free])
        gnorm = float(np.linalg.norm(grad))
        if np.isfinite(value) and gnorm >= GRADIENT_TOLERANCE and _definite(hess):
            # BFGS stalls in rounding near a flat optimum (large amounts give v ~ 1e3):
            # Newton steps from there, with this Hessian, reach it (kept only if they help)
            theta[free], gnorm = _newton_polish(fun, theta[free], grad, hess)
            value, grad = fun(theta[free])
            hess = _hessian(fun, theta[free])
        if not (np.isfinite(value) and gnorm < GRADIENT_TOLERANCE):
            why = f"optimizer: {message}; gradient norm {gnorm:.2g}; objective {value:.6g}"
            raise ModelError(f"{name} did not converge ({why}); {advice_text}")
        if not _definite(hess):
            raise ModelError(
                f"{name} did not converge: the likelihood is flat or saddle-shaped at the "
                f"optimum (the data do not determine the parameters); {advice_text}"
            )
        z, gnorm = _newton_polish(fun, theta[free], grad, hess)
        theta[free] = z
    cov = np.full((n_params, n_params), np.nan)
    cov[np.ix_(free, free)] = np.linalg.inv(hess * n_customers)
    return Optimum(theta, cov, gnorm, message, boundary)


def _definite(hess: np.ndarray) -> bool:
    """A finite, positive definite Hessian (standard errors exist)."""
    return bool(np.all(np.isfinite(hess)) and np.min(np.linalg.eigvalsh(hess)) > 0)


def fit_from(
    opt: Optimum,
    log_likelihood: Callable[[np.ndarray], float],
    *,
    scale: float = 1.0,
    time_params: tuple[int, ...] = (),
) -> Fit:
    """A :class:`Fit` in the data's time unit from an optimum found with time times ``scale``.

    The parameters at ``time_params`` (alpha; Pareto/NBD's beta) are time scales: they are
    divided by ``scale``. ``log_likelihood`` takes log-parameters in the data's unit and
    returns the total log-likelihood. Standard errors by the delta method
    ``se = param * sqrt(diag(cov_log))``; NaN at a boundary.
    """
    params = np.exp(opt.theta)
    params[list(time_params)] /= scale
    se = params * np.sqrt(np.diag(opt.cov_log))
    ll = float(log_likelihood(np.log(params)))
    return Fit(
        params, se, ll, opt.gradient_norm, opt.message, opt.at_boundary.copy(), opt.cov_log.copy()
    )
