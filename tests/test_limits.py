"""Limits inside the parameter space: the no-dropout and one-rate limits of the purchase
models, Gamma-Gamma's equal-spend limit, the likelihood-ratio tests that keep them, and their
model files."""

import datetime as dt
import itertools
import json
import warnings

import numpy as np
import polars as pl
import pytest
from scipy import optimize, stats
from scipy.special import gammaln

from clv.data.rfm import rfm_summary
from clv.errors import ModelError
from clv.models import nbd
from clv.models.fitting import fit
from clv.models.limits import LR_CUT, choose_limit, fit_purchase
from clv.models.model import ClvModel
from clv.models.optimize import Fit
from clv.models.pairs import PairRows
from clv.models.purchase import purchase_model

MODELS = ["bgnbd", "mbgnbd", "pareto_nbd"]


@pytest.fixture(scope="module")
def one_rate_shop():
    """The issue's shop: 600 customers, each with 1 + Poisson(2) purchases spread evenly
    over the 500 days up to the observation end: one purchase rate, nobody gone."""
    rng = np.random.default_rng(26)
    start = dt.date(2024, 1, 1)
    rows = []
    for i in range(600):
        n = 1 + int(rng.poisson(2))
        days = np.linspace(0, 499, n).astype(int) if n > 1 else [0]
        rows += [(f"c{i}", start + dt.timedelta(days=int(d)), rng.uniform(10, 50)) for d in days]
    tr = pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")
    return rfm_summary(tr, observation_end=start + dt.timedelta(days=499), time_unit="W")


def _quiet_fit(summary: pl.DataFrame, **kwargs) -> ClvModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(summary, **kwargs)


@pytest.mark.parametrize("name", MODELS)
def test_the_one_rate_shop_fits_under_every_purchase_model(one_rate_shop, name):
    """λ = Σ frequency / Σ T in closed form; 52-week purchases average λ × 52 (within 1 %,
    here to rounding)."""
    with pytest.warns(UserWarning, match="everyone buys at about one rate"):
        model = fit(one_rate_shop, purchase_model=name)
    assert model.limits[name] == "poisson_no_dropout"
    rate = one_rate_shop["frequency"].sum() / one_rate_shop["T"].sum()
    assert model.purchase["rate"] == pytest.approx(rate, rel=1e-14)
    mean_52 = float(np.mean(model.expected_purchases(one_rate_shop, t=52.0)))
    assert mean_52 == pytest.approx(rate * 52, rel=0.01)
    assert mean_52 == pytest.approx(rate * 52, rel=1e-12)
    assert (model.p_alive(one_rate_shop) == 1.0).all()
    tests = model.limit_tests[name]
    assert tests[0]["model"] == "full"
    expected = ["poisson_no_dropout", "no_dropout", "poisson"]
    assert [t["limit"] for t in tests[1:]] == expected
    assert tests[1]["kept"] and tests[1]["statistic"] <= LR_CUT
    assert "one_purchase_rate" in {d["code"] for d in model.diagnostics}


