"""clv.models.prediction: each customer's range of realised value over the horizon."""

import datetime as dt
import warnings

import numpy as np
import polars as pl
import pytest

from clv.data.rfm import rfm_summary
from clv.data.simulate import SIMULATED_CHANNELS, channel_shop
from clv.errors import UsageError
from clv.models import bgnbd
from clv.models.cashflows import cash_flow_grid
from clv.models.fitting import fit
from clv.models.prediction import simulate_future

END = dt.date(2023, 12, 31)


def _arrays(summary: pl.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(
        summary[c].cast(pl.Float64).to_numpy()
        for c in ("frequency", "recency", "T", "monetary_value")
    )


def test_simulated_purchases_follow_bgnbds_exact_distribution(cdnow_model, cdnow_calibration):
    """The draws' P(X(T, T+39) = n) against FHL (2005a)'s closed form, for customers from
    one-time buyers to frequent ones."""
    picked = cdnow_calibration.sort("frequency").gather_every(300)
    x, tx, T, m = _arrays(picked)
    grid = cash_flow_grid(horizon=39, horizon_unit="W", model_unit="W")
    counts, _ = simulate_future(cdnow_model, x, tx, T, m, grid=grid, draws=20_000, seed=1)
    for n in range(6):
        exact = bgnbd.conditional_probability_of_purchases(cdnow_model.bgnbd, 39.0, n, x, tx, T)
        drawn = (counts == n).mean(axis=1)
        assert np.abs(drawn - exact).max() < 4 * np.sqrt(0.25 / 20_000), n


@pytest.mark.parametrize("purchase_model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_the_draws_mean_is_the_clv(cdnow_calibration, purchase_model):
    """Orders discounted at the end of their month, as score discounts: the mean of each
    customer's draws is their CLV (within the Monte Carlo error)."""
    model = fit(cdnow_calibration, purchase_model=purchase_model)
    summary = cdnow_calibration.sort("frequency").gather_every(250)
    scores = model.score(summary, horizon=12)
    grid = cash_flow_grid(horizon=12, horizon_unit="M", model_unit="W")
    _, value = simulate_future(model, *_arrays(summary), grid=grid, draws=20_000, seed=2)
    error = value.std(axis=1) / np.sqrt(20_000)
    assert np.all(np.abs(value.mean(axis=1) - scores["clv"].to_numpy()) < 5 * error + 1e-9)


@pytest.mark.parametrize("purchase_model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_90_percent_prediction_intervals_hold_the_actual_spend(purchase_model):
    """Shops simulated from BG/NBD and Gamma-Gamma with a known next year: the 90 % ranges
    hold 85-97 % of the customers' actual spend over the next 52 weeks."""
    covered = []
    for seed in (40, 41):
        transactions, _ = channel_shop(
            2_000, seed=seed, channels={"shop": SIMULATED_CHANNELS["search"]}
        )
        summary = rfm_summary(
            transactions.filter(pl.col("date") <= END), observation_end=END, time_unit="W"
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = fit(summary, purchase_model=purchase_model)
        scores = model.score(
            summary, horizon=52, horizon_unit="W", discount_rate_annual=0.0, prediction_interval=0.9
        )
        future = transactions.filter(
            (pl.col("date") > END) & (pl.col("date") <= END + dt.timedelta(days=364))
        )
        spend = future.group_by("customer_id").agg(actual=pl.col("amount").sum())
        joined = scores.join(spend, on="customer_id", how="left").with_columns(
            pl.col("actual").fill_null(0.0)
        )
        inside = (joined["clv_pred_low"] <= joined["actual"]) & (
            joined["actual"] <= joined["clv_pred_high"]
        )
        covered.append(float(inside.mean()))
    assert all(0.85 <= c <= 0.97 for c in covered), covered


def test_prediction_columns_are_seeded_and_wider_than_the_parameter_interval(
    cdnow_model, cdnow_calibration
):
    summary = cdnow_calibration.head(400)
    one = cdnow_model.score(summary, horizon=12, interval=0.9, prediction_interval=0.9, seed=3)
    again = cdnow_model.score(summary, horizon=12, interval=0.9, prediction_interval=0.9, seed=3)
    assert one.equals(again)
    assert (one["clv_pred_low"] <= one["clv_pred_high"]).all()
    assert (one["clv_pred_low"] >= 0).all()
    # the customer's own randomness dwarfs the parameters' (about +-4 % around CLV)
    repeat = one.filter(pl.col("frequency") > 0)
    own = (repeat["clv_pred_high"] - repeat["clv_pred_low"]).median()
    parameters = (repeat["clv_high"] - repeat["clv_low"]).median()
    assert own > 5 * parameters
    plain = cdnow_model.score(summary, horizon=12)
    assert one.select(plain.columns).equals(plain)
    with pytest.raises(UsageError, match="prediction_interval must be between 0 and 1"):
        cdnow_model.score(summary, horizon=12, prediction_interval=90)


def test_a_limit_model_has_prediction_intervals(steady_shop):
    """At the no-dropout and equal-spend limits everyone is alive and spends alike: the
    range comes from the Poisson-gamma count and the order values only."""
    summary = rfm_summary(steady_shop, observation_end="2025-05-14", time_unit="W")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(summary)
    assert model.limits == {"bgnbd": "no_dropout", "gamma_gamma": "equal_spend"}
    scores = model.score(summary, horizon=12, discount_rate_annual=0.0, prediction_interval=0.9)
    assert (scores["clv_pred_low"] > 0).all()  # every customer buys again within a year
    assert (scores["clv_pred_low"] < scores["clv"]).all()
    assert (scores["clv"] < scores["clv_pred_high"]).all()


def test_the_cli_and_analyze_add_the_prediction_range(steady_shop, tmp_path):
    from clv.analysis.pipeline import analyze
    from clv.cli import main

    data = tmp_path / "steady.csv"
    steady_shop.write_csv(data)
    out = tmp_path / "scores.csv"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        code = main(["score", str(data), "--prediction-interval", "0.8", "--out", str(out)])
        analysis = analyze(data, prediction_interval=0.8)
    assert code == 0
    written = pl.read_csv(out)
    scores = analysis.scores
    assert {"clv_pred_low", "clv_pred_high"} <= set(written.columns)
    assert written["clv_pred_high"].to_list() == pytest.approx(scores["clv_pred_high"].to_list())
    assert (scores["clv_pred_low"] < scores["clv_pred_high"]).all()


def test_segments_and_the_at_risk_list_carry_the_range():
    from clv.analysis.pipeline import analyze

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = analyze(dataset="cdnow", prediction_interval=0.9)
    for table in (analysis.segments, analysis.at_risk):
        assert {"clv_pred_low", "clv_pred_high"} <= set(table.columns)
        assert (table["clv_pred_low"] <= table["clv_pred_high"]).all()


ONE_RATE = {
    "bgnbd": {"rate": 0.05, "a": 1.2, "b": 5.0},
    "mbgnbd": {"rate": 0.05, "a": 1.2, "b": 5.0},
    "pareto_nbd": {"rate": 0.05, "s": 0.8, "beta": 12.0},
}


@pytest.mark.parametrize("purchase_model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_draws_at_the_one_rate_limit_follow_its_formulas(cdnow_calibration, purchase_model):
    """The one-rate limit (a known rate, dropout kept): the draws' P(Y(39) >= k) against the
    limit's formulas (closed form; Pareto/NBD's by quadrature over the lifetime)."""
    import dataclasses

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        base = fit(cdnow_calibration, purchase_model=purchase_model)
    model = dataclasses.replace(
        base,
        purchase=ONE_RATE[purchase_model],
        limits={purchase_model: "poisson"},
        covariance_log={},
    )
    picked = cdnow_calibration.sort("frequency").gather_every(300)
    x, tx, T, m = _arrays(picked)
    grid = cash_flow_grid(horizon=39, horizon_unit="W", model_unit="W")
    counts, _ = simulate_future(model, x, tx, T, m, grid=grid, draws=20_000, seed=4)
    for k in range(1, 5):
        exact = model.spec.probability_at_least(model.purchase, 39.0, k, x, tx, T)
        assert np.abs((counts >= k).mean(axis=1) - exact).max() < 4 * np.sqrt(0.25 / 20_000), k


def test_the_ends_barely_move_with_the_seed_nor_with_who_is_scored(cdnow_model):
    """CDNOW's 2,357 customers share 609 (frequency, age) keys, 8,000 draws each: the high
    ends move by a median 3 % between seeds (9 % with 500 draws per customer); scoring the
    rows in reverse, or a few of them, gives each customer the same range (each key seeds
    its own draws, as many for every key)."""
    from clv.data.datasets import cdnow

    summary = rfm_summary(cdnow(), time_unit="W")
    one, two = (
        cdnow_model.score(summary, horizon=12, prediction_interval=0.9, seed=seed)
        for seed in (1, 2)
    )
    a, b = one["clv_pred_high"].to_numpy(), two["clv_pred_high"].to_numpy()
    moved = np.abs(a - b)[a > 0] / a[a > 0]
    assert np.median(moved) < 0.04
    backwards = cdnow_model.score(summary.reverse(), horizon=12, prediction_interval=0.9, seed=1)
    assert (
        backwards.reverse()
        .select("clv_pred_low", "clv_pred_high")
        .equals(one.select("clv_pred_low", "clv_pred_high"))
    )
    few = cdnow_model.score(summary[100:400], horizon=12, prediction_interval=0.9, seed=1)
    assert few.select("clv_pred_low", "clv_pred_high").equals(
        one[100:400].select("clv_pred_low", "clv_pred_high")
    )


def test_the_ranges_ends_are_quantiles_of_the_customers_simulated_value(cdnow_model):
    """prediction_bounds inverts each customer's value distribution without simulating who is
    alive (the level (l - 1 + P) / P of the alive draws): its ends are the quantiles of
    simulate_future's values, alive or not, within the Monte Carlo error."""
    from clv.data.datasets import cdnow
    from clv.models.prediction import prediction_bounds

    summary = rfm_summary(cdnow(), time_unit="W").sort("frequency")
    picked = pl.concat([summary.gather_every(200), summary.tail(4)])  # the most frequent too
    x, tx, T, m = _arrays(picked)
    grid = cash_flow_grid(horizon=12, horizon_unit="M", model_unit="W")
    _, value = simulate_future(cdnow_model, x, tx, T, m, grid=grid, draws=40_000, seed=4)
    ends = {}
    for level in (0.9, 0.5):
        low, high = prediction_bounds(
            cdnow_model, x, tx, T, m, grid=grid, level=level, margin=1.0, seed=3
        )
        want = np.quantile(value, [(1 - level) / 2, (1 + level) / 2], axis=1)
        np.testing.assert_allclose(high, want[1], rtol=0.05, atol=0.5)
        np.testing.assert_allclose(low, want[0], rtol=0.05, atol=0.5)
        ends[level] = low, high
    assert np.any(ends[0.9][1] == 0) and np.any(ends[0.5][0] > 0)  # gone; frequent, alive
