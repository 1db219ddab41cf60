"""The house theme: seaborn's look written out, titles placed as before, wrapped to fit."""

import subprocess
import sys

import numpy as np
import pytest
import test_plots
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from test_plots import CASES

from clv.plots import theme


def test_the_theme_is_seaborns_whitegrid_notebook_with_the_house_sizes() -> None:
    sns = pytest.importorskip("seaborn")
    from cycler import cycler

    expected = {
        **sns.axes_style("whitegrid"),
        **sns.plotting_context("notebook"),
        "axes.prop_cycle": cycler(color=theme.PALETTE),
        "figure.figsize": theme.FIGURE_SIZE,
        "figure.dpi": 100,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titley": 1.0,
        "axes.labelsize": 11,
        "xtick.labelsize": 11,
        "ytick.labelsize": 11,
        "legend.fontsize": 11,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
        "font.size": 11,
    }
    del expected["image.cmap"]  # seaborn's rocket: every heatmap names its colormap
    assert theme.theme() == expected


def test_drawing_a_figure_imports_neither_seaborn_nor_scipy_stats() -> None:
    code = (
        "import sys, polars as pl\n"
        "import clv.plots as plots\n"
        "from clv.report import png\n"
        "ax = plots.p_alive_distribution(pl.DataFrame({'p_alive': [0.1, 0.9]}))\n"
        "png.figure_png(ax.figure)\n"
        "print(sorted(m for m in ('seaborn', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _pixels(fig: Figure) -> np.ndarray:
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_fixed_title_position_draws_the_same_pixels_as_automatic_placement(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(test_plots, "RNG", np.random.default_rng(7))  # the same data twice
    fixed = _pixels(CASES[name]().get_figure(root=True))
    house = theme.theme()
    monkeypatch.setattr(theme, "theme", lambda: {**house, "axes.titley": None})
    monkeypatch.setattr(test_plots, "RNG", np.random.default_rng(7))
    automatic = _pixels(CASES[name]().get_figure(root=True))
    assert fixed.shape == automatic.shape and np.array_equal(fixed, automatic)


def _titled(title: str, xlabel: str = "x", ylabel: str = "y") -> tuple[Figure, FigureCanvasAgg]:
    fig = theme.themed(lambda: theme.new_axes(None)[0])()
    fig.axes[0].set(title=title, xlabel=xlabel, ylabel=ylabel)
    return fig, FigureCanvasAgg(fig)


def test_a_long_title_is_wrapped_to_the_room_it_has_and_a_short_one_left_alone() -> None:
    long = "Cumulative repeat purchases: total error -0.2% at the last day of the holdout"
    fig, canvas = _titled(long, long.lower(), "mean repeat order value (currency), log scale")
    renderer = canvas.get_renderer()
    assert fig.axes[0].title.get_window_extent(renderer).width > 600  # wider than the figure
    assert theme.fit_labels(fig, renderer, laid_out=False)
    canvas.draw()
    assert theme.fit_labels(fig, renderer) is False  # laid out, it already fits
    box, axes_box = fig.axes[0].title.get_window_extent(renderer), fig.axes[0].bbox
    assert box.x0 >= 0 and box.x1 <= 600
    assert abs(box.intervalx.mean() - axes_box.intervalx.mean()) < 1  # still centred on the axes
    assert fig.axes[0].get_title().replace("\n", " ") == long  # same words, only wrapped
    for label in (fig.axes[0].xaxis.label, fig.axes[0].yaxis.label):
        box = label.get_window_extent(renderer)
        assert "\n" in label.get_text() and box.x0 >= 0 and box.x1 <= 600
        assert box.y0 >= 0 and box.y1 <= 400
    fig, canvas = _titled("Short title")
    assert not theme.fit_labels(fig, canvas.get_renderer(), laid_out=False)
    assert fig.axes[0].get_title() == "Short title"
