"""clv.analysis.kpis: headline numbers, channels, loyalty, cohorts, economics vs pandas."""

import datetime as dt

import numpy as np
import pandas as pd
import polars as pl
import pytest
from pandas_reference import pandas_orders

from clv.analysis import kpis, loyalty, retention
from clv.analysis.segments import customer_table, order_table

D = dt.date


def test_headline_against_pandas(shop, shop_scored):
    frame = shop[0]
    _, _, scores = shop_scored
    got = kpis.headline_kpis(frame, scores)
    df, orders = pandas_orders(frame)
    per = orders.groupby("customer_id").agg(orders=("n", "size"), revenue=("amount", "sum"))
    n = len(per)
    assert got["customers"] == n
    assert got["orders"] == len(orders)
    assert got["revenue"] == pytest.approx(df.amount.sum())
    assert got["repeat_customer_rate"] == pytest.approx((per.orders > 1).mean())
    first, later = orders[orders.n == 1], orders[orders.n > 1]
    assert got["returning_vs_new_aov_ratio"] == pytest.approx(
        later.amount.mean() / first.amount.mean()
    )
    rev = per.revenue.sort_values(ascending=False)
    assert got["top_10pct_revenue_share"] == pytest.approx(
        rev.head(round(0.1 * n)).sum() / rev.sum()
    )
    assert got["top_20pct_revenue_share"] == pytest.approx(
        rev.head(round(0.2 * n)).sum() / rev.sum()
    )
    x = np.sort(rev.to_numpy())
    i = np.arange(1, n + 1)
    assert got["gini_revenue"] == pytest.approx(((2 * i - n - 1) * x).sum() / (n * x.sum()))

    # channels: the channel of the first order; good = top 20 % by revenue
    first_channel = (
        df.sort_values(["customer_id", "date", "order_id"]).groupby("customer_id").channel.first()
    )
    per["channel"] = first_channel
    ranked = per.reset_index().sort_values(["revenue", "customer_id"], ascending=[False, True])
    per["good"] = per.index.isin(ranked.customer_id.head(round(0.2 * n)))
    per = per.join(scores.to_pandas().set_index("customer_id").clv)
    assert list(got["channels"]) == ["referral", "search", "paid_social"]  # the truth's order
    for name, row in got["channels"].items():
        sub = per[per.channel == name]
        assert row["customers"] == len(sub)
        assert row["share_good"] == pytest.approx(sub.good.mean())
        assert row["repeat_rate"] == pytest.approx((sub.orders > 1).mean())
        assert row["aov"] == pytest.approx(sub.revenue.sum() / sub.orders.sum())
        assert row["mean_value"] == pytest.approx(sub.revenue.mean())
        assert row["mean_clv"] == pytest.approx(sub.clv.mean())

    members = df.groupby("customer_id").loyalty.any()
    for key, flag in (("members", True), ("non_members", False)):
        sub = per[members.reindex(per.index) == flag]
        row = got["loyalty"][key]
        assert row["customers"] == len(sub)
        assert row["aov"] == pytest.approx(sub.revenue.sum() / sub.orders.sum())
        assert row["orders_per_customer"] == pytest.approx(sub.orders.mean())
        assert row["repeat_rate"] == pytest.approx((sub.orders > 1).mean())
        assert row["mean_clv"] == pytest.approx(sub.clv.mean())
    # members of the synthetic shop spend more per order and buy more often
    assert got["loyalty"]["members"]["aov"] > got["loyalty"]["non_members"]["aov"]
    assert (
        got["loyalty"]["members"]["orders_per_customer"]
        > got["loyalty"]["non_members"]["orders_per_customer"]
    )
    assert 0 <= got["gini_clv"] <= 1 and 0 < got["top_10pct_clv_share"] < 1


