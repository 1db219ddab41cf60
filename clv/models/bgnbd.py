"""The BG/NBD purchase model: likelihood with analytic gradient, fit, and its formulas.

P(alive), conditional and unconditional expected purchases, and the distribution of the
number of purchases, for parameters ``r, alpha, a, b`` (alpha in the summary's time unit).
The likelihood is exactly that of lifetimes' ``BetaGeoFitter`` (same penalizer, same
normalisation by the total weight, same time scaling and starting point), evaluated in
vectorised numpy on weighted distinct (frequency, recency, T) rows.

References
----------
Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a), "Counting Your Customers the Easy Way:
An Alternative to the Pareto/NBD Model", Marketing Science 24 (2), 275-284; and Hardie's
notes at brucehardie.com/notes/004 (likelihood) and 021 (P(alive)).
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl
from scipy.special import betaln, digamma, expit, gammaln, hyp1f1, hyp2f1, xlogy

from clv.models.optimize import Fit, ParamArrays, Params, advice, dot, fit_from, optimize
from clv.models.pairs import PairRows, pair_log_sum

BGNBD_PARAMS = ("r", "alpha", "a", "b")


# --------------------------------------------------------------------------------------------
# Weighted distinct rows
# --------------------------------------------------------------------------------------------


def distinct_bgnbd_rows(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, days: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (frequency, recency, T) rows, sorted, and how many customers share each.

    Summaries from :func:`clv.rfm.rfm_summary` hold whole days divided by the unit's length:
    the rows are then grouped on one integer key made of (frequency, recency days, T days)
    and divided back, so the values are bit-identical with the summary's. Other summaries
    are grouped on their float values.
    """
    rows, _ = _distinct(x, tx, T, days, inverse=False)
    return rows


def distinct_rows_and_index(
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    days: float,
    weights: np.ndarray | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray | None]:
    """:func:`distinct_bgnbd_rows` and each customer's row in them (``rows[i][index]`` is
    customer-level), or None for a summary not in whole days. With ``weights``, the input
    rows are themselves grouped rows (``weights`` customers each) and each distinct row
    counts their customers."""
    return _distinct(x, tx, T, days, inverse=True, weights=weights)


