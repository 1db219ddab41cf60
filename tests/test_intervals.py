"""clv.models.intervals: coverage of the true CLV, brute-force draws, invariants."""

import dataclasses
import warnings
from typing import Any

import interval_reference
import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from clv.data.rfm import rfm_summary
from clv.data.simulate import SIMULATED_CHANNELS, channel_shop
from clv.errors import ModelError
from clv.models import intervals, threads
from clv.models.cashflows import cash_flow_grid
from clv.models.draws import parameter_draws
from clv.models.fitting import fit
from clv.models.groups import GroupedClvModel
from clv.models.intervals import interval_scores
from clv.models.model import ClvModel

TRUTH = SIMULATED_CHANNELS["search"]
HORIZON = {"horizon": 12, "horizon_unit": "M", "discount_rate_annual": 0.1}


def _shop(customers: int, seed: int) -> pl.DataFrame:
    transactions, _ = channel_shop(customers, seed=seed, channels={"shop": TRUTH})
    return rfm_summary(transactions, observation_end="2023-12-31")


def _fit(summary: pl.DataFrame) -> ClvModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(summary)


@pytest.fixture(scope="module")
def shop_model():
    summary = _shop(1_000, seed=3)
    return summary, _fit(summary)


def test_90_percent_intervals_cover_the_clv_of_the_true_parameters():
    coverage = []
    for seed in range(8):
        summary = _shop(800, seed=100 + seed)
        model = _fit(summary)
        scores = model.score(summary, interval=0.9, **HORIZON)
        true = dataclasses.replace(
            model,
            purchase={k: TRUTH[k] for k in ("r", "alpha", "a", "b")},
            gamma_gamma={k: TRUTH[k] for k in ("p", "q", "v")},
        ).score(summary, **HORIZON)["clv"]
        inside = (scores["clv_low"] <= true) & (true <= scores["clv_high"])
        coverage.append(inside.mean())
    assert np.mean(coverage) >= 0.8, coverage


def test_normal_bounds_match_brute_force_draws(shop_model):
    # the delta method against scoring every customer under 1,000 drawn parameter sets
    summary, model = shop_model
    summary = summary.head(300)
    scores = model.score(summary, interval=0.9, **HORIZON)
    bg, gg = parameter_draws(model, draws=1_000, seed=5)
    drawn = np.array(
        [
            dataclasses.replace(
                model,
                purchase=dict(zip(("r", "alpha", "a", "b"), b, strict=True)),
                gamma_gamma=dict(zip(("p", "q", "v"), g, strict=True)),
            )
            .score(summary, **HORIZON)["clv"]
            .to_numpy()
            for b, g in zip(bg, gg, strict=True)
        ]
    )
    low, high = np.quantile(drawn, [0.05, 0.95], axis=0)
    width = high - low
    for ours, brute in ((scores["clv_low"], low), (scores["clv_high"], high)):
        error = np.abs(ours.to_numpy() - brute) / width  # first order: 2-4 % of the width
        assert np.median(error) < 0.05 and error.max() < 0.2


