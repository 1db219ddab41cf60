"""Holdout checks: the published CDNOW table (FHL 2005a, Figure 4) and tracking curves."""

import numpy as np
import polars as pl
import pytest

from clv.analysis.validation import (
    holdout_by_frequency,
    holdout_metrics,
    holdout_predictions,
    tracking,
)
from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
from clv.errors import DataError, UsageError
from clv.models.bgnbd import expected_purchases_new_customer

# FHL (2005a) Figure 4 / the BTYD package: mean holdout purchases (39 weeks) by calibration
# frequency 0..7+, actual and BG/NBD conditional expectations.
ACTUAL = [0.237, 0.697, 1.393, 1.560, 2.532, 2.947, 3.862, 6.359]
EXPECTED = [0.225, 0.523, 1.044, 1.520, 2.164, 2.654, 3.504, 6.157]


@pytest.fixture(scope="module")
def predictions(cdnow_calibration, cdnow_model) -> pl.DataFrame:
    return holdout_predictions(cdnow_calibration, cdnow_model)


def test_holdout_duration_is_39_weeks(cdnow_calibration):
    assert cdnow_calibration["duration_holdout"][0] == 39.0


def test_published_holdout_table(predictions):
    table = holdout_by_frequency(predictions)
    assert table["frequency_bin"].to_list() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    np.testing.assert_allclose(table["actual_purchases"].to_numpy(), ACTUAL, atol=0.01)
    np.testing.assert_allclose(table["predicted_purchases"].to_numpy(), EXPECTED, atol=0.01)
    assert table["customers"].sum() == 2357
    assert table["customers"][0] == 1411


def test_predictions_per_customer(cdnow_calibration, cdnow_model, predictions):
    assert predictions.columns == [
        "customer_id", "frequency", "actual_purchases", "predicted_purchases",
        "actual_spend", "predicted_spend",
    ]  # fmt: skip
    first = predictions.row(0, named=True)
    assert first["customer_id"] == "0001"
    assert first["predicted_purchases"] == pytest.approx(1.226, abs=5e-4)
    direct = cdnow_model.expected_purchases(cdnow_calibration, t=39.0)
    np.testing.assert_allclose(predictions["predicted_purchases"].to_numpy(), direct)
    # actual spend is the holdout total of each customer
    holdout = cdnow().filter(pl.col("date") > pl.date(1997, 9, 30))
    total = holdout.group_by("customer_id").agg(pl.col("amount").sum())
    joined = predictions.join(total, on="customer_id", how="left").fill_null(0.0)
    np.testing.assert_allclose(joined["actual_spend"], joined["amount"], rtol=1e-9, atol=1e-9)


def test_metrics(predictions):
    metrics = holdout_metrics(predictions)
    assert metrics["quantity"].to_list() == ["purchases", "spend"]
    purchases = metrics.row(0, named=True)
    # 1,882 repeat purchases in the holdout (FHL 2005a); BG/NBD expects about 1,653
    assert purchases["actual_total"] == 1882
    assert purchases["predicted_total"] == pytest.approx(1653.4, abs=1.0)
    assert purchases["relative_error"] == pytest.approx(1653.4 / 1882 - 1, abs=1e-3)
    by_hand = (predictions["predicted_purchases"] - predictions["actual_purchases"]).abs().mean()
    assert purchases["mae"] == pytest.approx(by_hand)
    assert metrics["rmse"][0] >= metrics["mae"][0]


def test_holdout_needs_the_holdout_columns(cdnow_calibration, cdnow_model):
    with pytest.raises(DataError, match="calibration_holdout"):
        holdout_predictions(cdnow_calibration.drop("frequency_holdout"), cdnow_model)
    with pytest.raises(UsageError):
        holdout_by_frequency(pl.DataFrame({"frequency": [1]}), max_frequency=0)


def test_tracking_weekly(cdnow_model):
    track = tracking(
        cdnow(),
        cdnow_model,
        calibration_end=CDNOW_CALIBRATION_END,
        observation_end="1998-06-30",
    )
    assert track.columns == [
        "date", "period", "actual", "expected", "actual_cumulative", "expected_cumulative",
    ]  # fmt: skip
    assert str(track["date"][-1]) == "1998-06-30"
    # 2,457 repeat purchases in the calibration period, 4,339 by the end (FHL 2005a)
    at_cal_end = track.filter(pl.col("date") == pl.date(1997, 9, 30))
    assert at_cal_end["actual_cumulative"][0] == 2457
    assert track["actual_cumulative"][-1] == 4339
    assert track["period"].unique().sort().to_list() == ["calibration", "holdout"]
    # the model tracks the calibration total within 5 % and the period sums add up
    assert at_cal_end["expected_cumulative"][0] == pytest.approx(2457, rel=0.05)
    assert track["actual"].sum() == track["actual_cumulative"][-1]
    assert track["expected"].sum() == pytest.approx(track["expected_cumulative"][-1])
    assert (track["expected"] >= 0).all()


def test_tracking_daily_is_a_sum_over_customers(cdnow_model):
    """The convolution equals summing E[X(age)] over customers by hand on a small frame."""
    small = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "date": pl.Series(
                ["2024-01-01", "2024-01-09", "2024-01-03", "2024-01-05", "2024-01-05"]
            ).str.to_date(),
            "amount": [1.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    track = tracking(
        small, cdnow_model, calibration_end="2024-01-06", observation_end="2024-01-12", step="D"
    )
    assert track.height == 12
    ages_days = np.array([11, 9, 7])  # at 2024-01-12
    by_hand = expected_purchases_new_customer(cdnow_model.bgnbd, ages_days / 7.0).sum()
    assert track["expected_cumulative"][-1] == pytest.approx(by_hand, rel=1e-12)
    assert track["actual_cumulative"].to_list()[-1] == 1  # one repeat day: a on the 9th
    assert track.filter(pl.col("period") == "calibration").height == 6


@pytest.mark.slow
def test_model_comparison_on_cdnow(cdnow_calibration, cdnow_model):
    """Published CDNOW fits: BG/NBD LL -9582.4, Pareto/NBD LL -9595.0 with r=0.55,
    alpha=10.58, s=0.61, beta=11.67 (FHL 2005a, section 4)."""
    import json

    from clv.analysis.validation import compare_models

    table = compare_models(cdnow_calibration)
    assert table["model"].to_list() == ["bgnbd", "mbgnbd", "pareto_nbd"]
    rows = {r["model"]: r for r in table.iter_rows(named=True)}
    assert rows["bgnbd"]["log_likelihood"] == pytest.approx(
        cdnow_model.log_likelihood["bgnbd"], rel=1e-9
    )
    assert rows["pareto_nbd"]["log_likelihood"] == pytest.approx(-9595.0, abs=0.1)
    pareto = json.loads(rows["pareto_nbd"]["parameters"])
    for key, value in {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}.items():
        assert pareto[key] == pytest.approx(value, rel=0.01)
    assert rows["bgnbd"]["predicted_total"] == pytest.approx(1653.4, abs=1.0)
    assert (table["actual_total"] == 1882).all()


def test_the_holdout_refits_warnings_say_they_are_the_holdout_checks(steady_shop):
    """The calibration refit warns too (nobody drops out: a boundary fit); its warnings say
    which fit they are about, so they are not taken for the main model's."""
    import warnings

    from clv.analysis.validation import holdout_check

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check = holdout_check(steady_shop, calibration_end="2025-01-01")
    assert check is not None and check["error"] is None
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    assert messages and all(
        m.startswith("holdout check (calibration to 2025-01-01): ") for m in messages
    ), messages