def _distinct(
    x: np.ndarray,
    tx: np.ndarray,
    T: np.ndarray,
    days: float,
    *,
    inverse: bool,
    weights: np.ndarray | None = None,
) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray | None]:
    rec_days, age_days = np.rint(tx * days), np.rint(T * days)
    whole = bool(np.all(rec_days / days == tx) and np.all(age_days / days == T))
    span = int(age_days.max()) + 1 if whole else 0
    if whole and (int(x.max()) + 1) * span * span < 2**62:
        key = (x.astype(np.int64) * span + rec_days.astype(np.int64)) * span + age_days.astype(
            np.int64
        )
        index = None
        if inverse:
            keys, index, counts = np.unique(key, return_inverse=True, return_counts=True)
            if weights is not None:
                counts = np.bincount(index, weights=weights, minlength=keys.size)
        else:
            keys, counts = np.unique(key, return_counts=True)
        age = keys % span
        rec = (keys // span) % span
        freq = keys // (span * span)
        return (freq.astype(float), rec / days, age / days, counts.astype(float)), index
    grouped = (
        pl.DataFrame(
            {"x": x, "tx": tx, "T": T, "w": np.ones(x.size) if weights is None else weights}
        )
        .group_by("x", "tx", "T")
        .agg(pl.col("w").sum())
        .sort("x", "tx", "T")
    )
    freq, rec, age, weight = (grouped[c].cast(pl.Float64).to_numpy() for c in ("x", "tx", "T", "w"))
    return (freq, rec, age, weight), None


# --------------------------------------------------------------------------------------------
# Likelihood (exactly lifetimes'), with its analytic gradient in log-parameter space
# --------------------------------------------------------------------------------------------


def _bgnbd_nll(log_params: np.ndarray, d: PairRows, penalizer: float) -> tuple[float, np.ndarray]:
    params = np.exp(np.asarray(log_params, dtype=float))
    r, alpha, a, b = params
    xs, wx, wsum = d.xs, d.wx, d.wsum
    # terms of x only, on the distinct x
    a1 = gammaln(r + xs) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + xs) - gammaln(b) - gammaln(a + b + xs)
    b_term = b + np.maximum(xs, 1) - 1
    # terms of T or t_x only, on their distinct values
    lTu, lRu = np.log(alpha + d.Tu), np.log(alpha + d.Ru)
    # one-time buyers: ll = A1 + A2 + A3 with A3 = -r ln(alpha + T)
    ll_once = -r * dot(d.w_once, lTu)
    # repeat buyers: ll = A1 + A2 + ln(e^A3 + e^A4), A3 per (x, T) and A4 per (x, t_x) pair
    rx_t, lT = r + xs[d.xt_x], lTu[d.xt_t]
    rx_r, lR = r + xs[d.xr_x], lRu[d.xr_r]
    A3 = -rx_t * lT
    A4 = (np.log(a) - np.log(b_term))[d.xr_x] - rx_r * lR
    # s3: customers on the "alive at T" branch per (x, T) pair; s4: on the "dropped out
    # after t_x" branch per (x, t_x) pair
    ll_repeat, s3, s4 = pair_log_sum(A3, A4, d)
    value = -(dot(wx, a1 + a2) + ll_once + ll_repeat) / wsum + penalizer * float(np.sum(params**2))

    g_r = (
        dot(wx, digamma(r + xs) - digamma(r) + np.log(alpha))
        - dot(d.w_once, lTu)
        - (dot(s3, lT) + dot(s4, lR))
    )
    g_alpha = (
        r * wsum / alpha
        - r * dot(d.w_once, 1.0 / (alpha + d.Tu))
        - dot(s3, rx_t / (alpha + d.Tu[d.xt_t]))
        - dot(s4, rx_r / (alpha + d.Ru[d.xr_r]))
    )
    pi4x = np.bincount(d.xr_x, weights=s4, minlength=xs.size)
    g_a = dot(wx, digamma(a + b) - digamma(a + b + xs)) + float(pi4x.sum()) / a
    g_b = dot(wx, digamma(a + b) + digamma(b + xs) - digamma(b) - digamma(a + b + xs)) - dot(
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
    return _bgnbd_nll(
        log_params, PairRows.of(frequency, recency, T, weights, repeat_only=True), penalizer
    )


# --------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------


def fit_bgnbd_fast(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float
) -> Fit:
    """Fit BG/NBD on weighted rows (``x, t_x, T`` and customers ``w``) as lifetimes does.

    Minimises :func:`bgnbd_negative_log_likelihood` with time scaled so the oldest customer
    has age 1 (lifetimes' ``_scale_time``) by :func:`clv._optimize.optimize`; parameters,
    standard errors and total log-likelihood are returned in the rows' time unit.
    """
    scale = 1.0 / T.max()  # lifetimes' _scale_time: the oldest customer has age 1
    rows = PairRows.of(x, tx, T, w, repeat_only=True)
    scaled = rows.rescaled(scale)

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return _bgnbd_nll(theta, scaled, penalizer)

    opt = optimize("BG/NBD", objective, 4, w.sum(), advice(penalizer))
    return fit_from(
        opt,
        lambda theta: -_bgnbd_nll(theta, rows, 0.0)[0] * w.sum(),
        scale=scale,
        time_params=(1,),
    )


# --------------------------------------------------------------------------------------------
# Formulas (vectorised numpy; parameters as a dict)
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


def conditional_numerator(
    bgnbd: ParamArrays, t: np.ndarray | float, x: np.ndarray | float, T: np.ndarray | float
) -> np.ndarray:
    """The numerator of FHL (2005a) eq. (10): depends on (x, T, t) only, not on t_x.

    So :class:`clv.models.ClvModel` evaluates it once per distinct (x, T) pair.
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    _a, _b, _c = r + x, b + x, a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(divide="ignore", invalid="ignore"):
        hyp = hyp2f1(_a, _b, _c, z)
        ln_hyp = np.log(hyp)
        bad = np.isinf(ln_hyp)
        if np.any(bad):  # Euler's transformation, as lifetimes does
            alt = np.log(hyp2f1(_c - _a, _c - _b, _c, z)) + (_c - _a - _b) * np.log(1 - z)
            ln_hyp = np.where(bad, alt, ln_hyp)
        log_ratio = (r + x) * np.log((alpha + T) / (alpha + t + T))
        second = 1 - np.exp(ln_hyp + log_ratio)
        # 2F1 is negative when a + b + x - 1 is just above -1 (a, b -> 0 at a boundary, x = 0):
        # no logarithm then, the product itself (it is finite there)
        negative = np.isnan(second) & np.isfinite(hyp)
        if np.any(negative):
            second = np.where(negative, 1 - hyp * np.exp(log_ratio), second)
    first = (a + b + x - 1) / (a - 1)
    return first * second


def conditional_denominator(
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
    return conditional_numerator(bgnbd, t, x, T) / conditional_denominator(
        bgnbd, x, np.asarray(recency, dtype=float), T
    )


def expected_purchases_new_customer(bgnbd: ParamArrays, t: np.ndarray | float) -> np.ndarray:
    """E[X(t)]: expected repeat purchases of a new customer by age ``t``, FHL (2005a) eq. (9).

    ``(a+b-1)/(a-1) * [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``; ``t`` in the
    model's time unit (vectorised over ``t``).
    """
    r, alpha, a, b = (bgnbd[k] for k in BGNBD_PARAMS)
    t = np.asarray(t, dtype=float)
    hyp = hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return (a + b - 1) / (a - 1) * (1 - hyp * (alpha / (alpha + t)) ** r)


# --------------------------------------------------------------------------------------------
# How many purchases: the count distributions of BG/NBD and MBG/NBD
# --------------------------------------------------------------------------------------------
# BG/NBD and its modified form MBG/NBD (Batislam, Denizel & Filiztekin 2007) differ only in
# when a customer may drop out: BG/NBD after each repeat purchase, MBG/NBD also right after the
# first purchase. With ``shift = 0`` (BG/NBD) or ``1`` (MBG/NBD) every beta function
# ``B(., b+k)`` of BG/NBD becomes ``B(., b+k+shift)`` and the "dropped out" branch exists for
# ``x = 0`` too.


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
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
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
    r, alpha, a, b = (params[k] for k in BGNBD_PARAMS)
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


# --------------------------------------------------------------------------------------------
# The one-rate limit: everyone buys at one rate (r -> infinity at r/alpha = rate), dropout kept
# --------------------------------------------------------------------------------------------
# As r -> infinity at a fixed mean rate, the gamma of FHL (2005a) eq. (1) becomes a point mass
# and every NBD piece a Poisson one: (alpha/(alpha+t))^r -> e^(-rate t), and 2F1(r+x, c; d;
# t/(alpha+T+t)) -> 1F1(c; d; rate t) (Kummer's function). ``shift`` as above (MBG/NBD: 1).

POISSON_DROPOUT_PARAMS = ("rate", "a", "b")


def _poisson_dropout_nll(
    log_params: np.ndarray, d: PairRows, penalizer: float, shift: int
) -> tuple[float, np.ndarray]:
    """Mean negative log-likelihood and gradient (log-parameters) of the one-rate limit::

    ll = x ln(rate) + ln B(a, c) - ln B(a, b) + ln[e^(-rate T) + 1{x>0 or shift} a/(c-1)
         e^(-rate t_x)],  c = b + x + shift

    (FHL 2005a eq. 6; Batislam et al. eq. 5 with ``shift = 1``; at r -> infinity).
    """
    params = np.exp(np.asarray(log_params, dtype=float))
    rate, a, b = params
    xs, wx, wsum = d.xs, d.wx, d.wsum
    c = b + xs + shift
    per_x = xlogy(xs, rate) + betaln(a, c) - betaln(a, b)
    T_pair, R_pair = d.Tu[d.xt_t], d.Ru[d.xr_r]
    A3 = -rate * T_pair
    A4 = np.log(a) - np.log(c[d.xr_x] - 1) - rate * R_pair  # rows with x > 0 only
    ll_rows, s3, s4 = pair_log_sum(A3, A4, d)
    ll = dot(wx, per_x) - rate * dot(d.w_once, d.Tu) + ll_rows
    value = -ll / wsum + penalizer * float(np.sum(params**2))
    s4x = np.bincount(d.xr_x, weights=s4, minlength=xs.size)
    g_rate = dot(wx, xs) / rate - dot(d.w_once, d.Tu) - dot(s3, T_pair) - dot(s4, R_pair)
    g_a = dot(wx, digamma(a + b) - digamma(a + c)) + float(s4x.sum()) / a
    g_b = dot(wx, digamma(c) - digamma(a + c) - digamma(b) + digamma(a + b))
    g_b -= float(np.divide(s4x, c - 1, out=np.zeros_like(s4x), where=s4x != 0).sum())
    grad = np.array([g_rate, g_a, g_b])
    return value, -params * grad / wsum + 2.0 * penalizer * params**2


def fit_poisson_dropout(
    x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray, penalizer: float, shift: int = 0
) -> Fit:
    """Fit the one-rate limit (``rate`` per time unit, ``a, b``) on weighted rows, time
    scaled so max T = 1 as lifetimes scales BG/NBD's."""
    x, tx, T, w = (np.asarray(v, dtype=float) for v in (x, tx, T, w))
    scale = 1.0 / float(np.max(T))
    rows = PairRows.of(x, tx, T, w, repeat_only=shift == 0)
    scaled = rows.rescaled(scale)
    name = "BG/NBD" if shift == 0 else "MBG/NBD"
    opt = optimize(
        f"{name} with one purchase rate",
        lambda theta: _poisson_dropout_nll(theta, scaled, penalizer, shift),
        3,
        float(np.sum(w)),
        advice(penalizer),
    )
    # a rate is an inverse time: rate = rate_scaled * scale, i.e. "divided by 1/scale"
    return fit_from(
        opt,
        lambda theta: -_poisson_dropout_nll(theta, rows, 0.0, shift)[0] * float(np.sum(w)),
        scale=1.0 / scale,
        time_params=(0,),
    )


def poisson_dropout_denominator(
    params: Params, x: np.ndarray, recency: np.ndarray, T: np.ndarray, *, shift: int = 0
) -> np.ndarray:
    """``1 / P(alive)`` = ``1 + 1{x>0 or shift} a/(b+x+shift-1) e^(rate (T - t_x))``."""
    rate, a, b = (params[k] for k in POISSON_DROPOUT_PARAMS)
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        odds = np.exp(np.log(a / (b + x + shift - 1)) + rate * (T - np.asarray(recency)))
    return 1.0 + np.where((x > 0) | (shift > 0), odds, 0.0)


def poisson_dropout_p_alive(
    params: Params, frequency: np.ndarray, recency: np.ndarray, T: np.ndarray, *, shift: int = 0
) -> np.ndarray:
    """P(alive at T | x, t_x, T) at the one-rate limit."""
    return 1.0 / poisson_dropout_denominator(params, frequency, recency, T, shift=shift)


def poisson_dropout_numerator(params: ParamArrays, t, x, T, *, shift: int = 0) -> np.ndarray:
    """E[Y(t)] of a customer alive at T: ``(a+c-1)/(a-1) [1 - 1F1(a-1; a+c-1; -rate t)]``,
    ``c = b+x+shift`` (``E[(1 - e^(-rate p t))/p]``, FHL 2005a eq. 7, over p ~ Beta(a, c);
    eq. 10's numerator as r -> infinity). Depends on (x, t) only."""
    rate, a, b = (params[k] for k in POISSON_DROPOUT_PARAMS)
    c = b + np.asarray(x, dtype=float) + shift + 0.0 * np.asarray(T)
    return (a + c - 1) / (a - 1) * (1 - hyp1f1(a - 1, a + c - 1, -rate * np.asarray(t)))


def poisson_dropout_expected_new(
    params: ParamArrays, t: np.ndarray | float, *, shift: int = 0
) -> np.ndarray:
    """E[X(t)] of a new customer: the numerator at x = 0 times P(alive at 0) (``b/(a+b)``
    under MBG/NBD, 1 under BG/NBD)."""
    a, b = params["a"], params["b"]
    alive = b / (a + b) if shift else 1.0
    return (
        poisson_dropout_numerator(params, np.asarray(t, dtype=float), 0.0, 0.0, shift=shift) * alive
    )


def _poisson_pmf(mean: np.ndarray | float, n: np.ndarray | int) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.exp(xlogy(n, mean) - mean - gammaln(np.asarray(n) + 1.0))


def poisson_dropout_probability_of_purchases(
    params: Params, t: np.ndarray | float, n: np.ndarray | int, *, shift: int = 0
) -> np.ndarray:
    """P(X(t) = n) of a new customer: :func:`probability_of_purchases` with Poisson pieces."""
    rate, a, b = (params[k] for k in POISSON_DROPOUT_PARAMS)
    t, n = np.broadcast_arrays(np.asarray(t, dtype=float), np.asarray(n, dtype=np.int64))
    mean = rate * t
    below = np.zeros(t.shape)
    for j in range(int(n.max()) if n.size else 0):
        below += np.where(j < n, _poisson_pmf(mean, j), 0.0)
    first = np.exp(betaln(a, b + n + shift) - betaln(a, b)) * _poisson_pmf(mean, n)
    with np.errstate(invalid="ignore"):
        second = np.where(
            (n > 0) | (shift > 0),
            np.exp(betaln(a + 1, b + np.maximum(n + shift, 1) - 1) - betaln(a, b)) * (1 - below),
            0.0,
        )
    return first + second


def poisson_dropout_probability_at_least(
    params: Params,
    t: float,
    k: int,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    *,
    shift: int = 0,
) -> np.ndarray:
    """P(Y(t) >= k | x, t_x, T) = P(alive) (1 - sum_{n<k} P(n | alive)), with, for p ~
    Beta(a, c) and ``c = b+x+shift``: ``P(n | alive) = B(a, c+n)/B(a, c) Pois(n) + 1{n>0}
    B(a+1, c+n-1)/B(a, c) P(N >= n)`` (survive n purchases, or leave after the n-th)."""
    rate, a, b = (params[k_] for k_ in POISSON_DROPOUT_PARAMS)
    x = np.asarray(frequency, dtype=float)
    if k < 1:
        return np.ones(x.shape)
    c = b + x + shift
    mean = rate * t
    fewer = np.zeros(x.shape)
    tail = 1.0  # P(N >= n)
    for n in range(k):
        pmf = float(_poisson_pmf(mean, n))
        fewer += np.exp(betaln(a, c + n) - betaln(a, c)) * pmf
        if n:
            fewer += np.exp(betaln(a + 1, c + n - 1) - betaln(a, c)) * tail
        tail -= pmf
    alive = poisson_dropout_p_alive(params, x, recency, T, shift=shift)
    return np.clip(alive * (1 - fewer), 0.0, 1.0)
