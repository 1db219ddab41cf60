"""The clv command line, run as a user runs it: exit codes, one-line errors, files written."""

import os
import subprocess
import sys

import polars as pl
import pytest

from clv.cli import main
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


@pytest.mark.slow
def test_version_and_help():
    assert clv("--version").stdout.startswith("clv ")
    out = clv("--help")
    assert out.returncode == 0
    assert "summarize" in out.stdout


@pytest.mark.slow
def test_summarize_writes_the_library_summary(cdnow_csv, tmp_path):
    out = tmp_path / "summary.parquet"
    run = clv("summarize", cdnow_csv, "--observation-end", "1997-09-30", "--out", out)
    assert run.returncode == 0, run.stderr
    expected = rfm_summary(cdnow(), observation_end="1997-09-30", time_unit="W")
    assert pl.read_parquet(out).equals(expected)
    again = clv("summarize", cdnow_csv, "--out", out)
    assert again.returncode == 2
    assert again.stderr.count("\n") == 1 and "--overwrite" in again.stderr


@pytest.mark.slow
def test_data_error_is_one_line_exit_1(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,date,amount\n1,2024-01-01,abc\n")
    out = tmp_path / "s.csv"
    run = clv("summarize", bad, "--out", out)
    assert run.returncode == 1
    assert run.stderr.strip().splitlines() == [
        f"clv summarize: error: {bad}: column 'amount', line 2: 'abc' is not a finite number; "
        "write plain numbers such as 7.50, or pass --decimal-comma for 7,50"
    ]
    assert "Traceback" not in run.stderr
    assert not out.exists()


@pytest.mark.slow
def test_usage_error_is_one_line_exit_2(cdnow_csv):
    run = clv("summarize", cdnow_csv, "--time-unit", "Y", "--out", "x.csv")
    assert run.returncode == 2
    assert len(run.stderr.strip().splitlines()) == 1


def test_report_help_lists_every_parameter_with_its_default(capsys):
    from clv.params import INJECTED, NOTEBOOKS
    from clv.report.parameters import notebook_parameters

    with pytest.raises(SystemExit):
        main(["report", "--help"])
    text = capsys.readouterr().out
    for flag in (
        "--customer-col",
        "--quantity-col",
        "--decimal-comma",
        "--encoding",
        "--penalizer",
    ):
        assert flag in text
    for notebook in NOTEBOOKS:
        for name, default in notebook_parameters(notebook).items():
            if name not in INJECTED:
                shown = "none" if default is None else repr(default)
                assert f"    {name} = {shown}\n" in text


def test_report_options_become_notebook_parameters(monkeypatch, tmp_path, capsys):
    import clv.report.runner

    seen = {}

    def run_report(data, *, notebook, parameters, out_dir, config, progress, pdf):
        seen.update(parameters)
        return tmp_path

    monkeypatch.setattr(clv.report.runner, "run_report", run_report)
    args = ["report", "tx.csv", "--customer-col", "CustomerID", "--decimal-comma"]
    args += ["--negative-amounts", "net", "--penalizer", "0.01", "--discount-rate", "0.08"]
    assert main([*args, "-p", "horizon=6"]) == 0
    assert seen == {
        "horizon": "6",
        "customer_col": "CustomerID",
        "decimal_comma": True,
        "negative_amounts": "net",
        "penalizer": 0.01,
        "discount_rate_annual": 0.08,
    }
    assert main([*args, "-p", "penalizer=0.1"]) == 2
    assert "penalizer given twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("map it with customer_col='Customer ID')", "map it with --customer-col 'Customer ID')"),
        ('pass negative_amounts="drop" to', "pass --negative-amounts drop to"),
        ("pass decimal_comma=True for 7,50", "pass --decimal-comma for 7,50"),
        ("(map yours with amount_col=)", "(map yours with --amount-col)"),
        ("the column my_col=x and draws=6 stay", "the column my_col=x and draws=6 stay"),
        ("pass a later observation_end=", "pass a later --observation-end"),
        ("observation_end=2020-01-01 is early", "--observation-end 2020-01-01 is early"),
    ],
)
def test_library_keywords_become_flags(message, expected):
    from clv.cli.options import as_flags

    assert as_flags(message) == expected


def test_report_reads_channel_costs_from_a_file_and_takes_loyalty_costs(
    monkeypatch, tmp_path, capsys
):
    """0.2's report had no --channel-costs FILE and refused the loyalty programme's costs."""
    import clv.report.runner
    from clv.report.parameters import validate_parameters

    seen = {}

    def run_report(data, *, notebook, parameters, out_dir, config, progress, pdf):
        seen.update(validate_parameters(notebook, parameters))
        return tmp_path

    monkeypatch.setattr(clv.report.runner, "run_report", run_report)
    costs = tmp_path / "costs.csv"
    costs.write_text("channel,cost\nsearch,12.5\nsocial,30\n")
    args = ["report", "tx.csv", "--channel-col", "source", "--channel-costs", str(costs)]
    args += ["--loyalty-col", "member", "--member-discount-rate", "0.1", "-p", "cost_per_reward=5"]
    assert main(args) == 0, capsys.readouterr().err
    assert seen["channel_costs"] == {"search": 12.5, "social": 30.0}
    assert seen["member_discount_rate"] == 0.1 and seen["cost_per_reward"] == 5.0


OPENED: list[str] | None = None
"""Paths opened by Python while a test watches (``None``: not watching)."""


def _count_opens(event: str, args: tuple) -> None:
    if OPENED is not None and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        OPENED.append(os.fsdecode(args[0]))


sys.addaudithook(_count_opens)  # audit hooks cannot be removed: this one only counts


@pytest.mark.parametrize("command", ["kpis", "segments"])
def test_a_channel_costs_file_is_read_once(command, shop, tmp_path, capsys):
    """The options are read and checked once per command: every step takes the result."""
    global OPENED
    tx = tmp_path / "tx.csv"
    shop[0].filter(pl.col("customer_id") < "C0000400").write_csv(tx)
    costs = tmp_path / "costs.json"
    costs.write_text('{"search": 12, "paid_social": 30, "direct": 0, "referral": 8, "email": 4}')
    out = tmp_path / ("kpis.json" if command == "kpis" else "segments.csv")
    args = [command, str(tx), "--channel-col", "channel", "--channel-costs", str(costs)]
    OPENED = []
    try:
        assert main([*args, "--out", str(out)]) == 0, capsys.readouterr().err
        opened = [p for p in OPENED if os.path.realpath(p) == os.path.realpath(costs)]
    finally:
        OPENED = None
    assert len(opened) == 1
    assert out.exists()


@pytest.mark.parametrize(
    "how",
    [
        ["-p", "horizon=nan"],
        ["-p", "horizon=inf"],
        ["--horizon", "nan"],
        ["--config", "{config}"],
    ],
)
def test_non_finite_numbers_are_one_line_usage_errors(how, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("horizon = nan\n")
    args = ["report", "--out", str(tmp_path / "runs"), *[a.format(config=config) for a in how]]
    code = main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "--horizon nan" in err or "--horizon inf" in err
    assert "expected a number > 0" in err
    runs = tmp_path / "runs"  # no run folder; the failed check is in the runs' history
    assert not [p for p in runs.iterdir() if p.is_dir()]
    assert "expected a number > 0" in (runs / "history.jsonl").read_text()
