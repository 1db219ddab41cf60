"""The figures' compact tables: each finished table equals what the figure computed from every
customer before (polars' quantiles, numpy's histograms, the summary's counts), and the
order-value sample is a fixed choice of customers, whatever the rows' order."""

import math

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import clv.plots as plots
from clv.analysis import distributions as dist
from clv.analysis import validation

RNG = np.random.default_rng(7)


def _summary(n: int, seed: int = 3) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    frequency = rng.poisson(1.5, n)
    return pl.DataFrame(
        {
            "customer_id": [f"c{i:05d}" for i in rng.permutation(n)],
            "frequency": frequency,
            "recency": rng.integers(0, 60, n) / 7,
            "T": rng.integers(30, 90, n) / 7,
            "monetary_value": np.where(frequency > 0, rng.gamma(3, 10, n).round(2), 0.0),
            "orders": frequency + 1,
            "revenue": rng.gamma(2, 30, n).round(2),
        }
    )


def _polars_describe(summary: pl.DataFrame) -> pl.DataFrame:
    """The table as polars' own quantiles give it (the report's table before 0.3)."""
    rows = []
    for c in dist.DESCRIBED:
        s = summary[c].cast(pl.Float64)
        quantiles = (s.quantile(0.25), s.median(), s.quantile(0.75), s.quantile(0.9))
        rows.append((c, s.mean(), *quantiles, s.max()))
    return pl.DataFrame(
        rows, schema=["column", "mean", "p25", "median", "p75", "p90", "max"], orient="row"
    )


@settings(max_examples=60, deadline=None)
@given(
    values=st.lists(
        st.one_of(st.integers(0, 5).map(float), st.floats(0, 1e6, allow_nan=False)),
        min_size=1,
        max_size=40,
    )
)
def test_describe_from_order_statistics_is_polars_quantiles(values: list[float]) -> None:
    """The positions read from the sorted values are the values polars' nearest and linear
    quantiles return, ties and every length included."""
    summary = pl.DataFrame({c: values for c in dist.DESCRIBED})
    got, want = dist.describe(summary), _polars_describe(summary)
    assert got.drop("mean").equals(want.drop("mean"))
    np.testing.assert_allclose(got["mean"].to_numpy(), want["mean"].to_numpy(), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 30), min_size=1, max_size=300), q=st.floats(0, 1))
def test_the_nearest_quantile_from_counts_is_polars(values: list[int], q: float) -> None:
    counts = dist.value_counts(pl.DataFrame({"frequency": values}), "frequency")
    assert counts["customers"].sum() == len(values)
    assert dist.nearest_quantile(counts, "frequency", q) == pl.Series(values).quantile(q)


def test_the_matrices_grid_is_the_summarys_percentile_and_oldest_age() -> None:
    summary = _summary(3_000)
    grid = dist.matrix_maxima(dist.frequency_age_counts(summary))
    assert grid == {
        "max_frequency": max(int(summary["frequency"].quantile(0.99) or 1), 1),
        "max_recency": int(summary["T"].max()),  # type: ignore[arg-type]
    }
    one_timers = summary.with_columns(frequency=pl.lit(0, dtype=pl.Int64))
    assert dist.matrix_maxima(dist.frequency_age_counts(one_timers))["max_frequency"] == 1


def test_the_purchase_count_figures_from_counts_are_those_of_the_summary(cdnow_model) -> None:
    summary = _summary(2_000)
    counts = dist.frequency_age_counts(summary)
    assert counts.height < summary.height
    # the bars: numpy's count of each capped frequency
    bars = [p.get_height() for p in plots.frequency_histogram(counts, max_frequency=5).patches]
    assert bars == np.bincount(np.minimum(summary["frequency"].to_numpy(), 5)).tolist()
    # observed and expected purchase counts: the customers one by one
    got = plots.period_transactions_frame(cdnow_model, counts, max_frequency=4)
    assert got.equals(plots.period_transactions_frame(cdnow_model, summary, max_frequency=4))
    freq, T = summary["frequency"].to_numpy(), summary["T"].to_numpy()
    observed = [int((freq == n).sum()) for n in range(4)] + [int((freq >= 4).sum())]
    assert got["observed"].to_list() == observed
    one = [cdnow_model.probability_of_purchases(np.array([t]), 2)[0] for t in T]
    assert got["expected"][2] == pytest.approx(math.fsum(one), rel=1e-12)