@pytest.mark.parametrize("purchase_model", ["mbgnbd", "pareto_nbd", "limit"])
def test_every_purchase_model_has_intervals_that_match_brute_force_draws(
    cdnow_calibration, steady_shop, purchase_model
):
    """MBG/NBD, Pareto/NBD and a limit fit (the steady shop: NBD and equal spend) get
    parameter intervals too, matching the drawn models' own scores."""
    if purchase_model == "limit":
        summary = rfm_summary(steady_shop, observation_end="2025-05-14").head(150)
        model = _fit(rfm_summary(steady_shop, observation_end="2025-05-14"))
        assert model.limits == {"bgnbd": "no_dropout", "gamma_gamma": "equal_spend"}
    else:
        model = fit(cdnow_calibration, purchase_model=purchase_model)
        assert model.limits == {}
        summary = cdnow_calibration.head(150)
    scores = model.score(summary, interval=0.9, **HORIZON)
    bg, gg = parameter_draws(model, draws=400, seed=5)
    drawn = np.array(
        [
            dataclasses.replace(
                model,
                purchase=dict(zip(model.spec.params, b, strict=True)),
                gamma_gamma=dict(zip(model.gamma_gamma_params, g, strict=True)),
            )
            .score(summary, **HORIZON)["clv"]
            .to_numpy()
            for b, g in zip(bg, gg, strict=True)
        ]
    )
    low, high = np.quantile(drawn, [0.05, 0.95], axis=0)
    width = high - low
    assert np.all(width > 0)
    for ours, brute in ((scores["clv_low"], low), (scores["clv_high"], high)):
        # first order in the log-parameters: symmetric in log CLV where the drawn CLV is
        # skewed (MBG/NBD's one-time buyers: 10-15 % of the width)
        error = np.abs(ours.to_numpy() - brute) / width
        assert np.median(error) < 0.2 and error.max() < 0.35


def test_intervals_shrink_as_customers_are_added():
    widths = []
    for customers in (400, 1_600):
        summary = _shop(customers, seed=7)
        scores = _fit(summary).score(summary, interval=0.9, **HORIZON)
        widths.append(((scores["clv_high"] - scores["clv_low"]) / scores["clv"]).median())
    assert widths[1] < 0.7 * widths[0]  # ~1/sqrt(4) = 0.5 expected


def test_without_interval_the_scores_are_unchanged(shop_model):
    summary, model = shop_model
    plain = model.score(summary, **HORIZON)
    with_interval = model.score(summary, interval=0.8, **HORIZON)
    same(with_interval.select(plain.columns), plain)
    assert with_interval.columns[len(plain.columns) :] == [
        "expected_purchases_low",
        "expected_purchases_high",
        "clv_low",
        "clv_high",
        "p_top",
    ]


def test_p_top_averages_to_the_top_share(shop_model):
    # every draw puts 20 % of the customers at or above its cut (ties aside)
    summary, model = shop_model
    p_top = model.score(summary, interval=0.9, **HORIZON)["p_top"]
    assert p_top.min() >= 0 and p_top.max() <= 1
    assert abs(p_top.mean() - 0.2) < 0.01


def test_bootstrap_is_seeded_and_close_to_the_normal_draws(shop_model):
    summary, model = shop_model
    one = model.score(summary, interval=0.9, interval_method="bootstrap", draws=25, **HORIZON)
    two = model.score(summary, interval=0.9, interval_method="bootstrap", draws=25, **HORIZON)
    normal = model.score(summary, interval=0.9, **HORIZON)
    assert one.equals(two)
    width = (one["clv_high"] - one["clv_low"]).sum() / (
        normal["clv_high"] - normal["clv_low"]
    ).sum()
    assert 0.6 < width < 1.6


def test_covariance_is_saved_and_needed(shop_model, tmp_path):
    _, model = shop_model
    loaded = ClvModel.load(model.save(tmp_path / "model.json"))
    assert loaded.covariance_log == model.covariance_log
    se = np.sqrt(np.diag(model.covariance_log["bgnbd"])) * list(model.bgnbd.values())
    np.testing.assert_allclose(se, list(model.standard_errors["bgnbd"].values()), rtol=1e-12)
    with pytest.raises(ModelError, match="engine='fast'"):
        parameter_draws(dataclasses.replace(model, covariance_log={}))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 30),
            st.floats(0, 1),
            st.floats(0.01, 150),
            st.floats(0.5, 500),
        ),
        min_size=1,
        max_size=40,
    ),
    interval=st.floats(0.5, 0.99),
    seed=st.integers(0, 2**16),
)
def test_low_never_above_clv_never_above_high(shop_model, rows, interval, seed):
    _, model = shop_model
    summary = pl.DataFrame(
        {
            "frequency": [x for x, *_ in rows],
            "recency": [share * T if x else 0.0 for x, share, T, _ in rows],
            "T": [T for *_, T, _ in rows],
            "monetary_value": [m if x else 0.0 for x, *_, m in rows],
        }
    )
    scores = model.score(summary, interval=interval, seed=seed, time_unit="W", **HORIZON)
    assert (scores["clv_low"] <= scores["clv"]).all()
    assert (scores["clv"] <= scores["clv_high"]).all()
    assert (scores["expected_purchases_low"] <= scores["expected_purchases"]).all()
    assert (scores["expected_purchases"] <= scores["expected_purchases_high"]).all()


