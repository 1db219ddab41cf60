"""Per-channel models on a simulated shop whose channels differ; groups of customers."""

import datetime as dt
import json
import warnings

import polars as pl
import pytest

from clv.data.groups import customer_groups, with_customer_group
from clv.data.rfm import rfm_summary
from clv.data.simulate import channel_shop
from clv.errors import DataError, UsageError
from clv.models.acquisition import new_customer_values
from clv.models.cashflows import cash_flow_grid
from clv.models.fitting import fit
from clv.models.groups import GroupedClvModel, load_model
from clv.models.intervals import interval_scores

END = "2023-12-31"
YEAR = {"horizon": 365, "horizon_unit": "D", "discount_rate_annual": 0.0}
INTERVAL_COLUMNS = (
    "expected_purchases_low",
    "expected_purchases_high",
    "clv_low",
    "clv_high",
    "p_top",
)


@pytest.fixture(scope="module")
def channels():
    """3 x 1,000 existing customers with a holdout year, 3 x 4,000 new ones; per-channel fit."""
    transactions, new = channel_shop(1_000, seed=0, new_customers_per_channel=4_000)
    summary = with_customer_group(
        rfm_summary(transactions, observation_end=END), transactions, by="channel"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(summary, by="channel")
    return transactions, new, summary, model


def _next_year(transactions: pl.DataFrame) -> pl.DataFrame:
    return (
        transactions.filter(pl.col("date") > dt.date.fromisoformat(END))
        .group_by("customer_id")
        .agg(actual=pl.col("amount").sum())
    )


def test_each_channel_predicts_its_next_year_within_15_percent(channels):
    transactions, _, summary, model = channels
    assert isinstance(model, GroupedClvModel) and model.pooled_groups == {}
    scores = model.score(summary, **YEAR).join(
        _next_year(transactions), on="customer_id", how="left"
    )
    by_channel = scores.group_by("channel").agg(
        predicted=pl.col("clv").mean(), actual=pl.col("actual").fill_null(0).mean()
    )
    ratio = dict(by_channel.select("channel", pl.col("predicted") / pl.col("actual")).iter_rows())
    assert set(ratio) == {"referral", "search", "paid_social"}
    assert all(0.85 <= r <= 1.15 for r in ratio.values()), ratio


def test_the_pooled_model_overvalues_paid_social(channels):
    # the mistake per-channel models fix: paid-social customers priced like the average
    transactions, _, summary, model = channels
    pooled = model.pooled.score(summary, **YEAR).with_columns(summary["channel"])
    paid = pooled.filter(pl.col("channel") == "paid_social").join(
        _next_year(transactions), on="customer_id", how="left"
    )
    assert paid["clv"].mean() > 1.5 * paid["actual"].fill_null(0).mean()


def test_new_customer_value_within_20_percent_of_first_year_spend(channels):
    _, new, _, model = channels
    grid = cash_flow_grid(model_unit="W", **YEAR)
    values = new_customer_values(model, grid=grid, interval=0.9)
    spend = new.group_by("channel").agg(pl.col("first_year_spend").mean())
    joined = values.join(spend, on="channel")
    assert joined.height == 3
    for row in joined.iter_rows(named=True):
        assert abs(row["new_customer_value"] / row["first_year_spend"] - 1) < 0.2, row
        assert row["new_customer_value_low"] <= row["new_customer_value"]
        assert row["new_customer_value"] <= row["new_customer_value_high"]


def test_new_customer_value_by_hand(channels):
    # one month, no discount: (1 + E[X(t)]) p v / (q - 1), FHL (2005a) eq. (9)
    from clv.models.bgnbd import expected_purchases_new_customer

    model = channels[3].model_of("search")
    grid = cash_flow_grid(horizon=1, horizon_unit="M", model_unit="W", discount_rate_annual=0)
    value = new_customer_values(channels[3], grid=grid)
    p, q, v = (model.gamma_gamma[k] for k in ("p", "q", "v"))
    expected = (1 + expected_purchases_new_customer(model.bgnbd, 365.25 / 12 / 7)) * p * v / (q - 1)
    got = value.filter(pl.col("channel") == "search")["new_customer_value"].item()
    assert got == pytest.approx(float(expected), rel=1e-12)


def test_scores_carry_the_group_in_the_order_of_the_summary(channels):
    _, _, summary, model = channels
    shuffled = summary.sample(fraction=1.0, shuffle=True, seed=1)
    scores = model.score(shuffled, horizon=12)
    assert scores["customer_id"].equals(shuffled["customer_id"])
    assert scores.columns[:2] == ["customer_id", "channel"]
    search = shuffled.filter(pl.col("channel") == "search")
    own = model.groups["search"].score(search, horizon=12)
    same(scores.filter(pl.col("channel") == "search").drop("channel"), own)


def test_channel_totals_with_intervals(channels):
    _, _, summary, model = channels
    grid = cash_flow_grid(horizon=12, horizon_unit="M", model_unit="W")
    scores = model.score(summary, horizon=12).drop("channel")
    out, totals = interval_scores(
        model.pooled,
        summary,
        scores,
        grid=grid,
        by="channel",
        group_models=model.groups,
        totals_by=["channel"],
    )
    assert totals["label"].to_list() == ["total", "paid_social", "referral", "search"]
    assert totals["level"].to_list() == ["total", "channel", "channel", "channel"]
    assert totals["clv"][0] == pytest.approx(totals["clv"][1:].sum(), rel=1e-12)
    assert (totals["clv_low"] <= totals["clv"]).all() and (
        totals["clv"] <= totals["clv_high"]
    ).all()
    assert abs(out["p_top"].mean() - 0.2) < 0.01


def test_small_groups_use_the_pooled_model_and_say_so(channels, tmp_path):
    _, _, summary, _ = channels
    few = summary.with_columns(
        pl.when(pl.arange(0, pl.len()) < 150)
        .then(pl.lit("tiny"))
        .otherwise("channel")
        .alias("channel")
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = fit(few, by="channel")
    assert set(model.pooled_groups) == {"tiny"} and "150 customers" in model.pooled_groups["tiny"]
    tiny = few.filter(pl.col("channel") == "tiny")
    same(model.score(tiny, horizon=12).drop("channel"), model.pooled.score(tiny, horizon=12))
    loaded = load_model(model.save(tmp_path / "model.json"))
    assert loaded == model
    assert load_model(model.pooled.save(tmp_path / "pooled.json")) == model.pooled


def test_groups_of_customers():
    day = dt.date(2024, 1, 1)
    transactions = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "date": [day + dt.timedelta(days=d) for d in (3, 1, 0, 0, 2)],
            "amount": [1.0] * 5,
            "channel": ["email", "search", "seo", "ads", None],
            "loyalty": [False, True, False, False, False],
        }
    )
    channel = dict(customer_groups(transactions, by="channel").sort("customer_id").iter_rows())
    assert channel == {"a": "search", "b": "seo", "c": "unknown"}  # a tie: first in the file
    loyalty = dict(customer_groups(transactions, by="loyalty").sort("customer_id").iter_rows())
    assert loyalty == {"a": "member", "b": "non_member", "c": "non_member"}
    with pytest.raises(DataError, match="channel_col="):
        customer_groups(transactions.drop("channel"), by="channel")


