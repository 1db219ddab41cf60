"""One validation of money, time and penalizers: the library, the CLI and report parameters
refuse the same values, naming the keyword (library) or the flag (CLI)."""

import datetime as dt

import polars as pl
import pytest

from clv.cli import main
from clv.errors import UsageError
from clv.models.checks import MAX_HORIZON_YEARS, check_money_and_time, penalizers
from clv.models.fitting import fit

BAD = [
    ({"discount_rate_annual": float("nan")}, "discount_rate_annual="),
    ({"discount_rate_annual": -0.5}, "discount_rate_annual="),
    ({"discount_rate_annual": 1.0}, "discount_rate_annual="),
    ({"margin": 5.0}, "margin="),
    ({"margin": -1.0}, "margin="),
    ({"margin": 0.0}, "margin="),
    ({"horizon": 10_000_000.0}, "horizon="),
    ({"horizon": 0.0}, "horizon="),
    ({"horizon": float("inf")}, "horizon="),
    ({"horizon": 101 * 12.0}, "horizon="),
]


@pytest.mark.parametrize(("kwargs", "keyword"), BAD)
def test_bad_money_and_time_are_refused_naming_the_keyword(kwargs, keyword):
    with pytest.raises(UsageError, match=keyword):
        check_money_and_time(**kwargs)


def test_edges_are_accepted():
    check_money_and_time(discount_rate_annual=0.0, margin=1.0, horizon=MAX_HORIZON_YEARS * 12)
    check_money_and_time(horizon=MAX_HORIZON_YEARS * 52, horizon_unit="W")


@pytest.mark.parametrize(("kwargs", "keyword"), BAD)
def test_score_refuses_them_too(cdnow_model, cdnow_calibration, kwargs, keyword):
    options = {"horizon": 12.0, **kwargs}
    with pytest.raises(UsageError, match=keyword):
        cdnow_model.score(cdnow_calibration, **options)


def test_a_century_of_clv_is_computed_at_once(cdnow_model, cdnow_calibration):
    """1,200 monthly cash flows per distinct (x, T) pair in one vectorised pass; the CLV of a
    100-year horizon exceeds the 10-year one and stays finite."""
    short = cdnow_model.score(cdnow_calibration, horizon=120)["clv"]
    long = cdnow_model.score(cdnow_calibration, horizon=1200)["clv"]
    assert long.is_finite().all()
    assert (long >= short - 1e-9).all()
    assert long.sum() > short.sum()


def test_penalizers_number_and_mapping():
    assert penalizers(0.01) == (0.01, 0.0)
    assert penalizers({"bgnbd": 0.01, "gamma_gamma": 2.0}) == (0.01, 2.0)
    assert penalizers({"gamma_gamma": 2.0}) == (0.0, 2.0)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(UsageError, match="penalizer"):
            penalizers(bad)
    with pytest.raises(UsageError, match="gg_penalizer"):
        penalizers({"gamma_gamma": -1.0})
    with pytest.raises(UsageError, match="unknown key"):
        penalizers({"bg": 0.1})


def test_a_number_penalizes_the_purchase_model_only(cdnow_calibration, cdnow_model):
    """As lifetimes' penalizer_coef on BG/NBD: Gamma-Gamma is unchanged; its own penalizer
    moves only Gamma-Gamma."""
    pen = fit(cdnow_calibration, penalizer=0.01)
    assert pen.gamma_gamma == cdnow_model.gamma_gamma
    assert pen.purchase != cdnow_model.purchase
    gg = fit(cdnow_calibration, penalizer={"gamma_gamma": 0.001})
    assert gg.purchase == cdnow_model.purchase
    assert gg.gamma_gamma["v"] < cdnow_model.gamma_gamma["v"]
    assert gg.gg_penalizer == 0.001 and gg.penalizer == 0.0


def _csv(tmp_path):
    rows = []
    start = dt.date(2024, 1, 1)
    for i in range(40):
        for k in range(1 + i % 4):
            rows.append((f"c{i}", start + dt.timedelta(days=3 * i + 20 * k), 10.0 + i))
    path = tmp_path / "t.csv"
    pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row").write_csv(path)
    return path


@pytest.mark.parametrize(
    ("flags", "flag"),
    [
        (["--discount-rate", "nan"], "--discount-rate"),
        (["--discount-rate", "-0.5"], "--discount-rate"),
        (["--margin", "5"], "--margin"),
        (["--margin", "-1"], "--margin"),
        (["--horizon", "10000000"], "--horizon"),
        (["--gg-penalizer", "-1"], "--gg-penalizer"),
    ],
)
def test_cli_refuses_them_naming_the_flag(tmp_path, capsys, flags, flag):
    out = tmp_path / "scores.csv"
    code = main(["score", str(_csv(tmp_path)), "--out", str(out), *flags])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err.startswith("clv score: error: " + flag), err
    assert "=" not in err.split(":")[2].split()[0]
    assert not out.exists()