def test_the_p_alive_histogram_is_numpys_of_every_customer() -> None:
    p = np.concatenate([RNG.uniform(0, 1, 5_000), np.arange(41) / 40, [0.0, 1.0, 0.5]])
    scores = pl.DataFrame({"p_alive": np.round(p, 3)})  # repeated values, as scores have
    table = dist.as_p_alive_histogram(scores)
    counts, edges = np.histogram(scores["p_alive"].to_numpy(), bins=40, range=(0.0, 1.0))
    assert table["customers"].to_list() == counts.tolist()
    assert table["low"].to_list() == edges[:-1].tolist()
    drawn = plots.p_alive_distribution(table)
    assert [p.get_height() for p in drawn.patches] == counts.tolist()


@pytest.mark.parametrize("shape", ["skewed", "ties at the cut", "one value", "two values"])
def test_the_clv_histogram_is_numpys_of_every_customer(shape: str) -> None:
    v = {
        "skewed": RNG.gamma(0.8, 120, 4_001),
        "ties at the cut": np.repeat([1.0, 5.0, 9.0, 250.0], [300, 300, 300, 100]),
        "one value": np.array([42.0]),
        "two values": np.array([3.0, 8.0]),
    }[shape]
    table = dist.clv_histogram(pl.DataFrame({"clv": RNG.permutation(v)}))
    top = float(np.quantile(v, 0.99))
    counts, edges = np.histogram(v[v <= top], bins=50)
    assert table["customers"].to_list() == counts.tolist()
    np.testing.assert_allclose(table["low"].to_numpy(), edges[:-1], rtol=1e-15)
    assert table["median"][0] == pytest.approx(float(np.median(v)), rel=1e-15)
    assert table["mean"][0] == pytest.approx(float(v.mean()), rel=1e-12)


def test_the_clv_figure_and_caption_read_the_histogram() -> None:
    from clv.report import captions

    scores = pl.DataFrame({"clv": RNG.gamma(0.8, 120, 2_000)})
    table = dist.clv_histogram(scores)
    for frame in (scores, table):
        ax = plots.clv_distribution(frame)
        labels = ax.get_legend_handles_labels()[1]
        assert labels == [
            f"median {np.median(scores['clv'].to_numpy()):,.0f}",
            f"mean {scores['clv'].mean():,.0f}",
        ]
    assert captions.clv_distribution(table) == captions.clv_distribution(scores)
    assert captions.clv_distribution(dist.clv_histogram(scores.head(0))) == (
        "Predicted CLV per customer."
    )


def test_the_sample_key_is_a_permutation() -> None:
    index = pl.Series(np.arange(1, 200_001))
    keys = pl.select(dist.sample_key(pl.lit(index))).to_series()
    assert keys.n_unique() == index.len()
    assert keys.min() >= 0 and keys.max() < dist.SAMPLE_PRIME  # type: ignore[operator]
    # no order of the index survives: the first 1 % of keys is spread over every decile
    first = index.filter(keys.rank("ordinal") <= 2_000).to_numpy()
    assert np.histogram(first, bins=10)[0].min() > 150


def test_the_order_value_sample_is_the_same_customers_whatever_the_rows_order() -> None:
    summary = _summary(6_000)
    repeat = summary.filter(pl.col("frequency") > 0)
    sample = dist.order_value_sample(summary, points=500)
    shuffled = dist.order_value_sample(
        summary.sample(fraction=1.0, shuffle=True, seed=1), points=500
    )
    assert sample.drop("correlation").equals(shuffled.drop("correlation"))
    assert sample.height == 500 and sample["repeat_buyers"].unique().to_list() == [repeat.height]
    r = np.corrcoef(repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy())[0, 1]
    assert sample["correlation"][0] == pytest.approx(r, rel=1e-12)  # of everyone
    # every repeat buyer, by id, when there are fewer than the points
    everyone = dist.order_value_sample(summary)
    assert everyone.select("frequency", "monetary_value").equals(
        repeat.sort("customer_id").select("frequency", "monetary_value")
    )
    ax = plots.gamma_gamma_independence(sample)
    assert len(ax.collections[0].get_offsets()) == 500
    assert f"a random 500 of {repeat.height:,} shown" in ax.get_xlabel()


