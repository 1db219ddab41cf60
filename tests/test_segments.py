"""clv.analysis.segments: every number against pandas or by hand; hypothesis invariants."""

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas_reference import pandas_orders

from clv.analysis import profile, risk, segments
from clv.analysis.profile import gini, lorenz_curve
from clv.analysis.segments import (
    customer_table,
    order_table,
    segment_table,
    tier_summary,
    top_count,
    value_tiers,
)

D = dt.date
MONEY = st.floats(0, 1e6, allow_nan=False).map(lambda v: round(v, 2))  # currency, cents


def tiny(with_orders: bool = True) -> pl.DataFrame:
    rows = [  # customer, date, amount, order
        ("b", D(2024, 1, 1), 10.0, "o1"),
        ("b", D(2024, 1, 1), 5.0, "o1"),  # same order, two rows
        ("b", D(2024, 1, 1), 7.0, "o2"),  # second order, same day
        ("b", D(2024, 2, 1), 20.0, "o3"),
        ("a", D(2024, 1, 5), 50.0, "o4"),
        ("c", D(2024, 3, 1), 1.0, "o5"),
        ("c", D(2024, 1, 9), 4.0, "o6"),
    ]
    frame = pl.DataFrame(rows, schema=["customer_id", "date", "amount", "order_id"], orient="row")
    return frame if with_orders else frame.drop("order_id")


def test_order_table_by_order_id_and_by_day():
    by_id = order_table(tiny())
    assert by_id.height == 6
    b = by_id.filter(pl.col("customer_id") == "b")
    assert b["order"].to_list() == ["o1", "o2", "o3"]
    assert b["amount"].to_list() == [15.0, 7.0, 20.0]
    assert b["order_number"].to_list() == [1, 2, 3]
    c = by_id.filter(pl.col("customer_id") == "c")
    assert c["order"].to_list() == ["o6", "o5"]  # by date, not by input order
    by_day = order_table(tiny(with_orders=False))
    assert by_day.filter(pl.col("customer_id") == "b")["amount"].to_list() == [22.0, 20.0]
    assert by_day["is_first"].sum() == 3


def test_customer_table_against_pandas(shop):
    frame = shop[0]
    got = customer_table(frame).to_pandas().set_index("customer_id")
    df, orders = pandas_orders(frame)
    per = orders.groupby("customer_id").agg(
        orders=("order_id", "size"),
        revenue=("amount", "sum"),
        first=("date", "first"),
        last=("date", "last"),
    )
    second = orders.groupby("customer_id").date.nth(1)
    second.index = orders.loc[second.index, "customer_id"]
    first_channel = (
        df.sort_values(["customer_id", "date", "order_id"]).groupby("customer_id").channel.first()
    )
    reorder = (
        df.groupby(["customer_id", "product"]).order_id.nunique().gt(1).groupby("customer_id").any()
    )
    assert (got.orders == per.orders).all()
    assert np.allclose(got.revenue, per.revenue)
    assert np.allclose(got.aov, per.revenue / per.orders)
    assert (got.tenure_days == (per["last"] - per["first"]).dt.days).all()
    d2 = (second - per.loc[second.index, "first"]).dt.days
    assert (got.loc[d2.index, "days_to_second_order"] == d2).all()
    assert got.days_to_second_order.isna().sum() == (per.orders == 1).sum()
    assert (got.channel == first_channel).all()
    assert (got.reordered_product == reorder).all()
    assert np.allclose(got.margin, df.groupby("customer_id").margin.sum())


def test_value_tiers_counts_ties_and_shares():
    frame = pl.DataFrame({"customer_id": list("jihgfedcba"), "revenue": [5.0] * 5 + [1.0] * 5})
    tiered = value_tiers(frame)
    assert tiered["customer_id"].to_list() == list("jihgfedcba")  # row order kept
    top = tiered.filter("top")["customer_id"].to_list()
    assert top == ["f"]  # round(0.1 * 10) = 1; tie among the 5.0s broken by customer_id
    good = tiered.filter(pl.col("tier") == "good")["customer_id"].sort().to_list()
    assert good == ["f", "g"]
    summary = tier_summary(tiered)
    assert summary["customers"].to_list() == [2, 6, 2]
    assert summary["value"].to_list() == [10.0, 18.0, 2.0]  # 2x5 | 3x5 + 3x1 | 2x1
    assert summary["value_share"].sum() == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(MONEY, min_size=1, max_size=300),
    st.sampled_from([(0.2, 0.6, 0.2), (0.1, 0.4, 0.5), (0.5, 0.5, 0.0)]),
)
def test_tier_invariants(values, cuts):
    n = len(values)
    frame = pl.DataFrame({"customer_id": [f"c{i:04d}" for i in range(n)], "revenue": values})
    tiers = tuple(zip(("good", "middle", "low"), cuts, strict=True))
    tiered = value_tiers(frame, tiers=tiers)
    assert tiered["top"].sum() == round(0.1 * n) == top_count(n)
    assert tiered.height == n and tiered["tier"].null_count() == 0
    summary = tier_summary(tiered, tiers=tiers)
    assert summary["customers"].sum() == n
    assert summary["customer_share"].sum() == pytest.approx(1.0)
    if sum(values) > 0:
        assert summary["value_share"].sum() == pytest.approx(1.0)
    # every good customer is worth at least every middle one, etc.
    mins = dict(zip(summary["tier"], summary["min_value"], strict=True))
    maxs = tiered.group_by("tier").agg(pl.col("revenue").max())
    maxs = dict(zip(maxs["tier"], maxs["revenue"], strict=True))
    if "good" in mins and "middle" in maxs and mins["good"] is not None:
        assert mins["good"] >= maxs["middle"]