def same(got: pl.DataFrame, want: pl.DataFrame) -> None:
    """Equal frames; floats to 1e-12 (CLV sums months with a matrix product whose rounding
    depends on how many customers are scored together)."""
    from polars.testing import assert_frame_equal

    assert_frame_equal(got, want, rel_tol=1e-12, abs_tol=1e-12)


# ---- the fast path against the straightforward one (tests/interval_reference.py) ----------

GRID = cash_flow_grid(horizon=12, horizon_unit="M", model_unit="W", discount_rate_annual=0.1)


@pytest.fixture(scope="module")
def grouped(shop_model):
    """The shop's model pooled, a model of another shop for group "b" ("a", "c" pooled)."""
    _, model = shop_model
    other = _fit(_shop(600, seed=8))
    return GroupedClvModel("channel", model, {"b": other}, {"a": "small", "c": "small"})


def _both(
    grouped: GroupedClvModel, summary: pl.DataFrame, **options: Any
) -> tuple[tuple[pl.DataFrame, pl.DataFrame], ...]:
    """``interval_scores`` and the reference's on the grouped model's scores of ``summary``."""
    scores = grouped.score(summary, time_unit="W", **HORIZON).drop("channel")
    return tuple(
        f(
            grouped.pooled,
            summary,
            scores,
            grid=GRID,
            by="channel",
            group_models=grouped.groups,
            totals_by=["channel", "tier"],
            **options,
        )
        for f in (interval_scores, interval_reference.interval_scores)
    )


def _assert_same(fast: tuple[pl.DataFrame, ...], reference: tuple[pl.DataFrame, ...]) -> None:
    # customers' bounds and p_top bit for bit; totals to rounding (sums of clv_i g_i per
    # label are added in blocks of customers, the reference in chunks)
    assert_frame_equal(fast[0], reference[0], check_exact=True)
    assert_frame_equal(fast[1], reference[1], rel_tol=1e-12, abs_tol=0.0)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 12),
            st.sampled_from([0.0, 0.3, 1.0]),
            st.sampled_from([0.5, 7.0, 52.0, 104.0]),
            st.sampled_from([0.0, 12.5, 40.0, 400.0]),
            st.sampled_from(["a", "b", "c", None]),
            st.sampled_from(["x", "y", None]),
        ),
        min_size=1,
        max_size=50,
    ),
    copies=st.integers(1, 3),
    order=st.integers(0, 2**16),
    seed=st.integers(0, 2**16),
    interval=st.floats(0.5, 0.99),
)
def test_fast_intervals_equal_the_reference(
    monkeypatch, grouped, rows, copies, order, seed, interval
):
    # ties (rows drawn from few values, repeated), nulls in both label columns, one-row
    # groups, shuffled rows, and a top-tier cut set on a sample
    summary = pl.DataFrame(
        {
            "customer_id": [str(i) for i in range(len(rows) * copies)],
            "frequency": [x for x, *_ in rows] * copies,
            "recency": [share * T if x else 0.0 for x, share, T, *_ in rows] * copies,
            "T": [T for _, _, T, *_ in rows] * copies,
            "monetary_value": [m if x else 0.0 for x, _, _, m, *_ in rows] * copies,
            "channel": [c for *_, c, _ in rows] * copies,
            "tier": [t for *_, t in rows] * copies,
        },
        schema_overrides={"channel": pl.String, "tier": pl.String},
    ).sample(fraction=1.0, shuffle=True, seed=order)
    for module in (intervals, interval_reference):
        monkeypatch.setattr(module, "TOP_SAMPLE", 40)
    fast, reference = _both(grouped, summary, seed=seed, interval=interval)
    _assert_same(fast, reference)


