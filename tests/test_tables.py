"""The notebook steps, on tiny frames with hand-computed answers."""

import datetime as dt

import polars as pl
import pytest

from clv.analysis import profile, tables, validation
from clv.analysis.money import Money
from clv.errors import UsageError
from clv.report import sections


def test_tiers_from_cuts() -> None:
    assert tables.tiers_from_cuts([0.2, 0.8]) == (("good", 0.2), ("middle", 0.6), ("low", 0.2))
    assert tables.tiers_from_cuts((0.1, 0.9), ("a", "b", "c")) == (
        ("a", 0.1),
        ("b", 0.8),
        ("c", 0.1),
    )
    with pytest.raises(UsageError, match="tier_cuts"):
        tables.tiers_from_cuts([0.8, 0.2])


def test_month_comparison_picks_last_month_and_year_before() -> None:
    months = [dt.date(2023, 1, 1), dt.date(2023, 12, 1), dt.date(2024, 1, 1)]
    by_month = pl.DataFrame({"month": months, "revenue": [1.0, 2.0, 3.0]})
    table = tables.month_comparison(by_month)
    assert table["period"].to_list() == ["this month", "last month", "a year before"]
    assert table["month"].to_list() == [months[2], months[1], months[0]]
    assert table["revenue"].to_list() == [3.0, 2.0, 1.0]
    picked = tables.month_comparison(by_month, "2023-12-15")
    assert picked["month"].to_list() == [months[1], dt.date(2023, 11, 1), dt.date(2022, 12, 1)]
    assert picked["revenue"].to_list() == [2.0, None, None]
    assert tables.month_comparison(None) is None


def test_as_table_and_headline_cards() -> None:
    from dataclasses import replace

    table = sections.as_table({"orders": 1234, "aov": 12.5, "share": 0.25, "nested": {"a": 1}})
    assert table.rows() == [("orders", "1,234"), ("aov", "12.50"), ("share", "0.250")]
    kpis = {"customers": 2357, "repeat_customer_rate": 0.4, "predicted_clv_total": float("nan")}
    assert sections.headline_cards(kpis, money=REVENUE) == {
        "customers in all": "2,357",
        "repeat customer rate": "40.0%",
        "predicted CLV on revenue, next 12 months": "-",
    }
    kpis |= {"revenue": 1234567.0, "predicted_clv_mean": 12.346}
    cards = sections.headline_cards(kpis, money=replace(REVENUE, basis="margin", currency="EUR"))
    assert cards["revenue"] == "€1,234,567"  # en_GB places the symbol first
    assert cards["predicted CLV on margin per customer"] == "€12.35"


def test_members_only() -> None:
    customers = pl.DataFrame(
        {"customer_id": ["a", "b", "c"], "orders": [1, 2, 3], "loyalty": [True, False, True]}
    )
    frame = pl.DataFrame({"customer_id": ["c", "b", "a"], "x": [3, 2, 1]})
    assert tables.members_only(frame, customers)["customer_id"].to_list() == ["c", "a"]
    assert tables.members_only(frame, customers.drop("loyalty")).equals(frame)


def test_steps_without_their_input_are_skipped() -> None:
    assert tables.before_after(pl.DataFrame(), None) is None
    assert validation.holdout_check(pl.DataFrame(), calibration_end=None) is None


REVENUE = Money(
    basis="revenue",
    margin_rate=1.0,
    margin_from_column=False,
    currency="",
    discount_rate_annual=0.1,
    horizon=12,
    horizon_unit="M",
)