def test_gini_by_hand_and_against_mean_difference():
    assert gini(pl.Series([3.0, 3.0, 3.0, 3.0])) == pytest.approx(0.0)
    assert gini(pl.Series([0.0, 0.0, 0.0, 8.0])) == pytest.approx(0.75)
    assert gini(pl.Series([1.0, 2.0, 3.0])) == pytest.approx(2 / 9)
    x = np.random.default_rng(0).gamma(0.7, 10.0, 400)
    mean_abs_difference = np.abs(x[:, None] - x[None, :]).mean()
    assert gini(pl.Series(x)) == pytest.approx(mean_abs_difference / (2 * x.mean()))


@settings(max_examples=60, deadline=None)
@given(st.lists(MONEY, min_size=1, max_size=200))
def test_lorenz_and_gini_invariants(values):
    g = gini(pl.Series(values))
    assert 0.0 <= g <= 1.0
    for points in (None, 11):
        curve = lorenz_curve(pl.Series(values), points=points)
        share, value = curve["customer_share"].to_numpy(), curve["value_share"].to_numpy()
        assert share[0] == 0 and share[-1] == 1 and value[0] == 0
        assert value[-1] == pytest.approx(1.0)
        assert np.all(np.diff(share) >= 0) and np.all(np.diff(value) >= -1e-12)
        assert np.all(value <= share + 1e-9)  # below the diagonal
    full = lorenz_curve(pl.Series(values), points=None)
    # the area between the diagonal and the curve is half the Gini (trapezoids are exact)
    area = np.trapezoid(full["value_share"], full["customer_share"])
    assert 1 - 2 * area == pytest.approx(g, abs=1e-9)


