"""Outputs: CSV cells are data (no spreadsheet formula), writes are atomic, OS errors one line."""

from __future__ import annotations

import datetime as dt
import errno
import os
import subprocess
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clv.data.write import (
    FORMULA_START,
    Batches,
    atomic_output,
    check_output,
    csv_safe,
    pid_alive,
    remove_stale_temp_files,
    storage_error,
    write_frame,
)
from clv.errors import StorageError, UsageError

HOSTILE = [
    "=1+2",
    "-2+3+cmd|' /C calc'!A0",
    "+SUM(A1:A9)",
    "@SUM(A1)",
    "\t=1+2",
    "\r=1+2",
    '=HYPERLINK("http://x.test","click")',
]
NUMBERS = ["-5", "+3.25", "-.5", "1e5", "-1.5E-3"]
PLAIN = ["c001", "Zoë", "a=b", " =1", "", "00123"]


def test_hostile_cells_get_a_leading_quote_and_nothing_else_changes():
    ids = HOSTILE + NUMBERS + PLAIN + [None]
    frame = pl.DataFrame({"customer_id": ids, "clv": range(len(ids))})
    out = csv_safe(frame)
    expected = ["'" + v for v in HOSTILE] + NUMBERS + PLAIN + [None]
    assert out["customer_id"].to_list() == expected
    assert out["clv"].to_list() == list(range(len(ids)))
    assert out.columns == ["customer_id", "clv"]


def test_column_names_and_categoricals_are_neutralised_too():
    frame = pl.DataFrame({"=x": ["@a", "b"]}).with_columns(pl.col("=x").cast(pl.Categorical))
    out = csv_safe(frame)
    assert out.columns == ["'=x"]
    assert out["'=x"].to_list() == ["'@a", "b"]


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.lists(st.text(max_size=12), min_size=1, max_size=20))
def test_no_written_csv_cell_starts_like_a_formula(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("csv") / "out.csv"
    write_frame(pl.DataFrame({"customer_id": texts}), path)
    back = pl.read_csv(path, infer_schema=False)["customer_id"].fill_null("").to_list()
    for original, cell in zip(texts, back, strict=True):
        number = original.strip() != "" and _is_number(original)
        assert not cell[:1] or cell[0] not in FORMULA_START or number, repr(cell)
        assert cell in (original, "'" + original) or (original == "" and cell == "")


def _is_number(text: str) -> bool:
    import re

    return re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text) is not None


def test_parquet_keeps_ids_exactly(tmp_path):
    frame = pl.DataFrame({"customer_id": HOSTILE + NUMBERS})
    write_frame(frame, tmp_path / "scores.parquet")
    assert pl.read_parquet(tmp_path / "scores.parquet").equals(frame)


def test_an_output_that_is_an_input_is_refused_by_any_name(tmp_path, monkeypatch):
    data = tmp_path / "shop.csv"
    data.write_text("x\n")
    (tmp_path / "link.csv").symlink_to(data)
    os.link(data, tmp_path / "hard.csv")
    monkeypatch.chdir(tmp_path)
    for out in ("shop.csv", "./sub/../shop.csv", str(data), "link.csv", "hard.csv"):
        (tmp_path / "sub").mkdir(exist_ok=True)
        with pytest.raises(UsageError, match="is the input file"):
            check_output(out, inputs=[None, "shop.csv"], overwrite=True)
    check_output("other.csv", inputs=["shop.csv"])  # a new file is fine


def test_an_output_folder_or_missing_parent_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="is a folder"):
        check_output(tmp_path, overwrite=True)
    with pytest.raises(UsageError, match="no such folder"):
        check_output(tmp_path / "nope" / "x.csv")
    (tmp_path / "file").write_text("")
    with pytest.raises(UsageError, match="no such folder"):
        check_output(tmp_path / "file" / "x.csv")


