"""The Gamma-Gamma spend model: likelihood with analytic gradient, fit, expected order value.

For parameters ``p, q, v`` (v in currency units), fitted on the repeat buyers with a positive
mean spend per repeat order. The likelihood is exactly that of lifetimes'
``GammaGammaFitter`` (same penalizer, same normalisation by the total weight, same starting
point), evaluated in vectorised numpy on weighted distinct (frequency, monetary value) rows.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b), "RFM and CLV: Using Iso-Value Curves
for Customer Base Analysis", Journal of Marketing Research 42 (4), 415-430; and
brucehardie.com/notes/025 ("The Gamma-Gamma Model of Monetary Value").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq
from scipy.special import digamma, gammaln, polygamma

from clv.errors import ModelError
from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize

GAMMA_GAMMA_PARAMS = ("p", "q", "v")

EQUAL_SPEND_PARAMS = ("p", "nu")
"""The equal-spend limit: every order's value is Gamma(p, rate nu) for every customer."""

STEADY_SPEND_PARAMS = ("q", "theta")
"""The steady-spend limit: each customer's orders are all worth their own mean value, which is
inverse gamma (shape q, scale theta) across customers (:func:`fit_steady_spend`)."""


# --------------------------------------------------------------------------------------------
# Likelihood (exactly lifetimes'), with its analytic gradient in log-parameter space
# --------------------------------------------------------------------------------------------


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
            sum_w_log_m=dot(w, log_m),
            sum_wx_log_m=dot(w * x, log_m),
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
    ll = dot(wx, per_x) + p * d.sum_wx_log_m - d.sum_w_log_m - dot(px + q, s_log)
    value = -ll / wsum + penalizer * float(np.sum(params**2))

    g_p = dot(wx * xs, digamma(px + q) - digamma(px) + np.log(xs)) + d.sum_wx_log_m - dot(xs, s_log)
    g_q = dot(wx, digamma(px + q) - digamma(q) + np.log(v)) - float(s_log.sum())
    g_v = q * wsum / v - dot(px + q, s_inv)
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


# --------------------------------------------------------------------------------------------
# Fit and formula
# --------------------------------------------------------------------------------------------


def fit_gamma_gamma_fast(x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float) -> Fit:
    """Fit Gamma-Gamma on rows with ``x > 0`` and mean repeat spend ``m > 0`` (weights ``w``).

    Minimises :func:`gamma_gamma_negative_log_likelihood` on the weighted distinct (x, m)
    rows by :func:`clv._optimize.optimize`, as lifetimes does; ``v`` (and its standard
    error) in currency units.
    """
    rows = _GgRows.of(x, m, w)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _gamma_gamma_nll(theta, rows, penalizer)

    opt = optimize("Gamma-Gamma", objective, 3, w.sum(), advice(penalizer, "gg_penalizer"))
    return fit_from(opt, lambda theta: -_gamma_gamma_nll(theta, rows, 0.0)[0] * w.sum())


@dataclass(frozen=True)
class _SpendSums:
    """What the equal-spend likelihood needs of the rows, summed once: ``S1 = sum w x``,
    ``S2 = sum w x m``, ``A = sum w x ln(x m)``, ``B = sum w ln m``, and the customers ``W``
    per distinct frequency ``xs`` (the only terms that vary with p are per frequency)."""

    s1: float
    s2: float
    a: float
    b: float
    xs: np.ndarray
    wx: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray, m: np.ndarray, w: np.ndarray) -> _SpendSums:
        xs, index = np.unique(x, return_inverse=True)
        return cls(
            dot(w, x),
            dot(w, x * m),
            dot(w * x, np.log(x * m)),
            dot(w, np.log(m)),
            xs,
            np.bincount(index, weights=w, minlength=xs.size),
        )

    def log_likelihood(self, p: float) -> float:
        """The total at ``p`` and ``nu = p S1 / S2`` (its maximum given p)::

        sum w [p x ln(x nu) + (p x - 1) ln m - x nu m - ln G(p x)]
        = p A + p S1 ln(nu) - B - p S1 - sum_x W ln G(p x)
        """
        nu = p * self.s1 / self.s2
        return (p * self.a + p * self.s1 * np.log(nu) - self.b - p * self.s1) - dot(
            self.wx, gammaln(p * self.xs)
        )

    def score(self, p: float) -> float:
        """d/dp of :meth:`log_likelihood` (nu at its maximum): ``A + S1 ln(nu) - sum_x W x
        digamma(p x)``; it falls in p (the profile likelihood is concave)."""
        nu = p * self.s1 / self.s2
        return self.a + self.s1 * np.log(nu) - dot(self.wx * self.xs, digamma(p * self.xs))


