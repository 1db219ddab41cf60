"""Who is at risk: high-value customers who are overdue by their own rhythm.

Two rules, chosen by what the model can see:

- ``"p_alive"``, when the model sees dropout: listed when P(alive) is at most a threshold and
  the value if they stay is high; customers almost surely gone (P(alive) below
  :data:`LOST_P_ALIVE`) are "lost" and kept apart.
- ``"recency"``, when it does not (P(alive) close to 1 for everyone): listed when silent for
  longer than ``k`` of their own usual gaps, ``k`` measured on the calibration/holdout split
  (:func:`overdue_threshold`).

Value at stake is always forward-looking, on the run's money basis: the value if the customer
stays (:func:`value_if_stays`) times the chance that they have gone. Never past revenue.
Customers whose net revenue is zero or below (full refunds) are never listed.

Frames and numbers only; :mod:`clv.report.sections` and :mod:`clv.report.first_page` word
them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, cast

import polars as pl

from clv.errors import DataError

AtRiskRule = Literal["p_alive", "recency"]
"""How the at-risk list is chosen: by P(alive) (the model's view) or by recency (time since
the last purchase in units of the customer's usual gap), see :func:`at_risk`."""

LOST_P_ALIVE = 0.05
"""A customer with P(alive) below this is "lost": shown apart, not on the at-risk list."""

DEFAULT_OVERDUE_GAPS = 3.0
"""``k`` of the recency rule when the holdout cannot tell (no split, or no ``k`` at which
fewer than half of the overdue customers bought again)."""

OVERDUE_GRID = tuple(1.0 + 0.25 * i for i in range(37))
"""The ``k`` tried by :func:`overdue_threshold`: 1, 1.25, ..., 10 usual gaps."""

MIN_OVERDUE_CUSTOMERS = 20
"""The fewest calibration customers beyond ``k`` gaps for the holdout to tell anything."""

RECENCY_COLUMNS = ("days_since_last_purchase", "usual_gap_days", "gaps_since_last_purchase")
"""The columns :func:`with_silence` adds (the recency rule's yardstick)."""


@dataclass(frozen=True)
class Overdue:
    """The recency rule's cut: silent for more than ``gaps`` usual gaps.

    ``measured``: whether ``gaps`` was measured on the holdout (else the default or given);
    ``customers``: calibration customers beyond ``gaps``; ``bought_again``: the share of them
    who bought in the holdout; ``lapse_rate`` = 1 - ``bought_again`` (None without a
    holdout: the value at stake is then the whole value if they stay).
    """

    gaps: float
    measured: bool
    customers: int
    bought_again: float | None
    lapse_rate: float | None


def gone(p_alive: pl.Expr | None = None) -> pl.Expr:
    """Whether a customer is already gone: P(alive) below :data:`LOST_P_ALIVE` (False when
    P(alive) is null)."""
    p = pl.col("p_alive") if p_alive is None else p_alive
    return (p < LOST_P_ALIVE).fill_null(False)


def value_if_stays(p_alive: pl.Expr | None = None, clv: pl.Expr | None = None) -> pl.Expr:
    """A customer's predicted value if they are still a customer: ``clv / p_alive``.

    Exact for BG/NBD, MBG/NBD and Pareto/NBD: a customer who has gone buys nothing, so
    E[value] = P(alive) x E[value | alive]. Null when P(alive) is 0.
    """
    p = pl.col("p_alive") if p_alive is None else p_alive
    value = pl.col("clv") if clv is None else clv
    return pl.when(p > 0).then(value / p)


def value_threshold(
    segments: pl.DataFrame, *, value_col: str = "revenue", min_value_quantile: float = 0.80
) -> float | None:
    """The ``min_value_quantile`` of ``value_col`` over customers with a positive net revenue
    (linear interpolation, numpy / pandas' default); None without such customers."""
    kept = segments.filter(pl.col("revenue") > 0) if "revenue" in segments.columns else segments
    return kept[value_col].quantile(min_value_quantile, interpolation="linear")


def quantile_position(n: int, q: float) -> tuple[int, float]:
    """Where the linear ``q`` quantile of ``n`` sorted values lies: the 0-based index of the
    value at or below it and the fraction of the way to the next (``q * (n - 1)``)."""
    position = q * (n - 1)
    lower = math.floor(position)
    return lower, position - lower


def quantile_between(values: Sequence[float], fraction: float) -> float | None:
    """The linear quantile of ``n`` sorted values from the value at its lower index and the
    next (``values``, one when there is no next) and its ``fraction``
    (:func:`quantile_position`): exactly :meth:`polars.Series.quantile` (``"linear"``) and
    :meth:`polars.Series.median` of the ``n`` values, for an engine that finds the two
    values by a sort of its own. None without values."""
    return pl.Series(values, dtype=pl.Float64).quantile(fraction, interpolation="linear")


def with_silence(segments: pl.DataFrame) -> pl.DataFrame:
    """Add how long each customer has been silent, in days and in their own usual gaps.

    ``days_since_last_purchase`` runs from ``last_purchase`` to ``observation_end`` (columns
    of :func:`clv.rfm_summary`). ``usual_gap_days`` is a repeat buyer's own mean gap between
    purchase days, ``(last_purchase - first_purchase) / frequency``; a one-time buyer gets
    the median of the repeat buyers' gaps (null when nobody bought twice).
    ``gaps_since_last_purchase`` = days since the last purchase / usual gap.
    """
    for column in ("frequency", "first_purchase", "last_purchase", "observation_end"):
        if column not in segments.columns:
            raise DataError(
                f"the at-risk list by recency needs the column {column!r} of an RFM summary; "
                "build the segments from clv.rfm_summary"
            )
    days = (pl.col("observation_end") - pl.col("last_purchase")).dt.total_days()
    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    own = pl.when(pl.col("frequency") > 0).then(span / pl.col("frequency"))
    table = segments.with_columns(
        days_since_last_purchase=days.cast(pl.Int64), usual_gap_days=own.cast(pl.Float64)
    )
    typical = pl.lit(table["usual_gap_days"].median(), dtype=pl.Float64)
    return table.with_columns(pl.col("usual_gap_days").fill_null(typical)).with_columns(
        gaps_since_last_purchase=pl.col("days_since_last_purchase") / pl.col("usual_gap_days")
    )


def calibration_gaps(calibration: pl.DataFrame) -> pl.DataFrame:
    """Each calibration customer's silence at the calibration end in their own usual gaps
    (``gaps``, as :func:`with_silence`, in the model's time unit) and whether they bought in
    the holdout (``bought_again``).

    ``calibration``: :func:`clv.calibration_holdout` (``frequency``, ``recency``, ``T``,
    ``frequency_holdout``).
    """
    own = pl.when(pl.col("frequency") > 0).then(pl.col("recency") / pl.col("frequency"))
    table = calibration.select(
        own.alias("gap"),
        (pl.col("T") - pl.col("recency")).alias("silent"),
        (pl.col("frequency_holdout") > 0).alias("bought_again"),
    )
    typical = table["gap"].median()
    return table.with_columns(pl.col("gap").fill_null(typical)).select(
        gaps=pl.col("silent") / pl.col("gap"), bought_again="bought_again"
    )


def overdue_threshold(calibration: pl.DataFrame | None, *, gaps: float | None = None) -> Overdue:
    """The recency rule's ``k``: the smallest ``k`` of :data:`OVERDUE_GRID` at which fewer
    than half of the calibration customers silent for more than ``k`` usual gaps bought
    again in the holdout (at least :data:`MIN_OVERDUE_CUSTOMERS` of them), else
    :data:`DEFAULT_OVERDUE_GAPS`. ``gaps`` given: that ``k``, with its lapse rate measured
    when there is a holdout.
    """
    if calibration is None or calibration.height == 0:
        k = DEFAULT_OVERDUE_GAPS if gaps is None else float(gaps)
        return Overdue(k, False, 0, None, None)
    table = calibration_gaps(calibration).drop_nulls("gaps")

    def at(k: float) -> tuple[int, float | None]:
        beyond = table.filter(pl.col("gaps") > k)
        share = beyond["bought_again"].mean() if beyond.height else None
        return beyond.height, None if share is None else float(cast(float, share))

    return choose_overdue(at, gaps=gaps)


def choose_overdue(
    at: Callable[[float], tuple[int, float | None]], *, gaps: float | None = None
) -> Overdue:
    """:func:`overdue_threshold`'s choice of ``k`` from ``at(k)``: the calibration customers
    silent for more than ``k`` usual gaps and the share of them who bought in the holdout
    (None when there are none), for each ``k`` of :data:`OVERDUE_GRID` and ``gaps``."""
    measured = False
    if gaps is None:
        k = DEFAULT_OVERDUE_GAPS
        for candidate in OVERDUE_GRID:
            n, share = at(candidate)
            if n >= MIN_OVERDUE_CUSTOMERS and share is not None and share < 0.5:
                k, measured = candidate, True
                break
    else:
        k = float(gaps)
    n, share = at(k)
    return Overdue(k, measured, n, share, None if share is None else 1.0 - share)


def _high_value(threshold: float | None) -> pl.Expr:
    """A positive net revenue and a value if they stay at or above ``threshold``."""
    cut = float("inf") if threshold is None else threshold
    return (pl.col("revenue") > 0) & (pl.col("value_if_stays") >= cut)


def at_risk(
    segments: pl.DataFrame,
    *,
    rule: AtRiskRule = "p_alive",
    min_value_quantile: float = 0.80,
    max_p_alive: float = 0.5,
    overdue: Overdue | None = None,
) -> pl.DataFrame:
    """High-value customers at risk of being lost, for a CRM list.

    High-value: net revenue above 0 and :func:`value_if_stays` at least its
    ``min_value_quantile`` over customers with a positive net revenue and P(alive) of at
    least :data:`LOST_P_ALIVE`. Then, by ``rule``:

    - ``"p_alive"``: listed when ``LOST_P_ALIVE <= p_alive <= max_p_alive``; **value at
      stake** = ``(1 - p_alive) * value_if_stays``, the expected loss.
    - ``"recency"`` (the model sees no dropout): listed when
      ``gaps_since_last_purchase > overdue.gaps`` (:func:`overdue_threshold`); **value at
      stake** = ``value_if_stays * overdue.lapse_rate`` (the whole value if they stay
      when the lapse rate cannot be measured).

    Returns
    -------
    pl.DataFrame
        ``customer_id``, ``revenue``, ``orders``, ``last_purchase``, ``p_alive``, ``clv``,
        ``value_if_stays``, ``value_at_stake``, ``value_tier`` and ``rfm_cell`` (when present)
        and, by recency, :data:`RECENCY_COLUMNS`; by value at stake, descending (ties by
        ``customer_id``). Empty without ``p_alive``.
    """
    if "p_alive" not in segments.columns:
        return segments.head(0).select("customer_id")
    table = segments.with_columns(value_if_stays=value_if_stays())
    threshold = value_threshold(
        table.filter(pl.col("p_alive") >= LOST_P_ALIVE),
        value_col="value_if_stays",
        min_value_quantile=min_value_quantile,
    )
    last = "last_purchase" if "last_purchase" in segments.columns else "last_order"
    keep = ["customer_id", "revenue", "orders", last, "p_alive", "clv", "value_if_stays"]
    keep += ["value_at_stake"]
    shown = ("clv_pred_low", "clv_pred_high", "value_tier", "rfm_cell")
    keep += [c for c in shown if c in segments.columns]
    high = _high_value(threshold) & (pl.col("p_alive") >= LOST_P_ALIVE)
    if rule == "p_alive":
        listed = table.filter(high & (pl.col("p_alive") <= max_p_alive)).with_columns(
            value_at_stake=(1 - pl.col("p_alive")) * pl.col("value_if_stays")
        )
    else:
        overdue = overdue or overdue_threshold(None)
        lapse = 1.0 if overdue.lapse_rate is None else overdue.lapse_rate
        listed = (
            with_silence(table)
            .filter(high & (pl.col("gaps_since_last_purchase") > overdue.gaps))
            .with_columns(value_at_stake=pl.col("value_if_stays") * lapse)
        )
        keep += list(RECENCY_COLUMNS)
    return listed.select(keep).sort(["value_at_stake", "customer_id"], descending=[True, False])


def lost(segments: pl.DataFrame, *, min_value_quantile: float = 0.80) -> pl.DataFrame:
    """High-value customers already gone: P(alive) below :data:`LOST_P_ALIVE` and net revenue
    at least its ``min_value_quantile`` (over customers with a positive net revenue).

    Shown apart from the at-risk list: contacting them is a win-back, not a retention call.
    Returns ``customer_id``, ``revenue``, ``orders``, ``last_purchase``, ``p_alive``, by
    revenue descending (empty without ``p_alive``).
    """
    if "p_alive" not in segments.columns:
        return segments.head(0).select("customer_id")
    threshold = value_threshold(segments, min_value_quantile=min_value_quantile)
    cut = float("inf") if threshold is None else threshold
    last = "last_purchase" if "last_purchase" in segments.columns else "last_order"
    return (
        segments.filter(gone() & (pl.col("revenue") > 0) & (pl.col("revenue") >= cut))
        .select("customer_id", "revenue", "orders", last, "p_alive")
        .sort(["revenue", "customer_id"], descending=[True, False])
    )
