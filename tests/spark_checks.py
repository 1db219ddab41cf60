"""What the Spark tests check alike: Spark's numbers equal the polars engine's, and the
driver collects little (the session ``cs`` and the data ``spark_shapes`` are fixtures of
``conftest.py``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest


def both_engines(path: Any, keywords: dict[str, Any]) -> tuple[Any, Any]:
    """The polars and the Spark analysis of ``path`` with ``keywords`` (their reading
    warnings silenced: the tests compare what the two engines compute)."""
    import clv

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clv.analyze(path, **keywords), clv.analyze(path, engine="spark", **keywords)


def assert_close(got: pl.DataFrame, want: pl.DataFrame, rel: float) -> None:
    assert got.columns == want.columns
    assert got.schema == want.schema
    for c in want.columns:
        if want[c].dtype.is_float():
            np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(), rtol=rel, atol=rel)
        else:
            assert got[c].to_list() == want[c].to_list(), c


def assert_same_numbers(got: object, want: object, rel: float = 1e-6) -> None:
    """Equal JSON documents, numbers to ``rel``."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys()
        for key in want:
            assert_same_numbers(got[key], want[key], rel)
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert_same_numbers(g, w, rel)
    elif isinstance(want, float) and not isinstance(want, bool):
        assert got == pytest.approx(want, rel=rel, abs=rel, nan_ok=True)
    else:
        assert got == want


class Collected:
    """The sizes of what the driver collects from Spark (``collect``, ``toArrow``,
    ``toPandas``, ``toLocalIterator``), recorded while installed."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, spark) -> None:
        frames = type(spark.range(1))  # the session's DataFrame class (pyspark's classic one)
        self.rows: list[int] = []
        for name in ("collect", "toArrow", "toPandas", "toLocalIterator"):
            method = getattr(frames, name)
            monkeypatch.setattr(frames, name, self._recording(method))

    def _recording(self, method):
        def collect(frame, *args, **kwargs):
            result = method(frame, *args, **kwargs)
            if hasattr(result, "num_rows"):
                self.rows.append(result.num_rows)
            elif hasattr(result, "__len__"):
                self.rows.append(len(result))
            else:  # an iterator: as many rows as the frame
                self.rows.append(frame.count())
            return result

        return collect


PER_ROW = (
    "transactions",
    "_keyed_summary",
    "summary",
    "calibration",
    "scores",
    "segments",
    "orders",
    "customers",
)
"""The one-machine tables of an analysis with a row per customer or per transaction."""


def refuse_per_row(monkeypatch: pytest.MonkeyPatch, *more: str) -> None:
    """Every :data:`PER_ROW` table (and ``more``) of a Spark analysis fails the test when
    touched."""
    from clv.engines.spark_analysis import SparkAnalysis

    for name in (*PER_ROW, *more):

        def refused(_: object, name: str = name) -> object:
            pytest.fail(f"the Spark analysis used the per-row table {name!r}")

        monkeypatch.setattr(SparkAnalysis, name, property(refused))


def analyze_keywords(options: list[str]) -> dict[str, object]:
    """The ``clv.analyze`` keywords of a shape's command-line options (``spark_shapes``)."""
    out: dict[str, object] = {}
    for flag, value in zip(options[::2], options[1::2], strict=True):
        name = flag.removeprefix("--").replace("-", "_")
        out[name] = float(value) if name == "at_risk_overdue_gaps" else value
    return out
