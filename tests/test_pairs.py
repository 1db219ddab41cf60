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


@pytest.mark.parametrize("repeat_only", [True, False])
def test_pairs_give_every_row_back(repeat_only):
    rng = np.random.default_rng(13)
    x = rng.integers(0, 5, 300).astype(float)
    T = rng.integers(1, 30, 300) / 7
    tx = np.where(x > 0, np.floor(rng.random(300) * T * 7) / 7, 0.0)
    w = rng.integers(1, 4, 300).astype(float)
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
