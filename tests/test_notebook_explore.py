"""notebooks/explore.ipynb, the lifetimes quickstart done the clv way, runs top to bottom."""

import base64
import io

import nbformat
import pytest

from clv.report.parameters import NOTEBOOK_DIR


@pytest.mark.slow
def test_the_exploration_notebook_runs_and_draws_every_plot(tmp_path) -> None:
    import papermill as pm
    from PIL import Image

    out = tmp_path / "explore.ipynb"
    pm.execute_notebook(
        NOTEBOOK_DIR / "explore.ipynb", out, kernel_name="python3", progress_bar=False
    )
    cells = [c for c in nbformat.read(out, as_version=4).cells if c.cell_type == "code"]
    outputs = [o for c in cells for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o.data["image/png"] for o in outputs if "image/png" in o.get("data", {})]
    drawing = [c for c in cells if "clv.plots." in c.source and c.source.endswith(";")]
    assert len(images) == len(drawing) == 7  # one figure per plotting cell, none twice
    for png in images:
        width, height = Image.open(io.BytesIO(base64.b64decode(png))).size
        assert width > 300 and height > 200
    html = "".join(o.data.get("text/html", "") for o in outputs if "data" in o)
    assert "ClvModel: BG/NBD + Gamma-Gamma" in html and "clv Analysis" in html
