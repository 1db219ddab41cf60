"""MBG/NBD: published CDNOW values, parity with lifetimes' ModifiedBetaGeoFitter (likelihood,
gradient, fit, formulas), the count distribution, and one-time buyers who can be gone."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.models import mbgnbd
from clv.models.fitting import fit

lifetimes = pytest.importorskip("lifetimes")


@pytest.fixture(scope="module")
def mbg_model(cdnow_calibration):
    return fit(cdnow_calibration, purchase_model="mbgnbd")


def _lifetimes_mbgf(params: dict[str, float]):
    from lifetimes import ModifiedBetaGeoFitter

    f = ModifiedBetaGeoFitter()
    f.params_ = pd.Series(params)
    return f


def _arrays(summary):
    x, tx, T = (summary[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    return x, tx, T


def test_cdnow_published_parameters(mbg_model):
    """Batislam et al. (2007) method on CDNOW (weeks, calibration to 1997-09-30), as lifetimes
    reports it: r = 0.5248, alpha = 6.183, a = 0.8914, b = 1.614."""
    published = {"r": 0.5248, "alpha": 6.183, "a": 0.8914, "b": 1.614}
    assert mbg_model.purchase_model == "mbgnbd"
    for key, value in published.items():
        assert mbg_model.purchase[key] == pytest.approx(value, rel=0.01)
    assert mbg_model.at_boundary["mbgnbd"] == []


@settings(max_examples=50, deadline=None)
@given(
    theta=st.lists(st.floats(-3, 3), min_size=4, max_size=4),
    penalizer=st.sampled_from([0.0, 0.01]),
)
def test_likelihood_and_gradient_equal_lifetimes(cdnow_calibration, theta, penalizer):
    from autograd import value_and_grad
    from lifetimes import ModifiedBetaGeoFitter

    x, tx, T = _arrays(cdnow_calibration)
    scale = 1 / T.max()
    args = (x, tx * scale, T * scale, np.ones(x.size), penalizer)
    theta = np.array(theta)
    ours, grad = mbgnbd.mbgnbd_negative_log_likelihood(theta, *args)
    theirs, their_grad = value_and_grad(ModifiedBetaGeoFitter._negative_log_likelihood)(
        theta, *args
    )
    assert ours == pytest.approx(float(theirs), rel=1e-9)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-7, atol=1e-9 * np.abs(their_grad).max())


def test_weighted_distinct_rows_give_the_same_likelihood(cdnow_calibration):
    """Per-pair evaluation on weighted distinct rows (one-time buyers included) equals the
    objective on one row per customer."""
    x, tx, T = _arrays(cdnow_calibration)
    keys, weights = np.unique(np.stack([x, tx, T]), axis=1, return_counts=True)
    theta = np.log([0.9, 0.3, 1.5, 0.5])
    full = mbgnbd.mbgnbd_negative_log_likelihood(theta, x, tx / 78, T / 78, np.ones(x.size))
    grouped = mbgnbd.mbgnbd_negative_log_likelihood(
        theta, keys[0], keys[1] / 78, keys[2] / 78, weights.astype(float)
    )
    assert grouped[0] == pytest.approx(full[0], rel=1e-12)
    np.testing.assert_allclose(grouped[1], full[1], rtol=1e-10)


def test_fit_equals_lifetimes(cdnow_calibration, mbg_model):
    from lifetimes import ModifiedBetaGeoFitter

    theirs = ModifiedBetaGeoFitter().fit(*_arrays(cdnow_calibration))
    for key in mbgnbd.MBGNBD_PARAMS:
        assert mbg_model.purchase[key] == pytest.approx(theirs.params_[key], rel=1e-5)


def test_formulas_equal_lifetimes(cdnow_calibration, mbg_model):
    params = mbg_model.purchase
    theirs = _lifetimes_mbgf(params)
    x, tx, T = _arrays(cdnow_calibration)
    np.testing.assert_allclose(
        mbgnbd.p_alive(params, x, tx, T),
        theirs.conditional_probability_alive(x, tx, T),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        mbgnbd.conditional_expected_purchases(params, 39.0, x, tx, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T),
        rtol=1e-9,
    )
    ts = np.array([1.0, 10.0, 52.0])
    np.testing.assert_allclose(
        mbgnbd.expected_purchases_new_customer(params, ts),
        theirs.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-10,
    )
    for n in range(4):
        for t in ts:  # lifetimes takes one t at a time
            assert mbgnbd.probability_of_purchases(params, t, n) == pytest.approx(
                theirs.probability_of_n_purchases_up_to_time(t, n), rel=1e-9
            )


def test_count_distributions_sum_to_one_and_match_expectations(cdnow_calibration, mbg_model):
    params = mbg_model.purchase
    x, tx, T = _arrays(cdnow_calibration.head(200))
    pmf = [
        mbgnbd.bgnbd.conditional_probability_of_purchases(params, 39.0, n, x, tx, T, shift=1)
        for n in range(150)
    ]
    np.testing.assert_allclose(np.sum(pmf, axis=0), 1.0, atol=1e-9)
    mean = np.sum([n * p for n, p in enumerate(pmf)], axis=0)
    np.testing.assert_allclose(
        mean, mbgnbd.conditional_expected_purchases(params, 39.0, x, tx, T), rtol=1e-6
    )
    new = [mbgnbd.probability_of_purchases(params, 30.0, n) for n in range(400)]
    assert float(np.sum(new)) == pytest.approx(1.0, abs=1e-9)
    assert float(np.dot(np.arange(400), new)) == pytest.approx(
        float(mbgnbd.expected_purchases_new_customer(params, 30.0)), rel=1e-9
    )
    assert mbgnbd.probability_of_purchases(params, 0.0, 0) == pytest.approx(1.0, abs=1e-15)


def test_one_time_buyers_can_be_gone(mbg_model):
    """Unlike BG/NBD: P(alive) < 1 for one-time buyers, falling with time since purchase."""
    T = np.array([1.0, 10.0, 30.0, 70.0])
    alive = mbgnbd.p_alive(mbg_model.purchase, np.zeros(4), np.zeros(4), T)
    assert np.all(alive < 1)
    assert np.all(np.diff(alive) < 0)
