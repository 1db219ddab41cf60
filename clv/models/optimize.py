"""The optimizer shared by the BG/NBD and Gamma-Gamma fits (private to clv).

Both models are fitted as lifetimes fits them: the mean negative log-likelihood (plus
lifetimes' penalizer) is minimised in log-parameter space from lifetimes' starting point.
Here: BFGS with the analytic gradient, a few Newton steps to polish, a Hessian by central
differences of the gradient for the standard errors, and explicit convergence checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from clv.errors import ModelError

Params = dict[str, float]
"""Named model parameters, e.g. ``{"r": ..., "alpha": ..., "a": ..., "b": ...}``."""

GRADIENT_TOLERANCE = 1e-5
"""Largest accepted gradient norm (mean negative log-likelihood per customer, log parameters)."""

ADVICE = "fit on more customers or a longer period, or pass a penalizer (e.g. --penalizer 0.001)"
"""How to fix a fit that did not converge (the end of each such ModelError message)."""

_BFGS_OPTIONS = {"gtol": 1e-6, "maxiter": 2000}  # then Newton steps: see _newton_polish
_POLISH_STEPS = 3
_POLISH_GRADIENT = 1e-11  # gradient norm at which polishing stops (near its rounding)


def dot(u: np.ndarray, v: np.ndarray) -> float:
    """sum(u * v) without BLAS: OpenBLAS threads cost 10-20x here on 2 cores (measured)."""
    return float(np.sum(u * v))


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
class Fit:
    """One fitted sub-model: parameters, standard errors and how the optimizer ended."""

    params: np.ndarray  # natural parameters, in the summary's time unit
    standard_errors: np.ndarray
    log_likelihood: float  # total, unpenalised, in the summary's time unit
    gradient_norm: float
    message: str
    covariance_log: np.ndarray | None = None  # of the log-parameters (inverse total Hessian)


def optimize(
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
