"""The at-risk list: by P(alive), or by recency in the customer's own gaps when the model
sees no dropout; the rule in kpis.json and in the report's words."""

import datetime as dt
import json
import math
import warnings

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.analysis import findings, risk
from clv.errors import DataError

D = dt.date
END = D(2024, 12, 31)


def _customers() -> pl.DataFrame:
    """A weekly buyer silent 4 weeks (a), a quarterly buyer silent 90 days (b, the most
    valuable), a one-time buyer (c) and two low-value repeat buyers (d, e)."""
    return pl.DataFrame(
        {
            "customer_id": list("abcde"),
            "revenue": [900.0, 1000.0, 800.0, 10.0, 20.0],
            "orders": [10, 4, 1, 6, 2],
            "frequency": [9, 3, 0, 5, 1],
            "first_purchase": [
                D(2024, m, d) for m, d in ((10, 1), (1, 1), (6, 4), (11, 1), (1, 1))
            ],
            "last_purchase": [
                D(2024, m, d) for m, d in ((12, 3), (10, 2), (6, 4), (12, 21), (12, 30))
            ],
            "observation_end": [END] * 5,
            "p_alive": [1.0] * 5,
        }
    )


def test_silence_is_counted_in_the_customers_own_gaps():
    got = risk.with_silence(_customers())
    # by hand: a 63 days / 9 = 7; b 275 / 3; d 50 / 5 = 10; e 364 / 1; c (one-time) the
    # median of the repeat buyers' gaps (7, 10, 91.67, 364) = (10 + 91.67) / 2
    median = (10 + 275 / 3) / 2
    assert got["usual_gap_days"].to_list() == pytest.approx([7.0, 275 / 3, median, 10.0, 364.0])
    assert got["days_since_last_purchase"].to_list() == [28, 90, 210, 10, 1]
    assert got["gaps_since_last_purchase"].to_list() == pytest.approx(
        [4.0, 90 / (275 / 3), 210 / median, 1.0, 1 / 364]
    )


def test_recency_lists_the_overdue_half_of_high_value_customers_not_the_longest_silent():
    table = risk.at_risk(_customers(), rule="recency", min_value_quantile=0.4, max_p_alive=0.5)
    # high value: revenue >= 488 (0.4 quantile, linear) -> a, b, c; their gaps 4.0, 0.98 and
    # 4.13, median 4.0: a and c are listed. b has been silent longest in days (90) but buys
    # quarterly: not overdue. Sorted by historical value.
    assert table["customer_id"].to_list() == ["a", "c"]
    assert table["historical_value_at_stake"].to_list() == [900.0, 800.0]
    assert "value_at_stake" not in table.columns
    stated = findings.at_risk(
        table, rule="recency", min_value=488.0, min_value_quantile=0.4, max_p_alive=0.5
    )
    assert stated == {
        "rule": "recency",
        "customers": 2,
        "min_value": 488.0,
        "min_value_quantile": 0.4,
        "share": 0.5,
        "min_gaps_since_last_purchase": 4.0,
        "historical_value_at_stake": 1700.0,
    }


def test_recency_without_repeat_buyers_lists_nobody_and_states_no_nan():
    once = _customers().with_columns(
        frequency=pl.lit(0), first_purchase=pl.col("last_purchase"), orders=pl.lit(1)
    )
    table = risk.at_risk(once, rule="recency")
    assert table.height == 0
    stated = findings.at_risk(
        table, rule="recency", min_value=None, min_value_quantile=0.8, max_p_alive=0.5
    )
    assert stated["min_gaps_since_last_purchase"] is None
    assert stated["historical_value_at_stake"] == 0.0
    with pytest.raises(DataError, match="'observation_end' of an RFM summary"):
        risk.at_risk(_customers().drop("observation_end"), rule="recency")


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),  # first purchase, days after the start
            st.integers(0, 400),  # days from the first to the last purchase
            st.integers(0, 30),  # repeat purchase days
            st.floats(1, 1e4),  # revenue
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(0.05, 0.95),
)
def test_recency_list_is_the_most_overdue_share_of_high_value_customers(rows, max_p_alive):
    start = D(2023, 1, 1)
    frame = pl.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(len(rows))],
            "revenue": [r[3] for r in rows],
            "orders": [r[2] + 1 for r in rows],
            "frequency": [min(r[2], r[1]) for r in rows],
            "first_purchase": [start + dt.timedelta(days=r[0]) for r in rows],
            "last_purchase": [
                start + dt.timedelta(days=r[0] + (r[1] if min(r[2], r[1]) else 0)) for r in rows
            ],
            "observation_end": [start + dt.timedelta(days=801)] * len(rows),
        }
    )
    table = risk.at_risk(frame, rule="recency", max_p_alive=max_p_alive)
    high = risk.with_silence(frame).filter(
        pl.col("revenue") >= risk.value_threshold(frame, min_value_quantile=0.8)
    )
    repeat = frame.filter(pl.col("frequency") > 0).height
    assert (table.height > 0) == (repeat > 0)  # some high-value customer is always listed
    if table.height:
        rest = high.join(table, on="customer_id", how="anti")
        assert set(table["customer_id"]) <= set(high["customer_id"])
        assert rest.height == 0 or (
            table["gaps_since_last_purchase"].min() > rest["gaps_since_last_purchase"].max()
        )
        # the linear quantile at position max_p_alive * (n - 1): every gap from the next
        # whole position up is at or above it
        assert table.height >= high.height - math.ceil(max_p_alive * (high.height - 1))
        assert table.select(risk.RECENCY_COLUMNS).null_count().sum_horizontal().item() == 0
        assert table["gaps_since_last_purchase"].is_finite().all()


