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

TIERS = ["good", "middle", "low"]


def analysis_state(analysis: clv.Analysis) -> RunState:
    """What ``analysis``'s run folder holds: its segments, kpis, model and at-risk ids."""
    ids = analysis.at_risk["customer_id"].cast(pl.String).drop_nulls().to_list()
    return RunState(
        scores=analysis.segments,
        kpis=analysis.kpis,
        model=analysis.model.to_dict(),
        at_risk=frozenset(ids),
    )


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


def test_changes_json_keeps_the_largest_customers_and_counts_them_all(months, monkeypatch):
    """``slipped_top`` and ``new_top`` keep their first ``LIST_ROWS`` rows, largest first;
    their counts, recomputed with pandas, cover every customer, and the since section's
    numbers and the report's "first n of N rows" read them."""
    from clv.report import since

    before, now = months
    monkeypatch.setattr(changes, "LIST_ROWS", 3)
    doc = changes.changes(before, now, tiers=TIERS)
    a, b = _pandas_tiers(before), _pandas_tiers(now)
    both = pd.concat([a.rename("was"), b.rename("now")], axis=1)
    both["risk"] = both.index.isin(list(now.at_risk))
    was, is_ = both["was"] == "good", both["now"] == "good"
    slipped = both[was & (~is_ | both["risk"])]
    new = both[is_ & ~was]
    orders = now.scores.to_pandas().set_index("customer_id")["orders"]
    assert doc["slipped_top_counts"] == {
        "slipped": len(slipped),
        "left_tier": int((slipped["now"] != "good").sum()),
        "at_risk_in_tier": int((slipped["now"] == "good").sum()),
    }
    assert doc["new_top_counts"] == {
        "new_top": len(new),
        "new_customers": int(new["was"].isna().sum()),
        "bought_once": int((orders.reindex(new.index) == 1).sum()),
    }
    assert len(slipped) > 3 and len(new) > 3
    full = changes.slipped_top(before, now, top_tier="good")
    assert doc["slipped_top"] == full.head(3).to_dicts()
    assert doc["new_top"] == changes.new_top(before, now, top_tier="good").head(3).to_dicts()
    doc |= {"previous_run": "a", "run": "b", "top_tier": "good"}
    found = {f["id"]: f["numbers"] for f in since.findings(doc)}
    assert found["since.slipped_top"]["slipped"] == len(slipped)
    assert since.list_total(doc, "new_top") == len(new)
    assert since.list_total(None, "new_top") is None


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
        "search": {"customers": 400, "share_good": 0.9, "share_good_clv": 0.20},
        "email": {"customers": 50, "share_good": 0.1, "share_good_clv": 0.30},
    }
    now = {
        "search": {"customers": 420, "share_good": 0.1, "share_good_clv": 0.30},
        "email": {"customers": 55, "share_good": 0.9, "share_good_clv": 0.32},
    }
    got = {r["channel"]: r for r in changes.channel_changes(before, now).to_dicts()}
    se = math.sqrt(0.2 * 0.8 / 400 + 0.3 * 0.7 / 420)
    assert got["search"]["z"] == pytest.approx(0.1 / se)  # 3.4 standard errors
    assert got["search"]["within_noise"] is False
    assert got["email"]["within_noise"] is True
    assert changes.channel_changes(None, now) is None
    # a run without the CLV basis (clv before 0.3.0) is not compared on its revenue basis
    revenue_only = {k: {"customers": v["customers"], "share_good": 0.2} for k, v in before.items()}
    assert changes.channel_changes(revenue_only, now) is None


def test_every_count_is_on_the_tiers_by_predicted_clv(months) -> None:
    """Defect: the Since section's customer rows held the tier by predicted CLV in a column
    named ``tier``, which the report heads "tier by revenue" (scores.parquet's ``tier``), and
    channel quality was the share in the top tier by past revenue. Every tier and share of a
    comparison is now by predicted CLV, recomputed here from the segments with pandas."""
    from clv.report import since
    from clv.report.headers import header

    before, now = months
    doc = changes.changes(before, now, tiers=TIERS)
    assert doc["basis"] == changes.BASIS == "predicted CLV"
    seg = now.scores.to_pandas().set_index("customer_id")
    assert (seg.tier != seg.value_tier).sum() > 50  # the two bases differ on this shop
    for key in ("slipped_top", "new_top"):
        for row in doc[key]:
            if row["value_tier"] != "gone":
                assert row["value_tier"] == seg.at[row["customer_id"], "value_tier"]
                assert row["orders"] == seg.at[row["customer_id"], "orders"]
    for column in since.CUSTOMER_COLUMNS + since.CHANNEL_COLUMNS:
        if "tier" in column or "share_good" in column:
            assert header(column).endswith("by predicted CLV"), column
    # channel quality: the share of each channel's customers in the CLV good tier
    customers = pd.DataFrame(
        {"customer_id": seg.index, "value_tier": seg.value_tier.to_numpy()}
    ).merge(_first_channels(), on="customer_id")
    want = customers.groupby("channel").value_tier.apply(lambda t: (t == "good").mean())
    got = {r["channel"]: r["share_good_clv"] for r in doc["channel_changes"]}
    assert got == pytest.approx(want.to_dict(), rel=1e-12)


