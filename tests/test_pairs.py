"""Rows grouped into distinct (x, T) and (x, t_x) pairs: the grouping gives every row back."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.models import pairs


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.integers(0, 6), min_size=1, max_size=40), presort=st.booleans())
def test_unique_inverse_equals_numpy(values, presort):
    v = np.sort(np.array(values, dtype=float)) if presort else np.array(values, dtype=float)
    ours, inverse = pairs._unique_inverse(v)
    theirs, their_inverse = np.unique(v, return_inverse=True)
    np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(inverse, their_inverse)


def _rows(rng: np.random.Generator, n: int) -> tuple[np.ndarray, ...]:
    """Weighted (x, t_x, T, w) rows in weeks of whole days, t_x = 0 for one-time buyers."""
    x = rng.integers(0, 5, n).astype(float)
    T = rng.integers(1, 30, n) / 7
    tx = np.where(x > 0, np.floor(rng.random(n) * T * 7) / 7, 0.0)
    return x, tx, T, rng.integers(1, 4, n).astype(float)


@pytest.mark.parametrize("repeat_only", [True, False])
def test_pairs_give_every_row_back(repeat_only):
    x, tx, T, w = _rows(np.random.default_rng(13), 300)
    d = pairs.PairRows.of(x, tx, T, w, repeat_only=repeat_only)
    paired = x > 0 if repeat_only else np.ones(300, dtype=bool)
    np.testing.assert_array_equal(d.xs[d.xt_x[d.row_xt]], x[paired])
    np.testing.assert_array_equal(d.Tu[d.xt_t[d.row_xt]], T[paired])
    np.testing.assert_array_equal(d.xs[d.xr_x[d.row_xr]], x[paired])
    np.testing.assert_array_equal(d.Ru[d.xr_r[d.row_xr]], tx[paired])
    np.testing.assert_array_equal(d.w, w[paired])
    assert d.w_once.sum() == w[~paired].sum()
    assert d.w_xt.sum() == w[paired].sum()
    assert d.wsum == w.sum()
    np.testing.assert_array_equal(d.wx, [w[x == v].sum() for v in d.xs])


@pytest.mark.parametrize("repeat_only", [True, False])
def test_sorted_rows_sum_by_runs_as_unsorted_rows_by_index(repeat_only):
    rng = np.random.default_rng(17)
    x, tx, T, w = _rows(rng, 400)
    order = np.lexsort((T, tx, x))  # frequency, then recency: each (x, t_x) pair's rows together
    by_runs = pairs.PairRows.of(x[order], tx[order], T[order], w[order], repeat_only=repeat_only)
    shuffled = rng.permutation(400)
    by_index = pairs.PairRows.of(
        x[shuffled], tx[shuffled], T[shuffled], w[shuffled], repeat_only=repeat_only
    )
    assert by_runs.xr_starts is not None and by_index.xr_starts is None
    A3 = -rng.random(by_runs.xt_x.size) * 3
    A4 = -rng.random(by_runs.xr_x.size) * 3
    # the same pairs (sorted keys) in both, so the per-pair values line up
    np.testing.assert_array_equal(by_runs.xr_x, by_index.xr_x)
    np.testing.assert_array_equal(by_runs.xt_x, by_index.xt_x)
    ll_runs, s3_runs, s4_runs = pairs.pair_log_sum(A3, A4, by_runs)
    ll_index, s3_index, s4_index = pairs.pair_log_sum(A3, A4, by_index)
    assert ll_runs == pytest.approx(ll_index, rel=1e-13)
    np.testing.assert_allclose(s3_runs, s3_index, rtol=1e-13)
    np.testing.assert_allclose(s4_runs, s4_index, rtol=1e-13)