@pytest.fixture(scope="module")
def steady_analysis(steady_shop):
    import clv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the no_dropout_seen diagnostic, as a warning
        analysis = clv.analyze(steady_shop, observation_end="2025-05-14")
        analysis.at_risk  # noqa: B018  (the fit warns)
    return analysis


def test_no_dropout_data_gets_a_recency_list(steady_shop, steady_analysis):
    analysis = steady_analysis
    assert analysis.at_risk_rule == "recency"
    assert analysis.segments["p_alive"].min() > 0.999  # P(alive) cannot pick anyone out
    table = analysis.at_risk
    # 600 customers: 120 in the top 20 % by revenue, the more overdue half of them listed
    assert table.height == 60
    # each customer buys every `gap` days (20-59) until the end: their usual gap is that gap
    gaps = (
        steady_shop.sort("date")
        .group_by("customer_id")
        .agg(gap=pl.col("date").diff().dt.total_days().max(), last=pl.col("date").max())
    )
    got = table.join(gaps, on="customer_id")
    assert got["usual_gap_days"].to_list() == got["gap"].cast(pl.Float64).to_list()
    days = (D(2025, 5, 14) - got["last"]).dt.total_days()
    assert got["days_since_last_purchase"].to_list() == days.to_list()
    # nobody here missed a purchase (silence < gap), so the list is of those most due
    assert table["gaps_since_last_purchase"].max() < 1.0
    assert table["gaps_since_last_purchase"].min() >= 0.5
    assert table["historical_value_at_stake"].to_list() == table["revenue"].to_list()
    assert all(table[c].is_finite().all() for c in ("revenue", "usual_gap_days", "clv"))


def test_kpis_json_and_report_state_the_recency_rule(steady_shop, steady_analysis, tmp_path):
    from clv.cli import main
    from clv.report import first_page, sections

    data = tmp_path / "steady.csv"
    steady_shop.write_csv(data)
    out = tmp_path / "kpis.json"
    args = ["kpis", str(data), "--observation-end", "2025-05-14", "--out", str(out)]
    assert main(args) == 0
    stated = json.loads(out.read_text(), parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    table = steady_analysis.at_risk
    assert stated["at_risk"] == {
        "rule": "recency",
        "customers": 60,
        "min_value": pytest.approx(steady_analysis.at_risk_min_value),
        "min_value_quantile": 0.8,
        "share": 0.5,
        "min_gaps_since_last_purchase": pytest.approx(table["gaps_since_last_purchase"].min()),
        "historical_value_at_stake": pytest.approx(table["revenue"].sum()),
    }
    text = sections.at_risk_text(table, min_value_quantile=0.8, max_p_alive=0.5)
    assert "this list is based on recency instead. 60 customers" in text
    assert "compared with their usual gap between purchases" in text
    assert f"Their whole historical value is {table['revenue'].sum():,.0f}" in text
    assert "not an expected loss" in text and "probability of still being active of" not in text
    assert sections.at_risk_caption(table, "members") == (
        "High-value members most overdue for their usual pace (no dropout seen)"
    )
    items = first_page.sentences(
        steady_analysis.findings, diagnostics=steady_analysis.model.diagnostics
    )
    page = {i["topic"]: i["text"] for i in items}
    assert page["At risk"].startswith(
        "Nobody appears to have stopped buying, so the at-risk list is based on recency: the 60 "
        "high-value customers who have gone longest without buying for their usual pace (the "
        "most overdue 50%, silent for at least"
    )
    assert "probably stopped" not in page["At risk"]
    assert "the at-risk list is based on recency instead" in page["Model health"]


@pytest.mark.parametrize(
    ("purchase_model", "customers", "stake"),
    # the numbers of the p_alive rule before the recency rule existed
    [("bgnbd", 123, 37516.24560857996), ("pareto_nbd", 136, 37783.04604344168)],
)
def test_cdnow_keeps_the_p_alive_rule_and_its_numbers(purchase_model, customers, stake):
    import clv
    from clv.report import first_page, sections

    analysis = clv.analyze(purchase_model=purchase_model)
    assert analysis.at_risk_rule == "p_alive"
    segments = analysis.segments
    q = segments["revenue"].quantile(0.8, interpolation="linear")
    want = segments.filter((pl.col("revenue") >= q) & (pl.col("p_alive") <= 0.5))
    assert sorted(analysis.at_risk["customer_id"]) == sorted(want["customer_id"])
    assert analysis.kpis["at_risk"] == {
        "rule": "p_alive",
        "customers": customers,
        "min_value": pytest.approx(q),
        "min_value_quantile": 0.8,
        "max_p_alive": 0.5,
        "value_at_stake": pytest.approx(stake, rel=1e-8),  # the fit to ~1e-10
    }
    page = {i["topic"]: i["text"] for i in first_page.sentences(analysis.findings)}
    assert page["At risk"].startswith(f"{customers} high-value customers have probably stopped")
    caption = sections.at_risk_caption(analysis.at_risk)
    assert caption == "High-value customers who have probably stopped buying"
