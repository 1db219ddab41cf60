"""purchase_model="auto": the three models compared on the CDNOW holdout."""

import numpy as np
import polars as pl
import pytest

from clv.data.rfm import calibration_holdout
from clv.data.simulate import SIMULATED_CHANNELS, channel_shop
from clv.errors import DataError
from clv.models.fitting import fit
from clv.models.selection import _upper_bound, choose_purchase_model


def test_choose_purchase_model_on_cdnow(cdnow_calibration):
    name, table = choose_purchase_model(cdnow_calibration)
    assert table["purchase_model"].to_list() == ["bgnbd", "mbgnbd", "pareto_nbd"]
    assert table["error"].null_count() == 3
    # Pareto/NBD's holdout error is lower than BG/NBD's by more than the bootstrap's noise
    best = table.sort("holdout_mae").row(0, named=True)
    assert best["purchase_model"] == name == "pareto_nbd" and best["chosen"]
    assert best["mae_difference"] < best["difference_upper_95"] < 0
    assert table["chosen"].sum() == 1
    # log-likelihoods as published (FHL 2005a; Fader & Hardie note 009)
    ll = dict(zip(table["purchase_model"], table["log_likelihood"], strict=True))
    assert ll["bgnbd"] == pytest.approx(-9582.4, abs=0.1)
    assert ll["pareto_nbd"] == pytest.approx(-9595.0, abs=0.05)
    # the MAE by hand for the chosen model
    model = fit(cdnow_calibration, purchase_model=name)
    t = float(cdnow_calibration["duration_holdout"][0])
    predicted = model.expected_purchases(cdnow_calibration, t=t)
    actual = cdnow_calibration["frequency_holdout"].to_numpy()
    assert best["holdout_mae"] == pytest.approx(float(abs(actual - predicted).mean()), rel=1e-9)


def test_auto_fit_records_the_comparison(cdnow_calibration):
    model = fit(cdnow_calibration, purchase_model="auto", holdout=cdnow_calibration)
    chosen = [r for r in model.comparison if r["chosen"]]
    assert [r["purchase_model"] for r in chosen] == [model.purchase_model]
    assert model.to_dict()["comparison"] == model.comparison


def test_auto_without_holdout_is_bgnbd_and_says_so(cdnow_calibration):
    with pytest.warns(UserWarning, match="no holdout period was possible"):
        model = fit(cdnow_calibration, purchase_model="auto")
    assert model.purchase_model == "bgnbd" and model.comparison is None
    assert [d["code"] for d in model.diagnostics] == ["auto_no_holdout"]


@pytest.mark.parametrize("seed", [70, 72, 73])
def test_auto_keeps_bgnbd_on_bgnbd_data_where_another_model_wins_by_noise(seed):
    """Shops simulated from BG/NBD where MBG/NBD's holdout error is lower by 0.2-1 %: within
    the paired bootstrap's noise, so BG/NBD is kept, and the margin is recorded."""
    transactions, _ = channel_shop(
        1_500, seed=seed, channels={"shop": SIMULATED_CHANNELS["paid_social"]}, holdout_days=0
    )
    frame = calibration_holdout(
        transactions, calibration_end="2023-06-30", observation_end="2023-12-31"
    )
    name, table = choose_purchase_model(frame)
    rows = {r["purchase_model"]: r for r in table.to_dicts()}
    assert rows["mbgnbd"]["holdout_mae"] < rows["bgnbd"]["holdout_mae"]  # the noise
    assert name == "bgnbd" and rows["bgnbd"]["chosen"]
    assert rows["mbgnbd"]["mae_difference"] < 0 < rows["mbgnbd"]["difference_upper_95"]


def test_the_bootstrap_bound_is_the_mean_plus_its_noise():
    """The one-sided 95 % bound of a mean over customers: the mean plus 1.645 standard errors
    (the normal limit of the bootstrap), seeded."""
    rng = np.random.default_rng(0)
    difference = rng.normal(-0.01, 1.0, 20_000).round(2)  # ties, as absolute errors have
    bound = _upper_bound(difference)
    normal = difference.mean() + 1.645 * difference.std() / np.sqrt(difference.size)
    assert bound == pytest.approx(normal, abs=0.1 * difference.std() / np.sqrt(difference.size))
    assert bound == _upper_bound(difference)


def test_a_frame_without_holdout_columns_is_refused(cdnow_calibration):
    with pytest.raises(DataError, match="frequency_holdout"):
        choose_purchase_model(cdnow_calibration.select(pl.exclude("frequency_holdout")))


def test_auto_falls_back_to_bgnbd_when_the_calibration_period_cannot_choose(cdnow_calibration):
    # nobody repeats within the calibration period: nothing to choose with, not fatal
    nobody_repeats = cdnow_calibration.with_columns(
        frequency=pl.lit(0), recency=pl.lit(0.0), monetary_value=pl.lit(0.0)
    )
    with pytest.warns(UserWarning, match="no customer made a repeat purchase.*BG/NBD is used"):
        model = fit(cdnow_calibration, purchase_model="auto", holdout=nobody_repeats)
    assert model.purchase_model == "bgnbd" and model.comparison is None
    assert model.bgnbd == fit(cdnow_calibration).bgnbd
    (item,) = [d for d in model.diagnostics if d["code"] == "auto_fallback"]
    assert item["message"].startswith("the purchase models could not be compared")
    assert model.to_dict()["diagnostics"][0] == item  # model.json, Model health, kpis.json