def test_customer_value_kpis_ranks_good_customers_on_the_money_basis(shop, shop_scored) -> None:
    from dataclasses import replace

    from clv.analysis import segments

    tx, scores = shop[0], shop_scored[2]
    # margin share differs by channel, so margin and revenue rank customers differently
    tx = tx.with_columns(
        margin=pl.col("amount") * pl.when(pl.col("channel") == "search").then(0.9).otherwise(0.1)
    )
    orders = segments.order_table(tx)
    customers = segments.customer_table(tx, orders=orders)
    margin = replace(REVENUE, basis="margin", margin_rate=0.3, margin_from_column=True)
    got = tables.customer_value_kpis(tx, scores, orders=orders, customers=customers, money=margin)
    n_good = round(0.2 * customers.height)
    good = set(
        customers.sort(["margin", "customer_id"], descending=[True, False]).head(n_good)[
            "customer_id"
        ]
    )
    search = customers.filter(pl.col("channel") == "search")["customer_id"]
    assert got["channels"]["search"]["share_good"] == pytest.approx(
        sum(i in good for i in search) / len(search)
    )
    assert got["channels"]["search"]["mean_value"] == pytest.approx(
        customers.filter(pl.col("channel") == "search")["margin"].mean()
    )
    assert got["money"] == {
        "basis": "margin",
        "margin_rate": 0.3,
        "margin_from_column": True,
        "currency": "",
        "discount_rate_annual": 0.1,
        "horizon": "12 months",
    }
    on_revenue = tables.customer_value_kpis(
        tx, scores, orders=orders, customers=customers, money=REVENUE
    )
    assert on_revenue["channels"]["search"]["share_good"] < got["channels"]["search"]["share_good"]


def test_customer_value_kpis_uses_the_reports_good_share(shop, shop_scored) -> None:
    from clv.analysis import kpis, segments

    tx, scores = shop[0], shop_scored[2]
    orders = segments.order_table(tx)
    customers = segments.customer_table(tx, orders=orders)
    tiers = tables.tiers_from_cuts([0.1, 0.8])
    got = tables.customer_value_kpis(
        tx, scores, orders=orders, customers=customers, good_share=tiers[0][1], money=REVENUE
    )
    table = kpis.channel_table(kpis.with_scores(customers, scores), good_share=tiers[0][1])
    assert table is not None and set(got["channels"]) == set(table["channel"])
    for row in table.iter_rows(named=True):
        assert got["channels"][row["channel"]]["share_good"] == pytest.approx(row["share_good"])
    # by hand: good = the top round(0.1 n) customers by revenue
    n_good = round(0.1 * customers.height)
    good = set(
        customers.sort(["revenue", "customer_id"], descending=[True, False]).head(n_good)[
            "customer_id"
        ]
    )
    for channel, stats in got["channels"].items():
        ids = customers.filter(pl.col("channel") == channel)["customer_id"]
        assert stats["share_good"] == pytest.approx(sum(i in good for i in ids) / len(ids))
    default = tables.customer_value_kpis(
        tx, scores, orders=orders, customers=customers, money=REVENUE
    )
    assert any(
        default["channels"][c]["share_good"] != got["channels"][c]["share_good"]
        for c in got["channels"]
    )


def test_monthly_new_returning_by_hand() -> None:
    from clv.analysis.segments import order_table

    tx = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "a", "b", "c"],
            "date": [
                dt.date(2024, 1, 3),
                dt.date(2024, 1, 20),
                dt.date(2024, 1, 25),
                dt.date(2024, 2, 2),
                dt.date(2024, 2, 9),
                dt.date(2024, 2, 10),
            ],
            "amount": [10.0, 30.0, 20.0, 50.0, 40.0, 6.0],
        }
    )
    got = tables.monthly_new_returning(order_table(tx))
    assert got["month"].to_list() == [dt.date(2024, 1, 1), dt.date(2024, 2, 1)]
    assert got["new_orders"].to_list() == [2, 1]  # a and b in January, c in February
    assert got["returning_orders"].to_list() == [1, 2]
    assert got["aov_new"].to_list() == pytest.approx([15.0, 6.0])
    assert got["aov_returning"].to_list() == pytest.approx([30.0, 45.0])
    assert got["new_revenue"].to_list() == pytest.approx([30.0, 6.0])
    assert got["returning_revenue"].to_list() == pytest.approx([30.0, 90.0])


