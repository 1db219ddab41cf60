"""Reading options checked before any file is opened: a wrong option is the caller's error.

A separator or a date format that cannot work would otherwise surface as a confusing error
about the data (a missing column, an unreadable date on row 1).
"""

import datetime as dt

import polars as pl

from clv.data.parse import has_time_codes, local_dates
from clv.errors import UsageError


def check_read_options(*, separator: str, date_format: str | None) -> None:
    """Raise :class:`UsageError` for a ``separator`` that is not one character or a
    ``date_format`` that cannot read a date back (no year, month and day, or an unknown code).

    >>> check_read_options(separator=",", date_format="%d/%m/%Y")
    """
    if not isinstance(separator, str) or len(separator) != 1 or separator in '\r\n"':
        raise UsageError(f"--separator {separator!r}: give one character, such as , or ;")
    if date_format is not None and not reads_dates(date_format):
        raise UsageError(
            f"--date-format {date_format!r} cannot read a date (year, month and day); "
            "use strftime codes, e.g. %d/%m/%Y"
        )


def reads_dates(date_format: str) -> bool:
    """Whether ``date_format`` writes 2024-01-31 (at 20:26:05 UTC, for a format with time
    codes ``%H %M %S %I %p %z``) as text that it reads back as that date."""
    day = pl.Series([dt.date(2024, 1, 31)])
    try:
        if has_time_codes(date_format):
            moment = pl.Series([dt.datetime(2024, 1, 31, 20, 26, 5, tzinfo=dt.UTC)])
            text = pl.DataFrame({"t": moment.dt.strftime(date_format)})
            read = text.select(local_dates(pl.col("t"), date_format))["t"]
            return read.equals(day, check_names=False)
        return day.dt.strftime(date_format).str.to_date(date_format).equals(day)
    except pl.exceptions.PolarsError:
        return False