def test_without_optional_columns_sections_are_left_out(shop):
    bare = shop[0].select("customer_id", "date", "amount")
    got = kpis.headline_kpis(bare)
    assert "channels" not in got and "loyalty" not in got
    assert any("channel" in note for note in got["notes"])
    assert any("loyalty" in note for note in got["notes"])
    orders = order_table(bare)
    customers = customer_table(bare, orders=orders)
    assert kpis.channel_table(customers) is None
    assert loyalty.loyalty_table(customers) is None
    assert loyalty.loyalty_by_month(orders) is None
    # without order_id an order is a customer-day
    assert got["orders"] == bare.select("customer_id", "date").unique().height


def test_channel_costs_give_cac_and_no_mean_clv_ratio(shop, shop_scored):
    customers = customer_table(shop[0]).join(
        shop_scored[2].select("customer_id", "clv"), on="customer_id"
    )
    table = kpis.channel_table(customers, channel_costs={"referral": 20.0, "search": 40.0})
    row = table.filter(pl.col("channel") == "referral").row(0, named=True)
    assert row["cac"] == 20.0
    # defect 2: no mean-CLV ratio called CLV:CAC (that is a new customer's value / CAC)
    assert "clv_cac" not in table.columns
    assert table.filter(pl.col("channel") == "paid_social")["cac"][0] is None
    assert table["rank"].to_list() == [1, 2, 3]
    assert table["share_of_good"].sum() == pytest.approx(1.0)


def tiny() -> pl.DataFrame:
    rows = [  # customer, date, amount, loyalty, margin
        ("m1", D(2024, 1, 3), 100.0, True, 30.0),
        ("m1", D(2024, 1, 20), 50.0, True, 15.0),
        ("m1", D(2024, 2, 2), 60.0, True, 18.0),
        ("m1", D(2024, 2, 9), 40.0, True, 12.0),  # 4th order: a reward
        ("n1", D(2024, 1, 5), 30.0, False, 9.0),
        ("n2", D(2024, 2, 7), 20.0, False, 6.0),
        ("n2", D(2024, 3, 1), 20.0, False, 6.0),
    ]
    frame = pl.DataFrame(
        rows, schema=["customer_id", "date", "amount", "loyalty", "margin"], orient="row"
    )
    return frame.with_columns(order_id=pl.format("o{}", pl.int_range(pl.len())))


def test_returning_vs_new_and_cohorts_by_hand():
    orders = order_table(tiny())
    got = kpis.returning_vs_new(orders)
    assert got["aov_new"] == pytest.approx((100 + 30 + 20) / 3)
    assert got["aov_returning"] == pytest.approx((50 + 60 + 40 + 20) / 4)
    assert got["repeat_customer_rate"] == pytest.approx(2 / 3)
    assert got["median_days_to_second_order"] == pytest.approx((17 + 23) / 2)
    cohorts = kpis.cohort_table(orders)
    jan = cohorts.filter(pl.col("cohort") == D(2024, 1, 1)).sort("months_since")
    assert jan["cohort_customers"].to_list() == [2, 2]
    assert jan["active_customers"].to_list() == [2, 1]
    assert jan["retention"].to_list() == [1.0, 0.5]
    assert jan["revenue"].to_list() == [180.0, 100.0]
    assert jan["cumulative_revenue_per_customer"].to_list() == [90.0, 140.0]
    feb = cohorts.filter(pl.col("cohort") == D(2024, 2, 1))
    assert feb["months_since"].to_list() == [0, 1]


def _cohorts_by_id(orders: pl.DataFrame) -> pl.DataFrame:
    """The cohort table grouped on the ids (the definition), to compare with."""
    return (
        orders.with_columns(month=pl.col("date").dt.truncate("1mo"))
        .with_columns(cohort=pl.col("month").min().over("customer_id"))
        .with_columns(
            months_since=(pl.col("month").dt.year() - pl.col("cohort").dt.year()) * 12
            + pl.col("month").dt.month().cast(pl.Int32)
            - pl.col("cohort").dt.month().cast(pl.Int32)
        )
        .group_by("cohort", "months_since")
        .agg(active_customers=pl.col("customer_id").n_unique(), orders=pl.len())
        .sort("cohort", "months_since")
    )


