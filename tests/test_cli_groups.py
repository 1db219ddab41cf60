"""clv fit/score/segments with --by and --interval, run as a user runs them."""

import json
import subprocess
import sys
import warnings

import polars as pl
import pytest

from clv.data.groups import with_customer_group
from clv.data.rfm import rfm_summary
from clv.data.simulate import channel_shop
from clv.models.fitting import fit
from clv.models.groups import load_model


def clv(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clv.cli", *map(str, args)], capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    transactions, _ = channel_shop(400, seed=4)
    path = tmp_path_factory.mktemp("data") / "shop.csv"
    transactions.write_csv(path)
    return transactions, path


@pytest.fixture(scope="module")
def model_file(shop, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "model.json"
    run = clv("fit", shop[1], "--channel-col", "channel", "--by", "channel", "--out", path)
    assert run.returncode == 0, run.stderr
    assert "3 channel models and the pooled one" in run.stderr
    return path


@pytest.mark.slow
def test_fit_and_score_by_channel_with_intervals(shop, model_file, tmp_path):
    transactions, path = shop
    scores_file = tmp_path / "scores.csv"
    summary = with_customer_group(rfm_summary(transactions), transactions, by="channel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = fit(summary, by="channel")
    assert load_model(model_file).groups["search"].bgnbd == expected.groups["search"].bgnbd
    run = clv(
        "score", path, "--channel-col", "channel", "--by", "channel", "--model", model_file,
        "--interval", "0.9", "--out", scores_file,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    scores = pl.read_csv(scores_file, schema_overrides={"customer_id": pl.String})
    library = expected.score(summary, horizon=12, interval=0.9)
    assert scores.columns == library.columns
    assert scores["clv_high"].to_list() == pytest.approx(library["clv_high"].to_list())


@pytest.mark.slow
def test_segments_carry_the_group_and_intervals(shop, tmp_path):
    _, path = shop
    out = tmp_path / "segments.csv"
    run = clv(
        "segments", path, "--channel-col", "channel", "--by", "channel", "--interval", "0.8",
        "--interval-method", "normal", "--seed", "3", "--out", out,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    segments = pl.read_csv(out)
    assert {"channel", "clv_low", "clv_high", "p_top"} <= set(segments.columns)
    assert (segments["clv_low"] <= segments["clv"]).all()


@pytest.mark.slow
def test_a_grouped_model_needs_the_same_by(shop, model_file, tmp_path):
    _, path = shop
    run = clv("score", path, "--model", model_file, "--out", tmp_path / "s.csv")
    assert run.returncode == 2
    assert run.stderr.strip().endswith("fitted with --by channel; pass it or refit")


@pytest.mark.slow
def test_kpis_value_channels_with_their_own_models(shop, model_file, tmp_path):
    transactions, path = shop
    out = tmp_path / "kpis.json"
    run = clv("kpis", path, "--channel-col", "channel", "--by", "channel", "--out", out)
    assert run.returncode == 0, run.stderr
    channels = json.loads(out.read_text())["channels"]
    summary = with_customer_group(rfm_summary(transactions), transactions, by="channel")
    scores = load_model(model_file).score(summary, horizon=12)
    for name in ("referral", "search", "paid_social"):
        own = scores.filter(pl.col("channel") == name)["clv"].mean()
        assert channels[name]["mean_clv"] == pytest.approx(own, rel=1e-9)
