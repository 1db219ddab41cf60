"""The customer lists, the run's files and the comparison with the last run on Spark equal
the polars engine's, on the three shapes of ``spark_shapes`` (CDNOW; the shop with
order ids, margins, loyalty and rows after the end; the steady shop, at risk by recency),
without the driver holding a row per customer or per transaction."""

import warnings

import polars as pl
import pytest

import clv
from clv.analysis.results import HEAD_ROWS
from clv.report import runs
from tests.spark_checks import (
    Collected,
    analyze_keywords,
    assert_close,
    assert_same_numbers,
    both_engines,
    refuse_per_row,
)

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def both(cs, spark_shapes):
    """A shape's polars analysis and Spark analysis, made once for the module."""
    made = {}

    def pair(shape: str):
        if shape not in made:
            path, options = spark_shapes[shape]
            made[shape] = both_engines(path, analyze_keywords(options))
        return made[shape]

    return pair


@pytest.fixture
def untouchable(monkeypatch):
    """The Spark analysis' per-row tables fail when touched."""

    refuse_per_row(monkeypatch)


def _distinct(analysis) -> int:
    """The most rows the fit collects: its distinct (frequency, recency, T) rows."""
    summary = analysis.summary
    return max(
        summary.select("frequency", "recency", "T").n_unique(),
        summary.filter(pl.col("frequency") > 0).select("frequency", "monetary_value").n_unique(),
    )


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_the_lists_on_spark_are_the_polars_lists(cs, both, shape, untouchable, monkeypatch):
    """The at-risk and win-back lists: the same customers in the same order, the same
    columns and numbers; the report's heads and counts come without a row per customer."""
    want, got = both(shape)
    collected = Collected(monkeypatch, cs.spark_session())
    findings = got.at_risk_findings
    heads = got.at_risk_head, got.lost_head
    assert max(collected.rows) <= max(_distinct(want), HEAD_ROWS)

    assert findings["customers"] == want.at_risk.height > 0
    assert findings["lost"] == want.lost.height
    assert findings["rule"] == ("recency" if shape == "steady" else "p_alive")
    for key, value in want.at_risk_findings.items():
        assert findings[key] == (
            pytest.approx(value, rel=1e-9) if isinstance(value, float) else value
        )
    assert_close(heads[0], want.at_risk.head(HEAD_ROWS), 1e-9)
    assert_close(heads[1], want.lost.head(HEAD_ROWS), 1e-9)
    if shape == "shop":
        assert want.at_risk.height > HEAD_ROWS and want.lost.height > 0
    monkeypatch.undo()  # the whole lists, collected here to compare them
    assert_close(cs.to_polars(got.spark_at_risk, sort_by=None), want.at_risk, 1e-9)
    assert_close(cs.to_polars(got.spark_lost, sort_by=None), want.lost, 1e-9)


