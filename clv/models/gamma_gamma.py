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


def mean_order_value(gamma_gamma: ParamArrays) -> Any:
    """The population mean order value: ``p v / (q - 1)`` (note 025), or ``p / nu`` at the
    equal-spend limit (numbers, or arrays of parameter draws). Currency units."""
    if "nu" in gamma_gamma:
        return gamma_gamma["p"] / gamma_gamma["nu"]
    return gamma_gamma["p"] * gamma_gamma["v"] / (gamma_gamma["q"] - 1)


def expected_order_value(
    gamma_gamma: Params, frequency: np.ndarray, monetary_value: np.ndarray
) -> np.ndarray:
    """E[Z | x, m]: conditional expected spend per order, note 025 eq. (5) (FHL 2005b eq. 5).

    ``(1 - w) p v/(q-1) + w m`` with ``w = p x / (p x + q - 1)``: lifetimes'
    ``conditional_expected_average_profit``. Customers without a repeat purchase with a
    positive amount get the population mean ``p v / (q - 1)``. Currency units. At the
    equal-spend limit (parameters ``p, nu``) every customer's is ``p / nu``.
    """
    if "nu" in gamma_gamma:
        return np.full(np.shape(frequency), mean_order_value(gamma_gamma))
    p, q, v = (gamma_gamma[k] for k in GAMMA_GAMMA_PARAMS)
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary_value, dtype=float)
    weight = p * x / (p * x + q - 1)
    population_mean = v * p / (q - 1)
    individual = (1 - weight) * population_mean + weight * m
    return np.where((x > 0) & (m > 0), individual, population_mean)