def _first_channels() -> pd.DataFrame:
    """Each customer's first order's channel, read with pandas from the shop's rows."""
    tx = synthetic_shop(700, seed=5)[0].to_pandas()
    tx["row"] = range(len(tx))
    first = tx.sort_values(["customer_id", "date", "row"]).groupby("customer_id").head(1)
    return first[["customer_id", "channel"]]


def test_new_top_customers_who_bought_once_are_counted(months) -> None:
    from clv.report import since

    before, now = months
    doc = changes.changes(before, now, tiers=TIERS)
    doc |= {"previous_run": "a", "run": "b", "top_tier": "good"}
    found = {f["id"]: f for f in since.findings(doc)}["since.new_top"]
    a = _pandas_tiers(before)
    seg = now.scores.to_pandas().set_index("customer_id")
    new_top = seg[(seg.value_tier == "good") & (a.reindex(seg.index) != "good")]
    assert found["numbers"]["new_top"] == len(new_top)
    once = int((new_top.orders == 1).sum())
    assert found["numbers"]["bought_once"] == once > 0
    assert f"{once} of them have bought only once" in found["text"]
    assert found["basis"]["tiers"] == "predicted CLV"


def test_since_is_the_previous_runs_observation_end() -> None:
    """The heading's date is the last day of the previous run's data, not when it ran."""
    from clv.report import since
    from clv.report.i18n import report_locale

    doc = {
        "previous_run": "20250105T060000Z-customer_value",
        "previous_started_at": "2025-01-05T06:00:00Z",
        "previous_observation_end": "2024-12-31",
    }
    assert since.heading(doc) == "Since 2024-12-31"
    assert since.heading(doc, report_locale("sv")) == "Sedan 31 dec. 2024"
    assert since.heading({**doc, "previous_observation_end": None}) == "Since 2025-01-05"


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


def test_clv_compare_prints_a_short_summary_and_json_on_request(tmp_path, capsys) -> None:
    """Defect: `clv compare A B` printed the whole changes.json to the terminal. It prints a
    few lines a person reads (numbers recomputed from the two runs' files with pandas);
    --json prints the document for scripts; --out writes it."""
    import json

    from clv.cli import main
    from clv.report import runs

    tx, _ = synthetic_shop(700, seed=5)
    folders = []
    for name, end in (("a", dt.date(2024, 11, 30)), ("b", dt.date(2024, 12, 31))):
        analysis = clv.analyze(tx.filter(pl.col("date") <= end), channel_col="channel")
        folder = tmp_path / name
        folder.mkdir()
        runs.save_run(
            folder,
            scores=analysis.segments,
            at_risk=analysis.at_risk,
            lost=analysis.lost,
            model=analysis.model,
            kpis=analysis.kpis,
        )
        folders.append(str(folder))
    assert main(["compare", *folders]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert 3 <= len(lines) <= 6 and "{" not in out
    a, b = (pd.read_parquet(f"{f}/scores.parquet") for f in folders)
    risk_a, risk_b = (
        set(pd.read_csv(f"{f}/at_risk.csv", dtype={"customer_id": str}).customer_id)
        for f in folders
    )
    end = json.loads((tmp_path / "a" / "model.json").read_text())["observation_end"]
    assert lines[0] == f"Since {end} (run a to b):"
    assert f"customers: {len(b):,}, was {len(a):,} (+{len(b) / len(a) - 1:.1%})" in out
    revenue = f"revenue: {b.revenue.sum():,.0f}, was {a.revenue.sum():,.0f}"
    assert revenue in out
    both = pd.merge(a, b, on="customer_id", suffixes=("_a", "_b"))
    moved = int((both.value_tier_a != both.value_tier_b).sum())
    up = int(((both.value_tier_a != "good") & (both.value_tier_b == "good")).sum())
    assert f"tiers by predicted CLV: {moved:,} customers changed tier; {up:,} moved up" in out
    risk = f"at risk now: {len(risk_b):,} customers, was {len(risk_a):,}"
    assert f"{risk} ({len(risk_a & risk_b):,} on both lists)" in out

    assert main(["compare", *folders, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["basis"] == "predicted CLV" and doc["at_risk"]["current"] == len(risk_b)
    written = tmp_path / "changes.json"
    assert main(["compare", *folders, "--out", str(written)]) == 0
    captured = capsys.readouterr()
    assert captured.out.splitlines() == lines and json.loads(written.read_text()) == doc
    assert f"wrote {written}" in captured.err
