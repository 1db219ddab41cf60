"""Per-channel (or loyalty) value from per-group models: CLV totals with intervals, the value
of a newly acquired customer, and that value over the acquisition cost (frames only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import polars as pl

from clv.analysis.segments import TIERS, value_tiers
from clv.data.rfm import TimeUnit
from clv.models.acquisition import new_customer_values
from clv.models.cashflows import MONTH_DAYS, MoneyOptions, cash_flow_grid
from clv.models.draws import DRAWS, IntervalMethod
from clv.models.groups import GroupedClvModel
from clv.models.intervals import interval_scores
from clv.models.model import ClvModel


@dataclass(frozen=True)
class GroupValue:
    """What :func:`group_value` computes (frames, currency units)."""

    scores: pl.DataFrame
    """Customer scores with the group column and ``tier`` (by point CLV) and, unless made with
    ``per_customer=False``, ``clv_low``, ``clv_high``, ``expected_purchases_low/high`` and
    ``p_top`` (made from weighted distinct rows: a row per distinct row, without them)."""
    groups: pl.DataFrame
    """One row per group, sorted: ``customers``, ``uses_pooled``, ``mean_clv``, ``clv``,
    ``clv_low``, ``clv_high`` (group totals), ``new_customer_value`` (+ ``_low``/``_high``),
    and with channel costs ``cac``, ``clv_cac`` (+ ``_low``/``_high``)."""
    totals: pl.DataFrame
    """:func:`clv.models.intervals.interval_scores` totals: ``level`` total, the group
    column, ``tier``; ``label``, ``customers``, ``clv``, ``clv_low``, ``clv_high``."""


def clv_intervals(
    model: ClvModel | GroupedClvModel,
    summary: pl.DataFrame,
    *,
    horizon: float,
    horizon_unit: TimeUnit = "M",
    discount_rate_annual: float = 0.10,
    margin: float = 1.0,
    month_days: float = MONTH_DAYS,
    interval: float = 0.9,
    interval_method: IntervalMethod = "normal",
    draws: int = DRAWS,
    seed: int = 0,
    totals_by: Sequence[str] = (),
    per_customer: bool = True,
    weights: str | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Scores with intervals and a ``tier`` column (good/middle/bad by point CLV), and CLV
    totals with intervals: overall, per ``tier`` and per column of ``totals_by`` (see
    :func:`clv.models.intervals.interval_scores` for both frames; ``per_customer=False``: the
    scores without intervals).

    ``weights``: a column of ``summary`` with the customers each row stands for (distinct
    rows, which then carry each customer's ``tier`` already: the ranks are the engine's);
    the totals only, as with ``per_customer=False``."""
    money: MoneyOptions = {
        "horizon": horizon,
        "horizon_unit": horizon_unit,
        "discount_rate_annual": discount_rate_annual,
        "month_days": month_days,
    }
    grid = cash_flow_grid(model_unit=model.time_unit, **money)
    point = model.score(summary, margin=margin, **money)
    if isinstance(model, GroupedClvModel):
        by, pooled, group_models = model.by, model.pooled, model.groups
    else:
        by, pooled, group_models = None, model, None
    if weights is None:
        tiers = value_tiers(point, value_col="clv", tiers=TIERS)["tier"]
    else:
        tiers = summary["tier"]
    scores, totals = interval_scores(
        pooled,
        summary.with_columns(tier=tiers),
        point.drop(by) if by else point,
        grid=grid,
        interval=interval,
        method=interval_method,
        draws=draws,
        seed=seed,
        by=by,
        group_models=group_models,
        totals_by=[*totals_by, "tier"],
        per_customer=per_customer and weights is None,
        weights=None if weights is None else summary[weights].cast(pl.Float64).to_numpy(),
    )
    if by:
        scores = scores.insert_column(1, point[by])
    return scores.with_columns(tier=tiers), totals