def test_rfm_cells_quintiles_and_rules():
    frame = pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(10)],
            "last_purchase": [D(2024, 1, 1 + i) for i in range(10)],
            "orders": [1, 1, 1, 1, 1, 1, 2, 3, 5, 9],
            "revenue": [float(i) for i in range(10)],
        }
    )
    cells = segments.rfm_cells(frame)
    assert cells["R"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert cells["F"].to_list() == [1] * 6 + [4, 4, 5, 5]  # ties share the lowest score
    assert cells["rfm_cell"][9] == "champions"
    assert cells["rfm_cell"][0] == "hibernating"
    assert cells["rfm_cell"][5] == "promising"
    custom = segments.rfm_cells(frame, cells=(("recent", {"R": (5, 5)}),))
    assert custom["rfm_cell"].to_list() == ["others"] * 8 + ["recent"] * 2


def test_segment_table_with_scores(shop_scored):
    summary, _, scores = shop_scored
    table = segment_table(summary, scores)
    assert table.height == summary.height
    assert table["customer_id"].to_list() == sorted(summary["customer_id"].to_list())
    n = table.height
    assert table["clv_top"].sum() == round(0.1 * n) and table["top"].sum() == round(0.1 * n)
    df = table.to_pandas()
    rank = df.sort_values(["clv", "customer_id"], ascending=[False, True]).customer_id
    assert set(df[df.value_tier == "good"].customer_id) == set(rank.head(round(0.2 * n)))
    assert set(df[df.value_tier == "low"].customer_id) == set(rank.tail(n - round(0.8 * n)))
    for col in ("p_alive", "expected_purchases", "expected_order_value", "clv", "rfm_cell"):
        assert table[col].null_count() == 0
    without = segment_table(summary)
    assert "clv" not in without.columns
    assert (without["value_tier"] == without["tier"]).all()


@pytest.mark.parametrize("shuffled", [("summary",), ("scores",), ("summary", "scores")])
def test_segment_table_lines_up_scores_with_or_without_a_join(shop_scored, shuffled):
    """A sorted summary and scores in its row order skip the sort and the join: the table
    equals the one from a shuffled summary (sorted) or shuffled scores (joined)."""
    summary, _, scores = shop_scored
    assert summary["customer_id"].is_sorted()
    table = segment_table(summary, scores)
    frames = {"summary": summary, "scores": scores}
    for name in shuffled:
        frames[name] = frames[name].sample(fraction=1.0, shuffle=True, seed=2)
    assert table.equals(segment_table(frames["summary"], frames["scores"]))


def test_top_profile_does_not_flag_a_difference_it_cannot_show():
    # no dropout seen: P(alive) about 1 for all; 90 top and 810 others
    n = 900
    customers = pl.DataFrame(
        {
            "customer_id": [f"c{i:03d}" for i in range(n)],
            "orders": [1 + i % 7 for i in range(n)],
            "aov": [50.0 + (i % 10) for i in range(n)],
            "p_alive": [1.0 - 1e-9 * (i % 3) for i in range(n)],
            "top": [i < 90 for i in range(n)],
        }
    )
    got = profile.top_profile(customers).filter(pl.col("metric") == "p_alive").row(0, named=True)
    assert (
        got["note"]
        == "top customers' mean probability of being still active: 100 % vs 100 % for the rest"
    )
    assert not got["biggest"]


def test_top_profile_flags_the_product_reorder_gap(shop):
    customers = value_tiers(customer_table(shop[0]))
    got = profile.top_profile(customers)
    row = got.filter(pl.col("metric") == "share_reordered_same_product").row(0, named=True)
    df = customers.to_pandas()
    assert row["top"] == pytest.approx(df[df.top].reordered_product.mean())
    assert row["rest"] == pytest.approx(df[~df.top].reordered_product.mean())
    assert "of top customers re-ordered the same product vs" in row["note"]
    assert got["biggest"].sum() == 3
    assert row["top"] > 0.95 and row["rest"] < 0.55  # 99 % vs 49 %: the gap issue 8 means
    assert row["biggest"]
    # independent ranking: |log odds ratio| (0.5 added to the yes/no counts) for shares,
    # |log ratio| for the other metrics; the three largest are flagged
    n_top, n_rest = df.top.sum(), (~df.top).sum()

    def logit(share, n):
        return np.log((share * n + 0.5) / (n - share * n + 0.5))

    sizes = {}
    for r in got.iter_rows(named=True):
        if r["metric"].startswith("share_") or r["metric"] == "p_alive":
            sizes[r["metric"]] = abs(logit(r["top"], n_top) - logit(r["rest"], n_rest))
        else:
            sizes[r["metric"]] = abs(np.log(r["top"] / r["rest"]))
    want = sorted(sizes, key=sizes.get, reverse=True)[:3]
    assert set(got.filter("biggest")["metric"]) == set(want)
    assert "share_from_referral" in got["metric"].to_list()
    bare = value_tiers(customer_table(shop[0].select("customer_id", "date", "amount")))
    assert "share_loyalty_members" not in profile.top_profile(bare)["metric"].to_list()


def test_middle_to_top_and_at_risk(shop_scored):
    summary, _, scores = shop_scored
    table = segment_table(summary, scores)
    cands = profile.middle_to_top(table, n=20)
    df = table.to_pandas()
    middle = df[df.value_tier == "middle"].sort_values(
        ["clv", "customer_id"], ascending=[False, True]
    )
    assert cands["customer_id"].to_list() == middle.customer_id.head(20).tolist()
    threshold = df[df.value_tier == "good"].clv.min()
    assert np.allclose(cands["clv_gap"], threshold - cands["clv"])
    assert (cands["clv_gap"] >= 0).all()
    one = cands.filter(pl.col("orders") == 1)
    assert one["lacks"].list.contains("second_order").all()
    good = df[df.value_tier == "good"]
    good_aov = (good.revenue / good.orders).median()
    below = cands["aov"] < good_aov
    assert (cands["lacks"].list.contains("higher_aov") == below).all()
    assert np.allclose(cands["good_aov"], good_aov)

    listed = risk.at_risk(table, min_value_quantile=0.8, max_p_alive=0.3)
    df["stays"] = df.clv / df.p_alive
    q = df[(df.p_alive >= 0.05) & (df.revenue > 0)].stays.quantile(0.8)
    want = df[(df.stays >= q) & df.p_alive.between(0.05, 0.3) & (df.revenue > 0)].copy()
    want["stake"] = want.stays * (1 - want.p_alive)
    want = want.sort_values(["stake", "customer_id"], ascending=[False, True])
    assert listed["customer_id"].to_list() == want.customer_id.tolist()
    assert np.allclose(listed["value_at_stake"], want.stake)
    assert risk.at_risk(table.drop("p_alive")).height == 0


def test_pandas_parity_of_top_share(shop):
    customers = customer_table(shop[0])
    tiered = value_tiers(customers)
    df = customers.to_pandas().sort_values(["revenue", "customer_id"], ascending=[False, True])
    k = round(0.1 * len(df))
    assert tiered.filter("top")["revenue"].sum() == pytest.approx(df.revenue.head(k).sum())


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.integers(0, 4).map(float)), min_size=1, max_size=60),
    st.randoms(use_true_random=False),
)
def test_ranks_sort_by_value_then_id_with_ids_sorted_or_not(values, rnd):
    ids = [f"c{i:03d}" for i in range(len(values))]  # sorted ids: the fast path
    shuffled = ids[:]
    rnd.shuffle(shuffled)
    for order in (ids, shuffled):
        frame = pl.DataFrame({"customer_id": order, "revenue": values}, strict=False)
        want = frame.sort(
            ["revenue", "customer_id"], descending=[True, False], nulls_last=True
        ).with_columns(rank=pl.int_range(1, pl.len() + 1))
        got = value_tiers(frame).join(want, on="customer_id", suffix="_want")
        assert (got["rank"] == got["rank_want"]).all()
    ties = pl.DataFrame({"customer_id": list("abcde"), "revenue": [1.0, 5, 5, 5, 1]})
    assert value_tiers(ties)["rank"].to_list() == [4, 1, 2, 3, 5]


