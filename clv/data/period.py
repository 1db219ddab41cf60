"""The period of an analysis: observation end, calibration end and time unit, resolved once.

Every date a user gives is read here (:func:`as_date`) and every default is decided here
(:func:`resolve_period`): the observation end defaults to the last transaction day, and the
calibration end of the holdout check to the published CDNOW split or the last 25 % of the
period. The frozen :class:`Period` is then passed down; nothing downstream parses a date or
picks a default again.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Literal

import polars as pl

from clv.errors import DataError, UsageError

TimeUnit = Literal["D", "W", "M"]

TIME_UNIT_DAYS: dict[str, float] = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
"""Length of each time unit in days: days, weeks, average calendar months."""

UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}
"""Each time unit in words (plural)."""

HOLDOUT_SHARE = 0.25
"""Share of the period (first transaction to observation end) held out by ``"auto"``."""

DateLike = str | dt.date | dt.datetime


def as_date(value: DateLike, name: str = "date") -> dt.date:
    """Read a date given as ``YYYY-MM-DD`` text, a date or a datetime (time of day dropped).

    ``name`` is the keyword the value was given as; it names the value in the error.
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise UsageError(f"{name}: cannot read {value!r} as a date; use YYYY-MM-DD") from None


def unit_days(time_unit: str) -> float:
    """Length of ``time_unit`` (``D``, ``W`` or ``M``) in days."""
    try:
        return TIME_UNIT_DAYS[time_unit]
    except KeyError:
        raise UsageError(f"time_unit must be D, W or M, not {time_unit!r}") from None


def date_range(transactions: pl.DataFrame | pl.LazyFrame) -> tuple[dt.date, dt.date]:
    """The first and last transaction day."""
    first, last = (
        transactions.lazy()
        .select(first=pl.col("date").min(), last=pl.col("date").max())
        .collect()
        .row(0)
    )
    if first is None:
        raise DataError("no transactions to summarize")
    return first, last


@dataclass(frozen=True)
class Period:
    """What an analysis observes: transactions up to ``observation_end`` (inclusive), durations
    in ``time_unit``, and the holdout check's ``calibration_end`` (None: no holdout check).

    Made by :func:`resolve_period`, which checks that the dates fit the data.
    """

    first_day: dt.date
    observation_end: dt.date
    time_unit: TimeUnit
    calibration_end: dt.date | None = None

    @property
    def unit_days(self) -> float:
        """Length of the time unit in days."""
        return TIME_UNIT_DAYS[self.time_unit]

    @property
    def holdout_days(self) -> int | None:
        """Days from the calibration end to the observation end (None without a holdout)."""
        if self.calibration_end is None:
            return None
        return (self.observation_end - self.calibration_end).days


def resolve_period(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "W",
    calibration_end: DateLike | None = None,
    published_calibration_end: DateLike | None = None,
) -> Period:
    """The :class:`Period` of an analysis of ``transactions``, every default decided here.

    Parameters
    ----------
    observation_end
        Last day observed (inclusive); default: the last transaction day.
    time_unit
        ``"D"``, ``"W"`` (default) or ``"M"``: the unit of recency, T and model time.
    calibration_end
        End of the calibration period of the holdout check: a date, ``"auto"`` or None /
        ``"none"`` (no holdout check). ``"auto"`` is ``published_calibration_end`` when given
        (the embedded CDNOW sample's published split), otherwise the day that leaves the last
        :data:`HOLDOUT_SHARE` of the period as holdout. A date must fall on or after the
        first transaction and before the observation end.
    """
    unit_days(time_unit)
    first, last = date_range(transactions)
    return period_between(
        first,
        last,
        observation_end=observation_end,
        time_unit=time_unit,
        calibration_end=calibration_end,
        published_calibration_end=published_calibration_end,
    )


def period_between(
    first: dt.date,
    last: dt.date,
    *,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "W",
    calibration_end: DateLike | None = None,
    published_calibration_end: DateLike | None = None,
) -> Period:
    """:func:`resolve_period` of transactions from day ``first`` to day ``last`` (for
    engines that find the two days elsewhere)."""
    unit_days(time_unit)
    end = last if observation_end is None else as_date(observation_end, "observation_end")
    if end < first:
        raise DataError(
            f"observation_end={end} is before the first transaction ({first}); pass a later date"
        )
    text = None if calibration_end is None else str(calibration_end).strip().lower()
    if calibration_end is None or text in ("none", "null"):
        cal = None
    elif text == "auto":
        if published_calibration_end is not None:
            cal = as_date(published_calibration_end, "calibration_end")
        else:
            cal = first + dt.timedelta(days=round((1 - HOLDOUT_SHARE) * (end - first).days))
    else:
        cal = as_date(calibration_end, "calibration_end")
    if text == "auto" and cal is not None and not first <= cal < end:
        cal = None  # a period of one day has no holdout
    if cal is not None and not first <= cal < end:
        raise UsageError(
            f"calibration_end={cal} must fall on or after the first transaction {first} and "
            f"before the observation end {end}; pass calibration_end=none to skip the holdout "
            "check"
        )
    return Period(first, end, time_unit, cal)