def test_cohorts_and_returning_vs_new_equal_grouping_by_id_in_any_row_order(shop):
    orders = order_table(shop[0])
    shuffled = orders.sample(fraction=1.0, shuffle=True, seed=3)
    for frame in (orders, shuffled):
        got = kpis.cohort_table(frame).select("cohort", "months_since", "active_customers")
        want = _cohorts_by_id(orders).select(got.columns)
        assert got.equals(want.with_columns(pl.col("active_customers").cast(got.dtypes[2])))
    months = orders.with_columns(month=pl.col("date").dt.truncate("1mo"))
    for (_,), part in months.group_by("month"):  # a month's rows: order 1 may be elsewhere
        for frame in (part, part.sample(fraction=1.0, shuffle=True, seed=5)):
            got = kpis.returning_vs_new(frame)
            pairs = (
                part.filter(pl.col("order_number") <= 2)
                .group_by("customer_id")
                .agg(days=(pl.col("date").max() - pl.col("date").min()).dt.total_days(), n=pl.len())
                .filter(pl.col("n") == 2)["days"]
            )
            assert got["customers"] == part["customer_id"].n_unique()
            assert got["median_days_to_second_order"] == (pairs.median() if pairs.len() else None)
            mean = got["mean_days_to_second_order"]
            assert mean == (pytest.approx(pairs.mean(), rel=1e-12) if pairs.len() else None)


def test_cohorts_against_pandas(shop):
    orders = order_table(shop[0])
    got = kpis.cohort_table(orders).to_pandas()
    df = orders.to_pandas()
    df["month"] = df.date.dt.to_period("M")
    df["cohort"] = df.groupby("customer_id").month.transform("min")
    df["k"] = (df.month - df.cohort).apply(lambda p: p.n)
    want = df.groupby(["cohort", "k"]).agg(
        active=("customer_id", "nunique"), revenue=("amount", "sum")
    )
    assert len(got) == len(want)
    assert (got.active_customers.to_numpy() == want.active.to_numpy()).all()
    assert np.allclose(got.revenue, want.revenue)
    assert (got.months_since.to_numpy() == want.index.get_level_values("k")).all()


def test_loyalty_discount_is_not_counted_twice_when_margin_is_after_it():
    """Defect 11: with the recorded margin already after the member discount (the default),
    the discount is shown but not subtracted from members' extra margin a second time."""
    orders = order_table(tiny())
    got = loyalty.loyalty_by_month(orders, member_discount_rate=0.1, cost_per_reward=5.0)
    jan = got.filter(pl.col("month") == D(2024, 1, 1)).row(0, named=True)
    assert jan["discount_cost"] == pytest.approx(150 * 0.1 / 0.9)
    assert jan["program_cost"] == 0.0 and jan["net"] == pytest.approx(36.0)
    feb = got.filter(pl.col("month") == D(2024, 2, 1)).row(0, named=True)
    assert feb["program_cost"] == pytest.approx(5.0) and feb["net"] == pytest.approx(19.0)


def test_loyalty_by_month_profitability_by_hand():
    orders = order_table(tiny())
    got = loyalty.loyalty_by_month(
        orders, member_discount_rate=0.1, cost_per_reward=5.0, margin_after_member_discount=False
    )
    jan = got.filter(pl.col("month") == D(2024, 1, 1)).row(0, named=True)
    assert jan["members_active"] == 1 and jan["non_members_active"] == 1
    assert jan["member_margin_per_active"] == pytest.approx(45.0)
    assert jan["extra_margin"] == pytest.approx(45.0 - 9.0)
    assert jan["discount_cost"] == pytest.approx(150 * 0.1 / 0.9)
    assert jan["rewards"] == 0 and jan["net"] == pytest.approx(36.0 - 150 * 0.1 / 0.9)
    feb = got.filter(pl.col("month") == D(2024, 2, 1)).row(0, named=True)
    assert feb["rewards"] == 1 and feb["reward_cost"] == pytest.approx(5.0)
    assert feb["extra_margin"] == pytest.approx(30.0 - 6.0)
    assert feb["pays_off"] == (24.0 - 100 * 0.1 / 0.9 - 5.0 > 0)
    mar = got.filter(pl.col("month") == D(2024, 3, 1)).row(0, named=True)
    assert mar["members_active"] == 0 and mar["extra_margin"] is None


