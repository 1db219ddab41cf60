"""The engines registry: an engine registers itself, the lower layers look it up by name."""

import polars as pl
import pytest

import clv
from clv.data import engines
from clv.errors import UsageError


class _Recording:
    """An engine that records what it was asked (the Spark engine's calls, without Spark)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []

    def rfm_summary(self, transactions, **keywords):
        self.calls.append(("rfm_summary", keywords))
        return "summary"

    def fit(self, summary, **keywords):
        self.calls.append(("fit", keywords))
        return "model"


@pytest.fixture
def recording(monkeypatch):
    engine = _Recording()
    monkeypatch.setitem(engines._REGISTERED, "spark", engine)
    return engine


def test_the_lower_layers_call_the_registered_engine(recording):
    assert clv.rfm_summary("tx", observation_end="2024-12-31", engine="spark") == "summary"
    assert clv.fit("summary", engine="spark", purchase_model="pareto_nbd") == "model"
    assert recording.calls == [
        ("rfm_summary", {"observation_end": "2024-12-31", "time_unit": "W"}),
        ("fit", {"penalizer": 0.0, "purchase_model": "pareto_nbd"}),
    ]


def test_an_unknown_engine_is_a_usage_error_naming_the_known_ones():
    with pytest.raises(UsageError, match="engine must be 'polars' or 'spark', not 'duckdb'"):
        engines.get("duckdb")
    with pytest.raises(UsageError, match="engine='duckdb': expected one of polars, spark"):
        clv.analyze(pl.DataFrame({"customer_id": ["a"]}), engine="duckdb")


def test_spark_fits_without_by(recording):
    with pytest.raises(UsageError, match="fits without by="):
        clv.fit("summary", engine="spark", by="channel")