def test_poisson_limit_is_the_nbd_as_its_shape_grows(one_rate_shop):
    """The Poisson limit's log-likelihood is the NBD's as r -> infinity at r/alpha fixed
    (an independent check of the closed form)."""
    x, tx, T = (one_rate_shop[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    w = np.ones_like(x)
    poisson = nbd.fit_poisson(x, tx, T, w)
    rate = poisson.params[0]
    r = 1e7  # the gap is O(sum x^2 / r); gammaln(r) keeps ~8 digits of the difference
    value, _ = nbd._nbd_nll(np.log([r, r / rate]), nbd._pairs(x, T, w), 0.0)
    assert -value * x.size == pytest.approx(poisson.log_likelihood, abs=1e-3)
    # and the closed form is the maximum: a numerical maximiser of x ln(l) - l T agrees
    res = optimize.minimize_scalar(
        lambda lam: -np.sum(x * np.log(lam) - lam * T),
        bounds=(1e-6, 1.0),
        method="bounded",
        options={"xatol": 1e-12},
    )
    assert rate == pytest.approx(res.x, rel=1e-5)


def test_nbd_limit_matches_scipy_negative_binomial(steady_summary):
    """The NBD fit (no dropout) maximises the negative binomial likelihood of the counts
    (SciPy's nbinom with n = r, p = alpha/(alpha+T); t_x does not enter). The likelihood of
    the purchase times is the count's times x! / T^x, which does not depend on r, alpha."""
    x, tx, T = (
        steady_summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T")
    )
    fitted = nbd.fit_nbd(x, tx, T, np.ones_like(x), 0.0)
    r, alpha = fitted.params

    def nll(theta: np.ndarray) -> float:
        rr, aa = np.exp(theta)
        return -float(
            np.sum(stats.nbinom.logpmf(x, rr, aa / (aa + T)) + gammaln(x + 1) - x * np.log(T))
        )

    ref = optimize.minimize(
        nll,
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 4000},
    )
    assert [r, alpha] == pytest.approx(np.exp(ref.x), rel=1e-5)
    assert fitted.log_likelihood == pytest.approx(-ref.fun, rel=1e-10)


@pytest.fixture(scope="module")
def steady_summary(steady_shop):
    return rfm_summary(steady_shop, observation_end="2025-05-14", time_unit="W")


def test_cdnow_keeps_the_full_models(cdnow_model):
    """Dropout and spread are plain in CDNOW: every limit is rejected by far (steady spend,
    p -> infinity, the least: CDNOW's orders spread within a customer with p = 6.25, a
    statistic of 41.7)."""
    assert cdnow_model.limits == {}
    for key in ("bgnbd", "gamma_gamma"):
        limits = cdnow_model.limit_tests[key][1:]
        assert limits and all(t["statistic"] > 6 * LR_CUT and not t["kept"] for t in limits)


def test_a_shop_with_dropout_keeps_the_full_model(shop):
    """A BG/NBD shop (customers leave): the full model is kept under each purchase model."""
    summary = rfm_summary(shop[0], time_unit="W")
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    rows = (x, tx, T, np.ones_like(x))
    for name in MODELS:
        chosen = fit_purchase(purchase_model(name), rows, 0.0)
        assert chosen.limit is None, name
        assert all(t["statistic"] > LR_CUT for t in chosen.tests[1:]), name


def test_the_steady_shop_gets_its_own_model_per_channel(steady_summary):
    summary = steady_summary.with_columns(
        channel=pl.when(pl.col("customer_id").str.slice(1).cast(pl.Int64) % 2 == 0)
        .then(pl.lit("search"))
        .otherwise(pl.lit("social"))
    )
    model = _quiet_fit(summary, by="channel")
    assert set(model.groups) == {"search", "social"} and model.pooled_groups == {}
    for group in model.groups.values():
        assert group.limits == {"bgnbd": "no_dropout", "gamma_gamma": "equal_spend"}


def test_a_limit_model_file_loads_and_a_bad_limit_is_refused(one_rate_shop, tmp_path):
    model = _quiet_fit(one_rate_shop)
    path = model.save(tmp_path / "model.json")
    doc = json.loads(path.read_text())
    assert doc["bgnbd"] == {"limit": "poisson_no_dropout", "rate": model.purchase["rate"]}
    again = ClvModel.load(path)
    assert again == model
    doc["bgnbd"]["limit"] = "no_such_limit"
    path.write_text(json.dumps(doc))
    with pytest.raises(ModelError, match="limit 'no_such_limit'"):
        ClvModel.load(path)


def _fit_with(ll: float) -> Fit:
    return Fit(np.ones(1), np.ones(1), ll, 0.0, "", np.zeros(1, dtype=bool), np.eye(1))


def _fails() -> Fit:
    raise ModelError("X did not converge")


def test_limits_are_tested_in_order_against_the_best_fit():
    """The first limit within LR_CUT/2 of the best log-likelihood is kept; each statistic is
    recorded; a failed limit is recorded with its error."""
    chosen = choose_limit(
        lambda: _fit_with(-100.0),
        [
            ("simplest", lambda: _fit_with(-100.0 - LR_CUT / 2 - 0.01)),
            ("broken", _fails),
            ("simpler", lambda: _fit_with(-100.0 - LR_CUT / 2 + 0.01)),
        ],
    )
    assert chosen.limit == "simpler" and chosen.fit.log_likelihood == -100.0 - LR_CUT / 2 + 0.01
    assert [t.get("kept") for t in chosen.tests] == [None, False, False, True]
    assert chosen.tests[1]["statistic"] == pytest.approx(LR_CUT + 0.02)
    assert chosen.tests[2]["error"] == "X did not converge"


def test_when_the_full_fit_fails_the_other_models_stand_in():
    """A limit is kept only if the stand-ins (the other purchase models) do not reject it;
    otherwise the full model's error is raised, not a limit the data reject."""
    limits = [("no_dropout", lambda: _fit_with(-110.0))]
    kept = choose_limit(_fails, limits, [("bgnbd", lambda: _fit_with(-109.0))])
    assert kept.limit == "no_dropout"
    assert kept.tests[:2] == [
        {"model": "full", "error": "X did not converge"},
        {"stand_in": "bgnbd", "log_likelihood": -109.0},
    ]
    with pytest.raises(ModelError, match="X did not converge"):
        choose_limit(_fails, limits, [("bgnbd", lambda: _fit_with(-100.0))])
    with pytest.raises(ModelError, match="X did not converge"):
        choose_limit(_fails, [("no_dropout", _fails)])


ONE_RATE_WITH_DROPOUT = {"r": 1e7, "alpha": 1e7 / 0.15, "a": 1.2, "b": 5.0, "p": 5, "q": 4, "v": 15}
"""Every customer buys 0.15 times a week (r -> infinity) and drops out after each repeat
purchase with p ~ Beta(1.2, 5)."""


def test_one_rate_with_dropout_keeps_bgnbds_one_rate_limit():
    from clv.data.simulate import channel_shop

    transactions, _ = channel_shop(3_000, seed=5, channels={"shop": ONE_RATE_WITH_DROPOUT})
    summary = rfm_summary(transactions, observation_end="2023-12-31", time_unit="W")
    with pytest.warns(UserWarning, match="everyone buys at about one rate"):
        model = fit(summary)
    assert model.limits == {"bgnbd": "poisson"}
    tests = {t.get("limit", "full"): t for t in model.limit_tests["bgnbd"]}
    assert tests["poisson"]["kept"] and tests["no_dropout"]["statistic"] > 100 * LR_CUT
    assert model.purchase["rate"] == pytest.approx(0.15, rel=0.05)
    se = model.standard_errors["bgnbd"]
    for name, truth in (("a", 1.2), ("b", 5.0)):  # within 3 standard errors of the truth
        assert abs(model.purchase[name] - truth) < 3 * se[name]
    assert "no_dropout_seen" not in {d["code"] for d in model.diagnostics}
    assert 0 < model.p_alive(summary).min() < 0.5  # some customers are gone


@pytest.mark.parametrize("shift", [0, 1])
def test_the_one_rate_formulas_are_bgnbds_and_mbgnbds_as_r_grows(cdnow_calibration, shift):
    """Independent check: each formula of the limit against BG/NBD's (MBG/NBD's) own at a
    large r with r/alpha = rate; the gap shrinks as 1/r."""
    from clv.models import bgnbd, mbgnbd

    full = bgnbd if shift == 0 else mbgnbd
    x, tx, T = (
        cdnow_calibration[c].cast(pl.Float64).to_numpy()[:500]
        for c in ("frequency", "recency", "T")
    )
    limit = {"rate": 0.15, "a": 1.2, "b": 5.0}

    def near(r: float) -> dict[str, float]:
        return {"r": r, "alpha": r / 0.15, "a": 1.2, "b": 5.0}

    big = near(1e8)
    alive = bgnbd.poisson_dropout_p_alive(limit, x, tx, T, shift=shift)
    assert alive == pytest.approx(full.p_alive(big, x, tx, T), abs=1e-6)
    at_least = bgnbd.poisson_dropout_probability_at_least(limit, 20.0, 3, x, tx, T, shift=shift)
    assert at_least == pytest.approx(full.probability_at_least(big, 20.0, 3, x, tx, T), abs=1e-6)
    counts = bgnbd.poisson_dropout_probability_of_purchases(limit, 20.0, np.arange(8), shift=shift)
    assert counts == pytest.approx(full.probability_of_purchases(big, 20.0, np.arange(8)), abs=1e-6)
    # 2F1 of eq. (10) cannot be evaluated at r = 1e8: the gap at r = 1e3 and 1e4
    expected = bgnbd.poisson_dropout_numerator(limit, 20.0, x, T, shift=shift) / (
        bgnbd.poisson_dropout_denominator(limit, x, tx, T, shift=shift)
    )
    gaps = [
        np.abs(expected - full.conditional_expected_purchases(near(r), 20.0, x, tx, T)).max()
        for r in (1e3, 1e4)
    ]
    assert gaps[1] < 0.01 and gaps[1] < gaps[0] / 8
    new = [
        abs(
            bgnbd.poisson_dropout_expected_new(limit, 20.0, shift=shift)
            - full.expected_purchases_new_customer(near(r), 20.0)
        )
        for r in (1e3, 1e4)
    ]
    assert new[1] < 1e-4 and new[1] < new[0] / 8
    # the likelihood too
    rows = (x, tx, T, np.ones_like(x))
    ours = bgnbd._poisson_dropout_nll(
        np.log([0.15, 1.2, 5.0]), PairRows.of(*rows, repeat_only=shift == 0), 0.0, shift
    )[0]
    nll = (
        bgnbd.bgnbd_negative_log_likelihood if shift == 0 else mbgnbd.mbgnbd_negative_log_likelihood
    )
    assert ours == pytest.approx(nll(np.log([1e7, 1e7 / 0.15, 1.2, 5.0]), *rows)[0], abs=1e-5)


# ---------------------------------------------------------------------------- Pareto/NBD's
# one-rate limit: everyone buys at one rate, each lives an exponential time of rate
# mu ~ Gamma(s, beta)

PARETO_ONE_RATE = {"rate": 0.15, "s": 1.5, "beta": 30.0}
"""Purchases per week, and the gamma of death rates (beta in weeks): mean lifetime
beta/(s-1) = 60 weeks, over a two-year shop."""


def _pareto_one_rate_summary(n: int, seed: int) -> pl.DataFrame:
    """A shop with Pareto/NBD's story at one purchase rate (the truth above): customers
    acquired over 730 days, buying at ``rate`` a week until an exponential death of rate
    ``mu ~ Gamma(s, beta)``; the summary in weeks at the last day."""
    rng = np.random.default_rng(seed)
    start, span = dt.date(2022, 1, 1), 730
    first = rng.integers(0, span, n)
    mu = rng.gamma(PARETO_ONE_RATE["s"], 1 / PARETO_ONE_RATE["beta"], n)  # per week
    window = np.minimum(7 * rng.exponential(1 / mu), span - 1 - first)  # days alive, observed
    repeat = rng.poisson(PARETO_ONE_RATE["rate"] / 7 * window)
    who = np.concatenate([np.arange(n), np.repeat(np.arange(n), repeat)])
    day = np.concatenate(
        [first, first[who[n:]] + rng.uniform(0, 1, who.size - n) * window[who[n:]]]
    )
    transactions = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in who],
            "date": [start + dt.timedelta(days=int(d)) for d in day],
            "amount": rng.gamma(5.0, 4.0, who.size),
        }
    )
    return rfm_summary(
        transactions, observation_end=start + dt.timedelta(days=span - 1), time_unit="W"
    )


