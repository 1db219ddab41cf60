"""The whole report on Spark: the notebooks' own cells, run in this process with
``engine="spark"``, give the polars engine's report while the driver never holds a row per
customer or per transaction.

Each shape runs twice, on polars and on Spark, into a run folder of its own. On Spark every
per-row table of :class:`~clv.analysis.results.Analysis` (the transactions, the summary, the
scores, the segments, the orders, the customers, the calibration summary) fails when touched,
and :class:`~tests.spark_checks.Collected` records what the driver takes from Spark after the
read: at most the fit's distinct rows (or the rows a file is streamed in). The run's files,
the first page's sentences and what the notebook shows are the polars run's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from clv import params
from tests.spark_checks import Collected, assert_close, assert_same_numbers, refuse_per_row
from tests.test_matrix import run_cells

pytestmark = pytest.mark.spark


def _collected(monkeypatch: pytest.MonkeyPatch, cs) -> Collected:
    """:class:`Collected` from now on, without the read's own collects: the format detection's
    sample of the first rows and the counts (bounded by ``SAMPLE_ROWS``; tested in
    tests/test_spark.py)."""
    from clv.engines import spark_analysis

    collected = Collected(monkeypatch, cs.spark_session())
    read = spark_analysis.read_checked

    def read_checked(*args: Any, **kwargs: Any) -> Any:
        before = len(collected.rows)
        try:
            return read(*args, **kwargs)
        finally:
            del collected.rows[before:]

    monkeypatch.setattr(spark_analysis, "read_checked", read_checked)
    return collected


def _distinct(summary: pl.DataFrame) -> int:
    """The fit's distinct rows: (frequency, recency, T), or repeat buyers' (frequency, spend)."""
    return max(
        summary.select("frequency", "recency", "T").n_unique(),
        summary.filter(pl.col("frequency") > 0).select("frequency", "monetary_value").n_unique(),
    )


def _options(args: list[str]) -> dict[str, Any]:
    """The notebook parameters of the command line options ``args`` (``--name value``)."""
    names = [a[2:].replace("-", "_") for a in args[::2]]
    return dict(zip(names, args[1::2], strict=True))


def _page(shown: str) -> str:
    """What the notebook showed, without the engine parameter's value, the run's times and
    the figures' pixels: Spark adds the same values in another order, so a sum may differ in
    its last bit and an edge of a line by a pixel (the figures' tables are compared to 1e-9
    in tests/test_spark_figures.py)."""
    page = shown[: shown.rindex("<figure")]
    page = re.sub(r"base64,[A-Za-z0-9+/=]+", "base64,...", page)
    page = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "(time)", page)
    return page.replace('data-label="value">spark<', 'data-label="value">polars<')


def _run(notebook: str, data: Path, options: dict[str, Any], engine: str, run: Path) -> dict:
    values = params.validate({**options, "engine": engine}, notebook=notebook)
    run.mkdir(parents=True)
    return run_cells(notebook, {"data": str(data), **values}, run_dir=run)


def _same_runs(got: Path, want: Path, files: tuple[str, ...]) -> None:
    """The run folders ``got`` and ``want`` hold the same kpis.json, findings.json (the
    sentences word for word, the numbers to 1e-6) and ``files`` (to 1e-9)."""
    kpis = [json.loads((run / "kpis.json").read_text()) for run in (got, want)]
    assert_same_numbers(*kpis)
    found = [json.loads((run / "findings.json").read_text()) for run in (got, want)]
    assert [f["text"] for f in found[0]["findings"]] == [f["text"] for f in found[1]["findings"]]
    assert_same_numbers(*found)
    for name in files:
        read = pl.read_parquet if name.endswith(".parquet") else pl.read_csv
        assert_close(read(got / name), read(want / name), 1e-9)


@pytest.mark.parametrize("shape", ["cdnow", "shop", "steady"])
def test_the_report_on_spark_is_the_polars_report_without_a_row_per_customer(
    cs, spark_shapes, shape, tmp_path, monkeypatch
):
    path, args = spark_shapes[shape]
    options = _options(args)
    want = _run("customer_value", path, options, "polars", tmp_path / "polars")
    bound = _distinct(want["analysis"].summary)

    refuse_per_row(monkeypatch)
    collected = _collected(monkeypatch, cs)
    got = _run("customer_value", path, options, "spark", tmp_path / "spark")

    assert max(collected.rows) <= bound, sorted(collected.rows)[-5:]
    _same_runs(
        tmp_path / "spark", tmp_path / "polars", ("scores.parquet", "at_risk.csv", "lost.csv")
    )
    assert _page(got["_shown"]) == _page(want["_shown"])


def test_the_report_with_channels_products_groups_and_intervals_on_spark(
    cs, shop, tmp_path, monkeypatch
):
    """Every optional column (channels, products, loyalty, margins, order ids), a model per
    channel and both intervals: the report on Spark is the polars report."""
    path = tmp_path / "shop.csv"
    shop[0].write_csv(path)
    columns = {"order_col": "order_id", "margin_col": "margin", "loyalty_col": "loyalty"}
    columns |= {"channel_col": "channel", "product_col": "product"}
    options = columns | {"by": "channel", "interval": 0.9, "prediction_interval": 0.8}
    want = _run("customer_value", path, options, "polars", tmp_path / "polars")
    keys = ["channel", "frequency", "recency", "T", "monetary_value"]
    summary = want["analysis"].summary.join(
        want["analysis"].customers.select("customer_id", "channel"), on="customer_id"
    )
    bound = summary.select(keys).n_unique()  # the distinct rows of the channels' fits

    refuse_per_row(monkeypatch)
    collected = _collected(monkeypatch, cs)
    got = _run("customer_value", path, options, "spark", tmp_path / "spark")

    assert max(collected.rows) <= bound < summary.height, sorted(collected.rows)[-5:]
    _same_runs(
        tmp_path / "spark", tmp_path / "polars", ("scores.parquet", "at_risk.csv", "lost.csv")
    )
    assert _page(got["_shown"]) == _page(want["_shown"])


def test_the_loyalty_review_on_spark_is_the_polars_review(cs, spark_shapes, tmp_path, monkeypatch):
    path, args = spark_shapes["shop"]
    options = _options(args)
    want = _run("loyalty_review", path, options, "polars", tmp_path / "polars")
    bound = _distinct(want["analysis"].summary)

    refuse_per_row(monkeypatch)
    collected = _collected(monkeypatch, cs)
    got = _run("loyalty_review", path, options, "spark", tmp_path / "spark")

    assert max(collected.rows) <= bound, sorted(collected.rows)[-5:]
    _same_runs(tmp_path / "spark", tmp_path / "polars", ("scores.parquet", "at_risk.csv"))
    assert _page(got["_shown"]) == _page(want["_shown"])