def fit_equal_spend(x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float = 0.0) -> Fit:
    """Gamma-Gamma's equal-spend limit: q -> infinity at a fixed mean q/v = nu of the spend
    rate, so every customer's orders are Gamma(p, rate nu) (note 025 eq. 1 with nu known)::

        ll = p x ln(x nu) + (p x - 1) ln m - x nu m - ln G(p x)

    ``nu = p sum(w x) / sum(w x m)`` in closed form (the mean order value ``p / nu`` is the
    total repeat spend over the repeat orders) and ``p`` the root of the profile score
    (:class:`_SpendSums`). Not penalised. ``ModelError`` when the repeat buyers' average
    order values do not spread (p -> infinity: no spread of order values to estimate).
    """
    sums = _SpendSums.of(*(np.asarray(v, dtype=float) for v in (x, m, w)))

    def score(log_p: float) -> float:
        return sums.score(float(np.exp(log_p)))

    low, high = 0.0, 0.0
    while score(low) <= 0 and low > -50:
        low -= 2.0
    while score(high) >= 0 and high < 50:
        high += 2.0
    if not (score(low) > 0 > score(high)):
        raise ModelError(
            "Gamma-Gamma did not converge: the repeat buyers' average order values do not "
            "spread enough to estimate the spread of order values; fit on more repeat buyers"
        )
    p = float(np.exp(brentq(score, low, high, xtol=1e-15, rtol=1e-15)))
    nu = p * sums.s1 / sums.s2
    # observed information in (ln p, ln nu): -D H D with H the Hessian in (p, nu)
    hess = np.array(
        [
            [-dot(sums.wx * sums.xs**2, polygamma(1, p * sums.xs)), sums.s1 / nu],
            [sums.s1 / nu, -p * sums.s1 / nu**2],
        ]
    )
    d = np.diag([p, nu])
    cov = np.linalg.inv(-(d @ hess @ d))
    params = np.array([p, nu])
    return Fit(
        params,
        params * np.sqrt(np.diag(cov)),
        float(sums.log_likelihood(p)),
        abs(score(np.log(p))) * p / float(np.sum(w)),
        "closed form and a one-dimensional root",
        np.zeros(2, dtype=bool),
        cov,
    )


def _log_q_minus_digamma(log_q: float) -> float:
    """``ln q - digamma(q)`` at ``q = e^log_q``: positive, falling from infinity to 0."""
    q = float(np.exp(log_q))
    return float(log_q - digamma(q))