@pytest.mark.parametrize(("n", "seed", "full"), [(1200, 7, "converged"), (800, 8, "failed")])
def test_a_one_rate_pareto_shop_keeps_pareto_nbds_one_rate_limit(n, seed, full):
    """Simulated with the truth known: the free Pareto/NBD fit runs towards r, alpha ->
    infinity (on one shop it stops at a large finite r, on the other it fails there and the
    other purchase models stand in); either way the one-rate limit is kept and recovers the
    rate (within 5 %) and s, beta (within 3 standard errors)."""
    summary = _pareto_one_rate_summary(n, seed)
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    chosen = fit_purchase(purchase_model("pareto_nbd"), (x, tx, T, np.ones_like(x)), 0.0)
    assert chosen.limit == "poisson"
    tests = {t.get("limit", t.get("stand_in", "full")): t for t in chosen.tests}
    if full == "converged":
        assert tests["full"]["log_likelihood"] - tests["poisson"]["log_likelihood"] < LR_CUT / 2
    else:
        assert "did not converge" in tests["full"]["error"]
        assert {"bgnbd", "mbgnbd"} <= tests.keys()
    assert tests["poisson"]["kept"] and tests["poisson"]["statistic"] <= LR_CUT
    assert tests["no_dropout"]["statistic"] > 100 * LR_CUT  # customers do leave
    fitted = dict(zip(("rate", "s", "beta"), chosen.fit.params, strict=True))
    se = dict(zip(("rate", "s", "beta"), chosen.fit.standard_errors, strict=True))
    assert fitted["rate"] == pytest.approx(PARETO_ONE_RATE["rate"], rel=0.05)
    for name in ("s", "beta"):
        assert abs(fitted[name] - PARETO_ONE_RATE[name]) < 3 * se[name], name