def test_before_after_launch_by_hand():
    got = loyalty.loyalty_before_after(order_table(tiny()), launch_date="2024-02-01")
    before, after = got.row(0, named=True), got.row(1, named=True)
    assert before["period"] == "before" and before["customers"] == 2 and before["orders"] == 3
    assert before["repeat_rate"] == pytest.approx(0.5)
    assert before["aov"] == pytest.approx(180 / 3)
    assert after["customers"] == 2 and after["orders"] == 4 and after["new_customers"] == 1
    assert after["orders_per_customer"] == pytest.approx(2.0)


@pytest.mark.parametrize("members_only", [True, False])
def test_reward_milestones_from_distinct_rows_equal_the_per_customer_ones(
    shop, shop_scored, members_only
):
    """The probabilities computed once per distinct (frequency, recency, T) row of the
    members, weighted by their counts, give the per-customer table (pandas sums of it)."""
    summary, model, _ = shop_scored
    customers = customer_table(shop[0])
    if not members_only:
        customers = customers.drop("loyalty")
    keywords = {"milestones": (2, 4, 10), "horizon": 12.0, "horizon_unit": "M"}
    probabilities = loyalty.milestone_probabilities(model, summary, **keywords)
    want = loyalty.reward_milestones(
        customers, milestones=(2, 4, 10), probability_at_least=probabilities
    )
    base = customers.select("customer_id", "orders", *(["loyalty"] if members_only else []))
    base = base.join(summary.select("customer_id", "frequency", "recency", "T"), on="customer_id")
    if members_only:
        base = base.filter("loyalty")
    keys = ["frequency", "recency", "T"]
    counts = loyalty.milestone_counts(base, milestones=(2, 4, 10), keys=keys)
    assert counts.height < base.height  # fewer rows to score than customers
    rows = loyalty.with_reach_probabilities(model, counts, **keywords)
    got = loyalty.milestone_table(rows, milestones=(2, 4, 10))
    expected = ["expected_to_reach", "expected_share"]
    assert got.drop(expected).equals(want.drop(expected))
    for column in expected:
        np.testing.assert_allclose(got[column].to_numpy(), want[column].to_numpy(), rtol=1e-12)
    frame = base.join(probabilities, on="customer_id").to_pandas()
    for row in got.iter_rows(named=True):
        k = row["milestone"]
        by_hand = np.where(frame.orders >= k, 1.0, frame[f"p_reach_{k}"]).sum()
        assert row["expected_to_reach"] == pytest.approx(by_hand, rel=1e-12)
        assert row["customers"] == len(frame)


def test_reward_milestones_with_the_model(shop, shop_scored):
    summary, model, _ = shop_scored
    customers = customer_table(shop[0])
    probs = loyalty.milestone_probabilities(model, summary, milestones=(4, 10), horizon=12)
    got = loyalty.reward_milestones(customers, milestones=(4, 10), probability_at_least=probs)
    members = customers.filter("loyalty").to_pandas()
    for row in got.iter_rows(named=True):
        k = row["milestone"]
        assert row["customers"] == len(members)
        assert row["reached"] == (members.orders >= k).sum()
        assert row["reached"] <= row["expected_to_reach"] <= row["customers"]
    p = probs.to_pandas().set_index("customer_id")
    assert ((p >= 0) & (p <= 1)).all().all()
    assert (p.p_reach_10 <= p.p_reach_4 + 1e-12).all()
    # a customer one purchase short: P(at least one purchase in 12 months) from the model
    s = summary.filter(pl.col("frequency") == 2).head(1)
    month_weeks = (365.25 / 12) / 7
    direct = model.probability_at_least(s, t=12 * month_weeks, k=1)[0]
    assert p.loc[s["customer_id"][0], "p_reach_4"] == pytest.approx(direct)
    # purchases are occasions as the model counts them (frequency + 1), not orders: a
    # customer with two orders on one day has more orders than occasions
    both = summary.filter(pl.col("orders") > pl.col("frequency") + 1)
    assert both.height > 0
    for row in both.head(5).iter_rows(named=True):
        need = 4 - (row["frequency"] + 1)
        one = summary.filter(pl.col("customer_id") == row["customer_id"])
        want = 1.0 if need <= 0 else model.probability_at_least(one, t=12 * month_weeks, k=need)[0]
        assert p.loc[row["customer_id"], "p_reach_4"] == pytest.approx(want)
    assert probs["customer_id"].to_list() == summary["customer_id"].to_list()
    longer = loyalty.milestone_probabilities(model, summary, milestones=(4,), horizon=24)
    assert (longer["p_reach_4"].to_numpy() >= probs["p_reach_4"].to_numpy() - 1e-12).all()


