"""The PDF to forward (clv.report.pdf): without Chromium, one line naming the package; with it,
A4 pages on which a table wider than the page is whole, and page numbers.

The report's own PDF (first page first) is checked in ``test_since.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import polars as pl
import pytest
from test_robustness import shop_csv

import clv.report.pdf
from clv.cli import main
from clv.data.write import pid_alive
from clv.errors import ReportError
from clv.report.html_table import table_html
from clv.report.pdf import print_pdf
from clv.report.render import TEMPLATE_DIR


def test_without_chromium_pdf_is_one_line_naming_the_package(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(clv.report.pdf.shutil, "which", lambda name: None)
    data = shop_csv(tmp_path / "shop.csv")
    runs = tmp_path / "runs"
    assert main(["report", str(data), "--pdf", "--out", str(runs)]) == 1
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "chromium" in line and "apt-get install chromium" in line
    assert not [p for p in runs.iterdir() if p.is_dir()]  # nothing ran


@pytest.mark.slow
def test_a_chromium_that_fails_is_one_line(tmp_path) -> None:
    page = tmp_path / "r.html"
    page.write_text("<p>x</p>")
    with pytest.raises(ReportError, match=r"r.pdf: Chromium could not print the PDF"):
        print_pdf(page, tmp_path / "r.pdf", engine=shutil.which("false") or "/bin/false")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html"]  # no half-written PDF


def _tools() -> tuple[str, str]:
    chromium = next((shutil.which(n) for n in clv.report.pdf.ENGINES if shutil.which(n)), None)
    pdftotext, pdfinfo = shutil.which("pdftotext"), shutil.which("pdfinfo")
    if chromium is None or pdftotext is None or pdfinfo is None:
        why = "chromium and poppler-utils are needed (apt-get install chromium poppler-utils)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {why}")
        pytest.skip(why)
    return pdftotext, pdfinfo


@pytest.mark.slow
def test_a_wide_table_fits_an_a4_page_with_page_numbers(tmp_path) -> None:
    pdftotext, pdfinfo = _tools()
    columns = {f"column_{i:02d}_with_a_long_name": [1234567.5 + i, 2.5] for i in range(24)}
    css = (TEMPLATE_DIR / "clv_report" / "report.css").read_text()
    page = tmp_path / "wide.html"
    page.write_text(
        f"<!DOCTYPE html><html><head><style>{css}</style></head><body>"
        + "<h2>Wide</h2>"
        + table_html(pl.DataFrame(columns), caption="A wide table")
        + "<p style='break-before: page'>second page</p></body></html>"
    )
    pdf = print_pdf(page, tmp_path / "wide.pdf")
    info = subprocess.run([pdfinfo, str(pdf)], capture_output=True, text=True).stdout
    assert "(A4)" in info and "Pages:           2" in info
    text = subprocess.run([pdftotext, "-raw", str(pdf), "-"], capture_output=True, text=True)
    squeezed = "".join(text.stdout.split())
    for name in ("column 00 with a long name", "column 23 with a long name"):
        assert "".join(name.split()) in squeezed.replace("-", ""), name  # the last column too
    assert "1,234,590.50" in squeezed  # column 23's value, whole
    assert "page1of2" in squeezed and "page2of2" in squeezed
    assert str(Path(tmp_path)) not in text.stdout  # no header or footer with the file's path


@pytest.mark.slow
def test_a_chromium_that_hangs_is_stopped_with_its_children(tmp_path) -> None:
    page = tmp_path / "r.html"
    page.write_text("<p>x</p>")
    hang = tmp_path / "chromium"
    hang.write_text('#!/bin/sh\nsleep 30 &\necho $! > "$0.child"\nsleep 30\n')
    hang.chmod(0o755)
    with pytest.raises(ReportError, match=r"r.pdf: Chromium did not print the PDF in 0.5 s"):
        print_pdf(page, tmp_path / "r.pdf", engine=str(hang), timeout_s=0.5)
    child = int((tmp_path / "chromium.child").read_text())
    deadline = time.monotonic() + 10
    while pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)  # SIGKILL is delivered asynchronously; polling, not timing
    assert not pid_alive(child)  # its process group was stopped
    assert not (tmp_path / "r.pdf").exists()