def test_lorenz_and_tier_tables_come_from_segments() -> None:
    from clv.analysis import segments

    summary = pl.DataFrame(
        {
            "customer_id": [f"c{i:02d}" for i in range(10)],
            "orders": [1] * 10,
            "revenue": [float(v) for v in (1, 2, 3, 4, 5, 6, 7, 8, 9, 55)],
            "last_purchase": [dt.date(2024, 1, 1)] * 10,
        }
    )
    scores = pl.DataFrame({"customer_id": summary["customer_id"], "clv": [10.0] * 10})
    tiers = tables.tiers_from_cuts([0.2, 0.8])
    table = segments.segment_table(summary, scores, tiers=tiers)
    curves = tables.lorenz_table(table, {"revenue": "revenue", "clv": "CLV"})
    assert curves["label"].unique(maintain_order=True).to_list() == ["revenue", "CLV"]
    rev = curves.filter(pl.col("label") == "revenue")
    assert rev["gini"][0] == pytest.approx(profile.gini(table["revenue"]))
    assert rev.select("customer_share", "value_share").equals(
        profile.lorenz_curve(table["revenue"])
    )
    assert curves.filter(pl.col("label") == "CLV")["gini"][0] == pytest.approx(0.0)
    by_revenue, by_clv, shares = tables.tier_tables(table, tiers)
    assert by_revenue["value"].to_list() == [64.0, 33.0, 3.0]  # 55 + 9, 8 + ... + 3, 2 + 1
    assert by_clv["value_share"].to_list() == pytest.approx([0.2, 0.6, 0.2])
    assert shares.columns == ["tier", "customer_share", "revenue_share", "clv_share"]
    assert shares["revenue_share"].to_list() == pytest.approx([0.64, 0.33, 0.03])
    top = segments.segment_totals(segments.segment_table(summary, scores, top_share=0.3))
    text = sections.top_text(top, top_share=0.3)
    assert text.startswith("The top 30% are the 3 customers (of 10)") and "72%" in text


def test_retention_tables_split_numbers_from_the_simple_formula() -> None:
    economics = {
        "annual_retention": 0.4,
        "uplift_value_total": 1234.0,
        "simple_clv": 300.0,
        "simple_clv_inputs": {"aov": 50.0, "orders_per_year": 2.0},
        "model_mean_clv": 100.0,
        "simple_over_model": 3.0,
    }
    uplift, compare, texts = sections.retention_tables(economics)
    assert texts == [
        sections.RETENTION_ASSUMPTIONS,
        sections.WHY_SIMPLE_OVERSTATES,
    ]
    assert uplift["metric"].to_list() == ["annual retention", "uplift value total"]
    assert compare["metric"].to_list() == [
        "simple clv",
        "simple clv: aov",
        "simple clv: orders per year",
        "model mean clv",
        "simple over model",
    ]
    short = sections.retention_tables({"annual_retention": None})
    assert "too short to measure retention" in short[2][1]


def test_rfm_cell_names_never_contradict_p_alive(shop, shop_scored) -> None:
    from clv.analysis import segments
    from clv.data.rfm import rfm_summary

    summary, scores = rfm_summary(shop[0]), shop_scored[2]
    plain = segments.rfm_cells(segments.value_tiers(summary.sort("customer_id")))
    table = segments.segment_table(summary, scores)
    active = pl.col("rfm_cell").is_in(segments.ACTIVE_CELLS)
    assert table.filter(active & (pl.col("p_alive") < 0.5)).height == 0
    moved = plain.join(table, on="customer_id").filter(
        pl.col("rfm_cell") != pl.col("rfm_cell_right")
    )
    assert moved.height > 0  # the shop has frequent buyers gone quiet in active-sounding cells
    assert set(moved["rfm_cell_right"]) == {"at_risk"}
    assert moved.filter(pl.col("p_alive") >= 0.5).height == 0
    assert set(moved["rfm_cell"]) <= set(segments.ACTIVE_CELLS)


def test_analysis_kpis_reuse_the_reports_tables(shop) -> None:
    """kpis.json takes returning vs new, the channels and loyalty tables from the analysis
    (made once for the report): the same numbers as made afresh from its customers."""
    import clv

    analysis = clv.analyze(
        shop[0],
        order_col="order_id",
        channel_col="channel",
        loyalty_col="loyalty",
        channel_costs={"search": 30.0, "social": 20.0},
    )
    fresh = tables.customer_value_kpis(
        analysis.transactions,
        analysis.scores,
        observation_end=analysis.period.observation_end,
        channel_costs=analysis.options.channel_costs,
        orders=analysis.orders,
        customers=analysis.customers,
        good_share=analysis.tiers[0][1],
        money=analysis.money,
    )
    assert {"channels", "loyalty", "aov_new"} <= fresh.keys()
    got = analysis.kpis  # its channels also carry their own models' value
    assert {k: got[k] for k in fresh if k != "channels"} == {
        k: v for k, v in fresh.items() if k != "channels"
    }
    for name, stats in fresh["channels"].items():
        assert {k: got["channels"][name][k] for k in stats} == stats
