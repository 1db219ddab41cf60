"""Reading options that cannot work are the caller's error, before any file is opened."""

import re

import pytest

from clv.data.io import read_transactions
from clv.data.options import check_read_options, reads_dates
from clv.errors import UsageError


@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%d/%m/%Y", "%m.%d.%y", "%Y%m%d", "%d %b %Y"])
def test_formats_that_read_dates(fmt):
    assert reads_dates(fmt)


@pytest.mark.parametrize("fmt", ["%Q", "%Y", "%H:%M", "abc", "%d/%m", ""])
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