def test_group_value_table(channels):
    from clv.analysis.group_value import group_value

    _, _, summary, model = channels
    costs = {"referral": 60.0, "search": 40.0, "paid_social": 35.0}
    value = group_value(model, summary, horizon=12, channel_costs=costs)
    table = value.groups
    assert table["channel"].to_list() == ["paid_social", "referral", "search"]
    assert table["customers"].to_list() == [1_000, 1_000, 1_000]
    for row in table.iter_rows(named=True):
        assert row["clv_cac"] == pytest.approx(row["new_customer_value"] / costs[row["channel"]])
        assert row["clv_cac_low"] <= row["clv_cac"] <= row["clv_cac_high"]
        assert row["clv_low"] <= row["clv"] <= row["clv_high"]
    # referral customers are worth more than paid-social ones, now and when newly acquired
    by = dict(zip(table["channel"], table["new_customer_value"], strict=True))
    assert by["referral"] > by["search"] > by["paid_social"]
    tiers = value.totals.filter(pl.col("level") == "tier")
    assert tiers["label"].to_list() == ["good", "low", "middle"]
    free = group_value(model, summary, horizon=12, channel_costs={**costs, "referral": 0.0})
    referral = free.groups.filter(pl.col("channel") == "referral").row(0, named=True)
    assert referral["cac"] == 0.0 and referral["clv_cac"] is None  # no CLV:CAC, not infinity
    assert tiers["customers"].sum() == 3_000
    assert value.scores["clv"].sum() == pytest.approx(value.totals["clv"][0], rel=1e-12)
    # without each customer's interval: the same groups and totals, bit for bit
    lean = group_value(model, summary, horizon=12, channel_costs=costs, per_customer=False)
    assert lean.groups.equals(value.groups) and lean.totals.equals(value.totals)
    assert lean.scores.equals(value.scores.drop(INTERVAL_COLUMNS))


