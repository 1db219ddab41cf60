"""Pareto/NBD's purchase-count distribution of a new customer, P(X(t) = n).

Given the lifetime ``tau``, a customer of age ``t`` buys Poisson(``lambda min(tau, t)``) times;
mixed over ``lambda ~ Gamma(r, rate=alpha)`` the count is negative binomial with exposure
``u = min(tau, t)``, and mixed over ``mu ~ Gamma(s, rate=beta)`` the lifetime is Pareto
(Lomax): ``P(tau > u) = (beta / (beta + u))^s`` (Schmittlein, Morrison & Colombo 1987;
Fader, Hardie & Lee 2006, "Deriving an Expression for P(X(t) = x) Under the Pareto/NBD
Model", whose closed form needs the Gauss hypergeometric function). Here::

    P(X(t) = n) = P(tau > t) NB(n; t) + integral_0^t NB(n; u) f_tau(u) du

with the integral by Gauss-Legendre quadrature, accurate to about 1e-10.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln

from clv.models.optimize import Params

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
    s, beta = params["s"], params["beta"]
    t_arr, n_arr = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=float))
    nodes, weights = np.polynomial.legendre.leggauss(NODES)
    u = t_arr[..., None] * (nodes + 1) / 2  # the lifetime, on [0, t]
    log_density = np.log(s) + s * np.log(beta) - (s + 1) * np.log(beta + u)
    inside = np.exp(_log_nbd(params, n_arr[..., None], u) + log_density) @ weights * t_arr / 2
    survives = np.exp(s * (np.log(beta) - np.log(beta + t_arr)) + _log_nbd(params, n_arr, t_arr))
    return survives + inside