def fit_steady_spend(x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float = 0.0) -> Fit:
    """Gamma-Gamma's steady-spend limit: p -> infinity at a fixed ``theta = p v``.

    In Gamma-Gamma (FHL 2005b section 3; note 025) a customer's orders are Gamma(p, rate nu)
    with nu ~ Gamma(q, rate v) across customers: the customer's own mean order value is
    ``zeta = p/nu`` and their orders spread around it with a coefficient of variation
    ``1/sqrt(p)``. As p -> infinity with ``p v = theta`` fixed (v -> 0, q fixed; Colombo &
    Jiang 1999 write the same model with the within-customer spread as a separate
    parameter), ``nu/p ~ Gamma(q, rate theta)``, so ``zeta ~ InverseGamma(q, scale theta)``,
    and the mean of x orders, Gamma(p x, rate p x/zeta), collapses onto zeta: every order of
    a customer is worth the same, their own value, which differs between customers. The
    likelihood of a mean spend ``m`` (note 025 eq. 1a in the limit; it no longer depends on
    x) is the inverse gamma density::

        ll = q ln(theta) - ln G(q) - (q+1) ln m - theta / m

    ``theta = q sum(w) / sum(w/m)`` in closed form and ``q`` the root of ``ln q -
    digamma(q) = mean(ln m) + ln mean(1/m)`` (weighted means; positive by Jensen's
    inequality unless every m is equal). The population mean order value is ``theta/(q-1)``,
    the full model's ``p v/(q-1)``, and E[Z | x, m] = m for a repeat buyer (eq. 5's weight
    ``p x/(p x + q - 1)`` -> 1). This is not the equal-spend limit (q -> infinity: one
    spend level, orders spread within customers); the two are told apart by whether repeat
    buyers with more orders have less spread in their mean spend. Not penalised.
    ``ModelError`` when the average order values do not spread (q -> infinity as well).
    """
    x, m, w = (np.asarray(v, dtype=float) for v in (x, m, w))
    total, inverse, logs = float(np.sum(w)), dot(w, 1.0 / m), dot(w, np.log(m))
    target = logs / total + np.log(inverse / total)

    def score(log_q: float) -> float:
        return _log_q_minus_digamma(log_q) - target

    low, high = -30.0, 25.0  # beyond e^25, ln q - digamma(q) ~ 1/(2q) is below its rounding
    if not (target > 0 and score(low) > 0 > score(high)):
        raise ModelError(
            "Gamma-Gamma did not converge: the repeat buyers' average order values do not "
            "spread enough to estimate the spread of order values; fit on more repeat buyers"
        )
    q = float(np.exp(brentq(score, low, high, xtol=1e-15, rtol=1e-15)))
    theta = q * total / inverse
    ll = total * (q * np.log(theta) - gammaln(q)) - (q + 1) * logs - theta * inverse
    # observed information in (ln q, ln theta): -D H D with H the Hessian in (q, theta)
    hess = np.array(
        [[-total * polygamma(1, q), total / theta], [total / theta, -total * q / theta**2]]
    )
    d = np.diag([q, theta])
    cov = np.linalg.inv(-(d @ hess @ d))
    params = np.array([q, theta])
    return Fit(
        params,
        params * np.sqrt(np.diag(cov)),
        float(ll),
        abs(score(np.log(q))) * q,
        "closed form and a one-dimensional root",
        np.zeros(2, dtype=bool),
        cov,
    )


@dataclass(frozen=True)
class SpendLimit:
    """A limit of Gamma-Gamma: its parameters and its fit on rows ``(x, m, customers)``."""

    params: tuple[str, ...]
    fit: Callable[..., Fit]


SPEND_LIMITS: dict[str, SpendLimit] = {
    "equal_spend": SpendLimit(EQUAL_SPEND_PARAMS, fit_equal_spend),
    "steady_spend": SpendLimit(STEADY_SPEND_PARAMS, fit_steady_spend),
}
"""Gamma-Gamma's limits in the order :mod:`clv.models.limits` tests them."""


def mean_order_value(gamma_gamma: ParamArrays) -> Any:
    """The population mean order value: ``p v / (q - 1)`` (note 025), ``p / nu`` at the
    equal-spend limit, ``theta / (q - 1)`` at the steady-spend limit (numbers, or arrays of
    parameter draws). Currency units."""
    if "nu" in gamma_gamma:
        return gamma_gamma["p"] / gamma_gamma["nu"]
    if "theta" in gamma_gamma:
        return gamma_gamma["theta"] / (gamma_gamma["q"] - 1)
    return gamma_gamma["p"] * gamma_gamma["v"] / (gamma_gamma["q"] - 1)


def expected_order_value(
    gamma_gamma: Params, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[Z | x, m]: conditional expected spend per order, note 025 eq. (5) (FHL 2005b eq. 5).

    ``(1 - w) p v/(q-1) + w m`` with ``w = p x / (p x + q - 1)``: lifetimes'
    ``conditional_expected_average_profit``. Customers without a repeat purchase with a
    positive amount get the population mean ``p v / (q - 1)``. Currency units. At the
    equal-spend limit (parameters ``p, nu``) every customer's is ``p / nu``; at the
    steady-spend limit (``q, theta``) a repeat buyer's is their own ``m`` (the weight is 1).
    """
    if "nu" in gamma_gamma:
        return np.full(np.shape(frequency), mean_order_value(gamma_gamma))
    if "theta" in gamma_gamma:
        x, m = np.asarray(frequency, dtype=float), np.asarray(monetary_value, dtype=float)
        return np.where((x > 0) & (m > 0), m, mean_order_value(gamma_gamma))
    p, q, v = (gamma_gamma[k] for k in GAMMA_GAMMA_PARAMS)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    weight = p * x / (p * x + q - 1)
    population_mean = v * p / (q - 1)
    individual = (1 - weight) * population_mean + weight * m
    return np.where((x > 0) & (m > 0), individual, population_mean)
