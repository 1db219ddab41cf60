"""The clv command line, run as a user runs it: exit codes, one-line errors, files written."""

import subprocess
import sys

import polars as pl
import pytest

from clv.data.datasets import cdnow
from clv.data.rfm import rfm_summary


def clv(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clv.cli", *map(str, args)], capture_output=True, text=True, cwd=cwd
    )


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "cdnow.csv"
    cdnow().write_csv(path)
    return path


def test_version_and_help():
    assert clv("--version").stdout.startswith("clv ")
    out = clv("--help")
    assert out.returncode == 0
    assert "summarize" in out.stdout


def test_summarize_writes_the_library_summary(cdnow_csv, tmp_path):
    out = tmp_path / "summary.parquet"
    run = clv("summarize", cdnow_csv, "--observation-end", "1997-09-30", "--out", out)
    assert run.returncode == 0, run.stderr
    expected = rfm_summary(cdnow(), observation_end="1997-09-30", time_unit="W")
    assert pl.read_parquet(out).equals(expected)
    again = clv("summarize", cdnow_csv, "--out", out)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--overwrite" in again.stderr


def test_data_error_is_one_line_exit_1(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\n1,2024-01-01,abc\n")
    out = tmp_path / "s.csv"
    run = clv("summarize", bad, "--out", out)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"clv summarize: error: {bad}: column 'amount', row 1: 'abc' is not a finite number; "
        "write plain numbers such as 7.50, or pass --decimal-comma for 7,50"
    ]
    assert "Traceback" not in run.stderr
    assert not out.exists()


def test_usage_error_is_one_line_exit_2(cdnow_csv):
    run = clv("summarize", cdnow_csv, "--time-unit", "Y", "--out", "x.csv")
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1
