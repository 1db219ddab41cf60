"""Model views for the data scientist: P(alive) over one customer's history, and the
frequency/recency grid of hypothetical customers behind the P(alive) and purchase matrices."""

from __future__ import annotations

import datetime as dt
from typing import cast

import numpy as np
import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS, as_date, time_unit_of
from clv.errors import DataError
from clv.models.model import ClvModel


def p_alive_history(
    transactions: pl.DataFrame,
    customer_id: str,
    model: ClvModel,
    *,
    observation_end: str | dt.date | None = None,
) -> pl.DataFrame:
    """P(alive) of one customer on every day from the first purchase to ``observation_end``.

    On day ``d`` the customer's (x, t_x, T) are those an RFM summary ending on ``d`` would
    hold (purchase days up to ``d``; ages in the model's time unit), scored by ``model``'s
    purchase model: P(alive) rises to its maximum at each purchase and decays between
    them. lifetimes' ``plot_history_alive`` does this on pandas; here it is a frame.

    Parameters
    ----------
    transactions
        Canonical transactions (``customer_id``, ``date``), e.g. from
        :func:`clv.data.io.read_transactions`.
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
    unit_days = TIME_UNIT_DAYS[model.time_unit]
    bought = np.array([(d - first).days for d in days.to_list() if d <= end])
    age = np.arange((end - first).days + 1)
    n_by_day = np.searchsorted(bought, age, side="right")  # purchase days up to each day
    x = (n_by_day - 1).astype(float)
    tx = bought[n_by_day - 1] / unit_days
    T = age / unit_days
    alive = model.spec.p_alive(model.purchase, x, tx, T)
    dates = pl.date_range(first, end, interval="1d", eager=True)
    return pl.DataFrame(
        {
            "date": dates,
            "frequency": x.astype(np.int64),
            "recency": tx,
            "T": T,
            "purchase": np.isin(age, bought),
            "p_alive": alive,
        }
    )


def frequency_recency_grid(summary: pl.DataFrame, *, points: int = 30) -> pl.DataFrame:
    """Hypothetical customers for the frequency/recency matrices: every frequency from 0 to
    the 99th percentile, recencies from 0 to the longest ``T``, all observed for that ``T``.

    Returns a summary-like frame (``customer_id``, ``frequency``, ``recency``, ``T``,
    ``monetary_value``) to pass to ``ClvModel.score``.
    """
    t_max = float(cast(float, summary["T"].max()))
    f_max = max(int(summary["frequency"].quantile(0.99) or 1), 1)
    recency = np.minimum(np.round(np.linspace(0.0, t_max, points), 6), t_max)
    mv = float(cast(float, summary.filter(pl.col("frequency") > 0)["monetary_value"].mean()) or 1.0)
    # a customer without repeat purchases has recency 0 by definition: one row for frequency 0
    rows = [(f, float(r)) for f in range(f_max + 1) for r in recency if f > 0 or r == 0.0]
    grid = pl.DataFrame(rows, schema={"frequency": pl.Int64, "recency": pl.Float64}, orient="row")
    return grid.with_columns(
        customer_id=pl.format("grid-{}-{}", "frequency", pl.int_range(pl.len())),
        T=pl.lit(t_max),
        monetary_value=pl.when(pl.col("frequency") > 0).then(mv).otherwise(0.0),
        time_unit=pl.lit(time_unit_of(summary), dtype=pl.Enum(list(TIME_UNIT_DAYS))),
    ).select("customer_id", "frequency", "recency", "T", "monetary_value", "time_unit")