def test_the_pareto_one_rate_model_scores_saves_and_loads(tmp_path):
    summary = _pareto_one_rate_summary(1200, 7)
    with pytest.warns(UserWarning, match="everyone buys at about one rate"):
        model = fit(summary, purchase_model="pareto_nbd")
    assert model.limits["pareto_nbd"] == "poisson"
    assert set(model.purchase) == {"rate", "s", "beta"}
    assert "no_dropout_seen" not in {d["code"] for d in model.diagnostics}
    alive = model.p_alive(summary)
    assert 0 < alive.min() < 0.2 and alive.max() <= 1  # some customers are gone
    scores = model.score(summary, horizon=12)
    assert scores["clv"].is_finite().all() and (scores["clv"] > 0).all()
    doc = json.loads(model.save(tmp_path / "model.json").read_text())
    assert doc["pareto_nbd"] == {"limit": "poisson", **model.purchase}
    again = ClvModel.load(tmp_path / "model.json")
    assert again.score(summary, horizon=12).equals(scores)


def test_the_pareto_one_rate_likelihood_is_the_mixture_over_the_death_rate():
    """Independent check: each customer's likelihood is the individual-level likelihood of
    note 009 (known rate and mu) integrated over mu ~ Gamma(s, beta) by SciPy's adaptive
    quadrature; the gradient is that of the likelihood (central differences)."""
    from scipy import integrate

    from clv.models import pareto_nbd

    rng = np.random.default_rng(0)
    T = rng.uniform(5, 80, 200)
    x = rng.poisson(3, 200).astype(float)
    tx = np.where(x > 0, T * rng.uniform(0, 1, 200), 0.0)
    rows = pareto_nbd._OneRateRows.of(x, tx, T, np.ones_like(x))
    rate, s, beta = 0.15, 0.8, 12.0
    theta = np.log([rate, s, beta])
    value, grad = pareto_nbd._one_rate_nll(theta, rows, 0.0)

    def one(xi: float, txi: float, Ti: float) -> float:
        def f(mu: float) -> float:
            alive, dead = rate * np.exp(-(rate + mu) * Ti), mu * np.exp(-(rate + mu) * txi)
            return rate**xi / (rate + mu) * (alive + dead) * stats.gamma.pdf(mu, s, scale=1 / beta)

        return np.log(integrate.quad(f, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)[0])

    reference = sum(one(*row) for row in zip(x, tx, T, strict=True))
    assert -value * x.size == pytest.approx(reference, rel=1e-12)
    steps = np.eye(3) * 1e-6
    numeric = [
        (
            pareto_nbd._one_rate_nll(theta + h, rows, 0.0)[0]
            - pareto_nbd._one_rate_nll(theta - h, rows, 0.0)[0]
        )
        / 2e-6
        for h in steps
    ]
    assert grad == pytest.approx(numeric, abs=1e-7)


