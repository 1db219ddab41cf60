"""RFM summary: parity with lifetimes on messy data, and the published CDNOW summary."""

import datetime as dt

import lifetimes.utils as lifetimes_utils  # a runtime dependency: no silent skip
import numpy as np
import polars as pl
import pytest
import rfm_reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv.data import rfm
from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
from clv.data.rfm import calibration_holdout, rfm_summary, time_unit_of
from clv.errors import DataError, UsageError

START = dt.datetime(2024, 1, 1)


@st.composite
def messy_transactions(draw) -> tuple[pl.DataFrame, dt.date]:
    """Unsorted rows, several per customer-day, hours of the day, one-time buyers,
    rows after the observation end and first purchases on its last day."""
    n = draw(st.integers(1, 60))
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from([f"{i:05d}" for i in range(12)]),
                st.integers(0, 90),  # day
                st.integers(0, 23),  # hour
                st.floats(0, 500, allow_nan=False).map(lambda x: round(x, 2)),
            ),
            min_size=n,
            max_size=n,
        )
    )
    frame = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ts": [START + dt.timedelta(days=r[1], hours=r[2]) for r in rows],
            "amount": [r[3] for r in rows],
        },
        schema={"customer_id": pl.String, "ts": pl.Datetime("us"), "amount": pl.Float64},
    )
    first_day = min(r[1] for r in rows)
    end_day = draw(st.integers(first_day, 95))
    return frame, (START + dt.timedelta(days=end_day)).date()


def lifetimes_summary(frame: pl.DataFrame, end: dt.date, multiplier: int):
    return lifetimes_utils.summary_data_from_transaction_data(
        frame.to_pandas(),
        "customer_id",
        "ts",
        monetary_value_col="amount",
        observation_period_end=str(end),
        freq="D",
        freq_multiplier=multiplier,
    ).sort_index()


@pytest.mark.filterwarnings("ignore:.*after the observation end")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(messy_transactions(), st.sampled_from([("D", 1), ("W", 7)]))
def test_summary_equals_lifetimes(data, unit):
    frame, end = data
    time_unit, multiplier = unit
    tx = frame.with_columns(
        date=pl.col("ts").dt.date(), order_id=pl.col("ts").dt.hour().cast(pl.String)
    )
    ours = rfm_summary(tx, observation_end=end, time_unit=time_unit)
    theirs = lifetimes_summary(frame, end, multiplier)
    assert ours["customer_id"].to_list() == theirs.index.tolist()
    orders = (  # order ids (hours) repeat across days and customers
        tx.filter(pl.col("date") <= end)
        .group_by("customer_id")
        .agg(pl.col("order_id").n_unique())
        .sort("customer_id")
    )
    assert ours["orders"].to_list() == orders["order_id"].to_list()
    for col in ["frequency", "recency", "T", "monetary_value"]:
        np.testing.assert_allclose(
            ours[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-9, atol=1e-9
        )
    # whole days divided afterwards: recency and T are bit-identical
    assert (ours["T"].to_numpy() == theirs["T"].to_numpy()).all()


def test_cdnow_matches_published_summary(lifetimes_dir):
    summary = rfm_summary(cdnow(), observation_end=CDNOW_CALIBRATION_END, time_unit="W")
    published = pl.read_csv(
        lifetimes_dir / "datasets" / "cdnow_customers_summary_with_transactions.csv"
    )
    ours = summary.select(
        ID=pl.col("customer_id").cast(pl.Int64),
        x=pl.col("frequency"),
        t_x=pl.col("recency"),
        T=pl.col("T"),
        zbar=pl.col("monetary_value"),
    )
    assert ours.height == published.height == 2357
    joined = ours.join(published, on="ID", suffix="_pub")
    assert joined.height == 2357
    assert (joined["x"] == joined["x_pub"]).all()
    for col in ["t_x", "T", "zbar"]:  # published to 2 decimals
        assert (joined[col] - joined[f"{col}_pub"]).abs().max() <= 0.005 + 1e-9, col


@pytest.mark.parametrize("shared", ["all ids", "two ids"])
def test_ids_sharing_a_hash_key_are_told_apart(monkeypatch, shared):
    """Ids with the same sort key: the second hash notices and the exact rank takes over."""
    tx = cdnow().with_columns(order_id=pl.format("{}-{}-{}", "customer_id", "date", "amount"))
    expected = rfm_summary(tx, time_unit="W")
    real = rfm._id_hash

    def colliding(ids: pl.Series, seed: int) -> np.ndarray:
        hashed = real(ids, seed).copy()
        if seed == 0 and shared == "all ids":
            hashed[:] = 0
        elif seed == 0:  # 0002 takes 0001's key; their purchase days interleave
            hashed[(ids == "0002").to_numpy()] = hashed[(ids == "0001").to_numpy()][0]
        return hashed

    monkeypatch.setattr(rfm, "_id_hash", colliding)
    assert rfm_summary(tx, time_unit="W").equals(expected)


def test_summary_columns_and_orders():
    tx = pl.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b"],
            "date": [
                dt.date(2024, 1, 1),
                dt.date(2024, 1, 1),
                dt.date(2024, 1, 8),
                dt.date(2024, 1, 8),
            ],
            "amount": [10.0, 5.0, 20.0, 7.0],
            "order_id": ["o1", "o2", "o3", "o4"],
        }
    )
    s = rfm_summary(tx, time_unit="D")
    a = s.row(0, named=True)
    assert (a["frequency"], a["recency"], a["T"], a["monetary_value"]) == (1, 7.0, 7.0, 20.0)
    assert (a["orders"], a["revenue"]) == (3, 35.0)  # two orders on the first day
    b = s.row(1, named=True)
    assert (b["frequency"], b["T"], b["monetary_value"], b["orders"]) == (0, 0.0, 0.0, 1)
    assert time_unit_of(s) == "D"
    assert time_unit_of(rfm_summary(tx, time_unit="M", observation_end="2024-03-01")) == "M"
    assert time_unit_of(s.drop("time_unit"), "W") == "W"  # a summary made elsewhere
    with pytest.raises(DataError, match="time_unit"):
        time_unit_of(s, "W")  # the column and the keyword disagree
    with pytest.raises(DataError, match="time_unit"):
        time_unit_of(s.drop("time_unit"))