def test_a_disk_error_is_one_line_naming_the_file_and_nothing_is_left(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(StorageError) as caught:
        write_frame(pl.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    assert str(caught.value) == (
        f"{tmp_path / 'scores.csv'}: cannot be written (no space left on device); "
        "free some space or write elsewhere"
    )
    assert list(tmp_path.iterdir()) == []


def test_storage_error_words():
    read_only = OSError(errno.EROFS, "Read-only file system")
    assert str(storage_error("out.csv", read_only)) == (
        "out.csv: cannot be written (read-only file system); write to another folder"
    )
    denied = OSError(errno.EACCES, "Permission denied")
    assert str(storage_error("m.json", denied, doing="used")).startswith(
        "m.json: cannot be used (permission denied)"
    )


def test_temp_files_of_killed_writers_are_removed_and_live_ones_kept(tmp_path):
    gone_pid = _ended_pid()
    stale = tmp_path / f".scores.csv.{gone_pid}.tmp"
    live = tmp_path / f".scores.csv.{os.getpid()}.tmp"
    other = tmp_path / ".notes.tmp"
    for p in (stale, live, other):
        p.write_text("half")
    assert remove_stale_temp_files(tmp_path) == [stale]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, other.name])


def _ended_pid() -> int:
    """A pid no process can have (above the kernel's maximum): never reused, unlike a real one."""
    return int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


@pytest.mark.slow
def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(_ended_pid())
    child = subprocess.Popen(["sleep", "30"])
    try:
        assert pid_alive(child.pid)
        child.kill()
        while _state(child.pid) != "Z":
            pass  # SIGKILL lands at once; the child is a zombie until reaped below
        assert not pid_alive(child.pid)
    finally:
        child.kill()
        child.wait()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def test_atomic_output_keeps_an_existing_file(tmp_path):
    target = tmp_path / "kpis.json"
    target.write_text("mine")
    with pytest.raises(UsageError, match="already exists"), atomic_output(target):
        pass
    assert target.read_text() == "mine"


def test_a_write_clears_what_a_killed_write_of_the_same_file_left(tmp_path):
    stale = tmp_path / f".scores.csv.{_ended_pid()}.tmp"
    other = tmp_path / f".kpis.json.{_ended_pid()}.tmp"
    stale.write_text("half")
    other.write_text("half")
    write_frame(pl.DataFrame({"a": [1]}), tmp_path / "scores.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "scores.csv"]


@settings(max_examples=25, deadline=None)
@given(
    texts=st.lists(st.text(max_size=6), min_size=0, max_size=40),
    size=st.integers(1, 7),
)
def test_a_table_written_in_batches_is_the_table_written_whole(tmp_path_factory, texts, size):
    """CSV (formula cells neutralised, header once) and Parquet (enums, small integers, dates
    kept): the file of the batches reads back as the file of the whole frame, rows in order;
    no rows still gives the columns."""
    folder = tmp_path_factory.mktemp("batches")
    n = len(texts)
    frame = pl.DataFrame(
        {
            "customer_id": texts,
            "amount": [i / 3 for i in range(n)],
            "day": [dt.date(2024, 1, 1 + i % 28) for i in range(n)],
            "unit": pl.Series(["W"] * n, dtype=pl.Enum(["D", "W", "M"])),
            "R": pl.Series([i % 5 for i in range(n)], dtype=pl.Int8),
        },
        schema_overrides={"customer_id": pl.String, "amount": pl.Float64, "day": pl.Date},
    )
    batches = Batches(
        n,
        lambda: iter([frame.head(0), *(frame.slice(i, size) for i in range(0, n, size))]),
    )
    for suffix in ("csv", "parquet"):
        whole = write_frame(frame, folder / f"whole.{suffix}", overwrite=True)
        parts = write_frame(batches, folder / f"parts.{suffix}", overwrite=True)
        if suffix == "csv":
            assert parts.read_bytes() == whole.read_bytes()
        else:
            assert pl.read_parquet(parts).equals(pl.read_parquet(whole))
            assert pl.read_parquet(parts).schema == frame.schema
