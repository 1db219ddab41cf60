"""Reading options that cannot work are the caller's error, before any file is opened."""

import re

import pytest

from clv.data.io import read_transactions
from clv.data.options import check_read_options, reads_dates
from clv.errors import UsageError


@pytest.mark.parametrize(
    "fmt",
    [
        "%Y-%m-%d",
        "%d/%m/%Y",
        "%m.%d.%y",
        "%Y%m%d",
        "%d %b %Y",
        "%m/%d/%Y %H:%M",  # UCI Online Retail's 12/1/2010 8:26
        "%Y-%m-%d %H:%M:%S %z",
        "%Y-%m-%dT%H:%M:%S%z",
        "%m/%d/%Y %I:%M %p",
        "%d.%m.%Y %H:%M:%S",
    ],
)
def test_formats_that_read_dates(fmt):
    assert reads_dates(fmt)


@pytest.mark.parametrize("fmt", ["%Q", "%Y", "%H:%M", "%I:%M %p", "abc", "%d/%m", ""])
def test_formats_that_cannot(fmt):
    assert not reads_dates(fmt)
    with pytest.raises(UsageError, match=re.escape(f"--date-format {fmt!r} cannot read a date")):
        check_read_options(separator=",", date_format=fmt)


@pytest.mark.parametrize("sep", ["", ";;", "\n", '"'])
def test_separators_that_cannot_work(sep):
    with pytest.raises(UsageError, match=re.escape(f"--separator {sep!r}: give one character")):
        check_read_options(separator=sep, date_format=None)


def test_read_transactions_checks_before_opening_the_file(tmp_path):
    with pytest.raises(UsageError, match="--date-format '%Q'"):
        read_transactions(tmp_path / "does-not-exist.csv", date_format="%Q")


@pytest.mark.parametrize(
    ("fmt", "values"),
    [
        ("%m/%d/%Y %H:%M", ["12/1/2010 8:26", "12/31/2010 23:59"]),
        ("%m/%d/%Y %I:%M %p", ["12/01/2010 08:26 AM", "12/31/2010 11:59 PM"]),
        # the local date as written: 23:59 at -05:00 is 31 December, not 1 January in UTC
        ("%Y-%m-%d %H:%M:%S %z", ["2010-12-01 08:26:00 +0100", "2010-12-31 23:59:00 -0500"]),
    ],
)
def test_a_date_format_with_time_codes_reads_the_dates(tmp_path, fmt, values):
    data = tmp_path / "timed.csv"
    rows = [("c1", values[0], 10), ("c1", values[1], 12), ("c2", values[0], 8)]
    data.write_text("customer_id,date,amount\n" + "".join(f'{c},"{d}",{a}\n' for c, d, a in rows))
    dates = read_transactions(data, date_format=fmt)["date"].cast(str).to_list()
    assert dates == ["2010-12-01", "2010-12-31", "2010-12-01"]
