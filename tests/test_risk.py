"""The at-risk list: by P(alive), or by recency in the customer's own gaps when the model
sees no dropout; the rule in kpis.json and in the report's words."""

import datetime as dt
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


def _scored() -> pl.DataFrame:
    """:func:`_customers` with P(alive) close to 1 and a predicted value (the recency rule's
    input): b is the most valuable if they stay."""
    return _customers().with_columns(
        p_alive=pl.Series([0.99, 0.98, 0.97, 0.99, 0.99]),
        clv=pl.Series([396.0, 490.0, 291.0, 9.9, 19.8]),
    )


def test_recency_lists_only_customers_overdue_by_their_own_rhythm():
    """Defect 1: a customer inside their own usual gap (b: silent 90 days, buys every 92) is
    never listed; the value at stake is the value if they stay x the lapse rate, never past
    revenue."""
    overdue = risk.Overdue(3.0, True, 40, 0.3, 0.7)
    table = risk.at_risk(_scored(), rule="recency", min_value_quantile=0.4, overdue=overdue)
    # value if they stay = clv / p_alive: a 400, b 500, c 300, d 10, e 20; the 0.4 quantile
    # over all five (linear) is 20 + 0.6 * (300 - 20) = 188: a, b and c are high-value; their
    # gaps 4.0, 0.98 and 4.13: a and c are beyond k = 3.
    assert table["customer_id"].to_list() == ["a", "c"]
    assert table["value_if_stays"].to_list() == pytest.approx([400.0, 300.0])
    assert table["value_at_stake"].to_list() == pytest.approx([400.0 * 0.7, 300.0 * 0.7])
    assert (table["gaps_since_last_purchase"] > 3.0).all()
    stated = findings.at_risk(
        table,
        risk.lost(_scored()),
        rule="recency",
        min_value_quantile=0.4,
        max_p_alive=0.5,
        overdue=overdue,
    )
    assert stated == {
        "rule": "recency",
        "customers": 2,
        "value_at_stake": pytest.approx(490.0),
        "value_if_stays": pytest.approx(700.0),
        "min_value_quantile": 0.4,
        "lost": 0,
        "lost_revenue": 0.0,
        "overdue_gaps": 3.0,
        "measured": True,
        "overdue_customers": 40,
        "bought_again": 0.3,
        "lapse_rate": 0.7,
    }


def test_overdue_threshold_is_the_smallest_k_at_which_most_did_not_come_back():
    """Defect 1: k is measured on the calibration/holdout split, by hand."""
    # 100 repeat buyers with a gap of 10 weeks, silent 5..104 weeks (0.5..10.4 gaps); those
    # silent more than 2 gaps bought again in the holdout only one time in three.
    silent = [5.0 + i for i in range(100)]
    came_back = [s / 10 <= 2.0 or i % 3 == 0 for i, s in enumerate(silent)]
    frame = pl.DataFrame(
        {
            "frequency": [2] * 100,
            "recency": [20.0] * 100,
            "T": [20.0 + s for s in silent],
            "frequency_holdout": [int(c) for c in came_back],
        }
    )
    got = risk.overdue_threshold(frame)
    beyond = [c for s, c in zip(silent, came_back, strict=True) if s / 10 > got.gaps]
    assert got.measured and got.customers == len(beyond)
    assert got.bought_again == pytest.approx(sum(beyond) / len(beyond)) and got.bought_again < 0.5
    for k in risk.OVERDUE_GRID:  # no smaller k of the grid has fewer than half coming back
        if k >= got.gaps:
            break
        back = [c for s, c in zip(silent, came_back, strict=True) if s / 10 > k]
        assert sum(back) / len(back) >= 0.5
    assert got.gaps >= 1.0
    # no holdout: k = 3, not measured; every customer coming back: k = 3 too
    assert risk.overdue_threshold(None) == risk.Overdue(3.0, False, 0, None, None)
    loyal = frame.with_columns(frequency_holdout=pl.lit(1))
    assert risk.overdue_threshold(loyal).gaps == 3.0
    assert not risk.overdue_threshold(loyal).measured


def test_refunded_customers_are_never_listed():
    """Defect 20: net revenue zero or below (full refunds) keeps a customer off the lists."""
    scored = _scored().with_columns(revenue=pl.Series([-1230.88, 1000.0, 0.0, 10.0, 20.0]))
    overdue = risk.Overdue(3.0, False, 0, None, None)
    table = risk.at_risk(scored, rule="recency", min_value_quantile=0.0, overdue=overdue)
    assert "a" not in table["customer_id"].to_list()
    assert "c" not in table["customer_id"].to_list()
    gone = scored.with_columns(p_alive=pl.lit(0.01))
    assert risk.lost(gone, min_value_quantile=0.0)["customer_id"].to_list() == ["b", "e", "d"]


