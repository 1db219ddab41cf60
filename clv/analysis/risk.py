"""Who is at risk: high-value customers who have probably stopped buying (the ``p_alive``
rule) or, when the model sees no dropout, who have been silent longest for their own pace
(the ``recency`` rule).

Frames and numbers only; :mod:`clv.report.sections` and :mod:`clv.report.first_page` word
them.
"""

from __future__ import annotations

from typing import Literal

import polars as pl

from clv.errors import DataError

AtRiskRule = Literal["p_alive", "recency"]
"""How the at-risk list is chosen: by P(alive) (the model's view) or by recency (time since
the last purchase in units of the customer's usual gap), see :func:`at_risk`."""

RECENCY_COLUMNS = ("days_since_last_purchase", "usual_gap_days", "gaps_since_last_purchase")
"""The columns :func:`with_silence` adds (the recency rule's yardstick)."""


def value_threshold(
    segments: pl.DataFrame, *, value_col: str = "revenue", min_value_quantile: float = 0.80
) -> float | None:
    """The value a customer needs to count as high-value: the ``min_value_quantile`` of
    ``value_col`` over all customers (linear interpolation between the two nearest values,
    numpy / pandas' default); None without customers."""
    return segments[value_col].quantile(min_value_quantile, interpolation="linear")


def with_silence(segments: pl.DataFrame) -> pl.DataFrame:
    """Add how long each customer has been silent, in days and in their own usual gaps.

    ``days_since_last_purchase`` runs from ``last_purchase`` to ``observation_end`` (columns
    of :func:`clv.rfm_summary`). ``usual_gap_days`` is a repeat buyer's own mean gap between
    purchase days, ``(last_purchase - first_purchase) / frequency`` (at least 1 day, as
    ``frequency`` counts distinct days after the first); a one-time buyer has no gap of
    their own and gets the median of the repeat buyers' gaps, the typical pace of the shop
    (null when nobody bought twice). ``gaps_since_last_purchase`` = days since the last
    purchase / usual gap: 0.5 means half-way to the next purchase at the usual pace, 3 means
    three purchases missed. Dividing by the customer's own gap makes a weekly buyer silent
    for two months and a quarterly buyer silent for six months comparable.
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


def at_risk(
    segments: pl.DataFrame,
    *,
    rule: AtRiskRule = "p_alive",
    value_col: str = "revenue",
    min_value: float | None = None,
    min_value_quantile: float = 0.80,
    max_p_alive: float = 0.5,
) -> pl.DataFrame:
    """High-value customers at risk of being lost, for a CRM list.

    High-value: ``value_col >= min_value`` (by default :func:`value_threshold` at
    ``min_value_quantile``). Then, by ``rule``:

    - ``"p_alive"``: listed when ``p_alive <= max_p_alive``. **Value at stake** =
      ``value_col * (1 - p_alive)``: the historical value the shop stands to lose if the
      customer has indeed left, weighted by the probability that they have.
    - ``"recency"``, for a model that sees no dropout (P(alive) close to 1 for everyone, the
      ``no_dropout_seen`` diagnostic): the ``1 - max_p_alive`` share of high-value customers
      silent longest for their own pace, i.e. with ``gaps_since_last_purchase`` (see
      :func:`with_silence`) at or above its ``max_p_alive`` quantile among them (linear
      interpolation). In one sentence: "the half of our best customers who are most overdue
      compared with how often they usually buy" (``max_p_alive = 0.5``, the default, lists
      the more overdue half as the ``p_alive`` rule lists those more likely gone than not).
      A share, not a fixed number of gaps: when nobody visibly stops, a fixed cut (say three
      gaps, which a customer still buying as a Poisson process passes with probability
      e^-3 = 5 %) can list no one, while the ranking still says whom to contact first.
      **Historical value at stake** = the whole ``value_col``: without a dropout
      probability there is nothing to weight it by, so it is what the shop would lose if
      these customers had left, not an expected loss.

    Returns
    -------
    pl.DataFrame
        ``customer_id``, the value, ``orders``, the last purchase date, ``p_alive``, ``clv``,
        ``value_tier`` and ``rfm_cell`` (when present). ``"p_alive"``: then
        ``value_at_stake``, sorted by it descending; empty when ``p_alive`` is absent.
        ``"recency"``: then :data:`RECENCY_COLUMNS` and ``historical_value_at_stake``, sorted
        by it descending; empty when nobody bought twice. Ties by ``customer_id``.
    """
    if rule == "p_alive" and "p_alive" not in segments.columns:
        return segments.head(0).select("customer_id")
    if min_value is None:
        min_value = value_threshold(
            segments, value_col=value_col, min_value_quantile=min_value_quantile
        )
    last = "last_purchase" if "last_purchase" in segments.columns else "last_order"
    keep = ["customer_id", value_col, "orders", last]
    shown = ("p_alive", "clv", "clv_pred_low", "clv_pred_high", "value_tier", "rfm_cell")
    keep += [c for c in shown if c in segments.columns]
    if rule == "p_alive":
        high = segments.filter(pl.col(value_col) >= min_value)
        listed = high.filter(pl.col("p_alive") <= max_p_alive).select(keep)
        stake = "value_at_stake"
        listed = listed.with_columns((pl.col(value_col) * (1 - pl.col("p_alive"))).alias(stake))
    else:
        high = with_silence(segments).filter(
            (pl.col(value_col) >= min_value) & pl.col("gaps_since_last_purchase").is_not_null()
        )
        cut = high["gaps_since_last_purchase"].quantile(max_p_alive, interpolation="linear")
        stake = "historical_value_at_stake"
        listed = (
            high.filter(pl.col("gaps_since_last_purchase") >= (cut if cut is not None else 0.0))
            .select(*keep, *RECENCY_COLUMNS)
            .with_columns(pl.col(value_col).alias(stake))
        )
    return listed.sort([stake, "customer_id"], descending=[True, False])
