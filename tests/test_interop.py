"""Library interop: frames of every kind at the door, and a typed API for users' scripts."""

import datetime as dt
import subprocess
import sys
import textwrap

import polars as pl
import pytest

import clv
from clv.data.datasets import cdnow
from clv.errors import DataError, UsageError


@pytest.fixture(scope="module")
def transactions() -> pl.DataFrame:
    return cdnow().filter(pl.col("customer_id").cast(pl.Int64) < 400)


def test_rfm_summary_takes_polars_lazy_and_pandas(transactions) -> None:
    expected = clv.rfm_summary(transactions, observation_end="1997-09-30")
    for given in (transactions.lazy(), transactions.to_pandas()):
        got = clv.rfm_summary(given, observation_end="1997-09-30")
        assert got.equals(expected)


def test_rfm_summary_on_datetimes_with_a_text_observation_end(transactions) -> None:
    """0.2 raised a TypeError (datetime vs date) in resolve_period."""
    stamped = transactions.with_columns(pl.col("date").cast(pl.Datetime("us")))
    got = clv.rfm_summary(stamped, observation_end="1997-09-30")
    assert got.equals(clv.rfm_summary(transactions, observation_end=dt.date(1997, 9, 30)))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (pl.when(pl.int_range(pl.len()) == 3).then(-500.0).otherwise(pl.col("amount")), "row 4"),
        (
            pl.when(pl.int_range(pl.len()) == 7).then(float("nan")).otherwise(pl.col("amount")),
            "row 8",
        ),
    ],
)
def test_rfm_summary_checks_a_frame_as_a_file_is_checked(transactions, change, words) -> None:
    bad = transactions.with_columns(amount=change)
    with pytest.raises(DataError, match=f"column 'amount', {words}"):
        clv.rfm_summary(bad)
    with pytest.raises(DataError, match="'amount'"):
        clv.rfm_summary(transactions.drop("amount"))


def test_fit_and_score_take_lazy_and_pandas_summaries(transactions) -> None:
    summary = clv.rfm_summary(transactions, observation_end="1997-09-30")
    model = clv.fit(summary)
    for given in (summary.lazy(), summary.to_pandas()):
        other = clv.fit(given, time_unit="W")
        assert other.purchase == pytest.approx(model.purchase, rel=1e-9)
        assert other.score(given, horizon=12)["clv"].equals(model.score(summary, horizon=12)["clv"])


def test_a_non_frame_names_the_argument() -> None:
    with pytest.raises(UsageError, match="summary= must be a polars DataFrame"):
        clv.fit([1, 2, 3])  # type: ignore[call-overload]
    with pytest.raises(UsageError, match="transactions= must be a polars DataFrame"):
        clv.rfm_summary({"customer_id": [1]})  # type: ignore[arg-type]


@pytest.mark.slow
def test_mypy_strict_sees_the_top_level_api(tmp_path) -> None:
    script = tmp_path / "user.py"
    script.write_text(
        textwrap.dedent(
            """
            import polars as pl

            import clv

            tx: pl.DataFrame = clv.read_transactions("orders.csv", customer_col="client")
            summary: pl.DataFrame = clv.rfm_summary(tx, observation_end="2024-12-31")
            model = clv.fit(summary, purchase_model="pareto_nbd")
            scores: pl.DataFrame = model.score(summary, horizon=12)
            analysis: clv.Analysis = clv.analyze("orders.csv", horizon=24)
            top: pl.DataFrame = analysis.scores
            ax = clv.plots.probability_alive_matrix(model, summary)
            ax.set_title("P(alive)")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout


def test_every_public_function_that_takes_a_frame_takes_pandas_and_lazy(tmp_path) -> None:
    from clv.data.datasets import synthetic_shop

    tx = synthetic_shop(300, seed=1)[0]
    summary = clv.rfm_summary(tx)
    want = clv.with_customer_group(summary, tx, by="channel")
    for kind in (lambda f: f.to_pandas(), lambda f: f.lazy()):
        got = clv.with_customer_group(kind(summary), kind(tx), by="channel")
        assert got.select("customer_id", "channel").equals(want.select("customer_id", "channel"))
        out = clv.write_frame(kind(summary), tmp_path / "s.parquet", overwrite=True)
        written = pl.read_parquet(out)
        assert written.columns == summary.columns
        assert written["frequency"].equals(summary["frequency"])
    with pytest.raises(UsageError, match="frame= must be a polars DataFrame"):
        clv.write_frame("summary.csv", tmp_path / "x.csv")  # type: ignore[arg-type]