def test_retention_economics_by_hand():
    rows = [  # two years: c1 and c2 active in year 1; c1 again in year 2; c3 new in year 2
        ("c1", D(2023, 3, 1), 100.0),
        ("c1", D(2024, 3, 1), 100.0),
        ("c1", D(2024, 6, 1), 100.0),
        ("c2", D(2023, 5, 1), 50.0),
        ("c3", D(2024, 12, 31), 60.0),
        ("c0", D(2023, 1, 2), 10.0),  # the window is (end - 730 d, end - 365 d]
    ]
    frame = pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")
    orders = order_table(frame)
    scores = pl.DataFrame({"customer_id": ["c0", "c1", "c2", "c3"], "clv": [0.0, 150.0, 0.0, 50.0]})
    got = retention.retention_economics(orders, scores, uplift_points=10, discount_rate_annual=0.1)
    r = 1 / 3  # c0, c1, c2 bought in the year before last; only c1 again
    m = (200 + 60) / 2
    assert got["annual_retention"] == pytest.approx(r)
    assert got["margin_per_active_customer"] == pytest.approx(m)
    v0, v1 = m * 1.1 / (1.1 - r), m * 1.1 / (1.1 - r - 0.1)
    assert got["uplift_value_per_customer"] == pytest.approx(v1 - v0)
    assert got["uplift_value_total"] == pytest.approx(2 * (v1 - v0))
    assert got["simple_clv"] == pytest.approx((260 / 3) * (3 / 2) * (1 / (1 - r)))
    # over the scores' 12 months, discounted monthly at 1.1^(i/12) like ClvModel.score
    horizon = sum(m / 12 / 1.1 ** (i / 12) for i in range(1, 13))
    assert got["simple_clv_horizon"] == pytest.approx(horizon)
    assert got["model_mean_clv"] == pytest.approx(50.0)
    assert got["simple_over_model"] == pytest.approx(horizon / 50.0)
    # 6.5 months: six whole months and half a month discounted at its end 6.5 / 12
    half = retention.retention_economics(orders, scores, horizon_months=6.5)
    want = sum(m / 12 / 1.1 ** (i / 12) for i in range(1, 7)) + m / 24 / 1.1 ** (6.5 / 12)
    assert half["simple_clv_horizon"] == pytest.approx(want)
    assert all(isinstance(v, int | float | dict | None) for k, v in got.items() if k != "basis")


