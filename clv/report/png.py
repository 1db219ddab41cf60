"""A matplotlib figure as PNG bytes, laid out and drawn once."""

from __future__ import annotations

import io
from typing import Any

from clv.plots.theme import FIGURE_DPI, fit_labels

PNG_OPTIONS = {"compress_level": 3}
"""zlib level of the figures' PNG: as small as the default 6 for these flat-coloured figures,
in about 60 % of the time (9 ms instead of 15 for 600 x 400 pixels)."""


def figure_png(fig: Any) -> bytes:
    """``fig`` as PNG bytes at :data:`FIGURE_DPI`, laid out and drawn once in the common case.

    Titles and axis labels are wrapped to the room they have
    (:func:`clv.plots.theme.fit_labels`), then the figure is drawn on its own Agg canvas and
    the pixels encoded: one layout and one drawing, where ``savefig`` lays out and draws twice.
    When one still reaches past the figure's edges once laid out, it is wrapped again and the
    figure redrawn; any text still outside (a long bar label) makes the image grow to hold
    everything drawn (``bbox_inches="tight"``), as every figure was saved before.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.image import imsave

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    if fig.dpi != FIGURE_DPI:
        fig.set_dpi(FIGURE_DPI)
    fit_labels(fig, canvas.get_renderer(), laid_out=False)
    canvas.draw()
    outside = _texts_outside(fig)
    if outside and fit_labels(fig, canvas.get_renderer()):
        canvas.draw()
        outside = _texts_outside(fig)
    buf = io.BytesIO()
    if outside:
        fig.savefig(buf, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    else:
        imsave(buf, canvas.buffer_rgba(), format="png", dpi=FIGURE_DPI, pil_kwargs=PNG_OPTIONS)
    return buf.getvalue()


def _texts_outside(fig: Any) -> bool:
    """Whether anything of the last drawing of ``fig`` (titles, axis and tick labels, legends,
    colorbars, texts) reaches past its edges by more than half a pixel."""
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    edge, slack = fig.bbox_inches, 0.5 / fig.dpi
    return bool(
        min(box.x0 - edge.x0, box.y0 - edge.y0) < -slack
        or max(box.x1 - edge.x1, box.y1 - edge.y1) > slack
    )


def figure_title(fig: Any) -> str:
    """The figure's title (its suptitle, else its first axes' title), for its ``alt`` text."""
    sup = getattr(fig, "_suptitle", None)
    if sup is not None and sup.get_text():
        return sup.get_text()
    for ax in fig.get_axes():
        if ax.get_title():
            return ax.get_title()
    return "figure"
