"""End-to-end report runs through papermill, and parameter validation before any run."""

import json
import re

import nbformat
import pandas as pd
import polars as pl
import pytest

from clv.data.io import read_transactions
from clv.errors import DataError, ReportError, UsageError
from clv.report import parameters, runner
from clv.report.index import list_runs
from tests.conftest import MALICIOUS_CHANNEL

CUSTOMER_VALUE_SECTIONS = [
    "What this report found",
    "1. Headline numbers",
    "2. The data",
    "3. The RFM summary",
    "4. The purchase model",
    "5. The Gamma-Gamma fit",
    "6. Holdout validation",
    "7. Customer scores",
    "8. The top customers and what distinguishes them",
    "9. Value tiers and middle-to-top candidates",
    "10. Returning vs new customers and cohorts",
    "11. Channels",
    "12. The loyalty program",
    "13. At-risk high-value customers",
    "14. Methods, definitions and run metadata",
]
LOYALTY_SECTIONS = [
    "What this report found",
    "1. This month",
    "2. Members vs non-members",
    "3. Month by month",
    "4. Does the program pay for itself?",
    "5. Before and after the launch",
    "6. Reward milestones",
    "7. Members at risk",
    "8. The data and the model",
    "9. Methods, definitions and run metadata",
    "Appendix: every month",
]


# --------------------------------------------------------------------------- parameters