def test_retention_economics_uses_the_margin_column_everywhere():
    rows = [  # customer, date, amount, margin (25 % on c1, 50 % on c2 and c3)
        ("c0", D(2023, 1, 2), 10.0, 5.0),  # two full years of data
        ("c1", D(2023, 3, 1), 100.0, 25.0),
        ("c1", D(2024, 3, 1), 100.0, 25.0),
        ("c2", D(2023, 5, 1), 50.0, 25.0),
        ("c2", D(2024, 5, 1), 50.0, 25.0),
        ("c3", D(2024, 12, 31), 60.0, 30.0),
    ]
    frame = pl.DataFrame(
        rows, schema=["customer_id", "date", "amount", "margin"], orient="row"
    ).with_columns(order_id=pl.format("o{}", pl.int_range(pl.len())))
    # margin_rate is ignored when the margin column is there
    got = retention.retention_economics(order_table(frame), margin_rate=0.9)
    r, m = 2 / 3, (25 + 25 + 30) / 3  # c1, c2 of c0, c1, c2 again; margin per active
    assert got["annual_retention"] == pytest.approx(r)
    assert got["margin_per_active_customer"] == pytest.approx(m)
    assert got["margin_share"] == pytest.approx(80 / 210)
    assert got["simple_clv_inputs"]["margin_per_order"] == pytest.approx(80 / 3)
    assert got["simple_clv"] == pytest.approx(m / (1 - r))  # margin, not 0.9 x revenue
    assert got["value_per_active_customer"] == pytest.approx(m * 1.1 / (1.1 - r))
    no_margin = retention.retention_economics(order_table(frame.drop("margin")), margin_rate=0.9)
    assert no_margin["simple_clv"] == pytest.approx(0.9 * 210 / 3 / (1 - r))


def test_simple_formula_overstates_on_the_shop(shop, shop_scored):
    """At the model's own horizon (12 months) and discounting, in the same unit (margin)."""
    frame = shop[0]
    summary, model, _ = shop_scored
    df = frame.to_pandas()
    end = df.date.max()
    last = df[df.date > end - pd.Timedelta(days=365)]
    share = last.margin.sum() / last.amount.sum()
    scores = model.score(summary, horizon=12, margin=share)  # CLV in margin
    got = retention.retention_economics(order_table(frame), scores, horizon_months=12)
    # independently: last year's margin per active customer, 12 months discounted monthly
    m = last.margin.sum() / last.customer_id.nunique()
    simple = sum(m / 12 / 1.1 ** (i / 12) for i in range(1, 13))
    model_mean = scores["clv"].mean()
    assert got["margin_share"] == pytest.approx(share)
    assert got["simple_clv_horizon"] == pytest.approx(simple)
    assert got["model_mean_clv"] == pytest.approx(model_mean)
    # the claim, at equal horizons and units: the simple formula overstates
    assert simple > model_mean
    assert got["simple_over_model"] == pytest.approx(simple / model_mean)
    # the lifetime figure overstates by more: part of its gap is the horizon alone
    assert got["simple_clv"] / model_mean > got["simple_over_model"]


def test_headline_good_share_reaches_the_channels(shop, shop_scored):
    frame = shop[0]
    got = kpis.headline_kpis(frame, shop_scored[2], good_share=0.3)
    per = customer_table(frame).to_pandas()
    ranked = per.sort_values(["revenue", "customer_id"], ascending=[False, True])
    per["good"] = per.customer_id.isin(ranked.customer_id.head(round(0.3 * len(per))))
    for name, row in got["channels"].items():
        assert row["share_good"] == pytest.approx(per[per.channel == name].good.mean())
    default = kpis.headline_kpis(frame, shop_scored[2])
    assert (
        default["channels"]["referral"]["share_good"] != got["channels"]["referral"]["share_good"]
    )


def test_with_scores_keeps_rows_and_existing_columns():
    customers = pl.DataFrame(
        {"customer_id": ["b", "a", "c"], "orders": [2, 1, 3], "top": [1, 0, 0]}
    )
    scores = pl.DataFrame(
        {
            "customer_id": ["a", "b"],
            "clv": [10.0, 20.0],
            "p_alive": [0.5, 0.9],
            "top": [True, False],
            "frequency": [0, 1],
        }
    )
    got = kpis.with_scores(customers, scores)
    assert got["customer_id"].to_list() == ["b", "a", "c"]
    assert got["clv"].to_list() == [20.0, 10.0, None]
    assert got["top"].to_list() == [1, 0, 0]  # not overwritten
    assert "frequency" not in got.columns
    assert kpis.with_scores(customers, None) is customers
