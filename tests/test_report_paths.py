"""One notebook, one code path: by hand, by papermill and by ``clv report`` it gives the same
``kpis.json``, on every data shape of :mod:`tests.shapes`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from clv import params
from clv.analysis.pipeline import analyze
from clv.report.parameters import notebook_path
from clv.report.runner import run_report
from tests import shapes
from tests.test_matrix import run_cells

pytestmark = pytest.mark.slow

OPTIONS = {"cdnow": {}, "shop": {"by": "channel", "interval": 0.9}, "no_dropout": {}}
"""What each shape's report run adds to the shape's own options (the shop: a model per channel,
the case 0.2 crashed on)."""


@pytest.fixture(scope="module", params=sorted(OPTIONS))
def shape_run(request, tmp_path_factory) -> dict:
    """The shape's data file and one ``clv report`` run of customer_value on it."""
    folder = tmp_path_factory.mktemp(request.param)
    shape = shapes.make(request.param, folder)
    options = {k: v for k, v in shape.parameters.items() if k != "data"} | OPTIONS[shape.name]
    run = run_report(shape.data, parameters=options, out_dir=folder / "runs", progress=False)
    return {"shape": shape, "data": shape.data, "options": options, "run": run, "folder": folder}


def _kpis(folder: Path) -> dict:
    return json.loads((folder / "kpis.json").read_text())


def test_clv_report_kpis_equal_the_librarys(shape_run) -> None:
    options = params.validate(shape_run["options"])
    analysis = analyze(shape_run["data"], **options)
    assert _kpis(shape_run["run"]) == json.loads(json.dumps(analysis.kpis, default=str))
    manifest = json.loads((shape_run["run"] / "manifest.json").read_text())
    assert manifest["status"] == "succeeded"


def test_papermill_by_itself_gives_the_same_kpis(shape_run) -> None:
    """``papermill notebooks/customer_value.ipynb out.ipynb -p data tx.csv -p channel_costs
    '{"search": 20}'``: papermill passes text; the notebook reads it by the spec."""
    out = shape_run["folder"] / "by-papermill"
    out.mkdir()
    args = ["-p", "run_dir", str(out)]
    if shape_run["data"] is not None:
        args += ["-p", "data", shape_run["data"]]
    for name, value in shape_run["options"].items():
        text = json.dumps(value) if not isinstance(value, str) else value
        args += ["-p", name, text]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "papermill",
            str(notebook_path("customer_value")),
            str(out / "nb.ipynb"),
            *args,
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _kpis(out) == _kpis(shape_run["run"])


def test_the_notebook_by_hand_gives_the_same_kpis(shape_run) -> None:
    """Its cells run as a person runs them, top to bottom in one Python session."""
    out = shape_run["folder"] / "by-hand"
    out.mkdir()
    values = params.validate(shape_run["options"], notebook="customer_value")
    ns = run_cells("customer_value", {"data": shape_run["data"], **values}, run_dir=out)
    assert ns["analysis"].kpis is not None
    assert _kpis(out) == _kpis(shape_run["run"])