def test_notebooks_are_committed_without_outputs() -> None:
    for path in parameters.NOTEBOOK_DIR.glob("*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, path.name


def test_bad_parameters_are_rejected_before_papermill(tmp_path, monkeypatch) -> None:
    import papermill

    def boom(*args, **kwargs):
        raise AssertionError("papermill must not run")

    monkeypatch.setattr(papermill, "execute_notebook", boom)
    with pytest.raises(UsageError):
        runner.run_report(parameters={"horizn": "3"}, out_dir=tmp_path, progress=False)
    with pytest.raises(UsageError, match="unknown notebook"):
        runner.run_report(notebook="nope", out_dir=tmp_path, progress=False)
    with pytest.raises(DataError, match="file not found"):
        runner.run_report(tmp_path / "missing.csv", out_dir=tmp_path, progress=False)
    config = tmp_path / "bad.toml"
    config.write_text('horizon = "soon"\n')
    with pytest.raises(UsageError, match="horizon='soon'"):
        runner.run_report(config=config, out_dir=tmp_path, progress=False)
    assert not [p for p in tmp_path.iterdir() if p.is_dir()]  # no run folder was made
    failed = [line for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert len(failed) == 3  # each failed check is in the runs' history (a notebook name aside)


def test_assignments_and_config(tmp_path) -> None:
    assert parameters.parse_assignments(["horizon=6", "title=a=b"]) == {
        "horizon": "6",
        "title": "a=b",
    }
    with pytest.raises(UsageError, match="name=value"):
        parameters.parse_assignments(["horizon"])
    config = tmp_path / "c.toml"
    config.write_text(
        'horizon = 6\nobservation_end = 1998-06-30\nchannel_col = "ch"\n'
        "[channel_costs]\nsearch = 10\n"
    )
    params = parameters.validate_parameters("customer_value", parameters.read_config(config))
    assert params == {
        "horizon": 6.0,
        "observation_end": "1998-06-30",
        "channel_col": "ch",
        "channel_costs": {"search": 10.0},
    }


def test_run_folders_never_collide(tmp_path) -> None:
    first = runner._new_run_dir(tmp_path, "x")
    second = runner._new_run_dir(tmp_path, "x")
    assert first != second and first.is_dir() and second.is_dir()


@pytest.mark.slow
def test_customer_value_run_folder(report_runs) -> None:
    run = report_runs["customer_value"]
    names = {p.name for p in run.iterdir()}
    expected = {
        "customer_value.ipynb",
        "customer_value.html",
        "scores.parquet",
        "at_risk.csv",
        "lost.csv",
        "model.json",
        "kpis.json",
        "manifest.json",
    }
    assert expected <= names
    assert expected <= set(json.loads((run / "manifest.json").read_text())["files"])
    assert not [n for n in names if n.startswith(".")]  # no temp files left
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "succeeded" and manifest["error"] is None
    assert manifest["notebook"] == "customer_value" and manifest["run"] == run.name
    assert manifest["parameters"]["horizon"] == 6
    assert manifest["parameters"]["channel_col"] == "channel"
    assert "run_dir" not in manifest["parameters"]
    data = report_runs["data"]
    import hashlib

    assert manifest["input"]["sha256"] == hashlib.sha256(data.read_bytes()).hexdigest()
    assert manifest["input"]["name"] == "shop.csv"
    assert manifest["row_counts"]["transactions"] == pl.read_csv(data).height
    assert manifest["row_counts"]["customers"] == 1_000
    quality = manifest["data_quality"]  # what reading found, as the report's table shows it
    assert quality["rows_read"] == pl.read_csv(data).height
    assert quality["date_format"] is not None and quality["placeholder_ids"] == {}
    assert {"validate", "execute", "export_html", "total"} <= set(manifest["timings_s"])
    assert "4. The purchase model" in manifest["timings_s"]["sections"]
    assert manifest["versions"]["polars"] and manifest["versions"]["lifetimes"]

    scores = pl.read_parquet(run / "scores.parquet")
    assert scores.height == 1_000 and {"clv", "p_alive", "value_tier"} <= set(scores.columns)
    at_risk = pl.read_csv(run / "at_risk.csv", schema_overrides={"customer_id": pl.String})
    assert set(at_risk["customer_id"]) <= set(scores["customer_id"])  # real ids in the CSV
    # the win-back list: recomputed with pandas from the scores, masked reference beside the id
    lost = pd.read_csv(run / "lost.csv", dtype={"customer_id": str, "customer_ref": str})
    sc = scores.to_pandas()
    positive = sc[sc.revenue > 0]
    cut = positive.revenue.quantile(0.8)
    want = positive[(positive.p_alive < 0.05) & (positive.revenue >= cut)]
    want = want.sort_values(["revenue", "customer_id"], ascending=[False, True])
    assert len(want) > 0 and lost.customer_id.tolist() == want.customer_id.tolist()
    assert lost.customer_ref.tolist() == want.customer_ref.tolist()
    assert list(lost.columns[:2]) == ["customer_id", "customer_ref"]
    assert manifest["row_counts"]["lost"] == len(want)
    assert not set(lost.customer_id) & set(at_risk["customer_id"])
    assert json.loads((run / "model.json").read_text())["bgnbd"]["r"] > 0


@pytest.mark.slow
def test_kpis_json_equals_clv_kpis(report_runs) -> None:
    from clv.analysis.kpis import headline_kpis

    run = report_runs["customer_value"]
    kpis = json.loads((run / "kpis.json").read_text())
    tx = read_transactions(report_runs["data"], **report_runs["columns"])
    scores = pl.read_parquet(run / "scores.parquet")
    # the run's tier_cuts [0.1, 0.8]; good customers ranked on the run's basis: margin
    direct = headline_kpis(tx, scores, good_share=0.1, value_col="margin")
    for key in (
        "customers",
        "orders",
        "revenue",
        "repeat_customer_rate",
        "returning_vs_new_aov_ratio",
        "top_10pct_revenue_share",
        "gini_revenue",
    ):
        assert kpis[key] == pytest.approx(direct[key], rel=1e-12), key
    assert kpis["top_10pct_clv_share"] == pytest.approx(direct["top_10pct_clv_share"])
    assert set(kpis["channels"]) == set(direct["channels"])
    for name, stats in direct["channels"].items():
        assert kpis["channels"][name]["share_good"] == pytest.approx(stats["share_good"]), name
    assert MALICIOUS_CHANNEL in kpis["channels"]
    assert kpis["predicted_clv_total"] == pytest.approx(scores["clv"].sum())


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    else:
        yield path, value


@pytest.mark.slow
def test_report_kpis_json_equals_the_cli_on_margin(report_runs, tmp_path) -> None:
    from clv.cli import main

    out = tmp_path / "kpis.json"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in report_runs["columns"].items()]
    assert (
        main(["kpis", str(report_runs["data"]), *flags, "--horizon", "6", "--out", str(out)]) == 0
    )
    cli = json.loads(out.read_text())
    report = json.loads((report_runs["customer_value"] / "kpis.json").read_text())
    assert cli["money"]["basis"] == report["money"]["basis"] == "margin"
    assert report["money"]["horizon"] == "6 months"
    cli_leaves, report_leaves = dict(_leaves(cli)), dict(_leaves(report))
    assert cli_leaves.keys() == report_leaves.keys()
    compared = 0
    for path, value in cli_leaves.items():
        if path[-1] in ("share_good", "share_good_clv"):
            continue  # good = the top tier: the report ran with tier_cuts [0.1, 0.8], the CLI 0.2
        if isinstance(value, float):
            assert report_leaves[path] == pytest.approx(value, rel=1e-9, abs=1e-12), path
            compared += 1
        else:
            assert report_leaves[path] == value, path
    assert compared > 20
    scores = pl.read_parquet(report_runs["customer_value"] / "scores.parquet")
    assert report["predicted_clv_total"] == pytest.approx(scores["clv"].sum(), rel=1e-9)


@pytest.mark.slow
def test_customer_value_html_is_self_contained(report_runs) -> None:
    run = report_runs["customer_value"]
    html = (run / "customer_value.html").read_text()
    assert html.count("<img") >= 10
    assert all(
        src.startswith("data:image/png;base64,")
        for src in re.findall(r'<img[^>]*src="([^"]*)"', html)
    )
    for heading in CUSTOMER_VALUE_SECTIONS:
        assert f">{heading}<" in html.replace("&amp;", "&"), heading
    for caption in (
        "Tiers by historical revenue",
        "Tiers by predicted CLV",
        "Value of more retention",
        "Simple formula vs the model",
    ):
        assert caption in html, caption
    assert ">Retention economics<" in html and "Assumptions: annual retention" in html
    assert "The top 10% are the 100 customers" in html
    assert "<script" not in html.lower()
    assert not re.search(r"(src|href)\s*=\s*[\"']?(https?:)?//", html, re.I)
    assert not re.search(r"https?://", html)  # no CDN (and no link out at all)
    for path in {str(report_runs["root"]), str(run.resolve()), "/work/", "/home/", "/tmp/"}:
        assert path not in html, path
    assert MALICIOUS_CHANNEL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "def " not in html and "import " not in html  # no code
    # customer ids masked: no real id of the shop appears
    ids = pl.read_parquet(run / "scores.parquet")["customer_id"].head(50).to_list()
    assert not any(i in html for i in ids)
    # the table of contents links to every section
    for anchor in re.findall(r'<li class="clv-toc-level2"><a href="#([^"]+)"', html):
        assert f'id="{anchor}"' in html
    # the first page and the headline cards, made by the last cell, are shown at the top
    found, headline, data = (
        html.index(f'>{h}<a class="anchor-link"') for h in CUSTOMER_VALUE_SECTIONS[:3]
    )
    assert found < html.index('class="clv-found"') < headline
    assert headline < html.index('class="clv-headline"') < data
    assert html.count('class="clv-found"') == 1 and html.count('class="clv-headline"') == 1


@pytest.mark.slow
def test_loyalty_review_run(report_runs) -> None:
    run = report_runs["loyalty_review"]
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"
    html = (run / "loyalty_review.html").read_text()
    for heading in LOYALTY_SECTIONS:
        assert f">{heading}<" in html, heading
    assert html.count("<img") >= 3 and "<script" not in html.lower()
    assert "self-select" in html or "choose to join" in html
    assert "No launch_date given" not in html  # launch date was given
    at_risk = pl.read_csv(run / "at_risk.csv", schema_overrides={"customer_id": pl.String})
    assert "customer_ref" in at_risk.columns


@pytest.mark.slow
def test_bad_data_fails_before_a_run_folder_exists(report_runs) -> None:
    bad = report_runs["root"] / "bad.csv"
    bad.write_text("customer_id,date,amount\nA,2024-01-01,5\nB,2024-01-02,five\n")
    out = report_runs["out"]
    before = sorted(out.iterdir())
    with pytest.raises(DataError, match=r"bad.csv: column 'amount', line 3: 'five'"):
        runner.run_report(bad, out_dir=out, progress=False)
    folders = [p for p in before if p.is_dir()]
    assert sorted(p for p in out.iterdir() if p.is_dir()) == folders  # no run folder
    (failed,) = [r for r in list_runs(out) if r["manifest"].get("stage") == "check"]
    assert failed["status"] == "failed" and "line 3: 'five'" in failed["reason"]


@pytest.mark.slow
def test_failed_run_is_kept_and_marked(report_runs) -> None:
    """A cell that fails after the data check: the run is kept, marked failed, with the
    cell's one-line error."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("data = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("print('started')"),
        nbformat.v4.new_code_cell(
            "from clv.errors import ModelError\n"
            "raise ModelError('BG/NBD fit did not converge; try --penalizer 0.001')"
        ),
    ]
    path = report_runs["root"] / "broken.ipynb"
    nbformat.write(notebook, path)
    out = report_runs["out"]
    with pytest.raises(ReportError) as info:
        runner.run_report(notebook=str(path), out_dir=out, progress=False)
    message = str(info.value)
    assert message.endswith("BG/NBD fit did not converge; try --penalizer 0.001")
    assert "\n" not in message and "Traceback" not in message
    run = info.value.run_dir
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "failed" and manifest["error"] == message
    kept = nbformat.read(run / "broken.ipynb", as_version=4)  # the partial notebook is kept
    printed = [o.get("text", "") for c in kept.cells if c.cell_type == "code" for o in c.outputs]
    assert "started\n" in printed
    assert not (run / "broken.html").exists()
    index = (out / "index.html").read_text()
    assert run.name in index and "failed" in index


@pytest.mark.slow
def test_index_lists_every_run(report_runs) -> None:
    out = report_runs["out"]
    index = (out / "index.html").read_text()
    runs = [p for p in out.iterdir() if p.is_dir()]
    assert len(runs) >= 2
    for run in runs:
        assert run.name in index
    value = report_runs["customer_value"].name
    assert f'href="{value}/customer_value.html"' in index
    assert "1,000" in index  # headline numbers
    assert "<script" not in index and "shop.csv" in index
    assert str(report_runs["root"]) not in index


def test_a_failed_spark_job_in_a_cell_is_one_line_naming_its_innermost_cause() -> None:
    """The JVM's text of a failed job (what a kernel reports for ``Py4JJavaError``): the line
    names the cause, not the py4j call."""
    from clv.report.runner import _cell_error

    evalue = (
        "An error occurred while calling o6261.getResult.\n"
        ": org.apache.spark.SparkException: Exception thrown in awaitResult: \n"
        "\tat org.apache.spark.util.SparkThreadUtils$.awaitResult(SparkThreadUtils.scala:70)\n"
        "Caused by: org.apache.spark.SparkException: Job aborted due to stage failure: Total "
        "size of serialized results of 1 tasks (183.0 MiB) is bigger than "
        "spark.driver.maxResultSize (48.0 MiB)\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJobAndIndependentStages(...)\n"
    )
    assert str(_cell_error("Py4JJavaError", evalue, 46)) == (
        "Py4JJavaError in cell 46: SparkException: Job aborted due to stage failure: Total size "
        "of serialized results of 1 tasks (183.0 MiB) is bigger than spark.driver.maxResultSize "
        "(48.0 MiB)"
    )
    assert str(_cell_error("ValueError", "bad\nmore", 3)) == "ValueError in cell 3: bad"
    worker = (
        "An error occurred while calling o81.getResult.\n"
        ": org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 failed\n"
        "\tat org.apache.spark.scheduler.DAGScheduler.failJob(...)\n"
        "Caused by: org.apache.spark.api.python.PythonException: Traceback (most recent call "
        "last):\n"
        '  File "/srv/clv/engines/spark.py", line 209, in scored\n'
        "    import polars\n"
        "ModuleNotFoundError: No module named 'polars'\n"
        "\n"
        "\tat org.apache.spark.api.python.BasePythonRunner(...)\n"
    )
    assert str(_cell_error("Py4JJavaError", worker, 7)) == (
        "Py4JJavaError in cell 7: ModuleNotFoundError: No module named 'polars'"
    )
    bare = (
        "An error occurred while calling o1.collect.\n"
        ": org.apache.spark.SparkException: Job aborted: boom\n\tat a.B(C.scala)\n"
        "Caused by: java.io.EOFException\n\tat d.E(F.java)\n"
    )
    assert str(_cell_error("Py4JJavaError", bare, 2)) == "Py4JJavaError in cell 2: EOFException"
