"""The frequency/recency matrices: what the model expects of a customer, and whether it is
still alive, for every frequency and recency at one age (lifetimes'
``plot_frequency_recency_matrix`` and ``plot_probability_alive_matrix``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import numpy as np
import polars as pl

from clv.data.period import UNIT_NAMES
from clv.errors import UsageError
from clv.plots.source import fitted, frame_of
from clv.plots.theme import new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def _grid(
    summary: pl.DataFrame | None, max_frequency: int | None, max_recency: int | None
) -> pl.DataFrame:
    """Every (frequency, recency) of 0..``max_frequency`` and 0..``max_recency``, at the age
    ``T = max_recency``; the maxima default to the summary's largest frequency and ``T``."""
    if summary is None and (max_frequency is None or max_recency is None):
        raise UsageError("pass the summary, or both max_frequency= and max_recency=")
    if max_frequency is None:
        max_frequency = int(cast(float, cast(pl.DataFrame, summary)["frequency"].max()))
    if max_recency is None:
        max_recency = int(cast(float, cast(pl.DataFrame, summary)["T"].max()))
    if max_frequency < 0 or max_recency < 1:
        raise UsageError("max_frequency must be >= 0 and max_recency >= 1 (model time units)")
    f, r = np.meshgrid(np.arange(max_frequency + 1), np.arange(max_recency + 1), indexing="ij")
    return pl.DataFrame(
        {"frequency": f.ravel(), "recency": r.ravel().astype(float), "T": float(max_recency)}
    )


def frequency_recency_matrix_frame(
    model: ClvModel | GroupedClvModel,
    summary: pl.DataFrame | None = None,
    *,
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: int | None = None,
) -> pl.DataFrame:
    """Expected purchases in the next ``t`` by frequency and recency, at the age ``max_recency``.

    Parameters
    ----------
    model
        A fitted model (a grouped one's pooled model).
    summary
        The RFM summary the maxima default to (its largest ``frequency`` and ``T``, as
        lifetimes takes them from the model's data).
    t
        Length of the future period, in the model's time unit.
    max_frequency, max_recency
        The grid: frequencies 0..max_frequency (repeat purchases), recencies 0..max_recency
        (model time units, whole), every customer of age ``T = max_recency``.

    Returns
    -------
    pl.DataFrame
        ``frequency``, ``recency``, ``T`` and ``expected_purchases`` (count in the next ``t``):
        lifetimes' matrix, one row per cell, in the model's ``time_unit``.
    """
    one = fitted(model)
    grid = _grid(summary, max_frequency, max_recency)
    value = one.predict_purchases(t, grid["frequency"], grid["recency"], grid["T"])
    return grid.with_columns(
        expected_purchases=pl.Series(np.asarray(value, dtype=float)),
        t=pl.lit(float(t)),
        time_unit=pl.lit(one.time_unit),
    )


def probability_alive_matrix_frame(
    model: ClvModel | GroupedClvModel,
    summary: pl.DataFrame | None = None,
    *,
    max_frequency: int | None = None,
    max_recency: int | None = None,
) -> pl.DataFrame:
    """P(alive) by frequency and recency at the age ``max_recency``: lifetimes'
    ``conditional_probability_alive_matrix``, one row per cell (``frequency``, ``recency``,
    ``T``, ``p_alive``); arguments as :func:`frequency_recency_matrix_frame`'s."""
    one = fitted(model)
    grid = _grid(summary, max_frequency, max_recency)
    value = one.predict_p_alive(grid["frequency"], grid["recency"], grid["T"])
    return grid.with_columns(
        p_alive=pl.Series(np.asarray(value, dtype=float)), time_unit=pl.lit(one.time_unit)
    )


def _draw(frame: pl.DataFrame, value: str, ax: Axes | None, cmap: str, label: str) -> Axes:
    fig, ax = new_axes(ax, (6.0, 4.8), colorbar=True)
    freqs = np.sort(frame["frequency"].unique().to_numpy())
    recs = np.sort(frame["recency"].unique().to_numpy())
    z = np.full((freqs.size, recs.size), np.nan)
    z[
        np.searchsorted(freqs, frame["frequency"].to_numpy()),
        np.searchsorted(recs, frame["recency"].to_numpy()),
    ] = frame[value].to_numpy()
    extent = (recs[0] - 0.5, recs[-1] + 0.5, freqs[0] - 0.5, freqs[-1] + 0.5)
    im = ax.imshow(
        z, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest"
    )
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=label)
    unit = str(frame["time_unit"][0]) if "time_unit" in frame.columns else ""
    ax.set_xlabel(f"recency ({UNIT_NAMES.get(unit, unit or 'model time units')})")
    ax.set_ylabel("frequency (repeat purchases)")
    return ax


@themed
def frequency_recency_matrix(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    summary: pl.DataFrame | None = None,
    *,
    t: float = 1.0,
    max_frequency: int | None = None,
    max_recency: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of expected purchases by frequency and recency
    (:func:`frequency_recency_matrix_frame`, or that frame given instead of the model).

    ``clv.plots.frequency_recency_matrix(model, summary)`` draws lifetimes' matrix; returns
    the Axes (``ax`` when given).
    """
    frame = frame_of(
        model_or_frame,
        frequency_recency_matrix_frame,
        summary,
        t=t,
        max_frequency=max_frequency,
        max_recency=max_recency,
    )
    unit = str(frame["time_unit"][0]) if "time_unit" in frame.columns else ""
    span = float(frame["t"][0]) if "t" in frame.columns else t
    units = UNIT_NAMES.get(unit, "time units")
    label = (
        f"purchases in the next {units[:-1]}"
        if span == 1
        else f"purchases in the next {span:g} {units}"
    )
    ax = _draw(frame, "expected_purchases", ax, "viridis", label)
    ax.set_title("Expected purchases")
    return ax


@themed
def probability_alive_matrix(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    summary: pl.DataFrame | None = None,
    *,
    max_frequency: int | None = None,
    max_recency: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Heatmap of P(alive) by frequency and recency (:func:`probability_alive_matrix_frame`,
    or that frame given instead of the model); returns the Axes."""
    frame = frame_of(
        model_or_frame,
        probability_alive_matrix_frame,
        summary,
        max_frequency=max_frequency,
        max_recency=max_recency,
    )
    ax = _draw(frame, "p_alive", ax, "magma", "P(alive) (probability)")
    ax.set_title("P(alive)")
    return ax
