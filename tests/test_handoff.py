"""The report runner's hand-off: the Analysis computed on a thread, pickled, loaded by the
notebook; equal to the notebook's own ``clv.analyze``, and never a file left behind."""

from __future__ import annotations

import os
import sys
import threading
from functools import cached_property
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from clv.analysis.pipeline import analyze
from clv.analysis.results import Analysis
from clv.errors import ModelError, ReportError
from clv.report import handoff
from clv.report.parameters import NOTEBOOK_DIR


@pytest.fixture
def shop_analysis(shop) -> Analysis:
    return analyze(shop[0], purchase_model="auto")


def test_wanted_are_the_tables_the_notebook_reads() -> None:
    wanted = handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb")
    assert {"model", "segments", "at_risk", "kpis", "holdout", "cohorts", "findings"} <= set(wanted)
    assert "transactions" not in wanted and "period" not in wanted  # set by analyze, not tables
    loyalty = handoff.wanted(NOTEBOOK_DIR / "loyalty_review.ipynb")
    assert "loyalty_by_month" in loyalty and "holdout" not in loyalty


def test_handed_over_analysis_equals_the_notebooks_own(shop, shop_analysis, tmp_path) -> None:
    path = tmp_path / handoff.file_name(os.getpid())
    names = handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb")
    hand = handoff.Handoff(shop_analysis, names, path)
    loaded = handoff.analysis({"analysis_file": str(path)})  # the base: tables come later
    own = handoff.analysis({"data": shop[0], "purchase_model": "auto"})
    for name in ("summary", "scores", "segments", "at_risk", "cohorts"):
        assert_frame_equal(getattr(loaded, name), getattr(own, name))
    assert loaded.kpis == own.kpis
    assert loaded.model.purchase_model == own.model.purchase_model
    hand._thread.join()
    assert hand.error is None and hand.seconds is not None
    tables = {n for n in vars(loaded) if n in handoff._PROPERTIES}
    assert tables <= set(names)  # read from the runner's files, none computed in the kernel
    assert "orders" in vars(shop_analysis) and "orders" not in vars(loaded)  # not handed over
    assert_frame_equal(loaded.orders, own.orders)  # computed in the kernel when asked
    hand.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_the_notebook_reads_each_table_as_soon_as_it_is_made(
    shop_analysis, tmp_path, monkeypatch
) -> None:
    """The cells run while later tables are computed: the model and the top customers are
    read while the per-channel models (the runner's last model work) are still running."""
    release = threading.Event()
    channel_value = Analysis.channel_value.func

    def slow_channel_value(self: Analysis) -> object:
        assert release.wait(60)
        return channel_value(self)

    monkeypatch.setattr(Analysis, "channel_value", cached_property(slow_channel_value))
    Analysis.channel_value.__set_name__(Analysis, "channel_value")
    path = tmp_path / handoff.file_name(os.getpid())
    hand = handoff.Handoff(
        shop_analysis, handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb"), path
    )
    loaded = handoff.analysis({"analysis_file": str(path)})
    assert loaded.model.purchase_model == shop_analysis.model.purchase_model
    assert loaded.top_profile.height and "top_profile" in vars(loaded)
    assert "channel_value" not in vars(shop_analysis) and hand.seconds is None  # still going
    release.set()
    assert loaded.kpis == shop_analysis.kpis  # waits for the per-channel models
    hand._thread.join()
    hand.close()


def test_a_failing_table_is_computed_again_where_the_notebook_shows_it(
    shop_analysis, tmp_path, monkeypatch
) -> None:
    calls = []

    def cohorts(self: Analysis) -> pl.DataFrame:
        calls.append(threading.current_thread().name)
        raise ModelError("cohorts failed")

    monkeypatch.setattr(Analysis, "cohorts", property(cohorts))
    handoff.compute(shop_analysis, ("model", "cohorts", "kpis"))
    assert {"model", "kpis", "orders"} <= set(vars(shop_analysis))
    assert len(calls) == 1  # tried once, in the runner, and left uncomputed
    with pytest.raises(ModelError, match="cohorts failed"):
        _ = shop_analysis.cohorts  # the notebook's cell raises the same one-line error


def test_a_handoff_that_cannot_be_written_stops_the_wait(shop_analysis, tmp_path) -> None:
    shop_analysis.__dict__["unpicklable"] = lambda: None
    path = tmp_path / handoff.file_name(os.getpid())
    hand = handoff.Handoff(shop_analysis, (), path)
    with pytest.raises(ReportError, match="could not hand over the analysis"):
        handoff.analysis({"analysis_file": str(path)})  # the kernel does not wait for ever
    assert hand.error is not None and hand.seconds is None
    hand.close()
    assert list(tmp_path.iterdir()) == []  # no half-written pickle


