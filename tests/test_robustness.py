"""Bad input, degenerate data and safe outputs (issue 5).

A corpus of bad inputs, each run through every command that reads transactions: a non-zero
exit, one error line naming the file (and the column, row and value where there is one), no
traceback, and nothing written. Degenerate but valid data gives results plus one-line
warnings. Outputs are atomic; an interrupted report run is marked interrupted. The same
transactions in CSV, Parquet and NDJSON give identical summaries and models.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from clv.analysis.pipeline import analyze
from clv.cli import main
from clv.data.io import read_transactions
from clv.data.rfm import rfm_summary
from clv.errors import ClvError, ModelError
from clv.models.fitting import fit

HEADER = "customer_id,date,amount\n"
COMMANDS = ("summarize", "fit", "score", "kpis", "report")
OUTPUTS = {
    "summarize": "summary.csv",
    "fit": "model.json",
    "score": "scores.csv",
    "kpis": "kpis.json",
    "report": "runs",
}


def shop_rows(n_customers: int = 300, *, seed: int = 0) -> list[tuple[str, str, float]]:
    """A small BG/NBD-like shop that both models fit: (customer_id, ISO date, amount) rows."""
    rng = np.random.default_rng(seed)
    start = dt.date(2023, 1, 1)
    rows = []
    for i in range(n_customers):
        day = float(rng.integers(0, 180))
        rate = rng.gamma(0.8, 1 / 20)  # purchases per day while alive
        churn = rng.beta(1.0, 4.0)  # chance to drop out after each purchase
        spend = rng.gamma(4.0, 8.0)
        while day <= 364:
            amount = round(float(spend * rng.gamma(10, 0.1)), 2)
            rows.append((f"c{i:04d}", str(start + dt.timedelta(days=int(day))), amount))
            if rng.random() < churn:
                break
            day += rng.exponential(1 / rate)
    return rows


def shop_csv(path: Path, rows: list[tuple[str, str, float]] | None = None) -> Path:
    rows = shop_rows() if rows is None else rows
    path.write_text(HEADER + "".join(f"{c},{d},{a}\n" for c, d, a in rows))
    return path


# --------------------------------------------------------------------------- the corpus


@dataclass
class Case:
    """A bad input: how to make it, which commands must fail, what the error line says."""

    id: str
    make: Callable[[Path], Path]  # tmp folder -> the transactions path given to clv
    expect: tuple[str, ...]  # substrings of the error line; {file} is the data file
    commands: tuple[str, ...] = COMMANDS
    options: dict[str, str] = field(default_factory=dict)  # option name -> value
    code: int = 1
    model: Callable[[Path], Path] | None = None  # for score --model
    warns: bool = False  # warning lines may come before the error line


def text(name: str, content: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_text(content, encoding="utf-8")
        return path

    return make


def raw(name: str, content: bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(content)
        return path

    return make


def shop(folder: Path) -> Path:
    return shop_csv(folder / "shop.csv")


def frame_file(name: str, frame: pl.DataFrame) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / name
        if name.endswith(".parquet"):
            frame.write_parquet(path)
        else:
            frame.write_ndjson(path)
        return path

    return make


MODEL = {
    "bgnbd": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
    "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.45},
    "time_unit": "W",
}


def a_model(time_unit: str = "W", *, body: str | None = None) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"model-{time_unit}.json"
        if body is not None:
            path.write_text(body)
            return path
        doc = {
            "bgnbd": {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.4},
            "gamma_gamma": {"p": 6.25, "q": 3.74, "v": 15.45},
            "time_unit": time_unit,
        }
        path.write_text(json.dumps(doc))
        return path

    return make


def missing(folder: Path) -> Path:
    return folder / "nowhere.csv"


def directory(folder: Path) -> Path:
    path = folder / "export.csv"
    path.mkdir()
    return path


OK = "c1,2024-01-05,10\nc1,2024-02-05,12\nc2,2024-01-07,8\nc2,2024-03-01,9\n"
GOOD = HEADER + OK

CASES = [
    Case("missing-file", missing, ("{file}", "file not found")),
    Case("directory", directory, ("{file}", "is a directory")),
    Case("empty-file", raw("empty.csv", b""), ("{file}", "empty")),
    Case("header-only", text("head.csv", HEADER), ("{file}", "no transactions")),
    Case(
        "binary-garbage",
        # an Excel workbook saved under a .csv name
        raw(
            "workbook.csv",
            b"PK\x03\x04\x14\x00\x06\x00"
            + bytes(np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8)),
        ),
        ("{file}", "binary data", "CSV, Parquet or NDJSON"),
    ),
    Case(
        "random-bytes",
        raw("noise.csv", bytes(np.random.default_rng(2).integers(128, 256, 300, dtype=np.uint8))),
        ("{file}: the header is not UTF-8 text", "--encoding cp1252"),
    ),
    Case("utf16", raw("utf16.csv", GOOD.encode("utf-16")), ("{file}: UTF-16 text",)),
    Case(
        "not-utf8",
        raw("latin1.csv", (HEADER + "c1,2024-01-05,1\nZoë,2024-01-05,10\n").encode("latin-1")),
        ("{file}: line 3 is not UTF-8 text (byte 0xeb at offset 42)", "--encoding cp1250"),
    ),
    Case(
        "wrong-delimiter",
        text("semi.csv", "customer_id;date;amount\nc1;2024-01-05;10\n"),
        ("{file}", "'customer_id'", "--separator"),
    ),
    Case(
        "missing-column",
        text("cols.csv", "client,date,amount\nc1,2024-01-05,10\n"),
        ("{file}", "'customer_id'", "columns found: client, date, amount", "--customer-col"),
    ),
    Case(
        "unknown-suffix",
        raw("export.xlsx", b"PK\x03\x04"),
        ("{file}", "unknown file type"),
        code=2,
    ),
    Case(
        "unparseable-date",
        text("date.csv", GOOD + "c3,yesterday,5\n"),
        ("{file}", "column 'date'", "line 6", "'yesterday'", "--date-format"),
    ),
    Case(
        "mixed-date-formats",
        text("mixed.csv", GOOD + "c3,05/01/2024,5\n"),
        ("{file}", "column 'date'", "line 6", "'05/01/2024'"),
    ),
    Case(
        "date-format-mismatch",
        text("fmt.csv", GOOD),
        ("{file}", "column 'date'", "line 2", "'2024-01-05'"),
        options={"date_format": "%d/%m/%Y"},
    ),
    Case(
        "every-customer-id-a-placeholder",
        text("noid.csv", HEADER + ",2024-01-09,5\n(blank),2024-01-09,5\nGuest,2024-01-10,3\n"),
        ("{file}", "column 'customer_id'", "every row's customer id", "'(blank)'", "'Guest'"),
    ),
    Case(
        "placeholder-ids-ndjson-all-null",
        text("null.ndjson", '{"customer_id": null, "date": "2024-01-06", "amount": 3}\n'),
        ("{file}", "column 'customer_id'", "placeholder", "--keep-placeholder-ids"),
    ),
    Case(
        "ambiguous-day-month",
        text("dm.csv", HEADER + "c1,01/02/2024,10\nc1,03/04/2024,12\nc2,05/06/2024,8\n"),
        ("{file}", "column 'date'", "day from month", "--date-format %d/%m/%Y", "%m/%d/%Y"),
    ),
    Case(
        "date-in-the-future",
        text("future.csv", GOOD + "c3,2999-01-09,5\n"),
        ("{file}", "column 'date', line 6", "'2999-01-09'", "(today)", "--allow-dates-to"),
    ),
    Case(
        "date-before-1990",
        text("past.csv", GOOD + "c3,1900-01-01,5\n"),
        ("{file}", "column 'date', line 6", "'1900-01-01'", "1990-01-01", "--allow-dates-from"),
    ),
    Case(
        "duplicate-column",
        text("twice.csv", "customer_id,date,amount,date\nc1,2024-01-05,10,x\n"),
        ("{file}", "column 'date' twice", "columns 2 and 4"),
    ),
    Case(
        "utf16-without-bom",
        raw("utf16le.csv", GOOD.encode("utf-16-le")),
        ("{file}: UTF-16 text", "--encoding utf-16"),
    ),
    Case(
        "quantity-price-export-without-amount",
        text("uci.csv", "CustomerID,InvoiceDate,Quantity,UnitPrice\n1,12/1/2010 8:26,2,1.5\n"),
        (
            "{file}",
            "no column 'customer_id' (closest: 'CustomerID': --customer-col CustomerID)",
            "--date-col InvoiceDate",
            "--quantity-col Quantity --price-col UnitPrice",
        ),
    ),
    Case(
        "wrong-encoding-given",
        raw("cp1250.csv", (HEADER + "c1,2024-01-05,1\n\x81x,2024-01-05,2\n").encode("latin-1")),
        ("{file}: line 3 is not cp1252 text (byte 0x81", "--encoding cp1250"),
        commands=("summarize", "fit", "score", "kpis"),
        options={"encoding": "cp1252"},
    ),
    Case(
        "decimal-comma-with-a-point",
        text("comma.csv", "customer_id;date;amount\nc1;2024-01-05;12,50\nc1;2024-01-06;7.50\n"),
        ("{file}", "column 'amount', line 3", "'7.50'"),
        commands=("summarize", "fit", "score", "kpis"),
        options={"decimal_comma": "", "separator": ";"},
    ),
    Case(
        "amount-currency-sign",
        text("dollar.csv", GOOD + "c3,2024-01-09,$7.50\n"),
        ("{file}", "column 'amount'", "line 6", "'$7.50'"),
    ),
    Case(
        "amount-decimal-comma-quoted",
        text("comma.csv", GOOD + 'c3,2024-01-09,"7,50"\n'),
        ("{file}", "column 'amount'", "line 6", "'7,50'"),
    ),
    Case(
        "amount-decimal-comma-unquoted",
        text("comma2.csv", GOOD + "c3,2024-01-09,7,50\n"),
        ("{file}", "line 6", "7,50", "decimal point"),
    ),
    Case(
        "amount-nan",
        text("nan.csv", GOOD + "c3,2024-01-09,NaN\n"),
        ("{file}", "column 'amount'", "line 6", "'NaN'"),
    ),
    Case(
        "amount-inf",
        text("inf.csv", GOOD + "c3,2024-01-09,-inf\n"),
        ("{file}", "column 'amount'", "line 6", "'-inf'"),
    ),
    Case(
        "amount-missing",
        text("none.csv", GOOD + "c3,2024-01-09,\n"),
        ("{file}", "column 'amount'", "line 6: '' is not a finite number"),
    ),
    Case(
        "negative-amount",
        text("refund.csv", GOOD + "c2,2024-03-02,-9\n"),
        ("{file}", "column 'amount'", "line 6", "'-9'", "--negative-amounts drop", "net"),
    ),
    Case(
        "parquet-amount-as-text",
        frame_file(
            "text.parquet",
            pl.DataFrame(
                {"customer_id": ["c1", "c2"], "date": ["2024-01-05", "2024-01-06"]}
                | {"amount": ["10", "ten"]}
            ),
        ),
        ("{file}", "column 'amount'", "row 2", "'ten'"),
    ),
    Case(
        "malformed-ndjson",
        text("broken.ndjson", '{"customer_id": "c1", "date": "2024-01-05", "amount": 1}\n{"cus'),
        ("{file}", "line 2 is not valid JSON", "'{{\"cus'"),
    ),
    Case(
        "bad-loyalty-flag",
        text("loyal.csv", "customer_id,date,amount,member\nc1,2024-01-05,10,maybe\n"),
        ("{file}", "column 'member'", "line 2", "'maybe'"),
        options={"loyalty_col": "member"},
    ),
    Case(
        "all-amounts-zero",
        text(
            "zero.csv",
            HEADER
            + OK.replace(",10\n", ",0\n")
            .replace(",12\n", ",0\n")
            .replace(",8\n", ",0\n")
            .replace(",9\n", ",0\n"),
        ),
        ("{file}", "positive amount", "amount"),
        commands=("fit", "score", "kpis", "report"),
        warns=True,
    ),
    Case(
        "single-customer",
        text("one.csv", HEADER + "c1,2024-01-05,10\nc1,2024-02-05,12\nc1,2024-04-01,7\n"),
        ("{file}", "Gamma-Gamma did not converge", "--gg-penalizer"),
        commands=("fit", "score", "kpis"),  # report: see test_a_fit_that_fails_in_the_run
    ),
    Case(
        "no-repeat-buyers",
        text("once.csv", HEADER + "c1,2024-01-05,10\nc2,2024-02-05,12\nc3,2024-04-01,7\n"),
        ("{file}", "repeat purchase", "--observation-end"),
        commands=("fit", "score", "kpis", "report"),
    ),
    Case(
        "observation-end-before-data",
        shop,
        ("{file}", "--observation-end 2020-01-01 is before the first transaction"),
        options={"observation_end": "2020-01-01"},
    ),
    Case(
        "observation-end-not-a-date",
        shop,
        ("observation", "'next week'", "YYYY-MM-DD"),
        options={"observation_end": "next week"},
        code=2,
    ),
    Case(
        "calibration-end-after-data",
        shop,
        ("calibration", "2030-01-01"),
        commands=("report",),
        options={"calibration_end": "2030-01-01"},
        code=2,
    ),
    Case(
        "calibration-end-before-data",
        shop,
        ("calibration", "2001-01-01"),
        commands=("report",),
        options={"calibration_end": "2001-01-01"},
        code=2,
    ),
    Case(
        "model-not-json",
        shop,
        ("{model}", "not a clv model file"),
        commands=("score",),
        model=a_model(body="r=0.2, alpha=4\n"),
    ),
    Case(
        "model-bad-time-unit",
        shop,
        ("{model}", "time_unit"),
        commands=("score",),
        model=a_model("Y"),
    ),
    Case(
        "model-other-time-unit",
        shop,
        ("{model}", "time unit W, not D", "--time-unit"),
        commands=("score",),
        options={"time_unit": "D"},
        model=a_model("W"),
        code=2,
    ),
    Case(
        "model-missing",
        shop,
        ("{model}", "no such model file"),
        commands=("score",),
        model=lambda folder: folder / "no-model.json",
        code=2,
    ),
    Case(
        "unknown-report-parameter",
        shop,
        ("unknown parameter 'horizon_months'", "valid parameters:", "horizon"),
        commands=("report",),
        options={"horizon_months": "6"},
        code=2,
    ),
    Case(
        "wrong-parameter-type",
        shop,
        ("--horizon six: expected a number > 0",),
        commands=("report",),
        options={"horizon": "six"},
        code=2,
    ),
    Case(
        "wrong-parameter-value",
        shop,
        ("--negative-amounts ignore: expected one of error, drop, net",),
        commands=("report",),
        options={"negative_amounts": "ignore"},
        code=2,
    ),
    # issue 17: the adversarial pass
    Case(
        "nested-ndjson-id",
        text(
            "nested.ndjson",
            '{"customer_id": {"id": 1}, "date": "2024-01-05", "amount": 10}\n'
            '{"customer_id": "c2", "date": "2024-01-06", "amount": 3}\n',
        ),
        ("{file}: column 'customer_id', line 1: a nested JSON value",),
    ),
    Case(
        "nested-ndjson-list-id",
        text("list.ndjson", '{"customer_id": ["c1"], "date": "2024-01-05", "amount": 10}\n'),
        ("{file}: column 'customer_id' holds nested values",),
    ),
    Case(
        "date-format-without-a-date",
        shop,
        ("--date-format '%Q' cannot read a date",),
        options={"date_format": "%Q"},
        code=2,
    ),
    Case(
        "empty-separator",
        shop,
        ("--separator '': give one character",),
        options={"separator": ""},
        code=2,
    ),
    Case(
        "two-character-separator",
        shop,
        ("--separator ';;': give one character",),
        options={"separator": ";;"},
        code=2,
    ),
    Case(
        "horizon-inf",
        shop,
        ("--horizon inf: expected a number > 0",),
        commands=("score", "kpis"),
        options={"horizon": "inf"},
        code=2,
    ),
    Case(
        "horizon-beyond-a-century",
        shop,
        ("--horizon 1e+308 (M) must be at most 100 years",),
        commands=("score", "kpis"),
        options={"horizon": "1e308"},
        code=2,
    ),
    Case(
        "model-boolean-parameter",
        shop,
        ("{model}", "'gamma_gamma' must hold positive numbers"),
        commands=("score",),
        model=a_model(body=json.dumps(MODEL | {"gamma_gamma": {"p": True, "q": 3.7, "v": 15}})),
    ),
    Case(
        "model-q-at-most-one",
        shop,
        ("{model}: Gamma-Gamma q must be above 1",),
        commands=("score",),
        model=a_model(body=json.dumps(MODEL | {"gamma_gamma": {"p": 6, "q": 1, "v": 15}})),
    ),
    Case(
        "model-overflowing-value",
        shop,
        ("{model}", "'bgnbd' must hold positive numbers"),
        commands=("score",),
        model=a_model(body=json.dumps(MODEL).replace('"r": 0.24', '"r": 1e400')),
    ),
    Case(
        "model-wrong-field-type",
        shop,
        ("{model}: a field has the wrong type",),
        commands=("score",),
        model=a_model(body=json.dumps(MODEL | {"standard_errors": [1, 2]})),
    ),
    Case(
        "model-time-unit-a-list",
        shop,
        ("{model}: key 'time_unit' must be D, W or M",),
        commands=("score",),
        model=a_model(body=json.dumps(MODEL | {"time_unit": ["W"]})),
    ),
    Case(
        "model-a-folder",
        shop,
        ("{model}: is a folder; --model takes a file",),
        commands=("score",),
        model=lambda folder: (folder / "model.json").mkdir(exist_ok=True) or folder / "model.json",
        code=2,
    ),
    Case(
        "notebook-outside-the-built-ins",
        shop,
        ("unknown notebook '../notebooks/customer_value'",),
        commands=("report",),
        options={"--notebook": "../notebooks/customer_value"},
        code=2,
    ),
]


def command_line(case: Case, command: str, data: Path, folder: Path) -> list[str]:
    out = folder / "out" / OUTPUTS[command]
    args = [command, str(data), "--out", str(out)]
    for name, value in case.options.items():
        if name.startswith("--"):
            args += [name, value]
        elif command == "report":
            args += ["-p", f"{name}={value}"]
        else:
            flag = name in ("decimal_comma", "keep_placeholder_ids")  # options without a value
            args += ["--" + name.replace("_", "-"), *([] if flag else [value])]
    if case.model is not None:
        args += ["--model", str(case.model(folder))]
    return args


PAIRS = [(case, command) for case in CASES for command in case.commands]


def test_the_corpus_is_big_enough():
    assert len(CASES) >= 25
    assert len(PAIRS) >= 100


@pytest.mark.parametrize(("case", "command"), PAIRS, ids=[f"{c.id}-{cmd}" for c, cmd in PAIRS])
def test_bad_input_fails_with_one_line_and_writes_nothing(case, command, tmp_path, capsys):
    data = case.make(tmp_path)
    (tmp_path / "out").mkdir()
    args = command_line(case, command, data, tmp_path)
    before = checksums(tmp_path)
    code = main(args)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    errors = [line for line in lines if not line.startswith(f"clv {command}: warning: ")]
    assert code == case.code, err
    assert len(errors) == 1, err
    assert case.warns or len(lines) == 1, err
    assert errors[0].startswith(f"clv {command}: error: "), err
    assert "Traceback" not in out + err
    model = case.model(tmp_path) if case.model else ""
    for piece in case.expect:
        assert piece.format(file=data, model=model) in errors[0], errors[0]
    assert_line_is_greps(errors[0], data)
    # nothing written: no output, no temporary file, no run folder; every input unchanged
    assert without_failed_checks(checksums(tmp_path), command) == before


def assert_line_is_greps(error: str, data: Path) -> None:
    """An error naming ``line N`` and a value: ``grep -n`` finds the value on line N (lines
    split at ``\\n``, as grep splits them)."""
    found = re.search(r"\bline (\d+)\b[^']*'([^']+)'", error)
    if found is None or not data.is_file():
        return
    number, value = int(found[1]), found[2]
    lines = data.read_bytes().decode("utf-8", errors="replace").split("\n")
    grep = [n for n, line in enumerate(lines, start=1) if value in line]
    assert number in grep, (error, grep)


HISTORY_ONLY = {"history.jsonl", "index.html"}
"""What a report that failed its checks leaves in its runs folder: the record of the failure."""


def without_failed_checks(sums: dict[str, str | None], command: str) -> dict[str, str | None]:
    """``sums`` without the runs folder of a report that failed its checks, once checked to
    hold only the record of that failure (``history.jsonl``, ``index.html``), no run folder."""
    runs = f"out/{OUTPUTS['report']}"
    if command != "report":
        return sums
    left = {k for k in sums if k.startswith(runs + "/")}
    assert left in (set(), {f"{runs}/{n}" for n in HISTORY_ONLY})  # none: not a notebook
    return {k: v for k, v in sums.items() if k != runs and not k.startswith(runs + "/")}


def checksums(folder: Path) -> dict[str, str | None]:
    """Every path under ``folder`` and the sha256 of each file (None for a folder)."""
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else None
        for p in sorted(folder.rglob("*"))
    }


def test_a_fit_that_fails_in_the_run_keeps_the_run_marked_failed(tmp_path, capsys):
    """The runner checks the data before a run folder exists (read, summary, what any fit
    needs); an optimizer that fails on fittable-looking data fails inside the run, whose
    folder keeps the partial notebook and a manifest marked failed, naming the file."""
    case = next(c for c in CASES if c.id == "single-customer")
    data = case.make(tmp_path)
    code = main(["report", str(data), "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert err[-1].startswith("clv report: error: ") and str(data) in err[-1]
    assert "Traceback" not in "\n".join(err)
    (manifest,) = (tmp_path / "runs").glob("*/manifest.json")
    record = json.loads(manifest.read_text())
    assert record["status"] == "failed" and "did not converge" in record["error"]
    assert (manifest.parent / "customer_value.ipynb").is_file()


# A few of the same cases as a user runs them: a real process, nothing but the line on stderr.
SUBPROCESS = [
    ("binary-garbage", "summarize"),
    ("not-utf8", "fit"),
    ("amount-currency-sign", "score"),
    ("negative-amount", "kpis"),
    ("no-repeat-buyers", "report"),
]


def clv(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "clv.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


@pytest.mark.slow
@pytest.mark.parametrize(("case_id", "command"), SUBPROCESS)
def test_bad_input_in_a_real_process(case_id, command, tmp_path):
    case = next(c for c in CASES if c.id == case_id)
    data = case.make(tmp_path)
    (tmp_path / "out").mkdir()
    run = clv(*command_line(case, command, data, tmp_path))
    assert run.returncode == case.code, run.stderr
    assert len(run.stderr.splitlines()) == 1, run.stderr
    assert run.stderr.startswith(f"clv {command}: error: ")
    assert "Traceback" not in run.stdout + run.stderr
    written = {str(p.relative_to(tmp_path)): None for p in (tmp_path / "out").rglob("*")}
    assert without_failed_checks(written, command) == {}


def test_unreadable_file(tmp_path, capsys, monkeypatch):
    """A file clv may not read. chmod 000 does not stop root, so as root the check is made
    to see the file as unreadable (the same os.access call a non-root user hits)."""
    data = shop_csv(tmp_path / "secret.csv")
    data.chmod(0o000)
    if os.geteuid() == 0:
        real_access = os.access
        monkeypatch.setattr(os, "access", lambda p, mode: mode != os.R_OK and real_access(p, mode))
    for command in COMMANDS:
        out = tmp_path / ("runs" if command == "report" else "summary.csv")
        code = main([command, str(data), "--out", str(out)])
        assert code == 1
        assert capsys.readouterr().err.splitlines() == [
            f"clv {command}: error: {data}: cannot be read (permission denied)"
        ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs", "secret.csv"]
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == sorted(HISTORY_ONLY)
    assert "permission denied" in (tmp_path / "runs" / "history.jsonl").read_text()


def test_an_internal_bug_asks_to_be_reported_with_its_traceback(tmp_path, capsys, monkeypatch):
    import clv.cli.commands

    def broken(args, given):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(clv.cli.commands, "_summarize", broken)
    code = main(
        ["summarize", str(shop_csv(tmp_path / "shop.csv")), "--out", str(tmp_path / "x.csv")]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert err.splitlines()[0].startswith("clv summarize: internal error (ZeroDivisionError)")
    assert "please report it" in err.splitlines()[0]
    assert "Traceback" in err and "ZeroDivisionError: division by zero" in err


# --------------------------------------------------------------------------- degenerate data


def run_ok(command: str, *args: str, capsys) -> list[str]:
    """Run a command that must succeed; return its warning lines (each one line)."""
    code = main([command, *map(str, args)])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "Traceback" not in err
    warns = [line for line in err.splitlines() if line.startswith(f"clv {command}: warning: ")]
    assert [line for line in err.splitlines() if line not in warns] == [
        line for line in err.splitlines() if line.startswith("wrote ")
    ], err
    return warns


def test_warnings_name_the_files_own_columns_once(tmp_path, capsys):
    """Amounts read as Quantity x UnitPrice: the warning names those columns, not 'amount';
    each warning is one line, once, though the holdout check refits on part of the data."""
    rows = [*shop_rows(), ("free1", "2023-03-01", 0.0), ("free1", "2023-05-01", 0.0)]
    data = tmp_path / "uci.csv"
    lines = [f"{c},{d},{0 if a == 0 else 2},{a / 2:.3f}" for c, d, a in rows]
    data.write_text("CustomerID,InvoiceDate,Quantity,UnitPrice\n" + "\n".join(lines) + "\n")
    args = ["--customer-col", "CustomerID", "--date-col", "InvoiceDate"]
    args += ["--quantity-col", "Quantity", "--price-col", "UnitPrice"]
    warns = run_ok("kpis", data, *args, "--out", tmp_path / "kpis.json", capsys=capsys)
    zero = [w for w in warns if "rows are 0" in w]
    assert zero == [
        f"clv kpis: warning: {data}: columns 'Quantity' x 'UnitPrice': 2 of {len(rows):,} rows "
        "are 0; they count as purchases for BG/NBD, and repeat buyers who spent nothing are "
        "left out of Gamma-Gamma"
    ]
    with warnings.catch_warnings(record=True) as seen:  # every warning, repeats too
        warnings.simplefilter("always")
        analysis = analyze(
            data,
            customer_col="CustomerID",
            date_col="InvoiceDate",
            quantity_col="Quantity",
            price_col="UnitPrice",
            purchase_model="auto",  # fitted on the calibration period, checked on the holdout
        )
        _ = analysis.kpis, analysis.holdout, analysis.findings
    texts = [str(w.message) for w in seen]
    assert sum("rows are 0" in t for t in texts) == 1
    assert len(texts) == len(set(texts)), texts


def test_zero_value_purchases_count_for_bgnbd_and_leave_gamma_gamma_with_a_count(tmp_path, capsys):
    rows = [*shop_rows(), ("free1", "2023-03-01", 0.0), ("free1", "2023-05-01", 0.0)]
    rows += [("free2", "2023-03-01", 12.0), ("free2", "2023-06-01", 0.0), ("once", "2023-04-01", 0)]
    data = shop_csv(tmp_path / "zero.csv", rows)
    warns = run_ok("fit", data, "--out", tmp_path / "model.json", capsys=capsys)
    assert any(f"{data}: column 'amount': 4 of {len(rows):,} rows are 0" in w for w in warns)
    assert any("2 repeat buyers spent nothing" in w and "Gamma-Gamma" in w for w in warns)
    model = json.loads((tmp_path / "model.json").read_text())
    n_customers = len({r[0] for r in rows})
    assert model["n_customers"] == n_customers  # all of them in BG/NBD
    with pytest.warns(UserWarning, match="rows are 0"):
        summary = rfm_summary(read_transactions(data))
    spenders = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0)).height
    assert model["n_excluded_gamma_gamma"] == n_customers - spenders
    run_ok("score", data, "--out", tmp_path / "scores.csv", capsys=capsys)
    scores = pl.read_csv(tmp_path / "scores.csv", schema_overrides={"customer_id": pl.String})
    assert scores["clv"].is_finite().all()


def test_customers_seen_only_after_the_observation_end_are_counted(tmp_path, capsys):
    rows = [*shop_rows(), ("late1", "2024-02-01", 5.0), ("late2", "2024-03-01", 5.0)]
    data = shop_csv(tmp_path / "late.csv", rows)
    out = tmp_path / "summary.parquet"
    args = ("--observation-end", "2023-12-31", "--out", out)
    warns = run_ok("summarize", data, *args, capsys=capsys)
    assert warns == [
        "clv summarize: warning: 2 rows after the observation end 2023-12-31 are left out, "
        "among them all the purchases of 2 customers"
    ]
    assert not pl.read_parquet(out)["customer_id"].is_in(["late1", "late2"]).any()


def test_duplicated_rows_are_reported_and_kept_as_purchases_that_day(tmp_path, capsys):
    rows = shop_rows()
    rows += [rows[0], rows[0]]
    data = shop_csv(tmp_path / "dup.csv", rows)
    out = tmp_path / "summary.csv"
    warns = run_ok("summarize", data, "--out", out, capsys=capsys)
    assert any("2 rows repeat an earlier row in every column read" in w for w in warns)
    summary = pl.read_csv(out, schema_overrides={"customer_id": pl.String})
    first = summary.filter(pl.col("customer_id") == rows[0][0]).row(0, named=True)
    spent = sum(a for c, _, a in rows if c == rows[0][0])
    assert first["revenue"] == pytest.approx(spent)  # the copies add to that day's purchase
    occasions = len({d for c, d, _ in rows if c == rows[0][0]})
    assert first["frequency"] == occasions - 1  # ... which stays one purchase occasion


def test_long_and_unicode_ids_are_kept_exactly(tmp_path, capsys):
    long_id = "x" * 5_000
    odd = ["Zoë Ångström", "顧客-42", "🛒 cart", 'O\'Brien, "Jr"', long_id, "00123"]
    rows = shop_rows()
    rows += [(cid, d, a) for cid in odd for d, a in (("2023-02-01", 5.5), ("2023-07-01", 9.0))]
    frame = pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")
    frame.write_csv(tmp_path / "ids.csv")  # quotes the id with a comma
    for out in (tmp_path / "summary.csv", tmp_path / "summary.parquet"):
        run_ok("summarize", tmp_path / "ids.csv", "--out", out, capsys=capsys)
        ids = (
            pl.read_parquet(out)
            if out.suffix == ".parquet"
            else pl.read_csv(out, infer_schema=False)
        )["customer_id"]
        assert set(odd) <= set(ids.to_list())
    run_ok("score", tmp_path / "ids.csv", "--out", tmp_path / "scores.csv", capsys=capsys)
    scores = pl.read_csv(tmp_path / "scores.csv", infer_schema=False)
    assert set(odd) <= set(scores["customer_id"].to_list())


def test_one_customer_with_ten_thousand_purchases(tmp_path, capsys):
    rng = np.random.default_rng(3)
    days = np.sort(rng.integers(0, 365, 10_000))
    whale = [("whale", str(dt.date(2023, 1, 1) + dt.timedelta(days=int(d))), 20.0) for d in days]
    data = shop_csv(tmp_path / "whale.csv", shop_rows() + whale)
    run_ok("score", data, "--out", tmp_path / "scores.csv", capsys=capsys)
    scores = pl.read_csv(tmp_path / "scores.csv", schema_overrides={"customer_id": pl.String})
    assert scores["clv"].is_finite().all()
    top = scores.sort("clv", descending=True).row(0, named=True)
    assert top["customer_id"] == "whale"
    assert top["frequency"] == len(set(days.tolist())) - 1


# --------------------------------------------------------------------------- non-convergence


def test_non_convergence_is_a_model_error_with_advice_and_no_model_file(tmp_path, capsys):
    # one repeat buyer: one purchase rate fits, but no spread of order values between
    # customers can be told (neither Gamma-Gamma nor its equal-spend limit)
    rows = [("c1", "2024-01-05", 10.0), ("c1", "2024-02-05", 12.0), ("c1", "2024-04-01", 7.0)]
    data = shop_csv(tmp_path / "few.csv", rows)
    with pytest.raises(ModelError, match=r"Gamma-Gamma did not converge.*gg_penalizer="):
        fit(rfm_summary(read_transactions(data)))
    out = tmp_path / "model.json"
    code = main(["fit", str(data), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"clv fit: error: {data}: Gamma-Gamma did not converge")
    assert len(err.splitlines()) == 1
    assert "--gg-penalizer 0.001" in err  # the library's keyword, as the CLI flag
    assert sorted(p.name for p in tmp_path.iterdir()) == ["few.csv"]


def test_a_few_customers_repeating_on_one_day_fit_one_purchase_rate(tmp_path, capsys):
    """BG/NBD cannot tell its four parameters from five customers' one repeat day: the fit
    keeps the one-rate, no-dropout limit (the rate in closed form) and says so."""
    rows = [(f"c{i}", "2024-01-01", 10.0) for i in range(5)]
    rows += [(f"c{i}", "2024-01-31", 10.0 + i) for i in range(5)]
    data = shop_csv(tmp_path / "few.csv", rows)
    out = tmp_path / "model.json"
    assert main(["fit", str(data), "--out", str(out)]) == 0
    assert "everyone buys at about one rate" in capsys.readouterr().err
    doc = json.loads(out.read_text())
    summary = rfm_summary(read_transactions(data))
    rate = summary["frequency"].sum() / summary["T"].sum()
    assert doc["bgnbd"] == {"limit": "poisson_no_dropout", "rate": pytest.approx(rate, rel=1e-15)}


# --------------------------------------------------------------------------- atomic outputs


@pytest.mark.parametrize("command", ["summarize", "fit", "score", "kpis"])
def test_an_existing_output_is_kept_unless_overwrite(command, tmp_path, capsys):
    data = shop_csv(tmp_path / "shop.csv")
    out = tmp_path / OUTPUTS[command]
    out.write_text("mine\n")
    assert main([command, str(data), "--out", str(out)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"clv {command}: error: {out}: already exists; pass --overwrite to replace it"
    ]
    assert out.read_text() == "mine\n"
    assert main([command, str(data), "--out", str(out), "--overwrite"]) == 0
    assert out.read_text() != "mine\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["shop.csv", out.name])


def test_every_writer_writes_through_atomic_output():
    """Each file write in clv goes to the temporary path of ``atomic_output`` (or a buffer)."""
    import ast

    writers = {"write_csv", "write_parquet", "write_ndjson", "write_text", "write_bytes"}
    writers |= {"savefig", "write_json", "sink_csv", "sink_parquet"}
    bad = []
    for path in sorted((Path(__file__).parent.parent / "clv").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            if node.func.attr not in writers:
                continue
            receiver = node.func.value
            target = node.args[0] if node.args else None
            if node.func.attr in ("write_text", "write_bytes"):
                target = receiver
            name = target.id if isinstance(target, ast.Name) else ast.unparse(target or node)
            if name not in ("tmp", "buf"):
                bad.append(f"{path.name}:{node.lineno}: {ast.unparse(node)[:60]}")
    assert bad == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["ctrl-c", "killed", "hang-up"]
)
def test_an_interrupted_report_run_is_marked_interrupted_and_the_index_is_valid(signum, tmp_path):
    """The signal arrives while a cell runs, every time: the notebook's cell says when it
    started and then waits (no guess at how long a run takes, so no flaky outcome)."""
    import nbformat

    started = tmp_path / "started"
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("data = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            f"import time\nopen({str(started)!r}, 'w').close()\ntime.sleep(600)"
        ),
    ]
    nbformat.write(notebook, tmp_path / "waits.ipynb")
    runs = tmp_path / "runs"
    command = ["report", "--notebook", str(tmp_path / "waits.ipynb"), "--out", str(runs)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "clv.cli", *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a shell starting a background job would ignore Ctrl-C
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 300  # a guard against a hang, not a timing check
        while not started.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the notebook never started its cell"
            time.sleep(0.1)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=300)  # a guard against a hang
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in out + err
    assert "clv report: interrupted" in err
    (run,) = [p for p in runs.iterdir() if p.is_dir()]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["error"] == "interrupted"
    assert manifest["finished_at"] is not None
    assert not list(run.glob("*.html")), "no report that looks complete"
    assert (run / "waits.ipynb").exists(), "the partial notebook is kept"
    assert not list(run.glob(".*")), "no temporary files left"
    index = (runs / "index.html").read_text()
    assert run.name in index and 'class="status interrupted"' in index
    assert index.rstrip().endswith("</html>")


# --------------------------------------------------------------------------- formats


def write_all(frame: pl.DataFrame, folder: Path) -> list[Path]:
    paths = [folder / "t.csv", folder / "t.parquet", folder / "t.ndjson"]
    frame.write_csv(paths[0])
    frame.write_parquet(paths[1])
    frame.write_ndjson(paths[2])
    return paths


def fitted(summary: pl.DataFrame) -> dict | str:
    try:
        model = fit(summary)
    except ClvError as e:
        return f"{type(e).__name__}: {e}"
    return {
        "purchase": model.purchase,
        "gamma_gamma": model.gamma_gamma,
        "ll": model.log_likelihood,
    }


transactions_frames = st.lists(
    st.tuples(
        st.sampled_from(["007", "7", "a", "Zoë", "b b", "x,y", '"q"', "long" * 20]),
        st.dates(dt.date(2023, 1, 1), dt.date(2023, 12, 31)),
        st.integers(0, 100_000).map(lambda cents: cents / 100),
    ),
    min_size=1,
    max_size=60,
).map(lambda rows: pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row"))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(transactions_frames)
def test_csv_parquet_ndjson_give_identical_summaries_and_models(tmp_path, frame):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero amounts and duplicates are expected here
        frames = [read_transactions(p) for p in write_all(frame, tmp_path)]
        assert all(f.equals(frame) for f in frames)
        summaries = [rfm_summary(f) for f in frames]
        assert all(s.equals(summaries[0]) for s in summaries)
        models = [fitted(s) for s in summaries]
    assert models[1] == models[0] and models[2] == models[0]


def test_identical_models_from_each_format_on_a_real_shop(tmp_path):
    frame = pl.DataFrame(shop_rows(), schema=["customer_id", "date", "amount"], orient="row")
    frame = frame.with_columns(pl.col("date").str.to_date())
    models = [fitted(rfm_summary(read_transactions(p))) for p in write_all(frame, tmp_path)]
    assert isinstance(models[0], dict)
    assert models[1] == models[0] and models[2] == models[0]


# --------------------------------------------------------------------------- issue 17


HOSTILE_IDS = ["=1+2", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "+1-1", "\t=1+2", "\r=1+2"]


def hostile_shop(folder: Path) -> Path:
    """The small shop with six customers renamed to ids a spreadsheet would run."""
    rows = shop_rows()
    rename = dict(
        zip(sorted({c for c, _, _ in rows})[: len(HOSTILE_IDS)], HOSTILE_IDS, strict=True)
    )
    frame = pl.DataFrame(
        [(rename.get(c, c), d, a) for c, d, a in rows],
        schema=["customer_id", "date", "amount"],
        orient="row",
    )
    frame.write_parquet(folder / "hostile.parquet")
    return folder / "hostile.parquet"


@pytest.mark.parametrize("command", ["summarize", "score", "segments"])
def test_no_csv_cell_runs_as_a_formula_and_parquet_keeps_the_ids(command, tmp_path, capsys):
    data = hostile_shop(tmp_path)
    run_ok(command, data, "--out", tmp_path / "out.csv", capsys=capsys)
    run_ok(command, data, "--out", tmp_path / "out.parquet", capsys=capsys)
    cells = pl.read_csv(tmp_path / "out.csv", infer_schema=False)["customer_id"].to_list()
    assert {"'" + i for i in HOSTILE_IDS} <= set(cells)
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert set(HOSTILE_IDS) <= set(pl.read_parquet(tmp_path / "out.parquet")["customer_id"])


def test_the_reports_at_risk_csv_is_neutralised_and_its_parquet_raw(tmp_path):
    from clv.report.runs import save_run

    (tmp_path / "manifest.json").write_text("{}")
    frame = pl.DataFrame({"customer_id": HOSTILE_IDS, "clv": [1.0] * len(HOSTILE_IDS)})
    save_run(tmp_path, scores=frame, at_risk=frame, id_salt="s")
    at_risk = pl.read_csv(tmp_path / "at_risk.csv", infer_schema=False)
    assert at_risk["customer_id"].to_list() == ["'" + i for i in HOSTILE_IDS]
    assert pl.read_parquet(tmp_path / "scores.parquet")["customer_id"].to_list() == HOSTILE_IDS


INPUT_OPTIONS = {
    "data": ("summarize", "score", "segments", "kpis", "fit"),
    "model": ("score",),
    "costs": ("kpis",),
}


@pytest.mark.parametrize(
    ("kind", "command"), [(k, c) for k, cs in INPUT_OPTIONS.items() for c in cs]
)
def test_an_output_never_replaces_an_input_even_with_overwrite(kind, command, tmp_path, capsys):
    data = shop_csv(tmp_path / "shop.csv")
    model = a_model()(tmp_path)
    costs = tmp_path / "costs.csv"
    costs.write_text("channel,cost\nweb,5\n")
    args = [command, str(data)]
    if command == "score":
        args += ["--model", str(model)]
    if command == "kpis":
        args += ["--channel-col", "customer_id", "--channel-costs", str(costs)]
    target = {"data": data, "model": model, "costs": costs}[kind]
    # the same file under another spelling of its path
    out = tmp_path / "sub" / ".." / target.name
    (tmp_path / "sub").mkdir()
    before = checksums(tmp_path)
    code = main([*args, "--out", str(out), "--overwrite"])
    err = capsys.readouterr().err
    assert code == 2
    assert (
        err
        == f"clv {command}: error: {out}: is the input file {target}; write the output elsewhere\n"
    )
    assert checksums(tmp_path) == before


def one_line(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return code, err.strip()


def test_paths_that_cannot_work_are_one_line_usage_errors(tmp_path, capsys):
    data = shop_csv(tmp_path / "shop.csv")
    folder = tmp_path / "folder"
    folder.mkdir()
    (tmp_path / "nb.ipynb").mkdir()
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "latin1.toml").write_bytes("title = 'Zoë'\n".encode("latin-1"))
    before = checksums(tmp_path)
    expected = {
        ("score", str(data), "--out", str(folder)): f"{folder}: is a folder; give a file name",
        ("summarize", str(data), "--out", str(data / "x.csv")): f"{data}: no such folder",
        ("report", str(data), "--out", str(data)): f"{data}: is a file; the runs folder",
        ("report", str(data), "--config", str(folder)): f"{folder}: is a folder; --config",
        (
            "report",
            str(data),
            "--config",
            str(tmp_path / "latin1.toml"),
        ): "not UTF-8 text (byte 0xeb)",
        ("report", str(data), "--notebook", str(tmp_path / "nb.ipynb")): "notebook not found",
        (
            "report",
            str(data),
            "--notebook",
            str(tmp_path / "broken.ipynb"),
        ): "not a Jupyter notebook (not JSON)",
        ("report", str(data), "--notebook", "/etc/passwd"): "unknown notebook '/etc/passwd'",
        ("kpis", str(data), "--channel-costs", str(data), "--out", str(tmp_path / "k.json")): (
            "--channel-costs needs --channel-col"
        ),
    }
    for args, piece in expected.items():
        code, line = one_line([*args], capsys)
        assert code == 2, line
        assert line.startswith(f"clv {args[0]}: error: ") and piece in line, line
    assert checksums(tmp_path) == before


@pytest.mark.parametrize(
    "rows",
    [
        [("c1", "1900-01-05", 10.0), ("c1", "2024-02-05", 12.0), ("c2", "2024-01-05", 5.0)],
        [("c1", "2999-01-05", 10.0), ("c1", "2999-02-05", 12.0), ("c2", "2999-01-05", 5.0)],
    ],
    ids=["far-past", "far-future"],
)
def test_far_past_and_far_future_dates_summarize_exactly(rows, tmp_path, capsys):
    """Dates outside 1990..today are an error unless the range is widened; then exact."""
    data = shop_csv(tmp_path / "dates.csv", rows)
    wide = ("--allow-dates-from", "1900-01-01", "--allow-dates-to", "2999-12-31")
    run_ok(
        "summarize", data, *wide, "--time-unit", "D", "--out", tmp_path / "s.parquet", capsys=capsys
    )
    summary = pl.read_parquet(tmp_path / "s.parquet").sort("customer_id")
    first = dt.date.fromisoformat(rows[0][1])
    second = dt.date.fromisoformat(rows[1][1])
    end = max(second, dt.date.fromisoformat(rows[2][1]))
    assert summary["frequency"].to_list() == [1, 0]
    assert summary["recency"].to_list()[0] == (second - first).days
    assert summary["T"].to_list()[0] == (end - first).days


def test_quoted_headers_and_values_read_like_plain_ones(tmp_path, capsys):
    plain = shop_csv(tmp_path / "plain.csv")
    quoted = tmp_path / "quoted.csv"
    quoted.write_text(
        "".join(
            ",".join(f'"{v}"' for v in line.split(",")) + "\n"
            for line in plain.read_text().splitlines()
        )
    )
    for f in (plain, quoted):
        run_ok("summarize", f, "--out", tmp_path / f"{f.stem}.parquet", capsys=capsys)
    assert pl.read_parquet(tmp_path / "plain.parquet").equals(
        pl.read_parquet(tmp_path / "quoted.parquet")
    )
