"""clv.data.period: one place where dates are read and defaults decided."""

import datetime as dt

import polars as pl
import pytest

from clv.data.period import Period, as_date, resolve_period
from clv.data.rfm import calibration_holdout
from clv.errors import UsageError


def _days(*days: str) -> pl.DataFrame:
    dates = [dt.date.fromisoformat(d) for d in days]
    return pl.DataFrame(
        {"customer_id": [f"c{i}" for i in range(len(dates))], "date": dates}
    ).with_columns(amount=pl.lit(10.0))


def test_defaults_are_decided_once():
    tx = _days("2024-01-01", "2024-03-01", "2024-06-30")
    period = resolve_period(tx)
    assert period == Period(dt.date(2024, 1, 1), dt.date(2024, 6, 30), "W", None)
    assert period.unit_days == 7.0 and period.holdout_days is None
    with pytest.raises(UsageError, match="time_unit"):
        resolve_period(tx, time_unit="Y")
    with pytest.raises(UsageError, match="observation_end"):
        resolve_period(tx, observation_end="30/06/2024")
    assert as_date(dt.datetime(2024, 1, 2, 23, 59)) == dt.date(2024, 1, 2)


def test_calibration_end_follows_the_holdout_splits_rule():
    tx = _days("2024-01-01", "2024-03-01", "2024-06-30")
    # the first day is a valid calibration end for the split itself, and so here
    assert calibration_holdout(tx, calibration_end="2024-01-01").height == 1
    assert resolve_period(tx, calibration_end="2024-01-01").calibration_end == dt.date(2024, 1, 1)
    for bad in ("2023-12-31", "2024-06-30", "2024-07-15"):
        with pytest.raises(UsageError, match="calibration_end"):
            calibration_holdout(tx, calibration_end=bad)
        with pytest.raises(UsageError, match="calibration_end"):
            resolve_period(tx, calibration_end=bad)
    with pytest.raises(UsageError, match="calibration_end"):
        resolve_period(tx, calibration_end="2024-03-01", observation_end="2024-03-01")
    assert resolve_period(tx, calibration_end="none").calibration_end is None


def test_auto_calibration_end_is_the_published_split_only_when_given():
    tx = _days("1997-01-01", "1998-06-30")
    cdnow = resolve_period(tx, calibration_end="auto", published_calibration_end="1997-09-30")
    assert cdnow.calibration_end == dt.date(1997, 9, 30)
    tx = _days("2024-01-01", "2024-12-31")
    # any other data holds out the last 25 %
    auto = resolve_period(tx, calibration_end="auto")
    assert auto.calibration_end == dt.date(2024, 10, 1)
    assert auto.holdout_days == 91
    # a period of one day has no holdout
    assert resolve_period(_days("2024-01-01"), calibration_end="auto").calibration_end is None