def test_closed_before_the_write_leaves_nothing(shop_analysis, tmp_path) -> None:
    path = tmp_path / handoff.file_name(os.getpid())
    hand = handoff.Handoff(shop_analysis, ("kpis",), path)
    hand.close()  # the run ended (a failed kernel, Ctrl-C) while the thread computed
    hand._thread.join()
    assert list(tmp_path.iterdir()) == []


def test_stale_handoff_files_match_the_temporary_file_pattern(tmp_path) -> None:
    from clv.data.write import _TEMP

    path = tmp_path / handoff.file_name(4242)
    frame = handoff.frame_file(path, 3)
    for name in (path, handoff.pending_file(path), path.with_name(f".writing{path.name}"), frame):
        match = _TEMP.match(Path(name).name)
        assert match and match.group(1) == "4242"


def test_the_kernel_stops_waiting_when_the_runner_is_gone(tmp_path) -> None:
    """A runner killed mid-analysis leaves its pending marker; the kernel sees that the pid
    in the file name no longer runs (its parent may be a wrapper that is still alive)."""
    import subprocess
    import sys

    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True
    )
    path = tmp_path / handoff.file_name(int(gone.stdout))
    handoff.pending_file(path).touch()
    with pytest.raises(ReportError, match="stopped before it handed over"):
        handoff.analysis({"analysis_file": str(path)})


def test_an_interrupted_run_stops_computing(shop_analysis, tmp_path) -> None:
    """close() stops the thread between tables: it does not go on with the whole analysis."""
    path = tmp_path / handoff.file_name(os.getpid())
    hand = handoff.Handoff(
        shop_analysis, handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb"), path
    )
    hand.close()
    hand._thread.join()
    assert "kpis" not in vars(shop_analysis) and "findings" not in vars(shop_analysis)
    assert list(tmp_path.iterdir()) == []


def test_each_chain_makes_its_own_tables(shop, monkeypatch) -> None:
    """A table of one chain is made on that chain's thread: the models chain reads no table
    of the tables chain, which reads the models' only once they are made (else a chain would
    make the other's table itself, or wait for it)."""
    made: dict[str, str] = {}
    for name in handoff._PROPERTIES:
        prop = vars(Analysis)[name]

        def recorded(self: Analysis, func=prop.func, name: str = name) -> object:
            made.setdefault(name, threading.current_thread().name)
            return func(self)

        wrapped = cached_property(recorded)
        monkeypatch.setattr(Analysis, name, wrapped)
        wrapped.__set_name__(Analysis, name)
    analysis = analyze(shop[0], purchase_model="auto")
    _ = analysis.summary  # made by the runner before the chains
    handoff.compute(analysis, handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb"))
    threads = ("clv-models", "clv-tables")
    for phase in handoff.PHASES:
        for names, thread in zip(phase, threads, strict=True):
            assert all(made[n] == thread for n in names if n in made), (names, made)


def test_a_table_not_handed_over_is_made_in_the_notebook(shop_analysis, tmp_path, monkeypatch):
    """A table that fails in the runner raises its own error in the notebook's cell; one that
    cannot be written is computed by the notebook, and the run does not blame the hand-off."""

    def cohorts(self: Analysis) -> pl.DataFrame:
        raise ModelError("cohorts failed")

    monkeypatch.setattr(Analysis, "cohorts", property(cohorts))
    unpicklable = cached_property(lambda self: {"make": lambda: None})
    monkeypatch.setattr(Analysis, "returning_vs_new", unpicklable)
    unpicklable.__set_name__(Analysis, "returning_vs_new")
    path = tmp_path / handoff.file_name(os.getpid())
    names = handoff.wanted(NOTEBOOK_DIR / "customer_value.ipynb")
    hand = handoff.Handoff(shop_analysis, names, path)
    loaded = handoff.analysis({"analysis_file": str(path)})
    with pytest.raises(ModelError, match="cohorts failed"):
        _ = loaded.cohorts  # waits for the runner to end, then raises here
    assert not handoff.pending_file(path).exists()
    assert callable(loaded.returning_vs_new["make"])  # made here
    assert hand.error is None  # the notebook had its Analysis
    assert_frame_equal(loaded.segments, shop_analysis.segments)
    hand.close()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(sys.platform != "linux", reason="a thread has a nice value of its own on Linux")
def test_lower_priority_is_the_calling_threads_only() -> None:
    def nice(tid: int) -> int:
        return os.getpriority(os.PRIO_PROCESS, tid)

    main, seen = threading.get_native_id(), {}

    def lowered() -> None:
        tid = threading.get_native_id()
        before = nice(tid)
        handoff._lower_priority(3)
        seen["change"], seen["main"] = nice(tid) - before, nice(main)

    before_main = nice(main)
    thread = threading.Thread(target=lowered)
    thread.start()
    thread.join()
    assert seen == {"change": 3, "main": before_main}
