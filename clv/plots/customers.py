"""The customers one by one and as a crowd: one customer's P(alive) over their history
(lifetimes' ``plot_history_alive``), and the spread of repeat purchases, P(alive) and CLV."""

from __future__ import annotations

import datetime as dt
import math
from typing import TYPE_CHECKING, cast

import numpy as np
import polars as pl

from clv.analysis.distributions import (
    CLV_BINS,
    as_clv_histogram,
    as_p_alive_histogram,
    value_counts,
)
from clv.data.rfm import TIME_UNIT_DAYS, as_date
from clv.errors import DataError
from clv.plots.source import fitted, frame_of
from clv.plots.theme import PALETTE, date_axis, money_label, new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def history_alive_frame(
    model: ClvModel | GroupedClvModel,
    transactions: pl.DataFrame,
    customer_id: str,
    *,
    observation_end: str | dt.date | None = None,
) -> pl.DataFrame:
    """P(alive) of one customer on every day from the first purchase to ``observation_end``.

    On day ``d`` the customer's (x, t_x, T) are those an RFM summary ending on ``d`` would
    hold (purchase days up to ``d``; ages in the model's time unit), scored by the purchase
    model: P(alive) rises to its maximum at each purchase and decays between them.

    Parameters
    ----------
    transactions
        Canonical transactions (``customer_id``, ``date``), e.g. :func:`clv.read_transactions`.
    customer_id
        The customer (as in the ``customer_id`` column).
    observation_end
        Last day (default: the last transaction date of anyone).

    Returns
    -------
    pl.DataFrame
        ``date``, ``frequency``, ``recency``, ``T`` (model time units), ``purchase`` (a
        purchase on that day) and ``p_alive``.
    """
    one = fitted(model)
    ids = transactions["customer_id"].cast(pl.String)
    days = transactions.filter(ids == str(customer_id))["date"].unique().sort()
    if days.len() == 0:
        raise DataError(f"transactions: no customer {customer_id!r} in column customer_id")
    if observation_end is not None:
        end = as_date(observation_end)
    else:
        end = cast(dt.date, transactions["date"].max())
    first = cast(dt.date, days[0])
    if end < first:
        raise DataError(
            f"observation_end={end} is before customer {customer_id!r}'s first purchase {first}"
        )
    unit_days = TIME_UNIT_DAYS[one.time_unit]
    bought = np.array([(d - first).days for d in days.to_list() if d <= end])
    age = np.arange((end - first).days + 1)
    n_by_day = np.searchsorted(bought, age, side="right")  # purchase days up to each day
    x = (n_by_day - 1).astype(float)
    tx = bought[n_by_day - 1] / unit_days
    T = age / unit_days
    return pl.DataFrame(
        {
            "date": pl.date_range(first, end, interval="1d", eager=True),
            "frequency": x.astype(np.int64),
            "recency": tx,
            "T": T,
            "purchase": np.isin(age, bought),
            "p_alive": np.asarray(one.predict_p_alive(x, tx, T), dtype=float),
        }
    )


@themed
def history_alive(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    transactions: pl.DataFrame | None = None,
    customer_id: str | None = None,
    *,
    observation_end: str | dt.date | None = None,
    ax: Axes | None = None,
) -> Axes:
    """P(alive) of one customer day by day, purchases marked (:func:`history_alive_frame`,
    or that frame); returns the Axes."""
    frame = frame_of(
        model_or_frame,
        history_alive_frame,
        transactions,
        customer_id,
        observation_end=observation_end,
    )
    _, ax = new_axes(ax, (8.0, 3.5))
    ax.plot(frame["date"].to_list(), frame["p_alive"].to_numpy(), label="P(alive)")
    bought = frame.filter(pl.col("purchase"))
    ax.scatter(bought["date"].to_list(), bought["p_alive"].to_numpy(), marker="o", label="purchase")
    date_axis(ax)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("date")
    ax.set_ylabel("P(alive) (probability)")
    ax.set_title("P(alive) history")
    ax.legend(loc="lower left")
    return ax


@themed
def frequency_histogram(
    summary: pl.DataFrame, *, max_frequency: int = 20, ax: Axes | None = None
) -> Axes:
    """How many customers made 0, 1, 2, ... repeat purchases (the last bar is ``max+``), of
    an RFM summary or of its counts (``frequency``, ``customers``:
    :func:`clv.analysis.distributions.value_counts`)."""
    _, ax = new_axes(ax)
    counts = summary if "customers" in summary.columns else value_counts(summary, "frequency")
    f = np.minimum(counts["frequency"].to_numpy(), max_frequency)
    bars = np.bincount(f, weights=counts["customers"].to_numpy(), minlength=max_frequency + 1)
    ax.bar(np.arange(len(bars)), bars, color=PALETTE[0])
    ax.set_xlabel(f"repeat purchases (count; {max_frequency} means {max_frequency} or more)")
    ax.set_ylabel("customers (count)")
    ax.set_title("Repeat purchases")
    return ax


@themed
def p_alive_distribution(scores: pl.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Histogram of P(alive), the probability each customer is still active, of the scores
    or of their :func:`clv.analysis.distributions.p_alive_histogram`."""
    _, ax = new_axes(ax)
    bins = as_p_alive_histogram(scores)
    edges = [*bins["low"].to_list(), *bins["high"].tail(1).to_list()]
    counts = bins["customers"].to_numpy()
    ax.hist(edges[:-1], edges, weights=counts, color=PALETTE[3])
    ax.set_xlabel("P(alive) (probability)")
    ax.set_ylabel("customers (count)")
    ax.set_title("P(alive)")
    return ax


@themed
def clv_distribution(
    scores: pl.DataFrame,
    *,
    column: str = "clv",
    currency: str = "",
    horizon_label: str = "the horizon",
    ax: Axes | None = None,
) -> Axes:
    """Histogram of predicted CLV (up to the 99th percentile) with median and mean, of the
    scores' ``column`` or of their :func:`clv.analysis.distributions.clv_histogram`."""
    _, ax = new_axes(ax)
    bins = as_clv_histogram(scores, column=column)
    if bins.height:
        edges = [*bins["low"].to_list(), *bins["high"].tail(1).to_list()]
        counts = bins["customers"].to_numpy()
        med, mean = float(bins["median"][0]), float(bins["mean"][0])
    else:
        edges, counts = list(np.linspace(0.0, 1.0, CLV_BINS + 1)), np.zeros(CLV_BINS)
        med = mean = math.nan
    ax.hist(edges[:-1], edges, weights=counts, color=PALETTE[0])
    ax.axvline(med, color=PALETTE[2], lw=2, label=f"median {med:,.0f}")
    ax.axvline(mean, color=PALETTE[1], lw=2, ls="--", label=f"mean {mean:,.0f}")
    ax.set_xlabel(f"predicted CLV over {horizon_label} {money_label(currency)}; top 1 % not shown")
    ax.set_ylabel("customers (count)")
    ax.set_title("Predicted CLV")
    ax.legend()
    return ax
