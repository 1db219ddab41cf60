"""Month after month: two report runs on one simulated shop, one month apart.

The second run compares itself with the first: its ``changes.json`` tier migration is the
cross-tabulation of the two runs' ``scores.parquet`` value tiers (recomputed with pandas), its
report opens with the "Since" section, ``clv compare`` gives the same, the masked references
are the same in both runs, and its PDF holds the first page's sentences.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import polars as pl
import pytest

from clv.cli import main
from clv.data.datasets import synthetic_shop
from clv.report.compare import SALT_FILE
from clv.report.index import list_runs
from clv.report.runner import run_report

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_months(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The runs folder and its two runs: November's export, then December's (with --pdf)."""
    tmp = tmp_path_factory.mktemp("months")
    tx, _ = synthetic_shop(600, seed=3)
    november = tmp / "export_2024-11.csv"
    december = tmp / "export_2024-12.csv"
    tx.filter(pl.col("date") <= dt.date(2024, 11, 30)).write_csv(november)
    tx.write_csv(december)
    runs = tmp / "runs"
    keywords = {"out_dir": runs, "progress": False, "parameters": {"channel_col": "channel"}}
    first = run_report(november, **keywords)
    second = run_report(december, pdf=True, **keywords)
    return runs, first, second


def _crosstab(first: Path, second: Path) -> dict[str, dict[str, int]]:
    a = pd.read_parquet(first / "scores.parquet").set_index("customer_id")["value_tier"]
    b = pd.read_parquet(second / "scores.parquet").set_index("customer_id")["value_tier"]
    both = pd.concat([a.rename("from"), b.rename("to")], axis=1)
    table = pd.crosstab(both["from"].fillna("new"), both["to"].fillna("gone"))
    return {
        f: {t: int(n) for t, n in row.items() if n} for f, row in table.to_dict("index").items()
    }