@settings(max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 400),  # first purchase, days after the start
            st.integers(0, 400),  # days from the first to the last purchase
            st.integers(0, 30),  # repeat purchase days
            st.floats(-50, 1e4),  # revenue
            st.floats(0.0, 1.0),  # p_alive
            st.floats(0.0, 5e3),  # clv
        ),
        min_size=1,
        max_size=40,
    ),
    st.floats(1.0, 6.0),
    st.sampled_from(["p_alive", "recency"]),
)
def test_every_listed_customer_is_high_value_and_overdue(rows, k, rule):
    """Defect 1: every customer on the list is high-value (by value if they stay), overdue
    by their own rule, and never lost; the value at stake is never past revenue."""
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
            "p_alive": [r[4] for r in rows],
            "clv": [r[5] * r[4] for r in rows],
        }
    )
    overdue = risk.Overdue(k, True, 50, 0.4, 0.6)
    table = risk.at_risk(frame, rule=rule, max_p_alive=0.5, overdue=overdue)
    pdf = frame.to_pandas()
    pdf["stays"] = (pdf.clv / pdf.p_alive).where(pdf.p_alive > 0)
    pool = pdf[(pdf.p_alive >= 0.05) & (pdf.revenue > 0)]
    cut = pool.stays.quantile(0.8) if len(pool) else math.inf
    high = pdf[(pdf.revenue > 0) & (pdf.p_alive >= 0.05) & (pdf.stays >= cut)]
    if rule == "p_alive":
        want = high[high.p_alive <= 0.5]
        stake = (1 - want.p_alive) * want.stays
    else:
        gaps = risk.with_silence(frame).to_pandas().set_index("customer_id")
        want = high[high.customer_id.map(gaps.gaps_since_last_purchase) > k]
        stake = want.stays * 0.6
    assert sorted(table["customer_id"]) == sorted(want.customer_id)
    assert table["value_at_stake"].sum() == pytest.approx(stake.sum(), rel=1e-9, abs=1e-9)
    assert (table["p_alive"] >= risk.LOST_P_ALIVE).all()


@pytest.fixture(scope="module")
def steady_analysis(steady_shop):
    import clv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the no_dropout_seen diagnostic, as a warning
        analysis = clv.analyze(steady_shop, observation_end="2025-05-14")
        analysis.at_risk  # noqa: B018  (the fit warns)
    return analysis


def test_no_dropout_data_lists_nobody_who_is_not_overdue(steady_shop, steady_analysis):
    """Defect 1: where everyone keeps buying at their own pace, nobody is on the list (the
    old rule listed the "most overdue half" although nobody had missed a purchase)."""
    analysis = steady_analysis
    assert analysis.at_risk_rule == "recency"
    assert analysis.segments["p_alive"].min() > 0.999  # P(alive) cannot pick anyone out
    silence = risk.with_silence(analysis.segments)
    assert silence["gaps_since_last_purchase"].max() < 1.0  # nobody missed a purchase
    assert analysis.at_risk.height == 0
    assert analysis.overdue.gaps >= 1.0
    stated = analysis.kpis["at_risk"]
    assert stated["rule"] == "recency" and stated["customers"] == 0
    from clv.report import first_page

    ids = [r["id"] for r in first_page.records(analysis.findings)]
    assert "at_risk_recency_none" in ids and "health_no_dropout_seen" in ids


