"""Gamma-Gamma (clv.models.gamma_gamma): likelihood parity with lifetimes, order value."""

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.models import gamma_gamma

lifetimes = pytest.importorskip("lifetimes")


@settings(max_examples=60, deadline=None)
@given(
    theta=st.lists(st.floats(-4, 4), min_size=3, max_size=3),
    penalizer=st.sampled_from([0.0, 0.01]),
)
def test_gamma_gamma_likelihood_equals_lifetimes(cdnow_calibration, theta, penalizer):
    from autograd import value_and_grad
    from lifetimes import GammaGammaFitter

    rep = cdnow_calibration.filter(pl.col("frequency") > 0)
    x = rep["frequency"].to_numpy().astype(float)
    args = (x, rep["monetary_value"].to_numpy(), np.ones(x.size), penalizer)
    theta = np.array(theta)
    ours, grad = gamma_gamma.gamma_gamma_negative_log_likelihood(theta, *args)
    theirs, their_grad = value_and_grad(GammaGammaFitter._negative_log_likelihood)(theta, *args)
    assert ours == pytest.approx(float(theirs), rel=1e-9)
    np.testing.assert_allclose(grad, their_grad, rtol=1e-7, atol=1e-9 * np.abs(their_grad).max())


def test_gamma_gamma_duplicate_customers_are_weighted_rows():
    """Customers with equal (frequency, monetary value) collapse into one weighted row."""
    x = np.array([1.0, 3.0, 1.0, 2.0, 3.0, 1.0])
    m = np.array([10.0, 7.5, 10.0, 4.0, 7.5, 12.0])
    theta = np.array([0.4, 0.2, 1.1])
    full = gamma_gamma.gamma_gamma_negative_log_likelihood(theta, x, m, np.ones(6), 0.01)
    rows = gamma_gamma._GgRows.of(x, m, np.ones(6))
    assert rows.w.tolist() == [2.0, 1.0, 1.0, 2.0]
    value, grad = gamma_gamma.gamma_gamma_negative_log_likelihood(
        theta, np.array([1.0, 1.0, 2.0, 3.0]), np.array([10.0, 12.0, 4.0, 7.5]), rows.w, 0.01
    )
    assert value == pytest.approx(full[0], rel=1e-14)
    np.testing.assert_allclose(grad, full[1], rtol=1e-13)


def test_expected_order_value_by_hand():
    """Note 025 eq. (5): p=6, q=4, v=15 give a population mean p v/(q-1) = 30; x=2, m=10
    weigh the customer's mean by p x/(p x+q-1) = 0.8: 0.2 * 30 + 0.8 * 10 = 14."""
    params = {"p": 6.0, "q": 4.0, "v": 15.0}
    value = gamma_gamma.expected_order_value(
        params, np.array([2.0, 0.0, 3.0]), np.array([10.0, 0.0, 0.0])
    )
    np.testing.assert_allclose(value, [14.0, 30.0, 30.0], rtol=1e-15)


