"""What a report shows: escaped, id-masked tables; headings and numbers as report text;
figures as PNG drawn once, the same pixels as ``savefig``."""

import base64
import io
import re

import numpy as np
import polars as pl
import pytest
import test_plots
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image
from test_plots import CASES

import clv.plots as plots
from clv.plots import theme
from clv.report import png, render
from tests.conftest import MALICIOUS_CHANNEL


def test_table_html_escapes_and_masks() -> None:
    frame = pl.DataFrame({"customer_id": ["0001"], "channel": [MALICIOUS_CHANNEL]})
    html = render.table_html(frame, id_salt="s")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "0001" not in html and render.mask_ids(["0001"], "s")[0] in html


def test_mask_ids_is_a_salted_sha256() -> None:
    import hashlib

    expected = "c-" + hashlib.sha256(b"s" + b"0001").hexdigest()[:16]
    assert render.mask_ids(["0001", None], "s").to_list() == [expected, None]
    assert render.mask_ids(["0001"], "t")[0] != expected


def test_headings_skip_code_fences() -> None:
    text = "## 1. Headline\n```\n# not a heading\n```\n### Detail ###\n#\n"
    assert render.headings(text) == [(2, "1. Headline"), (3, "Detail")]


def test_numbers_as_report_text() -> None:
    from clv.report.i18n import ENGLISH

    assert ENGLISH.percent(0.1234, 1) == "12.3%" and ENGLISH.percent(float("nan")) == "-"
    assert ENGLISH.value(1234567) == "1,234,567" and ENGLISH.value(True) == "yes"
    assert ENGLISH.value(2.5) == "2.500" and ENGLISH.value(1234.5) == "1,234.50"
    assert ENGLISH.value(None) == ""


def _png(fig: Figure, **options: object) -> np.ndarray:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=theme.FIGURE_DPI, **options)  # type: ignore[arg-type]
    return _pixels(buf.getvalue())


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def _reference_png(fig: Figure) -> np.ndarray:
    """The straightforward way: wrap the titles as the fast path does, then ``savefig``."""
    theme.fit_labels(fig, FigureCanvasAgg(fig).get_renderer(), laid_out=False)
    return _png(fig)


@pytest.mark.parametrize("name", sorted(set(CASES) - {"channel_quality"}))
def test_a_figure_drawn_once_has_the_pixels_savefig_draws(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_plots, "RNG", np.random.default_rng(7))
    fig = CASES[name]().get_figure(root=True)
    fast = _pixels(png.figure_png(fig))
    assert fast.shape[:2] == (fig.bbox.height, fig.bbox.width)  # every text fits: no regrowth
    monkeypatch.setattr(test_plots, "RNG", np.random.default_rng(7))
    assert np.array_equal(fast, _reference_png(CASES[name]().get_figure(root=True)))


def test_text_past_the_edge_grows_the_image_as_a_tight_savefig_does() -> None:
    fig = Figure(figsize=(6, 4))
    fig.add_subplot().plot([0, 1], [0, 1])
    fig.text(0.9, 0.5, "a label that runs far past the right edge of the figure")
    grown = _pixels(png.figure_png(fig))
    assert grown.shape[1] > fig.bbox.width
    assert np.array_equal(grown, _png(fig, bbox_inches="tight"))
    fig = plots.channel_quality(CASES_CHANNELS).get_figure(root=True)  # labels right of bars
    fig.set_size_inches(theme.PHONE_COLUMN_PX * 15.28 / 11 / 100, 4)  # a phone's drawing
    assert _pixels(png.figure_png(fig)).shape[1] == round(fig.bbox.width)  # they fit in it


def test_long_tick_labels_grow_the_image_instead_of_being_cut() -> None:
    """Tick labels count too: channel names on a bar chart's axis too long for tight layout to
    make room for (it warns and leaves them past the edge) grow the image, as a tight savefig
    does, instead of being cut."""
    fig, ax = theme.new_axes(None)
    ax.barh([f"affiliate partner network programme {i} " * 3 for i in range(5)], [1, 2, 3, 4, 5])
    with pytest.warns(UserWarning, match="Tight layout not applied"):
        image = _pixels(png.figure_png(fig))
    renderer = fig.canvas.get_renderer()
    assert min(t.get_window_extent(renderer).x0 for t in ax.get_yticklabels()) < 0
    assert image.shape[1] > 2 * fig.bbox.width  # the labels are in the image


CASES_CHANNELS = pl.DataFrame(
    {
        "channel": ["search", "social"],
        "share_good": [0.4, 0.1],
        "customers": [1_000_000, 30],
        "mean_clv": [40.0, 20.0],
    }
)


def test_a_shown_figure_records_its_size_title_and_smallest_text() -> None:
    shown: list[str] = []
    display = render.Display(mask_ids=False)
    display.html = shown.append  # type: ignore[method-assign]
    fig = CASES["frequency_histogram"]().get_figure(root=True)
    display.figure(fig)
    (markup,) = shown
    found = re.search(r'base64,([^"]+)" alt="([^"]*)" width="(\d+)"', markup)
    assert found is not None
    assert _pixels(base64.b64decode(found.group(1))).shape[1] == int(found.group(3)) == 1040
    assert found.group(2) == fig.axes[0].get_title()
    assert 'data-min-font-px="15.28"' in markup  # 11 pt at 100 dpi
    phone = re.search(
        r'<source media="([^"]+)" srcset="data:image/png;base64,([^"]+)" '
        r'width="(\d+)"',
        markup,
    )
    assert phone is not None and phone.group(1) == render.PHONE_MEDIA
    width = _pixels(base64.b64decode(phone.group(2))).shape[1]
    assert width == int(phone.group(3))
    assert 15.28 * theme.PHONE_COLUMN_PX / width >= 11.0  # tick text across a 390 px phone


def test_a_tables_head_says_how_long_the_whole_list_is():
    """A list kept where the data lives is shown by its head: the note counts the whole list
    (``rows``); without ``rows`` the frame's own height, as before."""
    from clv.report.html_table import table_html

    head = pl.DataFrame({"customer_id": [f"c{i}" for i in range(25)], "clv": [1.0] * 25})
    assert "first 10 of 1,234 rows" in table_html(head, max_rows=10, rows=1234)
    assert "first 25 of 1,234 rows" in table_html(head, rows=1234)
    assert "first 10 of 25 rows" in table_html(head, max_rows=10)
    assert "clv-more" not in table_html(head)
