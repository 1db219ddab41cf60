"""What a data scientist calls on a fitted model in a notebook: predictions from numbers,
simulation, fits on pre-aggregated summaries, and the rich display of models and analyses."""

import warnings

import numpy as np
import polars as pl
import pytest

from clv.data.rfm import rfm_summary
from clv.errors import DataError, ModelError, UsageError
from clv.models.fitting import fit


def test_predictions_from_numbers_are_the_frame_scores(cdnow_model, cdnow_calibration) -> None:
    """The numbers of each customer give the scores of their summary row."""
    s = cdnow_calibration
    x, tx, T, m = (s[c].to_numpy() for c in ("frequency", "recency", "T", "monetary_value"))
    scores = cdnow_model.score(s, horizon=10, horizon_unit="W")
    np.testing.assert_allclose(
        cdnow_model.predict_purchases(10, x, tx, T), scores["expected_purchases"], rtol=1e-12
    )
    np.testing.assert_allclose(cdnow_model.predict_p_alive(x, tx, T), scores["p_alive"], rtol=0)
    np.testing.assert_allclose(
        cdnow_model.predict_order_value(x, m), scores["expected_order_value"], rtol=0
    )
    grid = cdnow_model.predict_purchases(np.array([[1.0], [52.0]]), 2, 30.43, 38.86)
    assert grid.shape == (2, 1) and grid[1, 0] > grid[0, 0]  # broadcast, like numpy


def test_predictions_refuse_what_is_not_a_customer(cdnow_model) -> None:
    with pytest.raises(UsageError, match="recency must be at most T"):
        cdnow_model.predict_p_alive(1, 40.0, 38.0)
    with pytest.raises(UsageError, match="frequency must be finite and >= 0"):
        cdnow_model.predict_p_alive(-1, 1.0, 38.0)
    with pytest.raises(UsageError, match="do not broadcast"):
        cdnow_model.predict_purchases(1, [1, 2], [1.0, 2.0, 3.0], 38.0)
    import dataclasses

    broken = dataclasses.replace(cdnow_model, purchase={**cdnow_model.purchase, "a": 1.0})
    with pytest.raises(ModelError, match="predict_purchases is not finite"):
        broken.predict_purchases(10, 2, 30.0, 38.0)