@pytest.mark.parametrize(
    ("z", "s"),
    [(1e-6, 0.5), (1e-3, 3.0), (0.05, 0.2), (1.0, 1.0), (30.0, 0.01), (1e3, 50.0), (1e5, 1e3)],
)
def test_the_dropout_share_equals_adaptive_quadrature(z, s):
    """rho = E[X/(X+z)], X ~ Gamma(s, 1), and 1 - rho, each to 1e-12 relative, against
    SciPy's quad of the gamma density in ln X (smooth there), from where it is below e^-40
    of its mass to where it is, split at ln z and ln s."""
    from scipy import integrate
    from scipy.special import gammaln as lg

    from clv.models.pareto_nbd import _dropout_share

    lo, hi = min(-40 / s, np.log(s) - 10), np.log(s + 40 * np.sqrt(s) + 60)
    points = sorted({float(np.clip(np.log(z), lo, hi)), float(np.log(s))})

    def expectation(f) -> float:
        def integrand(v: float) -> float:
            return f(np.exp(v)) * float(np.exp(s * v - np.exp(v) - lg(s)))

        edges = [lo, *points, hi]
        return sum(
            integrate.quad(integrand, a, b, epsabs=0, epsrel=1e-13, limit=800)[0]
            for a, b in itertools.pairwise(edges)
        )

    log_rho, log_rest = _dropout_share(1.0, s, z, np.zeros(1))  # z = rate (beta + 0)
    assert np.exp(log_rho[0]) == pytest.approx(expectation(lambda u: u / (u + z)), rel=1e-12)
    assert np.exp(log_rest[0]) == pytest.approx(expectation(lambda u: z / (u + z)), rel=1e-12)