def test_large_homogeneous_spends_keep_the_equal_spend_limit():
    """Order values of 50-3000 drawn alike for every customer (a real shop's export): the
    spread between customers is nil, Gamma-Gamma's q runs off to infinity, and the fit keeps
    the equal-spend limit, whose maximum is checked against SciPy's gamma density."""
    from scipy import optimize, stats

    from clv.models.limits import LR_CUT, fit_spend

    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 300).astype(float)
    m = np.array([rng.uniform(50, 3000, int(k)).mean() for k in x])
    chosen = fit_spend((x, m, np.ones_like(x)), 0.0)
    assert chosen.limit == "equal_spend"
    assert chosen.tests[1]["statistic"] <= LR_CUT
    p, nu = chosen.fit.params
    assert p / nu == pytest.approx(np.sum(x * m) / np.sum(x), rel=1e-12)  # the mean order value

    def nll(theta: np.ndarray) -> float:  # the mean of x orders of Gamma(p, rate nu)
        shape, rate = np.exp(theta)
        return -float(np.sum(stats.gamma.logpdf(m, a=shape * x, scale=1 / (x * rate))))

    ref = optimize.minimize(
        nll,
        [0.0, -5.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
    )
    assert chosen.fit.params == pytest.approx(np.exp(ref.x), rel=1e-6)
    assert chosen.fit.log_likelihood == pytest.approx(-ref.fun, rel=1e-10)
    assert np.all(chosen.fit.standard_errors < chosen.fit.params)


def test_advice_names_the_sub_models_own_penalizer():
    from clv.models.optimize import advice

    assert "gg_penalizer=" in advice(0.0, "gg_penalizer")
    assert "larger gg_penalizer than 0.1" in advice(0.1, "gg_penalizer")
    assert "purchase_model=" in advice(0.1) and "purchase_model" not in advice(0.1, "gg_penalizer")


STEADY = {"q": 4.0, "theta": 60.0}
"""Each customer's orders are all worth zeta ~ InverseGamma(q, scale theta): mean 20."""


def test_steady_spend_is_the_inverse_gamma_of_mean_spends_and_gamma_gammas_limit():
    """The limit's maximum is that of SciPy's inverse-gamma density of m (Nelder-Mead), and
    Gamma-Gamma's likelihood at p -> infinity with p v = theta fixed tends to it as 1/p."""
    from scipy import optimize, stats

    rng = np.random.default_rng(3)
    x = 1 + rng.poisson(2.0, 2000).astype(float)
    m = np.round(STEADY["theta"] / rng.gamma(STEADY["q"], 1.0, x.size), 2)
    w = np.ones_like(x)
    fitted = gamma_gamma.fit_steady_spend(x, m, w)

    def nll(theta: np.ndarray) -> float:
        shape, scale = np.exp(theta)
        return -float(np.sum(stats.invgamma.logpdf(m, shape, scale=scale)))

    ref = optimize.minimize(
        nll, [1.0, 3.0], method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12}
    )
    assert fitted.params == pytest.approx(np.exp(ref.x), rel=1e-6)
    assert fitted.log_likelihood == pytest.approx(-ref.fun, rel=1e-12)
    q, theta = fitted.params
    gaps = [
        -gamma_gamma.gamma_gamma_negative_log_likelihood(np.log([p, q, theta / p]), x, m, w)[0]
        * x.size
        - fitted.log_likelihood
        for p in (1e3, 1e4, 1e5)
    ]
    assert gaps[2] < 2e-3 and gaps[1] == pytest.approx(10 * gaps[2], rel=0.05)
    assert gaps[0] == pytest.approx(10 * gaps[1], rel=0.05)


def test_steady_spend_needs_a_spread_of_mean_spends():
    from clv.errors import ModelError

    with pytest.raises(ModelError, match="do not spread"):
        gamma_gamma.fit_steady_spend(np.array([1.0, 2.0, 3.0]), np.full(3, 25.0), np.ones(3))


def test_a_shop_of_steady_spenders_keeps_the_steady_spend_limit(tmp_path):
    """A simulated shop (BG/NBD purchases) whose customers each pay one price every time,
    drawn from the truth above: the fit keeps the steady-spend limit (equal spend rejected
    by far), recovers q and theta within 3 standard errors, and scores each repeat buyer's
    order value as their own; the model file carries the limit."""
    import warnings

    from clv.data.rfm import rfm_summary
    from clv.data.simulate import SIMULATED_CHANNELS, channel_shop
    from clv.models.fitting import fit
    from clv.models.limits import LR_CUT
    from clv.models.model import ClvModel

    transactions, _ = channel_shop(3_000, seed=8, channels={"shop": SIMULATED_CHANNELS["search"]})
    ids = transactions["customer_id"].unique().sort()
    rng = np.random.default_rng(8)
    price = pl.DataFrame(
        {"customer_id": ids, "price": np.round(STEADY["theta"] / rng.gamma(4.0, 1.0, ids.len()), 2)}
    )
    transactions = transactions.join(price, on="customer_id").with_columns(amount="price")
    summary = rfm_summary(transactions, observation_end="2023-12-31", time_unit="W")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit(summary)
    assert any("worth about the same every time" in str(w.message) for w in caught)
    assert model.limits.get("gamma_gamma") == "steady_spend"
    tests = {t.get("limit", "full"): t for t in model.limit_tests["gamma_gamma"]}
    assert tests["steady_spend"]["kept"] and tests["equal_spend"]["statistic"] > 10 * LR_CUT
    se = model.standard_errors["gamma_gamma"]
    for name, truth in STEADY.items():
        assert abs(model.gamma_gamma[name] - truth) < 3 * se[name], name
    scores = model.score(summary, horizon=12, prediction_interval=0.9)
    repeat = scores.filter(pl.col("frequency") > 0)
    assert repeat["expected_order_value"].to_list() == repeat["monetary_value"].to_list()
    once = scores.filter(pl.col("frequency") == 0)["expected_order_value"]
    mean = model.gamma_gamma["theta"] / (model.gamma_gamma["q"] - 1)  # the population's
    assert once.unique().to_list() == [pytest.approx(mean, rel=1e-12)]
    assert (scores["clv_pred_low"] <= scores["clv_pred_high"]).all()
    path = model.save(tmp_path / "model.json")
    assert ClvModel.load(path).score(summary, horizon=12).equals(model.score(summary, horizon=12))
