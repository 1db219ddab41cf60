"""How many purchases: the count distributions of BG/NBD and MBG/NBD.

A new customer's number of repeat purchases by age t, and a customer's number of purchases
in the next t given (x, t_x, T), for BG/NBD (Fader, Hardie & Lee 2005a) and its modified
form MBG/NBD (Batislam, Denizel & Filiztekin 2007), which differ only in when a customer
may drop out: BG/NBD after each repeat purchase, MBG/NBD also right after the first
purchase. With ``shift = 0`` (BG/NBD) or ``1`` (MBG/NBD) every beta function ``B(., b+k)``
of BG/NBD becomes ``B(., b+k+shift)`` and the "dropped out" branch exists for ``x = 0`` too.
Parameters ``r, alpha, a, b``; times in the model's time unit.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import betaln, gammaln, xlogy

from clv.models.optimize import Params

_PARAMS = ("r", "alpha", "a", "b")


def _log_poisson_gamma(r: float, alpha: float, t: np.ndarray, n: np.ndarray) -> np.ndarray:
    """ln[ G(r+n)/(G(r) n!) (alpha/(alpha+t))^r (t/(alpha+t))^n ]: the NBD pmf (FHL eq. 8).

    ``xlogy``: at age ``t = 0`` the pmf is 1 for ``n = 0`` (``0 ln 0 = 0``) and 0 otherwise.
    """
    with np.errstate(divide="ignore"):
        return (
            gammaln(r + n)
            - gammaln(r)
            - gammaln(n + 1)
            + r * np.log(alpha / (alpha + t))
            + xlogy(n, t / (alpha + t))
        )


def probability_of_purchases(
    params: Params, t: np.ndarray | float, n: np.ndarray | int, *, shift: int = 0
) -> np.ndarray:
    """P(X(t) = n): a new customer's number of repeat purchases by age ``t``.

    BG/NBD, FHL (2005a) eq. (8): ``B(a,b+n)/B(a,b) NBD(n; r, alpha, t) + 1{n>0}
    B(a+1,b+n-1)/B(a,b) [1 - sum_{j<n} NBD(j; r, alpha, t)]``; MBG/NBD (``shift=1``,
    Batislam et al. 2007 eq. 8) the same with ``b+1`` for ``b`` and the second term for
    ``n = 0`` too. Vectorised over ``t`` and ``n`` (broadcast); ``P(X(0) = 0) = 1`` under
    BG/NBD (``a/(a+b)`` of MBG/NBD's customers drop out at once but still have 0 purchases).
    """
    r, alpha, a, b = (params[k] for k in _PARAMS)
    t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=np.int64))
    first = np.exp(betaln(a, b + n + shift) - betaln(a, b) + _log_poisson_gamma(r, alpha, t, n))
    cdf_below = np.zeros(t.shape)
    for j in range(int(n.max()) if n.size else 0):
        cdf_below += np.where(
            j < n, np.exp(_log_poisson_gamma(r, alpha, t, np.full(t.shape, j))), 0
        )
    with np.errstate(invalid="ignore"):
        second = np.where(
            (n > 0) | (shift > 0),
            np.exp(betaln(a + 1, b + np.maximum(n + shift, 1) - 1) - betaln(a, b))
            * (1 - cdf_below),
            0,
        )
    return first + second


def conditional_probability_of_purchases(
    params: Params,
    t: float,
    n: int,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    shift: int = 0,
) -> np.ndarray:
    """P(X(T, T+t) = n | x, t_x, T): the conditional PMF of purchases in (T, T+t].

    Bayes' rule on FHL (2005a): the individual likelihood (their eq. 3) splits into "alive
    at T", ``(1-p)^(x+shift) lambda^x e^(-lambda T)``, and "dropped out after t_x",
    ``1{x>0 or shift} p (1-p)^(x-1+shift) lambda^x e^(-lambda t_x)``. A customer alive at T
    makes ``n`` purchases in the next ``t`` with the probability of FHL eq. (2)-(3); one who
    dropped out makes none. Integrating over the gamma and beta mixing distributions as in
    FHL eq. (6) and (8) gives, with ``L`` the likelihood (FHL eq. 6; Batislam et al. eq. 5)
    and ``B_k = B(a, b+k+shift)/B(a,b)``, ``C_k = B(a+1, b+k-1+shift)/B(a,b)``::

        L * P(n) = B_(x+n) G(r+x+n)/G(r) alpha^r t^n / (n! (alpha+T+t)^(r+x+n))
          + 1{n>0} C_(x+n) [ G(r+x)/G(r) alpha^r/(alpha+T)^(r+x)
                 - sum_{j<n} G(r+x+j)/G(r) alpha^r t^j / (j! (alpha+T+t)^(r+x+j)) ]
          + 1{n=0, x>0 or shift} C_x G(r+x)/G(r) alpha^r / (alpha+t_x)^(r+x)

    (as Fader & Hardie's note 028 derives it for the Pareto/NBD). ``t``, ``recency`` and
    ``T`` in the model's time unit; vectorised over customers.
    """
    r, alpha, a, b = (params[k] for k in _PARAMS)
    x = np.asarray(frequency, dtype=float)
    tx = np.asarray(recency, dtype=float)
    T = np.asarray(T, dtype=float)
    lb = betaln(a, b)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)  # G(r+x)/G(r) alpha^r
    log_alive = betaln(a, b + x + shift) - lb + common - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_dead = np.where(
            (x > 0) | (shift > 0),
            betaln(a + 1, b + np.maximum(x + shift, 1) - 1)
            - lb
            + common
            - (r + x) * np.log(alpha + tx),
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
    log_first = betaln(a, b + x + n + shift) - lb + log_tail[n]
    if n == 0:
        return np.exp(log_first - log_lik) + np.exp(log_dead - log_lik)
    no_more = np.exp(common - (r + x) * np.log(alpha + T) - log_lik)
    below = sum(np.exp(log_tail[j] - log_lik) for j in range(n))
    second = np.exp(betaln(a + 1, b + x + n - 1 + shift) - lb) * (no_more - below)
    return np.exp(log_first - log_lik) + second


def probability_at_least(
    params: Params,
    t: float,
    k: int,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    shift: int = 0,
) -> np.ndarray:
    """P(X(T, T+t) >= k | x, t_x, T): at least ``k`` purchases in the next ``t`` time units.

    ``1 - sum_{n<k}`` of :func:`conditional_probability_of_purchases`. ``k >= 1``; ``t`` in
    the model's time unit.
    """
    if k < 1:
        return np.ones(np.shape(frequency))
    total = sum(
        conditional_probability_of_purchases(params, t, n, frequency, recency, T, shift=shift)
        for n in range(k)
    )
    return np.clip(1.0 - total, 0.0, 1.0)