def test_recency_rule_with_k_measured_lists_the_customers_who_stopped(steady_shop):
    """Defect 1: k measured on the holdout (customers silent beyond it did not come back)
    and the recency list then holds only customers who stopped."""
    import clv

    stops = pl.col("customer_id").str.slice(1).cast(pl.Int64).mod(4).eq(0)
    cut = steady_shop.filter(~stops | (pl.col("date") < D(2024, 9, 1)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = clv.analyze(cut, observation_end="2025-05-14", gg_penalizer=0.001)
        overdue = analysis.overdue
    # by hand on the calibration split: beyond k gaps, the share who bought in the holdout
    cal = risk.calibration_gaps(analysis.calibration)
    beyond = cal.filter(pl.col("gaps") > overdue.gaps)
    assert overdue.measured and overdue.bought_again == pytest.approx(beyond["bought_again"].mean())
    assert overdue.bought_again < 0.5 and overdue.gaps >= 1.0
    # the full BG/NBD sees these customers stop; scored as a model that sees no dropout
    # would score them (P(alive) 1), the recency rule lists exactly who stopped
    assert analysis.at_risk_rule == "p_alive"
    alive = analysis.segments.filter(pl.col("p_alive") > 0)
    no_dropout = alive.with_columns(clv=pl.col("clv") / pl.col("p_alive"), p_alive=pl.lit(1.0))
    table = risk.at_risk(no_dropout, rule="recency", overdue=overdue, min_value_quantile=0.0)
    assert table.height > 0
    assert table.select(stops).to_series().all()  # every listed customer stopped
    assert (table["gaps_since_last_purchase"] > overdue.gaps).all()


@pytest.mark.parametrize("purchase_model", ["bgnbd", "pareto_nbd"])
def test_cdnow_p_alive_list_recomputed_with_pandas(purchase_model):
    """Defect 1: under a model that sees dropout the list is P(alive) <= 0.5 and value if
    they stay in the top 20 %; the lost (P(alive) < 0.05) are apart; value at stake =
    (1 - P(alive)) x value if they stay."""
    import clv
    from clv.report import first_page, sections

    analysis = clv.analyze(purchase_model=purchase_model)
    assert analysis.at_risk_rule == "p_alive"
    seg = analysis.segments.to_pandas()
    seg["stays"] = seg.clv / seg.p_alive
    pool = seg[(seg.p_alive >= 0.05) & (seg.revenue > 0)]
    q = pool.stays.quantile(0.8)
    want = seg[(seg.revenue > 0) & (seg.stays >= q) & seg.p_alive.between(0.05, 0.5)]
    got = analysis.at_risk
    assert sorted(got["customer_id"]) == sorted(want.customer_id)
    stake = ((1 - want.p_alive) * want.stays).sum()
    assert got["value_at_stake"].sum() == pytest.approx(stake, rel=1e-9)
    assert got["p_alive"].min() >= 0.05  # the list never opens with customers already gone
    rq = seg[seg.revenue > 0].revenue.quantile(0.8)
    lost = seg[(seg.p_alive < 0.05) & (seg.revenue > 0) & (seg.revenue >= rq)]
    assert sorted(analysis.lost["customer_id"]) == sorted(lost.customer_id)
    stated = analysis.kpis["at_risk"]
    assert stated["customers"] == len(want) and stated["lost"] == len(lost)
    assert stated["value_at_stake"] == pytest.approx(stake, rel=1e-9)
    records = {r["id"]: r for r in first_page.records(analysis.findings)}
    assert records["at_risk_p_alive"]["numbers"]["value_at_stake"] == pytest.approx(stake)
    assert "historical revenue" not in records["at_risk_p_alive"]["text"]
    assert "rule" in sections.at_risk_caption(analysis.at_risk_rule)


def test_value_at_stake_is_on_the_margin_basis():
    """Defect 1: in a margin-basis run the value at stake is margin, not revenue."""
    import clv

    revenue = clv.analyze()
    margin = clv.analyze(margin=0.3)
    assert margin.at_risk["customer_id"].to_list() == revenue.at_risk["customer_id"].to_list()
    assert margin.at_risk["value_at_stake"].sum() == pytest.approx(
        0.3 * revenue.at_risk["value_at_stake"].sum(), rel=1e-9
    )


def test_recency_needs_an_rfm_summary():
    with pytest.raises(DataError, match="'observation_end' of an RFM summary"):
        risk.with_silence(_customers().drop("observation_end"))


@settings(max_examples=200, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(0, 6).map(float), st.floats(-1e6, 1e6, allow_nan=False)),
        min_size=1,
        max_size=60,
    ),
    q=st.one_of(st.sampled_from([0.0, 0.2, 0.5, 0.8, 0.9, 1.0]), st.floats(0.0, 1.0)),
)
def test_the_quantile_from_two_values_is_polars_quantile(values, q):
    """What an engine computes from the two sorted values around the quantile (ties,
    repeated values, one value) is the polars quantile and median to the last bit."""
    series = pl.Series(values, dtype=pl.Float64)
    ordered = sorted(values)
    for share, want in ((q, series.quantile(q, interpolation="linear")), (0.5, series.median())):
        lower, fraction = risk.quantile_position(len(values), share)
        got = risk.quantile_between(ordered[lower : lower + 2], fraction)
        assert got == want, (share, got, want)