def test_null_values_rank_last():
    frame = pl.DataFrame(
        {"customer_id": ["a", "b", "c", "d", "e"], "clv": [None, 5.0, 1.0, 3.0, 2.0]}
    )
    tiered = value_tiers(
        frame, value_col="clv", tiers=(("good", 0.2), ("rest", 0.8)), top_share=0.2
    )
    got = dict(zip(tiered["customer_id"], tiered["rank"], strict=True))
    # by hand: 5, 3, 2, 1 then the null
    assert got == {"b": 1, "d": 2, "e": 3, "c": 4, "a": 5}
    top = tiered.filter("top")["customer_id"].to_list()
    assert top == ["b"]  # round(0.2 * 5) = 1 customer, never the null one
    assert tiered.filter(pl.col("customer_id") == "a")["tier"][0] == "rest"
    assert tiered.filter(pl.col("tier") == "good")["customer_id"].to_list() == ["b"]


def test_acquisition_channel_ties_go_to_the_first_row_in_file_order():
    # no order_id: several rows of a customer's first day with different channels; the
    # channel is the first such row in file order (by hand: the channel listed first)
    rng = np.random.default_rng(0)
    names = ["alpha", "beta", "gamma", "delta", "omega"]
    rows, want = [], {}
    for i in range(300):
        order = [names[j] for j in rng.permutation(len(names))]
        cid = f"c{i:03d}"
        want[cid] = order[0]
        rows += [(cid, D(2024, 1, 2), 1.0, ch) for ch in order]
        rows.append((cid, D(2024, 1, 1) if i % 7 == 0 else D(2024, 2, 1), 1.0, "late"))
        if i % 7 == 0:
            want[cid] = "late"  # an earlier day wins over file order
    frame = pl.DataFrame(rows, schema=["customer_id", "date", "amount", "channel"], orient="row")
    got = customer_table(frame)
    assert dict(zip(got["customer_id"], got["channel"], strict=True)) == want
    first = order_table(frame).filter("is_first")
    assert dict(zip(first["customer_id"], first["channel"], strict=True)) == want


def test_at_risk_threshold_is_the_linear_quantile():
    # values 10..50: the 0.8 quantile is 42 with linear interpolation (pandas' default),
    # 40 with "nearest" (polars' default): customer d (40) must not be listed
    frame = pl.DataFrame(
        {
            "customer_id": list("abcde"),
            "revenue": [10.0, 20.0, 30.0, 40.0, 50.0],
            "orders": [1, 1, 1, 2, 3],
            "last_purchase": [D(2024, 1, 1)] * 5,
            "p_alive": [0.1] * 5,
            "clv": [1.0, 2.0, 3.0, 4.0, 5.0],  # value if they stay: 10 .. 50
        }
    )
    q = frame.to_pandas().revenue.quantile(0.8)
    assert q == pytest.approx(42.0)
    listed = risk.at_risk(frame, min_value_quantile=0.8, max_p_alive=0.5)
    assert listed["customer_id"].to_list() == ["e"]
    assert listed["value_at_stake"].to_list() == pytest.approx([50.0 * 0.9])
