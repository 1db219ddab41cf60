"""BG/NBD (clv.models.bgnbd): likelihood parity with lifetimes, distinct rows, model formulas."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
from clv.data.rfm import rfm_summary
from clv.models import bgnbd, pairs

lifetimes = pytest.importorskip("lifetimes")
pd = pytest.importorskip("pandas")


def _lifetimes_bgf(params: dict[str, float]):
    """A lifetimes BetaGeoFitter carrying our parameters (to compare formulas, not fits)."""
    from lifetimes import BetaGeoFitter

    bgf = BetaGeoFitter()
    bgf.params_ = pd.Series(params)
    return bgf


# ---------------------------------------------------------------------------------------------
# likelihood: parity with lifetimes, weighted distinct rows
# ---------------------------------------------------------------------------------------------


def _scaled_bgnbd_arrays(summary: pl.DataFrame):
    x = summary["frequency"].to_numpy()
    T = summary["T"].to_numpy()
    scale = 1.0 / T.max()
    return x, summary["recency"].to_numpy() * scale, T * scale, np.ones(x.size)


@settings(max_examples=60, deadline=None)
@given(
    theta=st.lists(st.floats(-4, 4), min_size=4, max_size=4),
    penalizer=st.sampled_from([0.0, 0.001, 0.1]),
)
def test_bgnbd_likelihood_equals_lifetimes(cdnow_calibration, theta, penalizer):
    from autograd import value_and_grad
    from lifetimes import BetaGeoFitter

    args = (*_scaled_bgnbd_arrays(cdnow_calibration), penalizer)
    theta = np.array(theta)
    ours, grad = bgnbd.bgnbd_negative_log_likelihood(theta, *args)
    theirs, their_grad = value_and_grad(BetaGeoFitter._negative_log_likelihood)(theta, *args)
    assert ours == pytest.approx(float(theirs), rel=1e-9)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-7, atol=1e-9 * np.abs(their_grad).max())


def _bgnbd_nll_by_hand(theta, x, tx, T):
    """FHL (2005a) eq. (6) per customer with np.logaddexp (lifetimes overflows to inf)."""
    from scipy.special import betaln, gammaln

    r, alpha, a, b = np.exp(theta)
    with np.errstate(divide="ignore"):
        A4 = np.where(x > 0, np.log(a / (b + np.maximum(x, 1) - 1)), -np.inf)
    A4 = A4 - (r + x) * np.log(alpha + tx)
    ll = (
        gammaln(r + x)
        - gammaln(r)
        + r * np.log(alpha)
        + betaln(a, b + x)
        - betaln(a, b)
        + np.logaddexp(-(r + x) * np.log(alpha + T), A4)
    )
    return -ll.mean()


@pytest.mark.parametrize("fallback", [True, False])
def test_bgnbd_likelihood_at_extreme_parameters(cdnow_calibration, monkeypatch, fallback):
    """r = e^5, alpha = e^-40: exponents spread by > 700, so the per-pair exponentials
    underflow and the rows go through logaddexp (and not at alpha = e^-4)."""
    calls = []
    monkeypatch.setattr(
        pairs,
        "logaddexp_and_share",
        lambda *a, f=pairs.logaddexp_and_share: calls.append(1) or f(*a),
    )
    x, tx, T, w = _scaled_bgnbd_arrays(cdnow_calibration)
    theta = np.array([5.0, -40.0 if fallback else -4.0, -0.5, 0.3])
    ours, grad = bgnbd.bgnbd_negative_log_likelihood(theta, x, tx, T, w)
    assert bool(calls) == fallback
    assert ours == pytest.approx(_bgnbd_nll_by_hand(theta, x, tx, T), rel=1e-12)
    h = 1e-6
    numeric = [
        (_bgnbd_nll_by_hand(theta + h * e, x, tx, T) - _bgnbd_nll_by_hand(theta - h * e, x, tx, T))
        / (2 * h)
        for e in np.eye(4)
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7 * np.abs(grad).max())


def test_weighted_distinct_rows_give_the_same_likelihood(cdnow_calibration):
    """Grouping customers into weighted distinct rows does not change the objective."""
    x, tx, T, w = _scaled_bgnbd_arrays(cdnow_calibration)
    grouped = pl.DataFrame({"x": x, "tx": tx, "T": T}).group_by("x", "tx", "T").agg(w=pl.len())
    theta = np.array([-1.0, 0.5, -0.3, 0.9])
    full = bgnbd.bgnbd_negative_log_likelihood(theta, x, tx, T, w, 0.01)[0]
    g = [grouped[c].to_numpy().astype(float) for c in ("x", "tx", "T", "w")]
    assert bgnbd.bgnbd_negative_log_likelihood(theta, *g, 0.01)[0] == pytest.approx(full, rel=1e-12)


@pytest.mark.parametrize("unit", ["D", "W", "M"])
def test_distinct_rows_are_bit_identical_with_the_summary(unit):
    summary = rfm_summary(cdnow(), observation_end=CDNOW_CALIBRATION_END, time_unit=unit)
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    rows = bgnbd.distinct_bgnbd_rows(x, tx, T, {"D": 1.0, "W": 7.0, "M": 365.25 / 12}[unit])
    assert rows[3].sum() == summary.height
    distinct = set(zip(x.tolist(), tx.tolist(), T.tolist(), strict=True))
    assert set(zip(*(r.tolist() for r in rows[:3]), strict=True)) == distinct


# ---------------------------------------------------------------------------------------------
# model functions: population and conditional distributions
# ---------------------------------------------------------------------------------------------


def test_new_customer_functions_equal_lifetimes(cdnow_model):
    bgf = _lifetimes_bgf(cdnow_model.bgnbd)
    t = np.array([1.0, 10.0, 39.0, 78.0])
    np.testing.assert_allclose(
        bgnbd.expected_purchases_new_customer(cdnow_model.bgnbd, t),
        bgf.expected_number_of_purchases_up_to_time(t),
        rtol=1e-12,
    )
    for n in range(6):
        assert bgnbd.probability_of_purchases(cdnow_model.bgnbd, 39.0, n) == pytest.approx(
            bgf.probability_of_n_purchases_up_to_time(39.0, n), rel=1e-10
        )
    pmf = bgnbd.probability_of_purchases(cdnow_model.bgnbd, 39.0, np.arange(200))
    assert pmf.sum() == pytest.approx(1.0, abs=1e-9)
    mean = (np.arange(200) * pmf).sum()
    assert mean == pytest.approx(bgnbd.expected_purchases_new_customer(cdnow_model.bgnbd, 39.0))


def test_conditional_pmf_sums_to_one_and_matches_expectation(cdnow_calibration, cdnow_model):
    sample = cdnow_calibration.head(300)
    x, tx, T = (sample[c].to_numpy() for c in ("frequency", "recency", "T"))
    bg = cdnow_model.bgnbd
    pmf = np.array(
        [bgnbd.conditional_probability_of_purchases(bg, 39.0, n, x, tx, T) for n in range(120)]
    )
    assert np.all(pmf >= -1e-12)
    np.testing.assert_allclose(pmf.sum(axis=0), 1.0, atol=1e-8)
    mean = (np.arange(120)[:, None] * pmf).sum(axis=0)
    np.testing.assert_allclose(
        mean, bgnbd.conditional_expected_purchases(bg, 39.0, x, tx, T), rtol=1e-7
    )
    at_least_2 = cdnow_model.probability_at_least(sample, t=39.0, k=2)
    np.testing.assert_allclose(at_least_2, 1 - pmf[0] - pmf[1], atol=1e-12)


def test_conditional_pmf_of_a_new_customer_is_the_population_pmf(cdnow_model):
    """With no history (x = t_x = T = 0) the conditional PMF is FHL eq. (8)."""
    zeros = np.zeros(1)
    for n in range(5):
        cond = bgnbd.conditional_probability_of_purchases(
            cdnow_model.bgnbd, 20.0, n, zeros, zeros, zeros
        )
        assert cond[0] == pytest.approx(
            bgnbd.probability_of_purchases(cdnow_model.bgnbd, 20.0, n), rel=1e-10
        )


def test_conditional_pmf_by_simulation():
    """Monte Carlo: simulate BG/NBD customers, keep those with history (x=2, t_x~20, T=30).

    Stage 1 draws (lambda, p), the first three purchase times and the dropouts after the
    first two; customers with exactly 2 repeat purchases by T=30, the second within half a
    week of 20, are kept (rejection sampling from the posterior). Stage 2 simulates the
    kept ones still alive forward from T (memoryless Poisson purchasing, dropout after each
    purchase) and counts their purchases in the next 26 weeks.
    """
    bg = {"r": 0.5, "alpha": 5.0, "a": 0.7, "b": 2.0}
    rng = np.random.default_rng(7)
    n, T, horizon = 1_500_000, 30.0, 26.0
    lam = rng.gamma(bg["r"], 1 / bg["alpha"], n)
    p = rng.beta(bg["a"], bg["b"], n)
    t1 = rng.standard_exponential(n) / lam
    t2 = t1 + rng.standard_exponential(n) / lam
    dead1, dead2 = rng.random(n) < p, rng.random(n) < p
    # x = 2 by T: two purchases by T, alive after the first; a third, if alive, comes after T
    # (memoryless, so drawing it is the same as asking for no purchase in (t2, T])
    third_after_T = rng.standard_exponential(n) / lam > T - t2
    keep = (t2 <= T) & ~dead1 & (dead2 | third_after_T) & (np.abs(t2 - 20.0) < 0.5)
    lam_k, p_k, alive = lam[keep], p[keep], ~dead2[keep]
    future = np.zeros(lam_k.size, dtype=np.int64)
    clock = np.full(lam_k.size, T)
    active = alive.copy()
    while active.any():
        clock = clock + rng.standard_exponential(lam_k.size) / lam_k
        bought = active & (clock <= T + horizon)
        future += bought
        active = bought & (rng.random(lam_k.size) >= p_k)
    simulated = np.bincount(future, minlength=4)[:4] / keep.sum()
    exact = np.array(
        [
            bgnbd.conditional_probability_of_purchases(
                bg, horizon, k, np.array([2.0]), np.array([20.0]), np.array([T])
            )[0]
            for k in range(4)
        ]
    )
    se = np.sqrt(exact * (1 - exact) / keep.sum())
    assert keep.sum() > 2_000
    # 4 standard errors of the simulation plus 0.005 for the half-week window on t_x
    np.testing.assert_array_less(np.abs(simulated - exact), 4 * se + 0.005)


def test_expected_purchases_stay_finite_when_a_and_b_sit_at_zero():
    """At a boundary estimate a, b -> 0 (nobody drops out) 2F1 turns negative for one-time
    buyers; the expectation must still be finite and close to the no-dropout (NBD) limit
    (r + x) t / (alpha + T)."""
    from clv.models.bgnbd import conditional_expected_purchases

    params = {"r": 4.4686, "alpha": 147.29, "a": 1e-10, "b": 8.93e-4}
    T = np.array([0.4286, 30.14, 72.71])
    got = conditional_expected_purchases(params, 52.0, np.zeros(3), np.zeros(3), T)
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, params["r"] * 52.0 / (params["alpha"] + T), rtol=0.01)
