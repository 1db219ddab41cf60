"""The numbers of the report's first page, each taken from the table that backs it.

Frames and numbers only; :mod:`clv.report.first_page` words them. Every number here is read
from a frame the report shows further down (the top-vs-rest profile, the middle-tier
candidates, first vs later orders, the channel table, the loyalty programme by month, the
at-risk list), so a sentence and its table cannot disagree.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

import polars as pl

CLOSE_TO_TOP = 0.25
"""A middle-tier customer is close to the top when their predicted CLV is at least
``1 - CLOSE_TO_TOP`` times the lowest predicted CLV of the good tier."""


def top_customers(segments: pl.DataFrame, profile: pl.DataFrame, *, value_col: str) -> dict:
    """The top customers (``top`` of :func:`clv.analysis.segments.segment_table`): how many,
    their share of ``value_col`` and of predicted CLV, and the two biggest differences.

    ``profile``: :func:`clv.analysis.profile.top_profile` of the same customers. Returns
    ``customers``, ``of``, ``value_share``, ``clv_share`` (None without CLV) and
    ``differences``: the ``note`` of the two rows of ``profile`` with the largest effect
    (its ``biggest`` rows, in profile order; at most two).
    """
    top = segments.filter(pl.col("top"))
    total = float(segments[value_col].sum())
    clv_total = float(segments["clv"].fill_null(0.0).sum()) if "clv" in segments.columns else 0.0
    return {
        "customers": top.height,
        "of": segments.height,
        "value_share": float(top[value_col].sum()) / total if total else None,
        "clv_share": (float(top["clv"].fill_null(0.0).sum()) / clv_total if clv_total else None),
        "differences": profile.filter(pl.col("biggest"))["note"].head(2).to_list(),
    }


def middle_close_to_top(
    candidates: pl.DataFrame, *, good_share: float, close: float = CLOSE_TO_TOP
) -> dict:
    """Middle-tier customers within ``close`` of the good tier's lowest predicted CLV.

    ``candidates``: :func:`clv.analysis.profile.middle_to_top` with ``n=None`` (all of the
    middle tier). Returns ``middle`` (customers in the middle tier), ``close`` (those with
    ``clv >= (1 - close) * threshold``, i.e. ``clv_gap <= close * threshold``), ``within``
    (``close``), ``good_share`` (the good tier's share of customers, as given) and ``lacks``:
    what they lack, most common first, as ``(what, customers)``.
    """
    threshold = candidates["clv"] + candidates["clv_gap"]
    near = candidates.filter(pl.col("clv_gap") <= close * threshold)
    return {
        "middle": candidates.height,
        "close": near.height,
        "within": close,
        "good_share": good_share,
        "lacks": _most_common(near["lacks"]),
    }


def _most_common(lacks: pl.Series) -> list[tuple[str, int]]:
    """What the ``"a, b (detail)"`` strings list, counted by the part before ``" ("``: most
    common first, ties in the order first met (``collections.Counter.most_common``'s order)."""
    parts = lacks.fill_null("").str.split(", ").explode()
    named = parts.filter(parts != "").str.split(" (").list.first()
    counted = (
        named.to_frame("what")
        .with_row_index("first")
        .group_by("what")
        .agg(n=pl.len(), first=pl.col("first").min())
        .sort(["n", "first"], descending=[True, False])
    )
    return [(str(w), int(n)) for w, n in zip(counted["what"], counted["n"], strict=True)]


def returning_vs_new(rvn: Mapping[str, Any]) -> dict:
    """First vs later orders (:func:`clv.analysis.kpis.returning_vs_new`): ``aov_new``,
    ``aov_returning``, ``ratio`` (returning / new) and ``returning_orders``."""
    return {
        "aov_new": rvn.get("aov_new"),
        "aov_returning": rvn.get("aov_returning"),
        "ratio": rvn.get("returning_vs_new_aov_ratio"),
        "returning_orders": rvn.get("returning_orders"),
    }


def channels(table: pl.DataFrame | None) -> dict | None:
    """The best and worst channel of :func:`clv.analysis.kpis.channel_table` (ranked by
    ``share_good``) and, when costs give ``clv_cac``, the best and worst by CLV:CAC.

    None without a channel column or with fewer than two channels.
    """
    if table is None or table.height < 2:
        return None
    ranked = table.sort("rank")
    keep = ("channel", "share_good", "customers")
    out: dict[str, Any] = {
        "best": {k: ranked[k][0] for k in keep},
        "worst": {k: ranked[k][-1] for k in keep},
    }
    if "clv_cac" in table.columns:
        costed = table.filter(pl.col("clv_cac").is_not_null()).sort(
            ["clv_cac", "channel"], descending=[True, False]
        )
        if costed.height >= 2:
            keep = ("channel", "clv_cac", "cac")
            out["best_clv_cac"] = {k: costed[k][0] for k in keep}
            out["worst_clv_cac"] = {k: costed[k][-1] for k in keep}
    return out


def at_risk(
    table: pl.DataFrame,
    *,
    rule: str,
    min_value: float | None,
    min_value_quantile: float,
    max_p_alive: float,
) -> dict:
    """The at-risk list (:func:`clv.analysis.risk.at_risk`) and the rule that made it.

    Returns ``rule`` (``"p_alive"`` or ``"recency"``), ``customers``, ``min_value`` (the
    value threshold, revenue) and ``min_value_quantile``. ``"p_alive"``: ``max_p_alive``
    and ``value_at_stake`` (sum of value x (1 - P(alive))). ``"recency"``: ``share`` (of
    high-value customers listed, ``1 - max_p_alive``), ``min_gaps_since_last_purchase``
    (the fewest usual gaps of silence on the list; None when it is empty) and
    ``historical_value_at_stake`` (sum of the listed customers' whole value, no
    probability weighting).
    """
    out: dict[str, Any] = {
        "rule": rule,
        "customers": table.height,
        "min_value": min_value,
        "min_value_quantile": min_value_quantile,
    }
    if rule == "recency":
        gaps = cast(float | None, table["gaps_since_last_purchase"].min())
        return out | {
            "share": 1 - max_p_alive,
            "min_gaps_since_last_purchase": gaps,
            "historical_value_at_stake": float(table["historical_value_at_stake"].sum()),
        }
    stake = table["value_at_stake"].sum() if "value_at_stake" in table.columns else 0.0
    return out | {"max_p_alive": max_p_alive, "value_at_stake": float(stake)}