def test_a_constant_order_value_has_no_correlation() -> None:
    """0.1 repeated: numpy's standard deviation of it is not 0, yet nothing varies."""
    summary = pl.DataFrame({"frequency": [1, 2, 3, 4], "monetary_value": [0.1] * 4})
    assert math.isnan(dist.order_value_correlation(summary))


def test_holdout_sums_added_over_parts_give_the_tables_of_the_whole(
    cdnow_calibration, cdnow_model
) -> None:
    """What Spark does: each batch summed by bin, the bins' sums added, then finished."""
    predictions = validation.holdout_predictions(cdnow_calibration, cdnow_model)
    parts = [validation.holdout_sums(p) for p in predictions.iter_slices(500)]
    added = pl.concat(parts).group_by("bin").agg(pl.exclude("bin").sum()).sort("bin")
    whole = validation.holdout_sums(predictions)
    for table in ("by_frequency", "metrics"):
        finish = getattr(validation, f"{table}_from_sums")
        got, want = finish(added), finish(whole)
        assert got.schema == want.schema
        for c in want.columns:
            if want[c].dtype.is_float():
                np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=1e-12)
            else:
                assert got[c].to_list() == want[c].to_list()
    # the metrics are the customers' own errors
    error = predictions["predicted_spend"] - predictions["actual_spend"]
    metrics = validation.metrics_from_sums(added).row(1, named=True)
    assert metrics["mae"] == pytest.approx(float(error.abs().mean()), rel=1e-12)  # type: ignore[arg-type]
    assert metrics["rmse"] == pytest.approx(float(np.sqrt((error**2).mean())), rel=1e-12)  # type: ignore[arg-type]


def test_the_matrices_from_the_grid_are_those_the_notebook_drew_from_the_summary(
    shop_scored,
) -> None:
    """The grid from the counts by frequency and age gives the cells the notebook's summary
    and 99th percentile gave."""
    summary, model, _ = shop_scored
    grid = dist.matrix_maxima(dist.frequency_age_counts(summary))
    before = {  # the notebook's cell before the compact tables
        "summary": summary,
        "max_frequency": max(int(summary["frequency"].quantile(0.99) or 1), 1),
    }
    assert grid["max_frequency"] == before["max_frequency"] > 1
    for frame in (plots.frequency_recency_matrix_frame, plots.probability_alive_matrix_frame):
        assert frame(model, **grid).equals(frame(model, **before))  # type: ignore[arg-type]


def test_the_captions_of_the_compact_tables_are_those_of_every_customer(shop_scored) -> None:
    """The shares the captions state, counted customer by customer as the captions did
    before, and the same sentence from the compact table as from the full frame."""
    from clv.report import captions
    from clv.report.i18n import ENGLISH

    summary, _, scores = shop_scored
    # P(alive) on both sides of the cut at 0.5, and on it
    edge = pl.DataFrame({"p_alive": [0.5, 0.4999999999, 0.5000000001, 0.0, 1.0, 0.25]})
    for p in (scores["p_alive"].to_numpy(), edge["p_alive"].to_numpy()):
        table = dist.as_p_alive_histogram(pl.DataFrame({"p_alive": p}))
        share = ENGLISH.percent(float((p < 0.5).mean()))
        assert captions.p_alive_distribution(table).startswith(f"{share} of customers")
    never = ENGLISH.percent(float((summary["frequency"].to_numpy() == 0).mean()))
    counts = dist.frequency_age_counts(summary)
    assert captions.frequency_histogram(counts) == f"{never} of customers never bought again."
    for name, full, compact in (
        ("clv_distribution", scores, dist.clv_histogram(scores)),
        ("gamma_gamma_independence", summary, dist.order_value_sample(summary, points=100)),
    ):
        made = getattr(captions, name)
        assert made(compact) == made(full), name