def test_calibration_holdout_cdnow():
    ch = calibration_holdout(
        cdnow(), calibration_end=CDNOW_CALIBRATION_END, observation_end="1998-06-30", time_unit="W"
    )
    assert ch.height == 2357
    assert ch["duration_holdout"].unique().to_list() == [39.0]  # 273 days / 7
    one = ch.filter(pl.col("customer_id") == "0006").row(0, named=True)
    tx = cdnow().filter((pl.col("customer_id") == "0006") & (pl.col("date") > dt.date(1997, 9, 30)))
    days = tx.group_by("date").agg(pl.col("amount").sum())
    assert one["frequency_holdout"] == days.height
    assert one["monetary_value_holdout"] == pytest.approx(days["amount"].mean())


def test_period_errors():
    tx = cdnow()
    with pytest.raises(DataError, match="before the first transaction"):
        rfm_summary(tx, observation_end="1990-01-01")
    with pytest.raises(UsageError, match="calibration_end"):
        calibration_holdout(tx, calibration_end="1999-01-01")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(alphabet=st.sampled_from("\x00a0bé\U0001f600"), max_size=20), max_size=40))
def test_lexicographic_order_is_a_stable_byte_sort(ids):
    """The summary's fast id order equals Python's stable sort on the UTF-8 bytes: prefixes,
    zero bytes, multi-byte characters, ties and ids longer than one 8-byte pass."""
    expected = sorted(range(len(ids)), key=lambda i: ids[i].encode())
    assert rfm._lexicographic_order(pl.Series(ids, dtype=pl.String)).tolist() == expected


@st.composite
def split_transactions(draw) -> tuple[pl.DataFrame, dt.date, dt.date]:
    """Shuffled rows of a few customers over 40 days: several rows per customer-day in any
    order, amounts whose sum depends on the order of addition, order ids shared by days and
    customers (or none), customers seen only before or only after the calibration end, rows
    after the observation end; the holdout may be empty."""
    n = draw(st.integers(1, 50))
    amounts = st.sampled_from([0.1, 0.2, 0.3, 1e16, -1e16, 1.0, 2.5, 1 / 3, 0.0, 1e-3])
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["a", "b", "c", "d", "aa", "b\x00", "é", ""]),
                st.integers(0, 40),
                amounts,
                st.sampled_from(["o1", "o2", "o3", "o4"]),
            ),
            min_size=n,
            max_size=n,
        )
    )
    frame = pl.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "date": [dt.date(2024, 1, 1) + dt.timedelta(days=r[1]) for r in rows],
            "amount": [r[2] for r in rows],
            "order_id": [r[3] for r in rows],
        }
    )
    if draw(st.booleans()):
        frame = frame.drop("order_id")
    first = min(r[1] for r in rows)
    cal = draw(st.integers(first, 42))
    end = draw(st.integers(cal + 1, 44))
    day = lambda d: dt.date(2024, 1, 1) + dt.timedelta(days=d)  # noqa: E731
    return frame, day(cal), day(end)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(split_transactions(), st.sampled_from(["D", "W", "M"]))
def test_calibration_holdout_equals_the_split_by_id(data, time_unit):
    """The split on the summary's integer keys equals the split by id bit for bit: same
    columns, dtypes, rows in id order and every float (amounts of a customer-day summed in
    file order, occasions in day order)."""
    frame, cal, end = data
    keywords = {"calibration_end": cal, "observation_end": end, "time_unit": time_unit}
    days = frame.group_by("customer_id", "date").agg(pl.col("amount").sum())
    if (days["amount"] < 0).any():  # a refund netted against no purchase: refused
        with pytest.raises(DataError, match="a refund not netted against a purchase"):
            calibration_holdout(frame, **keywords)
        return
    got = calibration_holdout(frame, **keywords)
    want = rfm_reference.calibration_holdout(frame, **keywords)
    assert got.schema == want.schema
    assert rfm_reference.bits(got) == rfm_reference.bits(want)


def test_calibration_holdout_cdnow_equals_the_split_by_id():
    before = cdnow().filter(pl.col("date") <= dt.date(1997, 9, 30))
    for tx in (cdnow(), before):  # a 39-week holdout, an empty one
        keywords = {"calibration_end": CDNOW_CALIBRATION_END, "observation_end": "1998-06-30"}
        got = calibration_holdout(tx, **keywords)
        assert rfm_reference.bits(got) == rfm_reference.bits(
            rfm_reference.calibration_holdout(tx, **keywords)
        )