def group_value(
    model: GroupedClvModel,
    summary: pl.DataFrame,
    *,
    horizon: float,
    horizon_unit: TimeUnit = "M",
    discount_rate_annual: float = 0.10,
    margin: float = 1.0,
    month_days: float = MONTH_DAYS,
    channel_costs: Mapping[str, float] | None = None,
    interval: float = 0.9,
    interval_method: IntervalMethod = "normal",
    draws: int = DRAWS,
    seed: int = 0,
    per_customer: bool = True,
    weights: str | None = None,
) -> GroupValue:
    """Score every customer by their group's model and value each group, with intervals.

    ``summary`` carries ``model.by`` (see :func:`clv.data.groups.with_customer_group`).
    ``per_customer=False`` leaves out each customer's own interval and ``p_top`` (the groups'
    intervals are the same; 1 M customers: about 1 s of CPU less). ``weights``: ``summary``
    holds distinct rows, this column their customers and ``tier`` each one's tier by point
    CLV (see :func:`clv_intervals`; ``scores`` then has a row per distinct row).
    ``channel_costs`` are acquisition costs per new customer by group (CAC, currency):
    ``clv_cac = new_customer_value / cac``, the forward-looking return on a channel's
    cost (its interval from the value's; the cost is taken as known).

    Examples
    --------
    >>> value = group_value(fit(summary, by="channel"), summary, horizon=12)  # doctest: +SKIP
    >>> value.groups.select("channel", "new_customer_value", "clv_cac")  # doctest: +SKIP
    """
    money: MoneyOptions = {
        "horizon": horizon,
        "horizon_unit": horizon_unit,
        "discount_rate_annual": discount_rate_annual,
        "month_days": month_days,
    }
    scores, totals = clv_intervals(
        model,
        summary,
        margin=margin,
        totals_by=[model.by],
        interval=interval,
        interval_method=interval_method,
        draws=draws,
        seed=seed,
        per_customer=per_customer,
        weights=weights,
        **money,
    )
    grid = cash_flow_grid(model_unit=model.time_unit, **money)
    new = new_customer_values(
        model,
        grid=grid,
        margin=margin,
        interval=interval,
        interval_method=interval_method,
        draws=draws,
        seed=seed,
        summary=summary,
    )
    per_group = (
        totals.filter(pl.col("level") == model.by)
        .select(pl.col("label").alias(model.by), "customers", "clv", "clv_low", "clv_high")
        .with_columns(mean_clv=pl.col("clv") / pl.col("customers"))
    )
    groups = per_group.join(new, on=model.by, how="left").sort(model.by)
    if channel_costs:
        costs = pl.DataFrame(
            {model.by: list(channel_costs), "cac": [float(c) for c in channel_costs.values()]}
        )
        paid = pl.col("cac") > 0  # a channel that costs nothing has no CLV:CAC, not infinity
        groups = groups.join(costs, on=model.by, how="left").with_columns(
            pl.when(paid)
            .then(pl.col(f"new_customer_value{end}") / pl.col("cac"))
            .alias(f"clv_cac{end}")
            for end in ("", "_low", "_high")
        )
    return GroupValue(scores, groups, totals)


VALUE_KEYS = (
    "uses_pooled",
    "new_customer_value",
    "new_customer_value_low",
    "new_customer_value_high",
    "clv_cac",
    "clv_cac_low",
    "clv_cac_high",
)
"""The per-channel model's numbers added to ``kpis.json`` ``channels.<name>``."""


def with_channel_value(kpis: dict[str, Any], value: GroupValue | str | None) -> dict[str, Any]:
    """``kpis`` with each channel's :data:`VALUE_KEYS` from ``value`` (or a note why not)."""
    if value is None or "channels" not in kpis:
        return kpis
    if isinstance(value, str):
        kpis["notes"] = [*kpis.get("notes", []), f"no per-channel models: {value}"]
        return kpis
    for row in value.groups.iter_rows(named=True):
        name = str(row["channel"])
        if name in kpis["channels"]:
            kpis["channels"][name] |= {k: row[k] for k in VALUE_KEYS if k in row}
    return kpis