def _read(run, name: str) -> pl.DataFrame:
    if name.endswith(".csv"):
        return pl.read_csv(run / name, try_parse_dates=True)
    return pl.read_parquet(run / name)


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_the_runs_files_on_spark_are_the_polars_files(
    cs,
    both,
    shape,
    tmp_path,
    untouchable,
    monkeypatch,
):
    """``save_run`` of the Spark analysis' tables writes the polars engine's scores.parquet,
    at_risk.csv and lost.csv (masked references included) and row counts, streaming batches
    of at most ``spark.sql.execution.arrow.maxRecordsPerBatch`` rows."""
    want, got = both(shape)
    folders = {e: tmp_path / e for e in ("polars", "spark")}
    for folder in folders.values():
        folder.mkdir()
    tables = ("segments", "at_risk", "lost")
    runs.save_run(
        folders["polars"],
        transactions=want.transactions,
        **dict(zip(("scores", "at_risk", "lost"), (getattr(want, t) for t in tables), strict=True)),
        id_salt="salt",
    )
    session = cs.spark_session()
    session.conf.set("spark.sql.execution.arrow.maxRecordsPerBatch", "500")
    try:
        collected = Collected(monkeypatch, session)
        batches = got.rows("segments")
        sizes = [batch.height for batch in batches.read()]
        assert sizes[0] == 0 and max(sizes) <= 500 and sum(sizes) == want.segments.height
        assert len(sizes) > 2  # several batches
        runs.save_run(
            folders["spark"],
            transactions=got.transaction_count,
            **dict(zip(("scores", "at_risk", "lost"), (got.rows(t) for t in tables), strict=True)),
            id_salt="salt",
        )
    finally:
        session.conf.unset("spark.sql.execution.arrow.maxRecordsPerBatch")
    assert max(collected.rows) <= max(_distinct(want), want.segments.height // 500 + 2)
    for name, table in zip(("scores.parquet", "at_risk.csv", "lost.csv"), tables, strict=True):
        polars_file, spark_file = (_read(folders[e], name) for e in ("polars", "spark"))
        assert polars_file.height == getattr(want, table).height
        assert "customer_ref" in polars_file.columns
        assert_close(spark_file, polars_file, 1e-9)
    manifests = [runs.read_manifest(folders[e])["row_counts"] for e in ("polars", "spark")]
    assert manifests[1] == manifests[0]
    assert manifests[0]["transactions"] == want.transactions.height


@pytest.fixture(scope="module")
def april(cs, spark_shapes, tmp_path_factory):
    """The shop's run at the end of April, one folder written by each engine."""
    from clv.engines.spark_analysis import SparkAnalysis

    path, options = spark_shapes["shop"]
    keywords = analyze_keywords(options) | {"observation_end": "2024-04-30"}
    folders = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for engine in ("polars", "spark"):
            analysis = clv.analyze(path, engine=engine, **keywords)
            assert isinstance(analysis, SparkAnalysis) == (engine == "spark")
            folder = folders[engine] = tmp_path_factory.mktemp(f"april-{engine}")
            runs.save_run(
                folder,
                scores=analysis.rows("segments"),
                at_risk=analysis.rows("at_risk"),
                lost=analysis.rows("lost"),
                model=analysis.model,
                kpis=analysis.kpis,
            )
    return folders


def test_the_comparison_on_spark_is_the_polars_comparison(
    cs,
    both,
    april,
    untouchable,
    monkeypatch,
):
    """changes.json of June against April: the second run on Spark against a first on polars,
    and on polars against a first on Spark, is the polars engine's; Spark joins the customers
    and brings back the counts and the first rows of the lists."""
    from clv.analysis.changes import LIST_ROWS
    from clv.report.compare import since_last_run

    want_analysis, got_analysis = both("shop")
    collected = Collected(monkeypatch, cs.spark_session())
    got = since_last_run(got_analysis, run_dir=None, compare_to=str(april["polars"]))
    assert max(collected.rows) <= max(_distinct(want_analysis), LIST_ROWS)
    monkeypatch.undo()
    want = since_last_run(want_analysis, run_dir=None, compare_to=str(april["polars"]))
    reverse = since_last_run(want_analysis, run_dir=None, compare_to=str(april["spark"]))
    assert want is not None and got is not None and reverse is not None
    assert want["slipped_top_counts"]["slipped"] > LIST_ROWS == len(want["slipped_top"])
    assert want["new_top_counts"]["new_customers"] > 0 and want["at_risk"]["still"] > 0
    assert sum(want["tier_migration"]["new"].values()) > 0
    assert_same_numbers(got, want, rel=1e-9)
    assert reverse["previous_run"] == april["spark"].name
    assert_same_numbers(reverse | {"previous_run": want["previous_run"]}, want, rel=1e-9)


def test_a_report_on_spark_compares_with_a_polars_run_as_clv_compare_does(
    cs,
    spark_shapes,
    tmp_path,
):
    """``clv report --engine spark`` after a polars report in the same runs folder: its
    changes.json (joined on Spark, in the kernel) is what ``clv compare`` makes of the two
    run folders with polars, and its files are the polars engine's kind (masked references,
    row counts)."""
    import json

    from clv.cli import main
    from clv.report.compare import compare_runs

    path, options = spark_shapes["shop"]
    april = [o if o != "2024-06-30" else "2024-04-30" for o in options]
    out = tmp_path / "my runs 100% ü"  # Spark reads the previous run by this path
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["report", str(path), *april, "--out", str(out)]) == 0
        assert main(["report", str(path), *options, "--engine", "spark", "--out", str(out)]) == 0
    first, second = sorted(out.glob("*-customer_value"))
    got = json.loads((second / "changes.json").read_text())
    assert got["previous_run"] == first.name and got["slipped_top_counts"]["slipped"] > 0
    assert_same_numbers(got, json.loads(json.dumps(compare_runs(first, second))), rel=1e-9)
    manifest = runs.read_manifest(second)
    scores = pl.read_parquet(second / "scores.parquet")
    assert manifest["row_counts"]["customers"] == scores.height
    assert manifest["row_counts"]["at_risk"] == pl.read_csv(second / "at_risk.csv").height > 0
    assert scores.columns[:2] == ["customer_id", "customer_ref"]
    assert scores["customer_id"].is_sorted()


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_a_previous_at_risk_list_without_ids_is_one_line_on_either_engine(
    cs, both, april, tmp_path, engine
):
    """A previous run whose at_risk.csv has no ``customer_id`` column: the comparison stops
    with one line naming the run folder, on Spark as on polars."""
    import shutil

    from clv.errors import UsageError
    from clv.report.compare import since_last_run

    previous = tmp_path / "previous"
    shutil.copytree(april["polars"], previous)
    (previous / "at_risk.csv").write_text("id,revenue\nC1,10.0\n")
    analysis = both("shop")[engine == "spark"]
    with pytest.raises(UsageError) as caught:
        since_last_run(analysis, run_dir=None, compare_to=str(previous))
    message = str(caught.value)
    assert message.startswith(f"{previous}: a run file cannot be read") and "\n" not in message


@pytest.mark.parametrize("engine", ["polars", "spark"])
def test_a_previous_scores_file_damaged_inside_is_one_line_on_either_engine(
    cs, both, april, tmp_path, engine
):
    """A previous run whose scores.parquet has its footer but damaged pages: the comparison
    stops with one line naming the run folder (Spark finds it on the workers, mid-job)."""
    import shutil

    from clv.errors import UsageError
    from clv.report.compare import since_last_run

    previous = tmp_path / "previous"
    shutil.copytree(april["polars"], previous)
    scores = previous / "scores.parquet"
    data = bytearray(scores.read_bytes())
    middle = slice(64, len(data) // 2)
    data[middle] = bytes(len(range(*middle.indices(len(data)))))  # zeros; the footer intact
    scores.write_bytes(bytes(data))
    analysis = both("shop")[engine == "spark"]
    with pytest.raises(UsageError) as caught:
        since_last_run(analysis, run_dir=None, compare_to=str(previous))
    message = str(caught.value)
    assert message.startswith(f"{previous}") and "\n" not in message