def test_fast_intervals_equal_the_reference_on_a_shop(grouped, shop_model):
    # 1,000 customers: most are decided without drawing (far from the cut)
    summary, _ = shop_model
    labels = pl.Series(["a", "b", "c"]).sample(summary.height, with_replacement=True, seed=2)
    summary = summary.with_columns(channel=labels, tier=labels.reverse())
    _assert_same(*_both(grouped, summary))
    _assert_same(*_both(grouped, summary.head(300), method="bootstrap", draws=12, seed=4))


def test_parts_on_threads_equal_one_after_the_other(monkeypatch, grouped, shop_model):
    # each model's customers are drawn on a thread of their own; bounds, p_top and the
    # totals (the parts' shares added in model order) are those of a single thread
    summary, _ = shop_model
    labels = pl.Series(["a", "b", "c"]).sample(summary.height, with_replacement=True, seed=5)
    summary = summary.with_columns(channel=labels, tier=labels.reverse())
    on_threads = _both(grouped, summary)[0]
    monkeypatch.setattr(threads.os, "cpu_count", lambda: 1)
    alone = _both(grouped, summary)[0]
    for got, want in zip(on_threads, alone, strict=True):
        assert_frame_equal(got, want, check_exact=True)


def test_grouped_scores_equal_the_reference(grouped, shop_model):
    summary, _ = shop_model
    labels = pl.Series(["a", "b", None]).sample(summary.height, with_replacement=True, seed=3)
    shuffled = summary.with_columns(channel=labels).sample(fraction=1.0, shuffle=True, seed=4)
    got = grouped.score(shuffled, **HORIZON)
    want = interval_reference.grouped_scores(grouped, shuffled, **HORIZON)
    assert_frame_equal(got, want, rel_tol=1e-12, abs_tol=0.0)  # as :func:`same`


def test_intervals_of_no_customers_are_empty_and_total_zero(shop_model):
    summary, model = shop_model
    scores = model.score(summary.head(1), **HORIZON).head(0)
    out, totals = interval_scores(model, summary.head(0), scores, grid=GRID, totals_by=["T"])
    assert out.height == 0 and out.columns[-1] == "p_top"
    assert totals.rows() == [("total", "total", 0, 0.0, 0.0, 0.0)]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), n=st.integers(2, 300))
def test_a_customers_top_count_does_not_depend_on_who_is_counted_beside_them(seed, n):
    # p_top counts the draws at or above each draw's cut: customers counted alone, or in
    # the reversed order, get the counts they get in one batch. Each draw's cut is one
    # customer's drawn log CLV, so a sum whose last bit depends on the batch (a BLAS matrix
    # product's does, on its shape and the CPU) flips that customer's draw
    rng = np.random.default_rng(seed)
    g = rng.normal(0, 2, (n, 7))
    shifts = rng.normal(0, 0.3, (200, 7)).astype(np.float32)
    g32 = g.astype(np.float32)
    log_clv = np.zeros(n, np.float32)
    drawn = [g32[d % n] @ shifts[d] for d in range(200)]  # a customer's drawn log CLV
    log_cut = np.array(drawn, np.float32)
    together = intervals._top_counts(g, log_clv, shifts, log_cut)
    alone = [
        intervals._top_counts(g[i : i + 1], log_clv[i : i + 1], shifts, log_cut) for i in range(n)
    ]
    reversed_ = intervals._top_counts(g[::-1], log_clv[::-1], shifts, log_cut)[::-1]
    assert np.array_equal(together, np.concatenate(alone))
    assert np.array_equal(together, reversed_)
