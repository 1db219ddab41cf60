"""Honest models: boundary estimates (no standard error, a diagnostic), model health in
model.json and on the CLI, no silent NaN, summary(), and T = 0."""

import dataclasses
import datetime as dt
import json
import warnings

import numpy as np
import polars as pl
import pytest

from clv.cli import main
from clv.data.rfm import rfm_summary
from clv.errors import ModelError
from clv.models import bgnbd
from clv.models.fitting import fit
from clv.models.model import ClvModel


@pytest.fixture(scope="module")
def steady(steady_shop):
    tr = steady_shop
    return tr, rfm_summary(tr, observation_end="2025-05-14", time_unit="W")


@pytest.mark.parametrize("purchase_model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_no_dropout_is_a_limit_fit_not_an_error(steady, purchase_model):
    """Nobody drops out: each purchase model keeps its no-dropout limit (the NBD), whose
    parameters all have standard errors; P(alive) is exactly 1."""
    _, summary = steady
    with pytest.warns(UserWarning, match="nobody appears to have stopped buying"):
        model = fit(summary, purchase_model=purchase_model)
    assert model.limits[purchase_model] == "no_dropout"
    assert set(model.purchase) == {"r", "alpha"}
    assert model.at_boundary[purchase_model] == []
    se = model.standard_errors[purchase_model]
    assert all(0 < se[k] < model.purchase[k] for k in ("r", "alpha"))
    tests = {t.get("limit", "full"): t for t in model.limit_tests[purchase_model]}
    assert tests["no_dropout"]["kept"] and tests["no_dropout"]["statistic"] <= 6.63
    assert tests["poisson_no_dropout"]["statistic"] > 6.63  # the gaps differ between customers
    codes = [d["code"] for d in model.diagnostics]
    assert "no_dropout_seen" in codes and "at_boundary" not in codes
    scores = model.score(summary, horizon=12)
    for column in ("p_alive", "expected_purchases", "expected_order_value", "clv"):
        assert scores[column].is_finite().all(), column
    assert (scores["p_alive"] == 1.0).all()  # what the diagnostic says
    from clv.analysis.tables import parameter_table  # the report's table: the limit's

    shown = parameter_table(model, "purchase")
    assert shown["parameter"].to_list() == ["r", "alpha", "log-likelihood"]
    assert shown["standard_error"].head(2).is_not_null().all()


def test_model_file_carries_limits_and_diagnostics(steady, tmp_path):
    _, summary = steady
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(summary)
    doc = json.loads(model.save(tmp_path / "m.json").read_text())
    assert doc["purchase_model"] == "bgnbd"
    assert doc["bgnbd"] == {"limit": "no_dropout", **model.purchase}
    assert doc["gamma_gamma"] == {"limit": "equal_spend", **model.gamma_gamma}
    assert [t.get("limit") for t in doc["limit_tests"]["bgnbd"]] == [
        None,
        "poisson_no_dropout",
        "no_dropout",
        "poisson",
    ]
    assert {d["code"] for d in doc["diagnostics"]} >= {"no_dropout_seen", "equal_spend"}
    again = ClvModel.load(tmp_path / "m.json")
    assert again.limits == model.limits and again.limit_tests == model.limit_tests
    assert again.diagnostics == model.diagnostics
    assert again.score(summary, horizon=6).equals(model.score(summary, horizon=6))


def test_cli_prints_diagnostics_as_warnings_and_writes_the_model(steady, tmp_path, capsys):
    tr, _ = steady
    data = tmp_path / "steady.csv"
    tr.write_csv(data)
    out = tmp_path / "model.json"
    assert main(["fit", str(data), "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "clv fit: warning: nobody appears to have stopped buying" in err
    assert "clv fit: warning: customers' average order values are alike" in err
    assert out.exists()


def test_cdnow_is_healthy(cdnow_model):
    assert cdnow_model.at_boundary == {"bgnbd": [], "gamma_gamma": []}
    assert not [d for d in cdnow_model.diagnostics if d["code"] == "at_boundary"]


def test_summary_is_lifetimes_summary(cdnow_model, cdnow_calibration):
    """The two tables hold lifetimes' own summary of the same fit (engine="lifetimes")."""
    tables = cdnow_model.summary()
    columns = ["parameter", "coef", "se(coef)", "lower 95% bound", "upper 95% bound", "at_limit"]
    assert list(tables) == ["purchase", "spend"]
    assert all(t.columns == columns for t in tables.values())
    assert tables["purchase"]["parameter"].to_list() == ["r", "alpha", "a", "b"]
    assert tables["spend"]["parameter"].to_list() == ["p", "q", "v"]
    assert not any(t["at_limit"].any() for t in tables.values())
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    pd = cdnow_calibration.select("frequency", "recency", "T", "monetary_value").to_pandas()
    bg = BetaGeoFitter().fit(pd["frequency"], pd["recency"], pd["T"])
    repeat = pd[(pd["frequency"] > 0) & (pd["monetary_value"] > 0)]
    gg = GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for ours, theirs in ((tables["purchase"], bg.summary), (tables["spend"], gg.summary)):
        for column in columns[1:5]:
            expected = theirs.loc[ours["parameter"].to_list(), column].to_numpy()
            assert np.allclose(ours[column].to_numpy(), expected, rtol=1e-4), column


def test_scores_that_would_be_nan_are_a_model_error_naming_parameters(
    cdnow_model, cdnow_calibration
):
    """a = 1 makes BG/NBD's (a+b+x-1)/(a-1) infinite."""
    broken = dataclasses.replace(cdnow_model, purchase={**cdnow_model.purchase, "a": 1.0})
    with pytest.raises(ModelError, match=r"expected_purchases is not finite .* a = 1"):
        broken.score(cdnow_calibration, horizon=12)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), "1", True])
