"""A model fitted on the calibration period against what customers did next: holdout
purchases by calibration frequency, and repeat purchases tracked over calendar time, summed
and per period (lifetimes' ``plot_calibration_purchases_vs_holdout_purchases``,
``plot_cumulative_transactions`` and ``plot_incremental_transactions``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from clv.analysis import validation
from clv.data.rfm import DateLike
from clv.plots.source import fitted, frame_of
from clv.plots.theme import PALETTE, SMALLEST_FONT_PT, date_axis, new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def calibration_purchases_vs_holdout_frame(
    model: ClvModel | GroupedClvModel,
    calibration_holdout: pl.DataFrame,
    *,
    max_frequency: int = 7,
) -> pl.DataFrame:
    """Mean holdout purchases per customer, actual and predicted, by calibration frequency.

    ``calibration_holdout``: :func:`clv.calibration_holdout`, in the unit of ``model``, which
    was fitted on its calibration columns. Returns
    :func:`clv.analysis.validation.holdout_by_frequency` (``frequency_bin``, ``customers``,
    ``actual_purchases``, ``predicted_purchases``, and the same for spend, in currency).
    """
    predictions = validation.holdout_predictions(calibration_holdout, fitted(model))
    return validation.holdout_by_frequency(predictions, max_frequency=max_frequency)


@themed
def calibration_purchases_vs_holdout(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    calibration_holdout: pl.DataFrame | None = None,
    *,
    max_frequency: int = 7,
    ax: Axes | None = None,
) -> Axes:
    """Lines of mean holdout purchases, actual and predicted, by calibration frequency
    (:func:`calibration_purchases_vs_holdout_frame`, or that frame); returns the Axes."""
    frame = frame_of(
        model_or_frame,
        calibration_purchases_vs_holdout_frame,
        calibration_holdout,
        max_frequency=max_frequency,
    )
    _, ax = new_axes(ax)
    labels = [str(v) for v in frame["frequency_bin"].to_list()]
    x = np.arange(len(labels))
    ax.plot(x, frame["actual_purchases"].to_numpy(), "o-", color=PALETTE[1], label="actual")
    ax.plot(x, frame["predicted_purchases"].to_numpy(), "s--", color=PALETTE[0], label="model")
    ax.set_xticks(x, labels)
    ax.set_xlabel("calibration repeat purchases (count)")
    ax.set_ylabel("holdout purchases per customer")
    ax.set_title("Holdout purchases")
    ax.legend()
    return ax


def cumulative_transactions_frame(
    model: ClvModel | GroupedClvModel,
    transactions: pl.DataFrame,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    step: str = "W",
) -> pl.DataFrame:
    """Repeat purchases of everyone to date, actual and expected, at the end of each week
    (``step="D"``: day) of calibration and holdout (FHL 2005a Figure 2).

    ``model`` is fitted on the calibration period of ``transactions``. Returns ``date``,
    ``period`` (``"calibration"`` / ``"holdout"``), ``actual_cumulative`` and
    ``expected_cumulative`` (count) of :func:`clv.analysis.validation.tracking`.
    """
    return validation.tracking(
        transactions,
        fitted(model),
        calibration_end=calibration_end,
        observation_end=observation_end,
        step=step,
    ).select("date", "period", "actual_cumulative", "expected_cumulative")


def incremental_transactions_frame(
    model: ClvModel | GroupedClvModel,
    transactions: pl.DataFrame,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    step: str = "W",
) -> pl.DataFrame:
    """Repeat purchases of everyone within each week (``step="D"``: day), actual and
    expected: ``date`` (the period's end), ``period``, ``actual`` and ``expected`` (count) of
    :func:`clv.analysis.validation.tracking`; arguments as
    :func:`cumulative_transactions_frame`'s."""
    return validation.tracking(
        transactions,
        fitted(model),
        calibration_end=calibration_end,
        observation_end=observation_end,
        step=step,
    ).select("date", "period", "actual", "expected")


def _tracking(frame: pl.DataFrame, kind: str, ax: Axes | None) -> Axes:
    _, ax = new_axes(ax)
    dates = frame["date"].to_list()
    suffix = "_cumulative" if kind == "cumulative" else ""
    ax.plot(dates, frame[f"actual{suffix}"].cast(pl.Float64), color=PALETTE[1], label="actual")
    ax.plot(
        dates, frame[f"expected{suffix}"].cast(pl.Float64), "--", color=PALETTE[0], label="model"
    )
    calibration = frame.filter(pl.col("period") == "calibration")["date"]
    if calibration.len() and calibration.len() < frame.height:
        end = calibration.max()
        ax.axvline(end, color=PALETTE[6], lw=1, ls=":")  # type: ignore[arg-type]
        ax.annotate(
            "holdout",
            (end, 1),
            xycoords=("data", "axes fraction"),
            xytext=(4, -14),
            textcoords="offset points",
            fontsize=SMALLEST_FONT_PT,
            color=PALETTE[6],
        )
    date_axis(ax)
    ax.set_xlabel("date")
    step = "day" if frame.height > 1 and (dates[1] - dates[0]).days == 1 else "week"
    ax.set_ylabel(
        "repeat purchases, cumulative (count)" if suffix else f"repeat purchases per {step}"
    )
    ax.set_title("Cumulative repeat purchases" if suffix else "Repeat purchases")
    ax.legend(loc="upper left")
    return ax


@themed
def cumulative_transactions(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    transactions: pl.DataFrame | None = None,
    *,
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    step: str = "W",
    ax: Axes | None = None,
) -> Axes:
    """Cumulative repeat purchases, actual and expected, with the calibration end marked
    (:func:`cumulative_transactions_frame`, or that frame); returns the Axes."""
    frame = frame_of(
        model_or_frame,
        cumulative_transactions_frame,
        transactions,
        calibration_end=calibration_end,
        observation_end=observation_end,
        step=step,
    )
    return _tracking(frame, "cumulative", ax)


@themed
def incremental_transactions(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    transactions: pl.DataFrame | None = None,
    *,
    calibration_end: DateLike | None = None,
    observation_end: DateLike | None = None,
    step: str = "W",
    ax: Axes | None = None,
) -> Axes:
    """Repeat purchases per week (or day), actual and expected, with the calibration end
    marked (:func:`incremental_transactions_frame`, or that frame); returns the Axes."""
    frame = frame_of(
        model_or_frame,
        incremental_transactions_frame,
        transactions,
        calibration_end=calibration_end,
        observation_end=observation_end,
        step=step,
    )
    return _tracking(frame, "incremental", ax)