def _nonzero(migration: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    out = {f: {t: n for t, n in row.items() if n} for f, row in migration.items()}
    return {f: row for f, row in out.items() if row}


def test_changes_json_tier_migration_is_the_crosstab_of_the_scores(two_months) -> None:
    _, first, second = two_months
    doc = json.loads((second / "changes.json").read_text())
    assert doc["previous_run"] == first.name and doc["run"] == second.name
    assert _nonzero(doc["tier_migration"]) == _crosstab(first, second)
    assert sum(doc["tier_migration"]["new"].values()) > 0  # December's new customers
    for key in ("kpi_changes", "slipped_top", "parameter_drift"):
        assert doc[key], key
    assert doc["kpi_changes"]["customers"]["current"] == len(
        pd.read_parquet(second / "scores.parquet")
    )


def test_the_second_report_opens_with_the_since_section(two_months) -> None:
    _, first, second = two_months
    page = (second / "customer_value.html").read_text()
    headings = [html.unescape(h) for h in re.findall(r"<h2[^>]*>(.*?)</h2>", page)]
    headings = [re.sub(r"<[^>]+>|¶", "", h).strip() for h in headings if "Contents" not in h]
    # since the last day of the previous run's data (November's export ends on the 30th)
    end = json.loads((first / "model.json").read_text())["observation_end"]
    assert end == pd.read_csv(first.parent.parent / "export_2024-11.csv").date.max()
    assert headings[:2] == ["What this report found", f"Since {end}"]
    assert f'href="#since">Since {end}' in page  # in the table of contents
    assert "Every tier, top customer and channel share here is by predicted CLV." in page
    assert (
        "previous tier by predicted CLV" in page
        and "tier by revenue" not in page.split("1. Headline")[0]
    )
    findings = json.loads((second / "findings.json").read_text())["findings"]
    assert not findings[0]["id"].startswith("since.")  # the first page first, then changes
    since = [f for f in findings if f["id"].startswith("since.")]
    assert {f["id"] for f in since} >= {"since.kpis", "since.tiers", "since.slipped_top"}
    for f in since:
        assert set(f) == {"id", "numbers", "basis", "table", "text"}
        assert html.escape(f["text"], quote=False) in page
    first_page = (first / "customer_value.html").read_text()
    assert "No earlier run of this report" in first_page and not (first / "changes.json").exists()


def test_clv_compare_gives_the_same_changes(two_months, tmp_path, capsys) -> None:
    _, first, second = two_months
    out = tmp_path / "changes.json"
    assert main(["compare", str(first), str(second), "--out", str(out)]) == 0
    given = json.loads(out.read_text())
    stored = json.loads((second / "changes.json").read_text())
    assert given["tier_migration"] == stored["tier_migration"]
    assert given["slipped_top"] == stored["slipped_top"]
    assert main(["compare", str(first), str(second), "--out", str(out)]) == 2  # never over a file
    assert main(["compare", str(first), str(tmp_path)]) == 2
    assert "not a finished customer-value run" in capsys.readouterr().err


def test_references_are_stable_across_runs_and_the_owner_files_carry_both(two_months) -> None:
    runs, first, second = two_months
    a = pl.read_parquet(first / "scores.parquet").select("customer_id", "customer_ref")
    b = pl.read_parquet(second / "scores.parquet").select("customer_id", "customer_ref")
    both = a.join(b, on="customer_id", suffix="_now")
    assert both.height == a.height
    assert (both["customer_ref"] == both["customer_ref_now"]).all()
    assert b["customer_ref"].str.contains(r"^c-[0-9a-f]{16}$").all()
    assert b["customer_ref"].n_unique() == b.height
    at_risk = pl.read_csv(second / "at_risk.csv", infer_schema=False)
    assert {"customer_id", "customer_ref"} <= set(at_risk.columns)
    salt = (runs / SALT_FILE).read_text().strip()
    assert oct((runs / SALT_FILE).stat().st_mode & 0o777) == "0o600"
    page = (second / "customer_value.html").read_text()
    assert salt not in page
    named = json.loads((second / "changes.json").read_text())["slipped_top"][0]
    assert named["customer_ref"] in page  # the slipped customer, by reference only
    assert f"{named['customer_id']}<" not in page and f"{named['customer_id']} " not in page


def test_the_pdf_holds_the_first_pages_sentences(two_months) -> None:
    _, _, second = two_months
    pdf = second / "customer_value.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    text = _pdf_text(pdf)
    page = (second / "customer_value.html").read_text()
    found = page.split('<dl class="clv-found">')[1].split("</dl>")[0]
    sentences = [
        html.unescape(re.sub(r"<[^>]+>", "", dd)) for dd in re.findall(r"<dd>(.*?)</dd>", found)
    ]
    assert len(sentences) >= 5
    first_page = text.split("\f")[0]
    squeeze = lambda s: re.sub(r"\s+", "", s)  # noqa: E731 (pdftotext wraps lines)
    for sentence in sentences:
        assert squeeze(sentence) in squeeze(first_page), sentence
    assert "Since" in first_page
    assert re.search(r"page 1 of (\d+)", first_page)
    assert "customer_value.pdf" in json.loads((second / "manifest.json").read_text())["files"]


def _pdf_text(pdf: Path) -> str:
    tool = shutil.which("pdftotext")
    if tool is None:
        why = "pdftotext is not installed (apt-get install poppler-utils)"
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {why}")
        pytest.skip(why)
    return subprocess.run([tool, "-raw", str(pdf), "-"], capture_output=True, text=True).stdout


def test_compare_to_a_folder_or_none(two_months, tmp_path) -> None:
    runs, first, second = two_months
    december = second.parent.parent / "export_2024-12.csv"
    third = run_report(
        december,
        out_dir=runs,
        progress=False,
        parameters={"channel_col": "channel", "compare_to": str(first)},
    )
    doc = json.loads((third / "changes.json").read_text())
    assert doc["previous_run"] == first.name
    assert (
        doc["tier_migration"] == json.loads((second / "changes.json").read_text())["tier_migration"]
    )
    assert json.loads((third / "manifest.json").read_text())["parameters"]["compare_to"] == str(
        first
    )
    off = run_report(december, out_dir=runs, progress=False, parameters={"compare_to": "none"})
    assert not (off / "changes.json").exists()
    assert "Since" not in (off / "customer_value.html").read_text().split("1. Headline")[0]
    statuses = {r["run"]: r["status"] for r in list_runs(runs)}
    assert all(statuses[r.name] == "succeeded" for r in (first, second, third, off))
