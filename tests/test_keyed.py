"""clv.data.keyed: the sorting and counting helpers of the keyed calibration split, against
NumPy's stable argsort and a count of distinct pairs in Python."""

from collections import defaultdict

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.data.keyed import _distinct_per_key, _stable_order

MIX = 0x9E3779B97F4A7C15  # the odd constant _distinct_per_key mixes keys with


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 20), max_size=60), st.sampled_from([0, 40, 60]))
def test_stable_order_is_a_stable_argsort(values, shift):
    """Ties keep their row order; values too wide to share 64 bits with the row numbers
    (shift 60) take NumPy's stable argsort."""
    packed = np.array(values, dtype=np.uint64) << np.uint64(shift)
    expected = np.argsort(packed, kind="stable")
    assert _stable_order(packed).tolist() == expected.tolist()


@st.composite
def keyed_values(draw) -> tuple[np.ndarray, np.ndarray]:
    """Rows sorted by key with values repeated within a key (adjacent or not), shared by
    keys, and pairs whose mixed values coincide across keys."""
    rows = draw(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 4)), max_size=40))
    rows.sort(key=lambda r: r[0])  # stable: values stay in drawn order within a key
    key = np.array([k for k, _ in rows], dtype=np.uint64)
    value = np.array([v for _, v in rows], dtype=np.uint64)
    if draw(st.booleans()):  # value ^ mix(key) equal to key 0's value 1 mixed
        value = np.uint64(1) ^ key * np.uint64(MIX) ^ value % np.uint64(2)
    return key, value


@settings(max_examples=300, deadline=None)
@given(keyed_values())
def test_distinct_per_key_counts_pairs(data):
    key, value = data
    seen = defaultdict(set)
    for k, v in zip(key.tolist(), value.tolist(), strict=True):
        seen[k].add(v)
    size = int(key.max()) + 1 if len(key) else 0
    expected = [len(seen[k]) for k in range(size)]
    assert _distinct_per_key(key, value).tolist() == expected
