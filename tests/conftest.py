"""Shared fixtures: the lifetimes package folder and fitted models, built once per session.

Property tests draw the same examples on every run (``derandomize``): CI never fails by
chance. ``HYPOTHESIS_PROFILE=explore`` draws fresh random examples to hunt for new bugs.
"""

import os
import shutil
import subprocess
from pathlib import Path

import papermill.translators  # noqa: F401  (imported once here: its imports start processes)
import pytest
from hypothesis import HealthCheck, settings

from clv.data.datasets import _lifetimes_dir
from clv.errors import UsageError

settings.register_profile(
    "deterministic",
    derandomize=True,
    database=None,  # no examples replayed from earlier runs: order and history do not matter
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],  # a loaded machine is not a failure
    print_blob=True,
)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deterministic"))


@pytest.fixture(autouse=True)
def _fast_tests_start_no_process(request, monkeypatch):
    """``make check`` runs the tests not marked ``slow`` or ``spark``: they start no process
    (no kernel, no command, no browser). One that does fails here, naming the marker."""
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("spark"):
        return

    class Refused(subprocess.Popen):
        def __init__(self, args, *rest, **kwargs):
            raise AssertionError(f"{request.node.nodeid} starts {args!r}: mark it slow")

    monkeypatch.setattr(subprocess, "Popen", Refused)


@pytest.fixture(scope="session")
def lifetimes_dir() -> Path:
    return _lifetimes_dir()


@pytest.fixture(scope="session")
def shop():
    """A 4,000-customer synthetic shop (channels, loyalty, products, margin) and its truth."""
    from clv.data.datasets import synthetic_shop

    return synthetic_shop(4_000, seed=11)


@pytest.fixture(scope="session")
def steady_shop():
    """600 customers buying every 20-60 days (a fixed gap each) over 500 days until the
    observation end 2025-05-14: nobody visibly drops out (the ``no_dropout_seen`` data)."""
    import datetime as dt

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(1)
    start = dt.date(2024, 1, 1)
    rows = []
    for i in range(600):
        first, gap = int(rng.integers(0, 100)), int(rng.integers(20, 60))
        rows += [
            (f"c{i}", start + dt.timedelta(days=d), float(rng.uniform(10, 50)))
            for d in range(first, 500, gap)
        ]
    return pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")


@pytest.fixture(scope="session")
def shop_scored(shop):
    """The shop's RFM summary (weeks) and the scores of a model fitted on it (12 months)."""
    from clv.data.rfm import rfm_summary
    from clv.models.fitting import fit

    summary = rfm_summary(shop[0], time_unit="W")
    model = fit(summary)
    return summary, model, model.score(summary, horizon=12)


@pytest.fixture(scope="session")
def cdnow_calibration():
    """CDNOW sample: calibration summary (weeks, end 1997-09-30) with the 39-week holdout."""
    from clv.data.datasets import CDNOW_CALIBRATION_END, cdnow
    from clv.data.rfm import calibration_holdout

    return calibration_holdout(
        cdnow(),
        calibration_end=CDNOW_CALIBRATION_END,
        observation_end="1998-06-30",
        time_unit="W",
    )


@pytest.fixture(scope="session")
def cdnow_model(cdnow_calibration):
    """BG/NBD + Gamma-Gamma fitted (fast engine) on the CDNOW calibration summary."""
    from clv.models.fitting import fit

    return fit(cdnow_calibration)


MALICIOUS_CHANNEL = "<script>alert(1)</script>"
"""A channel name that must show up as text, never as markup, in an HTML report."""


@pytest.fixture(scope="session")
def report_runs(tmp_path_factory):
    """Both report notebooks run once through papermill on a small synthetic shop (1,000
    customers, all optional columns, one channel renamed to a script tag), in one out dir."""
    import polars as pl

    from clv.data.datasets import synthetic_shop
    from clv.report.runner import run_report

    root = tmp_path_factory.mktemp("reports")
    tx, _ = synthetic_shop(1_000, seed=5)
    tx = tx.with_columns(
        pl.col("channel").replace({"paid_social": MALICIOUS_CHANNEL}),
        pl.col("order_id").alias("order_no"),
    ).drop("order_id")
    data = root / "shop.csv"
    tx.write_csv(data)
    columns = {
        "order_col": "order_no",
        "channel_col": "channel",
        "product_col": "product",
        "loyalty_col": "loyalty",
        "margin_col": "margin",
    }
    out = root / "out"
    value = run_report(
        data,
        notebook="customer_value",
        parameters=columns | {"horizon": "6", "tier_cuts": "[0.1, 0.8]"},
        out_dir=out,
        progress=False,
    )
    loyalty = run_report(
        data,
        notebook="loyalty_review",
        parameters=columns | {"milestones": "[3, 6]", "launch_date": "2023-07-01"},
        out_dir=out,
        progress=False,
    )
    return {
        "data": data,
        "out": out,
        "customer_value": value,
        "loyalty_review": loyalty,
        "columns": columns,
        "root": root,
    }


@pytest.fixture(autouse=True)
def _close_figures():
    """Each test's pyplot figures are closed after it (plots make them when given no ax)."""
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


# ---- Spark (the tests marked spark) ---------------------------------------------------


@pytest.fixture(scope="session")
def cs():
    """The Spark engine module, with one local session for the whole run."""
    why = None
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        why = "no Java runtime"
    try:
        from clv.engines import spark
    except UsageError as e:
        why = str(e)
    if why:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {why}")
        pytest.skip(f"not in CI (CI unset) and {why}")
    session = spark.spark_session(master="local[2]", conf={"spark.sql.shuffle.partitions": "2"})
    yield spark
    session.stop()


@pytest.fixture(scope="session")
def spark_shapes(shop, steady_shop, tmp_path_factory) -> dict[str, tuple[Path, list[str]]]:
    """CDNOW; the shop with order ids, margins and loyalty flags, observed to 2024-06-30
    (rows after it); the steady shop three weeks after its last day, whose model sees no
    dropout (the at-risk list by recency): each a CSV file and the options a user passes."""
    from clv.data.datasets import cdnow

    folder = tmp_path_factory.mktemp("spark_shapes")
    cdnow().write_csv(folder / "cdnow.csv")
    shop[0].select("customer_id", "date", "amount", "order_id", "margin", "loyalty").write_csv(
        folder / "shop.csv"
    )
    steady_shop.write_csv(folder / "steady.csv")
    shop_options = ["--order-col", "order_id", "--margin-col", "margin", "--loyalty-col", "loyalty"]
    overdue = ["--at-risk-overdue-gaps", "1"]  # silent for more than one usual gap
    return {
        "cdnow": (folder / "cdnow.csv", []),
        "shop": (folder / "shop.csv", [*shop_options, "--observation-end", "2024-06-30"]),
        "steady": (folder / "steady.csv", ["--observation-end", "2025-06-05", *overdue]),
    }