def test_the_holdout_check_refits_only_the_chosen_model(monkeypatch):
    import clv
    from clv.models import selection

    analysis = clv.analyze(purchase_model="auto", calibration_end="1997-09-30")  # CDNOW
    chosen = analysis.model.purchase_model
    assert chosen in ("bgnbd", "mbgnbd", "pareto_nbd") and analysis.model.comparison

    def no_second_choice(*args, **kwargs):
        raise AssertionError("the purchase models were compared twice")

    monkeypatch.setattr(selection, "choose_purchase_model", no_second_choice)
    monkeypatch.setattr("clv.models.fitting.choose_purchase_model", no_second_choice)
    holdout = analysis.holdout
    assert holdout is not None and holdout["error"] is None
    assert holdout["model"].purchase_model == chosen
    assert holdout["calibration_end"] == analysis.period.calibration_end


def test_holdout_errors_per_distinct_row_equal_per_customer(cdnow_calibration):
    """Predictions are made once per distinct (x, t_x, T) row and spread to the customers:
    each model's MAE is bit-identical to predicting every customer."""
    import numpy as np

    from clv.models.bgnbd import distinct_bgnbd_rows
    from clv.models.purchase import PURCHASE_MODELS

    _, table = choose_purchase_model(cdnow_calibration)
    x, tx, T = (
        cdnow_calibration[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T")
    )
    actual = cdnow_calibration["frequency_holdout"].cast(pl.Float64).to_numpy()
    t = float(cdnow_calibration["duration_holdout"][0])
    rows = distinct_bgnbd_rows(x, tx, T, 7.0)
    assert len(rows[0]) < len(x) / 2  # the shortcut is real on CDNOW
    for name, spec in PURCHASE_MODELS.items():
        fitted = spec.fit(*rows, 0.0)
        params = dict(zip(spec.params, map(float, fitted.params), strict=True))
        predicted = spec.numerator(params, t, x, T) / spec.denominator(params, x, tx, T)
        mae = table.filter(pl.col("purchase_model") == name)["holdout_mae"].item()
        assert mae == float(np.mean(np.abs(actual - predicted))), name


def test_auto_compares_the_limits_where_nobody_drops_out(steady_shop):
    """The steady shop: every purchase model keeps a no-dropout limit on the calibration
    period, and all three are compared on the holdout (none fails)."""
    frame = calibration_holdout(
        steady_shop, calibration_end="2025-01-14", observation_end="2025-05-14"
    )
    name, table = choose_purchase_model(frame)
    assert table["error"].null_count() == 3
    assert table["limit"].to_list() == ["poisson_no_dropout"] * 3  # 4 months: one rate will do
    assert name == "bgnbd"  # the same limit: the same predictions, no difference to chase
    assert table["mae_difference"].drop_nulls().to_list() == [0.0, 0.0]


@pytest.mark.parametrize("seed", [70, 73])
def test_the_choice_on_distinct_rows_with_their_counts_is_the_customers_choice(
    cdnow_calibration, seed
):
    """An engine that groups the customers elsewhere hands the distinct (x, t_x, T, holdout)
    rows with their counts: the same model, fits and bootstrap bound (the same resampling
    of the same differences), the means to their sums' last bits. On CDNOW (Pareto/NBD
    chosen) and on a BG/NBD shop where BG/NBD is kept."""
    transactions, _ = channel_shop(
        1_500, seed=seed, channels={"shop": SIMULATED_CHANNELS["paid_social"]}, holdout_days=0
    )
    shop = calibration_holdout(
        transactions, calibration_end="2023-06-30", observation_end="2023-12-31"
    )
    for frame in (cdnow_calibration, shop):
        keys = ["frequency", "recency", "T", "time_unit", "frequency_holdout", "duration_holdout"]
        rows = frame.group_by(keys).agg(customers=pl.len()).sample(fraction=1.0, shuffle=True)
        assert rows.height < frame.height  # rows of several customers
        name, table = choose_purchase_model(frame)
        got_name, got = choose_purchase_model(rows, weights="customers")
        assert got_name == name
        assert got["difference_upper_95"].to_list() == table["difference_upper_95"].to_list()
        assert got["log_likelihood"].to_list() == table["log_likelihood"].to_list()
        for column in ("holdout_mae", "mae_difference"):
            want = table[column].fill_null(np.nan).to_numpy()
            np.testing.assert_allclose(got[column].fill_null(np.nan).to_numpy(), want, rtol=1e-12)


def test_the_bootstrap_bound_of_counted_values_is_that_of_the_values():
    rng = np.random.default_rng(1)
    difference = rng.normal(-0.01, 1.0, 5_000).round(1)
    values, counts = np.unique(difference, return_counts=True)
    order = rng.permutation(values.size)  # any order, values repeated across rows
    halves = np.concatenate([counts[order] // 2, counts[order] - counts[order] // 2])
    repeated = np.concatenate([values[order], values[order]])
    kept = halves > 0
    bound = _upper_bound(repeated[kept], weights=halves[kept].astype(float))
    assert bound == _upper_bound(difference)
