"""Channels, models per group and intervals on Spark equal the polars engine's: the channels'
table and models, ``kpis.json`` with a channel column, ``by`` channel or loyalty, computed
from Spark's compact tables (the transactions and the per-customer tables never touched on
the driver, nothing collected beyond the distinct rows of the fits)."""

import json
import warnings
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import clv
from clv.analysis import findings
from clv.cli import main
from tests.spark_checks import (
    Collected,
    assert_close,
    assert_same_numbers,
    refuse_per_row,
)

pytestmark = pytest.mark.spark

COSTS = {"search": 12.0, "email": 3.0, "direct": 0.0, "tv": 40.0}


@pytest.fixture(scope="module")
def channel_shapes(shop, tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    """CDNOW with a channel per customer (id modulo 3: distinct rows far fewer than the
    customers); the shop with order ids, margins, loyalty flags and channels observed to
    2024-06-30, channel costs; the shop with a rare channel ('tv', 40 customers: the pooled
    model) and customers whose first order has no channel (read as "(none)")."""
    from clv.data.datasets import cdnow

    folder = tmp_path_factory.mktemp("groups")
    names = {0: "search", 1: "email", 2: "direct"}
    tx = cdnow().with_columns(
        channel=pl.col("customer_id").cast(pl.Int64).mod(3).replace_strict(names)
    )
    tx.write_csv(folder / "cdnow.csv")
    full = shop[0].select("customer_id", "date", "amount", "order_id", "channel", "margin")
    full = full.with_columns(shop[0]["loyalty"])
    full.write_csv(folder / "shop.csv")
    tail = pl.col("customer_id").str.slice(-2)
    mixed = shop[0].select("customer_id", "date", "amount", "order_id", "channel")
    mixed = mixed.with_columns(
        channel=pl.when(tail == "07")
        .then(pl.lit("tv"))
        .when(tail == "13")
        .then(pl.lit(None, pl.String))
        .otherwise(pl.col("channel"))
    )
    mixed.write_csv(folder / "mixed.csv")
    return {
        "cdnow": (folder / "cdnow.csv", {"channel_col": "channel"}),
        "shop": (
            folder / "shop.csv",
            {
                "channel_col": "channel",
                "order_col": "order_id",
                "margin_col": "margin",
                "loyalty_col": "loyalty",
                "observation_end": "2024-06-30",
                "channel_costs": COSTS,
            },
        ),
        "mixed": (folder / "mixed.csv", {"channel_col": "channel", "order_col": "order_id"}),
    }


def _analyses(path: Path, options: dict, **extra):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = clv.analyze(path, **options, **extra)
        got = clv.analyze(path, **options, **extra, engine="spark")
    return want, got


@pytest.fixture(scope="module")
def channel_analyses(cs, channel_shapes):
    """The polars and the Spark analysis of each shape (one Spark analysis per shape)."""
    return {name: _analyses(*shape) for name, shape in channel_shapes.items()}


@pytest.fixture
def no_per_customer_tables(monkeypatch):
    """The Spark analysis fails if it touches a per-customer or per-transaction table."""
    refuse_per_row(monkeypatch)


def _distinct_bound(want, by: str = "channel") -> int:
    """The most rows a compact table of the fits and intervals may have: the distinct
    (group, frequency, recency, T, spend) rows (a tier boundary can split two of them)."""
    summary = want.summary
    if by not in summary.columns:
        groups = want.customers.select("customer_id", pl.col(by).fill_null("unknown"))
        summary = summary.join(groups, on="customer_id")
    inputs = [by, "frequency", "recency", "T", "monetary_value"]
    return summary.select(inputs).n_unique() + 2


@pytest.mark.parametrize("shape", ["cdnow", "shop", "mixed"])
def test_channels_and_their_models_equal_the_polars_ones(
    cs,
    channel_analyses,
    shape,
    no_per_customer_tables,
    monkeypatch,
):
    want, got = channel_analyses[shape]
    collected = Collected(monkeypatch, cs.spark_session())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kpis, channels, value = got.kpis, got.channels, got.channel_value
    assert not isinstance(value, str) and value is not None
    assert not isinstance(want.channel_value, str) and want.channel_value is not None
    assert_close(channels, want.channels, 1e-9)
    assert_close(value.groups, want.channel_value.groups, 1e-9)
    assert_close(value.totals, want.channel_value.totals, 1e-9)
    assert_same_numbers(kpis, want.kpis, 1e-9)
    assert_same_numbers(findings.channels(channels), findings.channels(want.channels), 1e-9)
    assert channels["channel"].to_list() == want.channels["channel"].to_list()  # the ranks
    if shape == "mixed":  # the rare and the missing channels are valued by the pooled model
        uses_pooled = dict(value.groups.select("channel", "uses_pooled").iter_rows())
        assert uses_pooled["tv"] and uses_pooled["(none)"] and not uses_pooled["search"]
    bound = _distinct_bound(want)
    assert bound < want.summary.height or shape != "cdnow"  # the bound means something
    assert collected.rows and max(collected.rows) <= min(bound, want.summary.height)


@pytest.mark.parametrize("by", ["channel", "loyalty"])
def test_a_model_per_group_equals_the_polars_models(
    cs,
    channel_shapes,
    by,
    no_per_customer_tables,
    monkeypatch,
):
    """``by``: each group's model fitted from its distinct rows, each customer scored on the
    workers by their group's model; the segments (with the group column) and kpis.json are
    the polars engine's."""
    path, options = channel_shapes["shop"]
    want, got = _analyses(path, options, by=by)
    collected = Collected(monkeypatch, cs.spark_session())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, kpis = got.model, got.kpis
        spark_segments = got.spark_segments
    biggest = max(collected.rows)
    segments = cs.to_polars(spark_segments)
    assert got.segments_on_spark
    assert sorted(model.groups) == sorted(want.model.groups)
    assert model.pooled_groups == want.model.pooled_groups
    for name, group_model in [("pooled", model.pooled), *model.groups.items()]:
        other = want.model.pooled if name == "pooled" else want.model.groups[name]
        for part in ("purchase", "gamma_gamma"):
            for key, value in getattr(other, part).items():
                assert getattr(group_model, part)[key] == pytest.approx(value, rel=1e-6), name
    assert_same_numbers(kpis, want.kpis, 1e-6)
    want_segments = want.segments.with_columns(pl.col("time_unit").cast(pl.String))
    assert_close(segments.with_columns(pl.col("time_unit").cast(pl.String)), want_segments, 1e-9)
    assert biggest <= max(_distinct_bound(want, by), _distinct_bound(want, "channel"))


def test_cli_kpis_with_channels_and_segments_by_channel_on_spark(cs, channel_shapes, tmp_path):
    """``clv kpis --engine spark --channel-col ... --channel-costs``, ``clv segments
    --engine spark --by channel`` and ``clv segments --engine spark --interval 0.9
    --prediction-interval 0.8`` write the polars engine's files."""
    path, _ = channel_shapes["shop"]
    costs = tmp_path / "costs.csv"
    costs.write_text("channel,cost\n" + "".join(f"{k},{v}\n" for k, v in COSTS.items()))
    args = [str(path), "--order-col", "order_id", "--channel-col", "channel"]
    args += ["--margin-col", "margin", "--observation-end", "2024-06-30"]
    runs = {
        "kpis": ([*args, "--channel-costs", str(costs)], "kpis.json"),
        "segments": ([*args, "--by", "channel"], "seg.parquet"),
        "ranges": ([*args, "--interval", "0.9", "--prediction-interval", "0.8"], "iv.parquet"),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for command, (options, out) in runs.items():
            files = []
            for engine in ("polars", "spark"):
                target = tmp_path / f"{engine}-{out}"
                run = [command if command != "ranges" else "segments", *options]
                assert main([*run, "--engine", engine, "--out", str(target)]) == 0
                files.append(target)
            want, got = files
            if out.endswith(".json"):
                document = json.loads(got.read_text())
                assert_same_numbers(document, json.loads(want.read_text()), 1e-9)
                assert np.isfinite(document["channels"]["search"]["clv_cac"])
            else:
                assert_close(pl.read_parquet(got), pl.read_parquet(want), 1e-9)


@pytest.mark.parametrize("by", [None, "channel"])
def test_intervals_and_prediction_ranges_are_made_on_the_workers(
    cs,
    channel_shapes,
    by,
    no_per_customer_tables,
    monkeypatch,
):
    """``interval`` and ``prediction_interval``: the draws and each draw's top-tier cut made
    once on the driver from compact tables (the fit's distinct rows; the cut on a seeded
    sample of 700 customers, brought back as its distinct rows), each customer's bounds,
    ``p_top`` and range on the workers, by their group's model with ``by``: the polars
    segments, ranks included."""
    import clv.models.intervals

    monkeypatch.setattr(clv.models.intervals, "TOP_SAMPLE", 700)  # of 2,357 customers
    path, options = channel_shapes["cdnow"]
    extra = {"by": by, "interval": 0.9, "prediction_interval": 0.8, "seed": 7}
    want, got = _analyses(path, options, **extra)
    assert got.segments_on_spark
    collected = Collected(monkeypatch, cs.spark_session())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spark_segments = got.spark_segments
        biggest = max(collected.rows)
        segments = cs.to_polars(spark_segments)
    assert {"clv_low", "p_top", "clv_pred_low"} <= set(segments.columns)
    want_segments = want.segments.with_columns(pl.col("time_unit").cast(pl.String))
    assert_close(segments.with_columns(pl.col("time_unit").cast(pl.String)), want_segments, 1e-9)
    assert 0 < segments["p_top"].mean() < 1
    assert biggest <= _distinct_bound(want, "channel") < want.summary.height  # the fit's rows


@pytest.mark.parametrize("by", [None, "channel"])
def test_auto_chooses_on_the_calibration_summarys_distinct_rows(
    cs,
    channel_shapes,
    by,
    no_per_customer_tables,
    monkeypatch,
):
    """``purchase_model="auto"``: the three models compared on the distinct rows of Spark's
    calibration summary with their customers; the polars engine's choice, comparison,
    fitted parameters, kpis.json and segments (with ``by``: each group fitted with the
    model chosen on the whole shop)."""
    path, options = channel_shapes["cdnow"]
    want, got = _analyses(path, options, purchase_model="auto", by=by)
    assert got.on_spark and got.segments_on_spark
    collected = Collected(monkeypatch, cs.spark_session())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model, kpis = got.model, got.kpis
        spark_segments = got.spark_segments
    biggest = max(collected.rows)
    segments = cs.to_polars(spark_segments)
    pooled, want_pooled = (model, want.model) if by is None else (model.pooled, want.model.pooled)
    assert pooled.purchase_model == want_pooled.purchase_model == "mbgnbd"  # not BG/NBD
    assert want_pooled.comparison is not None and pooled.comparison is not None
    assert_close(pl.DataFrame(pooled.comparison), pl.DataFrame(want_pooled.comparison), 1e-9)
    assert [d["code"] for d in pooled.diagnostics] == [d["code"] for d in want_pooled.diagnostics]
    for key, value in want_pooled.purchase.items():
        assert pooled.purchase[key] == pytest.approx(value, rel=1e-6)
    assert_same_numbers(kpis, want.kpis, 1e-6)
    want_segments = want.segments.with_columns(pl.col("time_unit").cast(pl.String))
    assert_close(segments.with_columns(pl.col("time_unit").cast(pl.String)), want_segments, 1e-9)
    keys = ["frequency", "recency", "T", "frequency_holdout", "duration_holdout"]
    calibration_rows = want.calibration.select(keys).n_unique()
    bound = max(_distinct_bound(want, "channel"), calibration_rows)
    assert biggest <= bound < want.summary.height


def test_each_customers_margin_is_added_in_the_polars_engines_order(channel_analyses):
    # the channels' good tier by margin ranks customers by their margin, ties by id: a
    # margin added in another order can differ in its last bit and split a tie (1 M
    # customers: one customer changed tier). Each margin is the polars engine's, bit for bit
    from clv.engines import spark_groups

    want, got = channel_analyses["shop"]
    margins = spark_groups.customer_margins(got.checked).toArrow()
    got_margins = pl.from_arrow(margins).sort("customer_id")
    want_margins = want.customers.select("customer_id", "margin").sort("customer_id")
    assert_frame_equal(got_margins, want_margins, check_exact=True, check_dtypes=False)