def test_the_pareto_one_rate_formulas_are_pareto_nbds_as_r_grows(cdnow_calibration):
    """Each formula of the limit against Pareto/NBD's own at r = 100 and 300 with r/alpha =
    rate (SciPy's 2F1 fails beyond ~1e3): the gap falls as 1/r, and the limit is within
    O(1/r^2) of the Richardson extrapolation of the two."""
    from clv.models import pareto_nbd

    x, tx, T = (
        cdnow_calibration[c].cast(pl.Float64).to_numpy()[:400]
        for c in ("frequency", "recency", "T")
    )
    limit = {"rate": 0.1, "s": 0.8, "beta": 12.0}

    def near(r: float) -> dict[str, float]:
        return {"r": r, "alpha": r / 0.1, "s": 0.8, "beta": 12.0}

    rows = (x, tx, T, np.ones_like(x))
    pairs = [
        (
            pareto_nbd._one_rate_nll(
                np.log(list(limit.values())), pareto_nbd._OneRateRows.of(*rows), 0.0
            )[0],
            lambda p: pareto_nbd.pareto_nbd_negative_log_likelihood(
                np.log(list(p.values())), *rows
            )[0],
        ),
        (pareto_nbd.one_rate_p_alive(limit, x, tx, T), lambda p: pareto_nbd.p_alive(p, x, tx, T)),
        (
            pareto_nbd.one_rate_numerator(limit, 20.0, x, T)
            / pareto_nbd.one_rate_denominator(limit, x, tx, T),
            lambda p: pareto_nbd.conditional_expected_purchases(p, 20.0, x, tx, T),
        ),
        (
            pareto_nbd.one_rate_probability_at_least(limit, 20.0, 3, x, tx, T),
            lambda p: pareto_nbd.probability_at_least(p, 20.0, 3, x, tx, T),
        ),
        (
            pareto_nbd.one_rate_probability_of_purchases(limit, 20.0, np.arange(8)),
            lambda p: pareto_nbd.probability_of_purchases(p, 20.0, np.arange(8)),
        ),
    ]
    for ours, theirs in pairs:
        at_100, at_300 = theirs(near(100.0)), theirs(near(300.0))
        gaps = [np.max(np.abs(ours - v)) / np.max(np.abs(ours)) for v in (at_100, at_300)]
        assert gaps[1] < gaps[0] / 2.5, gaps  # 1/r: a third
        # Richardson: (3 f(300) - f(100)) / 2 removes the 1/r term, leaving O(1/r^2)
        extrapolated = np.max(np.abs(ours - (3 * at_300 - at_100) / 2)) / np.max(np.abs(ours))
        assert extrapolated < gaps[1] / 4, (gaps, extrapolated)
    # a new customer's expected purchases depend on the rates' mean r/alpha only
    new = pareto_nbd.expected_purchases_new_customer(near(100.0), np.array([5.0, 20.0]))
    assert pareto_nbd.one_rate_expected_new(limit, np.array([5.0, 20.0])) == pytest.approx(new)