def test_parameters_are_checked_when_a_model_is_made(cdnow_model, bad):
    with pytest.raises(ModelError, match="parameter alpha"):
        dataclasses.replace(cdnow_model, purchase={**cdnow_model.purchase, "alpha": bad})


def test_bgnbd_property_only_for_bgnbd(cdnow_model):
    other = dataclasses.replace(cdnow_model, purchase_model="mbgnbd")
    with pytest.raises(ModelError, match=r"model\.purchase"):
        _ = other.bgnbd


def test_purchase_counts_at_age_zero(cdnow_model):
    """P(X(0) = 0) = 1, not NaN (0 ln 0)."""
    p = bgnbd.probability_of_purchases(cdnow_model.bgnbd, np.array([0.0, 0.0, 5.0]), [0, 1, 0])
    assert p[0] == 1.0 and p[1] == 0.0
    assert 0 < p[2] < 1
    assert bgnbd._log_poisson_gamma(0.5, 2.0, np.array([0.0]), np.array([0]))[0] == 0.0


def test_p_alive_history_matches_the_summary_scores(cdnow_calibration):
    """On each day the history equals P(alive) of an RFM summary ending that day."""
    from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
    from clv.plots import history_alive_frame

    tr = cdnow()
    model = fit(cdnow_calibration, purchase_model="mbgnbd")
    history = history_alive_frame(model, tr, "0001", observation_end=CDNOW_CALIBRATION_END)
    assert history["date"][0] == tr.filter(pl.col("customer_id") == "0001")["date"].min()
    assert history["p_alive"].is_finite().all()
    for day in ("1997-03-01", CDNOW_CALIBRATION_END):
        summary = rfm_summary(tr, observation_end=day, time_unit="W")
        row = summary.filter(pl.col("customer_id") == "0001")
        expected = model.p_alive(row)[0]
        got = history.filter(pl.col("date") == dt.date.fromisoformat(day))["p_alive"].item()
        assert got == pytest.approx(expected, rel=1e-12)
    # it falls while the customer is quiet (same frequency, one more day of age)
    for _, part in history.group_by("frequency"):
        assert np.all(np.diff(part.sort("date")["p_alive"].to_numpy()) < 0)
