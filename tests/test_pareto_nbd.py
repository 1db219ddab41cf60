"""Pareto/NBD: published CDNOW values, parity with lifetimes' ParetoNBDFitter (likelihood and
formulas), the gradient, and one-time buyers who can be gone."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.models import pareto_nbd
from clv.models.fitting import fit

lifetimes = pytest.importorskip("lifetimes")


@pytest.fixture(scope="module")
def pnbd_model(cdnow_calibration):
    return fit(cdnow_calibration, purchase_model="pareto_nbd")


def _lifetimes_pnbd(params: dict[str, float]):
    from lifetimes import ParetoNBDFitter

    f = ParetoNBDFitter()
    f.params_ = pd.Series(params)
    return f


def _arrays(summary):
    return tuple(summary[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))


def test_cdnow_published_parameters(pnbd_model):
    """Fader & Hardie (note 009 / 2005) on CDNOW: r = 0.5533, alpha = 10.578, s = 0.6062,
    beta = 11.669, LL = -9595.0."""
    published = {"r": 0.5533, "alpha": 10.578, "s": 0.6062, "beta": 11.669}
    for key, value in published.items():
        assert pnbd_model.purchase[key] == pytest.approx(value, rel=0.01)
    assert pnbd_model.log_likelihood["pareto_nbd"] == pytest.approx(-9595.0, abs=0.05)
    assert pnbd_model.at_boundary["pareto_nbd"] == []


@settings(max_examples=60, deadline=None)
@given(
    r=st.floats(0.05, 5),
    alpha=st.floats(0.1, 50),
    s=st.floats(0.05, 5),
    beta=st.floats(0.1, 50),
)
def test_likelihood_equals_lifetimes(cdnow_calibration, r, alpha, s, beta):
    from lifetimes import ParetoNBDFitter

    x, tx, T = _arrays(cdnow_calibration)
    params = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    ours = pareto_nbd.pareto_nbd_log_likelihood(params, x, tx, T)
    theirs = ParetoNBDFitter._conditional_log_likelihood([r, alpha, s, beta], x, tx, T)
    np.testing.assert_allclose(ours, theirs, rtol=1e-9)
    w = np.ones(x.size)
    value = pareto_nbd.pareto_nbd_negative_log_likelihood(
        np.log(list(params.values())), x, tx, T, w
    )
    assert value[0] == pytest.approx(-float(np.sum(theirs)) / x.size, rel=1e-9)


def test_gradient_equals_differences_of_the_likelihood(cdnow_calibration):
    x, tx, T = _arrays(cdnow_calibration)
    w = np.ones(x.size)
    # alpha < beta and alpha > beta: the two hypergeometric branches of the tail integral
    for theta in (
        np.log([0.5, 0.8, 0.6, 0.9]),
        np.log([2.0, 0.3, 0.2, 3.0]),
        np.log([2.0, 3.0, 0.2, 0.3]),
    ):
        _, grad = pareto_nbd.pareto_nbd_negative_log_likelihood(theta, x, tx / 78, T / 78, w)
        h = 1e-6
        numeric = [
            (
                pareto_nbd.pareto_nbd_negative_log_likelihood(theta + h * e, x, tx / 78, T / 78, w)[
                    0
                ]
                - pareto_nbd.pareto_nbd_negative_log_likelihood(
                    theta - h * e, x, tx / 78, T / 78, w
                )[0]
            )
            / (2 * h)
            for e in np.eye(4)
        ]
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-8)


def test_rows_in_logs_give_the_same_likelihood_and_gradient(cdnow_calibration, monkeypatch):
    """The row-by-row fallback (taken when exponents spread beyond floating point) equals
    the per-pair sums wherever both can be computed."""
    x, tx, T = _arrays(cdnow_calibration)
    args = (x, tx / 78, T / 78, np.ones(x.size), 0.01)
    theta = np.log([0.55, 0.14, 0.6, 0.15])
    fast = pareto_nbd.pareto_nbd_negative_log_likelihood(theta, *args)
    monkeypatch.setattr(pareto_nbd, "SMALLEST_SUM", np.inf)
    in_logs = pareto_nbd.pareto_nbd_negative_log_likelihood(theta, *args)
    assert in_logs[0] == pytest.approx(fast[0], rel=1e-13)
    np.testing.assert_allclose(in_logs[1], fast[1], rtol=1e-10, atol=1e-13)


def test_weighted_distinct_rows_give_the_same_likelihood(cdnow_calibration):
    x, tx, T = _arrays(cdnow_calibration)
    keys, weights = np.unique(np.stack([x, tx, T]), axis=1, return_counts=True)
    theta = np.log([0.9, 0.3, 1.5, 0.5])
    full = pareto_nbd.pareto_nbd_negative_log_likelihood(theta, x, tx / 78, T / 78, np.ones(x.size))
    grouped = pareto_nbd.pareto_nbd_negative_log_likelihood(
        theta, keys[0], keys[1] / 78, keys[2] / 78, weights.astype(float)
    )
    assert grouped[0] == pytest.approx(full[0], rel=1e-12)
    np.testing.assert_allclose(grouped[1], full[1], rtol=1e-10)


def test_formulas_equal_lifetimes(cdnow_calibration, pnbd_model):
    params = pnbd_model.purchase
    theirs = _lifetimes_pnbd(params)
    x, tx, T = _arrays(cdnow_calibration)
    np.testing.assert_allclose(
        pareto_nbd.p_alive(params, x, tx, T),
        theirs.conditional_probability_alive(x, tx, T),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        pareto_nbd.conditional_expected_purchases(params, 39.0, x, tx, T),
        theirs.conditional_expected_number_of_purchases_up_to_time(39.0, x, tx, T),
        rtol=1e-9,
    )
    ts = np.array([1.0, 10.0, 52.0])
    np.testing.assert_allclose(
        pareto_nbd.expected_purchases_new_customer(params, ts),
        theirs.expected_number_of_purchases_up_to_time(ts),
        rtol=1e-10,
    )


@pytest.mark.parametrize("k", [1, 2, 4])
def test_probability_at_least_equals_lifetimes_pmf(cdnow_calibration, pnbd_model, k):
    """lifetimes implements Fader & Hardie's note 028 conditional PMF in closed form; our
    quadrature over the remaining lifetime agrees to 1e-6."""
    params = pnbd_model.purchase
    theirs = _lifetimes_pnbd(params)
    x, tx, T = _arrays(cdnow_calibration.head(300))
    below = sum(
        np.asarray(theirs.conditional_probability_of_n_purchases_up_to_time(n, 39.0, x, tx, T))
        for n in range(k)
    )
    ours = pareto_nbd.probability_at_least(params, 39.0, k, x, tx, T)
    np.testing.assert_allclose(ours, 1 - below, atol=1e-6)


def test_one_time_buyers_can_be_gone(pnbd_model):
    T = np.array([1.0, 10.0, 30.0, 70.0])
    alive = pareto_nbd.p_alive(pnbd_model.purchase, np.zeros(4), np.zeros(4), T)
    assert np.all(alive < 1)
    assert np.all(np.diff(alive) < 0)


def test_scores_and_file_round_trip(cdnow_calibration, pnbd_model, tmp_path):
    from clv.models.model import ClvModel

    scores = pnbd_model.score(cdnow_calibration, horizon=12)
    assert (
        scores.select("p_alive", "expected_purchases", "clv").null_count().sum_horizontal()[0] == 0
    )
    assert np.all(np.isfinite(scores["clv"].to_numpy()))
    path = pnbd_model.save(tmp_path / "model.json")
    again = ClvModel.load(path)
    assert again.purchase_model == "pareto_nbd"
    assert again.purchase == pnbd_model.purchase
    assert again.score(cdnow_calibration, horizon=12).equals(scores)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 6), st.integers(0, 6)), max_size=40),
    alpha_above_beta=st.booleans(),
)
def test_p_alive_per_distinct_point_equals_each_customer_alone(rows, alpha_above_beta):
    """P(alive) evaluates the tail integral once per distinct (x, t_x) and (x, T) point; each
    value is bit-identical with the customer evaluated alone, with ties, shuffled rows, one
    row and none (both branches of the hypergeometric representation)."""
    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    if alpha_above_beta:
        params |= {"alpha": 11.7, "beta": 10.6}
    x = np.array([r[0] for r in rows], dtype=float)
    T = np.array([max(r[1], r[2]) for r in rows], dtype=float) / 2
    tx = np.where(x > 0, np.array([min(r[1], r[2]) for r in rows], dtype=float) / 2, 0.0)
    fast = pareto_nbd.p_alive(params, x, tx, T)
    alone = [pareto_nbd.p_alive(params, x[i], tx[i], T[i]) for i in range(x.size)]
    assert fast.shape == x.shape
    np.testing.assert_array_equal(fast, np.array(alone, dtype=float).reshape(x.shape))


def test_purchase_count_distribution_sums_to_one_with_the_expected_mean() -> None:
    """P(X(t) = n) by quadrature over the lifetime: a distribution whose mean is E[X(t)]."""
    from clv.models import pareto_nbd

    params = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    n = np.arange(3000)
    for t in (0.0, 1.0, 39.0, 500.0):
        p = pareto_nbd.probability_of_purchases(params, t, n)
        assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
        mean = pareto_nbd.expected_purchases_new_customer(params, t)
        assert (n * p).sum() == pytest.approx(mean, rel=1e-10, abs=1e-12)


def test_a_line_search_far_out_gets_no_likelihood_not_a_crash(cdnow_calibration):
    """BFGS can step to s, beta ~ e^708 when they run off together; SciPy's hyp2f1 crashes
    the process there, so the likelihood is NaN beyond LOG_PARAM_LIMIT (the fit then fails
    with a ModelError, or backtracks)."""
    from clv.models.pareto_nbd import LOG_PARAM_LIMIT, pareto_nbd_negative_log_likelihood

    x, tx, T = (cdnow_calibration[c].to_numpy() for c in ("frequency", "recency", "T"))
    far = np.array([-0.9, -1.8, 708.3, 710.7])
    value, grad = pareto_nbd_negative_log_likelihood(far, x, tx, T, np.ones(x.size))
    assert np.isnan(value) and np.isnan(grad).all() and far.max() > LOG_PARAM_LIMIT
    near = np.log([0.55, 10.6, 0.61, 11.7])  # about the published estimates
    assert np.isfinite(pareto_nbd_negative_log_likelihood(near, x, tx, T, np.ones(x.size))[0])