@pytest.mark.parametrize("purchase_model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_a_simulated_base_refits_to_the_model_it_came_from(cdnow_calibration, purchase_model):
    """Customers drawn from a model, summarized and refitted, give back its expectations."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(cdnow_calibration, purchase_model=purchase_model)
        tx = model.simulate(30_000, 52, seed=5)
        again = fit(rfm_summary(tx, observation_end="2020-12-29", time_unit="W"),
                    purchase_model=purchase_model)  # fmt: skip
    assert (
        tx.columns == ["customer_id", "date", "amount"] and tx["customer_id"].n_unique() == 30_000
    )
    assert tx.equals(model.simulate(30_000, 52, seed=5))  # seeded
    ages = np.array([13.0, 52.0, 104.0])
    np.testing.assert_allclose(
        again.expected_purchases_new_customer(ages),
        model.expected_purchases_new_customer(ages),
        rtol=0.05,
    )
    mean = model.gamma_gamma["p"] * model.gamma_gamma["v"] / (model.gamma_gamma["q"] - 1)
    assert again.predict_order_value(0, 0.0) == pytest.approx(mean, rel=0.05)


def test_simulate_checks_its_arguments(cdnow_model) -> None:
    with pytest.raises(UsageError, match="n_customers"):
        cdnow_model.simulate(0, 10)
    with pytest.raises(UsageError, match="periods"):
        cdnow_model.simulate(10, -1)


def test_a_model_at_a_spend_limit_simulates_and_predicts(cdnow_model) -> None:
    """At the steady-spend limit every order of a customer is worth their own value, inverse
    gamma (q, theta) across customers: the draws show it, and a refit finds that limit."""
    import dataclasses

    steady = dataclasses.replace(
        cdnow_model, gamma_gamma={"q": 3.0, "theta": 60.0}, limits={"gamma_gamma": "steady_spend"}
    )
    tx = steady.simulate(20_000, 104, seed=3)
    per = tx.group_by("customer_id").agg(
        spread=pl.col("amount").std(), value=pl.col("amount").first()
    )
    assert per["spread"].drop_nulls().max() < 1e-9  # one value per customer
    assert per["value"].mean() == pytest.approx(60.0 / 2.0, rel=0.05)  # theta / (q - 1)
    assert steady.predict_order_value(0, 0.0) == pytest.approx(30.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = fit(rfm_summary(tx, observation_end="2021-12-28", time_unit="W"))
    assert again.limits.get("gamma_gamma") == "steady_spend"
    one_rate = dataclasses.replace(
        cdnow_model,
        purchase={"rate": 0.05, "a": 0.8, "b": 2.4},
        limits={"bgnbd": "poisson"},
        standard_errors={},
    )
    with pytest.raises(ModelError, match="poisson limit"):
        one_rate.simulate(10, 10)


def test_a_pre_aggregated_summary_fits_as_the_customers_it_stands_for(cdnow_calibration):
    s = cdnow_calibration
    keys = ["frequency", "recency", "T", "monetary_value", "first_purchase", "observation_end"]
    aggregated = s.group_by(keys[:4]).agg(
        customers=pl.len(), **{c: pl.col(c).first() for c in (*keys[4:], "time_unit")}
    )
    assert aggregated.height < s.height / 2
    one, weighted = fit(s), fit(aggregated, weights="customers")
    assert weighted.n_customers == one.n_customers and weighted.data_fingerprint
    for name in ("purchase", "gamma_gamma"):
        ours, theirs = getattr(weighted, name), getattr(one, name)
        assert ours == pytest.approx(theirs, rel=1e-9)
    with pytest.raises(DataError, match="whole numbers of customers"):
        fit(aggregated.with_columns(customers=pl.lit(0.5)), weights="customers")
    with pytest.raises(DataError, match="no weights column"):
        fit(aggregated, weights="n")


def test_a_model_shows_itself_as_html(cdnow_model) -> None:
    page = cdnow_model._repr_html_()
    assert "BG/NBD + Gamma-Gamma" in page and f"{cdnow_model.n_customers:,} customers" in page
    assert "weeks" in page and "se(coef)" in page and "lower 95% bound" in page
    assert f"{cdnow_model.purchase['r']:.4g}" in page
    assert "At a limit: none" in page


def test_a_grouped_model_shows_its_groups_and_the_pooled_one(shop) -> None:
    from clv.data.groups import with_customer_group

    tx, _ = shop
    summary = with_customer_group(rfm_summary(tx, time_unit="W"), tx, by="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        grouped = fit(summary, by="channel")
    page = grouped._repr_html_()
    assert "GroupedClvModel by channel" in page and "Pooled model" in page
    for name in grouped.groups:
        assert f"<td>{name}</td>" in page
    assert page.count("ClvModel: BG/NBD") == 1


def test_an_analysis_shows_its_period_money_model_and_tables_without_computing() -> None:
    import clv

    analysis = clv.analyze(currency="USD", margin=0.3)
    page = analysis._repr_html_()
    assert "1997-01-01 to 1998-06-30" in page and "weeks" in page
    assert "margin at a margin of 30.0% (USD)" in page and "12 months" in page
    assert "bgnbd + Gamma-Gamma, fitted on first use" in page
    assert "<code>scores</code>" in page and "(computed)" not in page
    assert "model" not in vars(analysis)  # showing it fitted nothing
    analysis.scores  # noqa: B018
    assert "<code>scores</code> (computed)" in analysis._repr_html_()
    assert "BG/NBD + Gamma-Gamma on 2,357 customers" in analysis._repr_html_()


def test_the_horizon_in_a_models_unit_is_the_scores_horizon(cdnow_model, cdnow_calibration):
    """12 months in weeks: the expected purchases over it are the scores' over 12 months."""
    from clv.analysis.money import Money

    money = Money("revenue", 1.0, False, "", 0.1, horizon=12, horizon_unit="M")
    weeks = money.horizon_in("W")
    assert weeks == pytest.approx(12 * 365.25 / 12 / 7, rel=1e-12)
    row = cdnow_calibration.row(0, named=True)
    scores = cdnow_model.score(cdnow_calibration.head(1), horizon=12, horizon_unit="M")
    expected = cdnow_model.predict_purchases(weeks, row["frequency"], row["recency"], row["T"])
    assert expected == pytest.approx(scores["expected_purchases"][0], rel=1e-12)