def test_clv_intervals_of_a_single_model_total_by_tier(channels):
    from clv.analysis.group_value import clv_intervals

    _, _, summary, model = channels
    scores, totals = clv_intervals(model.pooled, summary, horizon=12)
    assert totals["level"].to_list() == ["total", "tier", "tier", "tier"]
    assert totals.filter(pl.col("label") == "good")["customers"].item() == 600  # 20 % of 3,000
    good = scores.filter(pl.col("tier") == "good")["clv"].sum()
    assert totals.filter(pl.col("label") == "good")["clv"].item() == pytest.approx(good)
    pooled = model.pooled.score(summary, horizon=12)
    same(scores.select(pooled.columns), pooled)


def same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Equal frames; floats to 1e-12 (CLV sums months with a matrix product whose rounding
    depends on how many customers are scored together)."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(got, want, rel_tol=1e-12, abs_tol=1e-12)


def test_kpis_carry_each_channels_own_value_and_clv_cac():
    """With a channel column, kpis.json's channels get the per-channel models' new-customer
    value and, with costs, new CLV:CAC = that value / the channel's cost."""
    import clv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = clv.analyze(
            dataset="synthetic_shop",
            synthetic_customers=1500,
            channel_col="channel",
            channel_costs={"search": 20.0, "referral": 10.0},
        )
        channels = analysis.kpis["channels"]
    groups = analysis.channel_value.groups
    for name in ("search", "referral"):
        row = groups.filter(pl.col("channel") == name).row(0, named=True)
        assert channels[name]["new_customer_value"] == row["new_customer_value"] > 0
        assert channels[name]["clv_cac"] == pytest.approx(
            row["new_customer_value"] / channels[name]["cac"]
        )
        assert row["new_customer_value_low"] <= row["new_customer_value"]
        assert row["new_customer_value"] <= row["new_customer_value_high"]


def test_a_pooled_model_passed_in_is_used_not_refitted(channels):
    _, _, summary, model = channels
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        again = fit(summary, by="channel", pooled=model.pooled)
    assert again.pooled is model.pooled
    assert again == model  # the groups' fits are the same
    with pytest.raises(UsageError, match="pooled= was fitted on 3,000 customers"):
        fit(summary.head(500), by="channel", pooled=model.pooled)


def test_each_group_warning_names_its_group(steady_shop):
    """Per-group fits warn like the pooled fit (here: nobody drops out, a boundary fit),
    each warning prefixed with the group it is about."""
    summary = rfm_summary(steady_shop).with_columns(
        channel=pl.when(pl.col("customer_id").str.slice(1).cast(pl.Int64) % 2 == 0)
        .then(pl.lit("search"))
        .otherwise(pl.lit("social"))
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = fit(summary, by="channel")
    assert set(model.groups) == {"search", "social"}  # each fitted on its own
    messages = [str(w.message) for w in caught if w.category is UserWarning]
    for name in ("search", "social"):
        assert any(m.startswith(f"channel '{name}': ") for m in messages), messages
    assert any(m.startswith("every channel pooled: ") for m in messages)


def test_group_fits_on_threads_equal_sequential_fits_and_warn_in_order(steady_shop):
    """The groups are fitted on threads: each model is the one fitted alone (bit for bit),
    and the warnings come as fitting one after the other gives them: the pooled model's
    first, then each group's in sorted order."""
    summary = rfm_summary(steady_shop).with_columns(
        channel=pl.col("customer_id").str.slice(1).cast(pl.Int64).mod(3).cast(pl.String)
    )

    def recorded(fitting):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fitting()
        return result, [str(w.message) for w in caught if w.category is UserWarning]

    model, messages = recorded(lambda: fit(summary, by="channel"))

    def one_by_one():
        pooled = fit(summary, group="every channel pooled")
        return pooled, {
            name: fit(summary.filter(pl.col("channel") == name), group=f"channel {name!r}")
            for name in ("0", "1", "2")
        }

    (pooled, groups), expected = recorded(one_by_one)
    assert messages == expected and len(expected) > 3
    assert set(model.groups) == {"0", "1", "2"}
    assert json.dumps(model.pooled.to_dict()) == json.dumps(pooled.to_dict())
    for name, alone in groups.items():
        assert json.dumps(model.groups[name].to_dict()) == json.dumps(alone.to_dict())
