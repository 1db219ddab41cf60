"""What changed between two runs (clv.analysis.changes), recomputed with pandas.

Two analyses of one simulated shop, one month apart (observation ends 2024-11-30 and
2024-12-31), stand for two monthly runs.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import polars as pl
import pytest

import clv
from clv.analysis import changes
from clv.analysis.changes import RunState
from clv.data.datasets import synthetic_shop
from clv.report.compare import analysis_state

TIERS = ["good", "middle", "low"]


@pytest.fixture(scope="module")
def months() -> tuple[RunState, RunState]:
    tx, _ = synthetic_shop(700, seed=5)
    november = tx.filter(pl.col("date") <= dt.date(2024, 11, 30))
    before = clv.analyze(november, channel_col="channel")
    now = clv.analyze(tx, channel_col="channel")
    return analysis_state(before), analysis_state(now)


def _pandas_tiers(state: RunState) -> pd.Series:
    frame = state.scores.select("customer_id", "value_tier").to_pandas()
    return frame.set_index(frame["customer_id"].astype(str))["value_tier"]


def test_tier_migration_is_the_crosstab_of_the_two_runs_tiers(months) -> None:
    before, now = months
    a, b = _pandas_tiers(before), _pandas_tiers(now)
    both = pd.concat([a.rename("from"), b.rename("to")], axis=1)
    both["from"] = both["from"].fillna("new")
    both["to"] = both["to"].fillna("gone")
    expected = pd.crosstab(both["from"], both["to"])

    got = changes.tier_migration(before, now, tiers=TIERS)

    assert list(got) == [*TIERS, "new"]
    assert list(got["good"]) == [*TIERS, "gone"] and "gone" not in got["new"]
    for a_tier, row in got.items():
        for b_tier, n in row.items():
            want = expected.at[a_tier, b_tier] if b_tier in expected.columns else 0
            assert n == want, (a_tier, b_tier)
    assert sum(sum(r.values()) for r in got.values()) == len(both)
    assert sum(got["new"].values()) == len(set(b.index) - set(a.index)) > 0


def test_gone_customers_are_those_absent_from_this_runs_data(months) -> None:
    before, now = months
    fewer = RunState(scores=now.scores.filter(pl.col("customer_id") != "C0000001"), kpis={})
    tier = before.scores.filter(pl.col("customer_id") == "C0000001")["value_tier"][0]
    got = changes.tier_migration(before, fewer, tiers=TIERS)
    assert sum(row.get("gone", 0) for row in got.values()) == 1
    assert got[tier]["gone"] == 1


def test_slipped_and_new_top_customers(months) -> None:
    before, now = months
    a, b = _pandas_tiers(before), _pandas_tiers(now).reindex(_pandas_tiers(before).index)
    risk = now.at_risk
    expected = {
        i for i in a.index if a[i] == "good" and (b[i] != "good" or i in risk)
    }  # b is NaN for a customer gone
    slipped = changes.slipped_top(before, now, top_tier="good")
    assert set(slipped["customer_id"]) == expected
    assert slipped["previous_clv"].is_sorted(descending=True)

    b_all = _pandas_tiers(now)
    a_all = _pandas_tiers(before).reindex(b_all.index)
    new = changes.new_top(before, now, top_tier="good")
    assert set(new["customer_id"]) == {
        i for i in b_all.index if b_all[i] == "good" and a_all[i] != "good"
    }
    row = new.row(0, named=True)
    assert math.isclose(
        row["clv"], float(now.scores.filter(pl.col("customer_id") == row["customer_id"])["clv"][0])
    )


def test_kpi_changes(months) -> None:
    before, now = months
    got = changes.kpi_changes(before.kpis, now.kpis)
    assert list(got) == list(changes.KPI_KEYS)
    revenue = got["revenue"]
    assert revenue["previous"] == pytest.approx(before.scores["revenue"].sum())
    assert revenue["current"] == pytest.approx(now.scores["revenue"].sum())
    assert revenue["relative_change"] == pytest.approx(revenue["current"] / revenue["previous"] - 1)
    assert got["customers"]["change"] == now.scores.height - before.scores.height


def test_channel_changes_by_hand() -> None:
    before = {
        "search": {"customers": 400, "share_good": 0.20},
        "email": {"customers": 50, "share_good": 0.30},
    }
    now = {
        "search": {"customers": 420, "share_good": 0.30},
        "email": {"customers": 55, "share_good": 0.32},
    }
    got = {r["channel"]: r for r in changes.channel_changes(before, now).to_dicts()}
    se = math.sqrt(0.2 * 0.8 / 400 + 0.3 * 0.7 / 420)
    assert got["search"]["z"] == pytest.approx(0.1 / se)  # 3.4 standard errors
    assert got["search"]["within_noise"] is False
    assert got["email"]["within_noise"] is True
    assert changes.channel_changes(None, now) is None


def _model(kind: str = "bgnbd", **over) -> dict:
    doc = {
        "purchase_model": kind,
        kind: {"r": 0.5, "alpha": 7.0, "a": 0.6, "b": 1.8},
        "gamma_gamma": {"p": 4.0, "q": 4.0, "v": 50.0},
        "standard_errors": {
            kind: {"r": 0.02, "alpha": 0.3, "a": 0.1, "b": 0.4},
            "gamma_gamma": {"p": 1.0, "q": 1.0, "v": 20.0},
        },
        "at_boundary": {},
    }
    for key, value in over.items():
        doc[key] = value
    return doc


def test_parameter_drift_in_standard_errors_and_forms() -> None:
    before = _model()
    now = _model()
    now["bgnbd"] = {"r": 0.6, "alpha": 7.1, "a": 0.6, "b": 1.8}
    rows = {(r["model"], r["parameter"]): r for r in changes.parameter_drift(before, now)}
    r = rows[("bgnbd", "r")]
    assert r["z"] == pytest.approx(0.1 / math.sqrt(2 * 0.02**2))  # 3.5 standard errors
    assert r["within_noise"] is False and r["form"] == "fitted"
    assert rows[("bgnbd", "alpha")]["within_noise"] is True

    limit = _model(at_boundary={"bgnbd": ["a"]})
    rows = {(r["model"], r["parameter"]): r for r in changes.parameter_drift(limit, now)}
    assert rows[("bgnbd", "a")]["form"] == "limit to fitted" and rows[("bgnbd", "a")]["z"] is None

    switched = changes.parameter_drift(before, _model("pareto_nbd"))
    assert switched[0]["form"] == "model changed"
    assert (switched[0]["previous"], switched[0]["current"]) == ("bgnbd", "pareto_nbd")
    assert {r["model"] for r in switched[1:]} == {"gamma_gamma"}
