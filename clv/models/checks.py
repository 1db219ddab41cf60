"""Checks shared by fitting, scoring, the CLI and the report: summaries, money and time.

One place validates the money and time of a CLV (discount rate, margin, horizon) and the
penalizers, so the library, the CLI and the notebooks accept and refuse the same values.
Messages name the library keyword (``discount_rate_annual=``); the CLI names its flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit, time_unit_of, unit_days
from clv.errors import DataError, ModelError, UsageError

Params = dict[str, float]  # as clv.models.optimize.Params; importing that loads SciPy

MAX_HORIZON_YEARS = 100.0
"""Longest accepted CLV horizon: beyond a century the discounted cash flows are noise."""

_YEAR_DAYS = 365.25
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _number(value: object, keyword: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UsageError(f"{keyword}= must be a number, not {value!r}")
    return float(value)


def check_money_and_time(
    *,
    discount_rate_annual: float | None = None,
    margin: float | None = None,
    horizon: float | None = None,
    horizon_unit: TimeUnit = "M",
    month_days: float = _YEAR_DAYS / 12,
) -> None:
    """Refuse a CLV's money and time outside their meaning (``UsageError``, one line).

    ``discount_rate_annual`` in [0, 1) (0.10 = 10 % a year); ``margin`` in (0, 1] (the share
    of revenue that is profit); ``horizon`` positive and at most :data:`MAX_HORIZON_YEARS`
    years in ``horizon_unit`` (``D``, ``W`` or ``M`` of ``month_days`` days). ``None`` skips.
    """
    if discount_rate_annual is not None:
        d = _number(discount_rate_annual, "discount_rate_annual")
        if not (0.0 <= d < 1.0):
            raise UsageError(
                f"discount_rate_annual={discount_rate_annual} is not an annual rate in [0, 1); "
                "write 10 % as 0.10"
            )
    if margin is not None:
        m = _number(margin, "margin")
        if not (0.0 < m <= 1.0):
            raise UsageError(
                f"margin={margin} is not a share of revenue in (0, 1]; write 30 % as 0.30"
            )
    if horizon is not None:
        h = _number(horizon, "horizon")
        if not (math.isfinite(month_days) and month_days > 0):
            raise UsageError(f"month_days={month_days} must be a positive number of days")
        if horizon_unit not in TIME_UNIT_DAYS:
            raise UsageError(f"horizon_unit={horizon_unit!r} must be 'D', 'W' or 'M'")
        days = h * (month_days if horizon_unit == "M" else unit_days(horizon_unit))
        if not (h > 0 and days <= MAX_HORIZON_YEARS * _YEAR_DAYS):
            raise UsageError(
                f"horizon={horizon} ({horizon_unit}) must be positive and at most "
                f"{MAX_HORIZON_YEARS:g} years"
            )


def penalizers(penalizer: float | Mapping[str, float]) -> tuple[float, float]:
    """``(purchase model, Gamma-Gamma)`` penalizers from ``penalizer=``.

    A number penalises the purchase model only (as lifetimes' ``penalizer_coef`` on
    BG/NBD); a mapping ``{"purchase": x, "gamma_gamma": y}`` (``"bgnbd"``, ``"mbgnbd"`` or
    ``"pareto_nbd"`` may stand for ``"purchase"``) sets both. Each finite and >= 0.
    """
    if isinstance(penalizer, Mapping):
        known = {"purchase", "bgnbd", "mbgnbd", "pareto_nbd", "gamma_gamma"}
        unknown = sorted(set(penalizer) - known)
        if unknown:
            raise UsageError(
                f"penalizer= has unknown key(s) {', '.join(map(str, unknown))}; use "
                "{'bgnbd': x, 'gamma_gamma': y}"
            )
        purchase = [v for k, v in penalizer.items() if k != "gamma_gamma"]
        if len(purchase) > 1:
            raise UsageError("penalizer= gives the purchase model's penalizer twice")
        values = (purchase[0] if purchase else 0.0, penalizer.get("gamma_gamma", 0.0))
    else:
        values = (penalizer, 0.0)
    for value, keyword in zip(values, ("penalizer", "gg_penalizer"), strict=True):
        v = _number(value, keyword)
        if not (math.isfinite(v) and v >= 0):
            raise UsageError(f"{keyword}={value} must be a finite number >= 0")
    return float(values[0]), float(values[1])


def check_params(name: str, params: Params, names: tuple[str, ...], where: str) -> None:
    """Every parameter present, a finite positive number; else ``ModelError`` naming it."""
    for key in names:
        value = params.get(key)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not (math.isfinite(value) and value > 0)
        ):
            raise ModelError(
                f"{where}: {name} parameter {key} = {value!r} is not a finite positive number; "
                "refit the model"
            )


def check_summary(summary: pl.DataFrame, columns: tuple[str, ...] = SUMMARY_COLUMNS) -> None:
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary: missing column(s) {', '.join(missing)}; make it with clv.rfm.rfm_summary"
        )
    if summary.height == 0:
        raise DataError("summary: no customers")
    bad = summary.select(
        nulls=pl.any_horizontal(
            pl.col(c).is_null() | ~pl.col(c).cast(pl.Float64).is_finite() for c in columns
        ),
        negative=(pl.col("frequency") < 0) | (pl.col("recency") < 0),
        late=pl.col("recency") > pl.col("T"),
        fractional=pl.col("frequency").cast(pl.Float64)
        != pl.col("frequency").cast(pl.Float64).round(),
        one_time=(pl.col("frequency") == 0) & (pl.col("recency") != 0),
    )
    problems = {
        "nulls": "a missing or non-finite value",
        "negative": "a negative frequency or recency",
        "late": "recency greater than T",
        "fractional": "a fractional frequency",
        "one_time": "recency > 0 with frequency 0",
    }
    for column, what in problems.items():
        rows = bad.select(pl.arg_where(pl.col(column))).to_series()
        if rows.len():
            row = int(rows[0])
            who = summary["customer_id"][row] if "customer_id" in summary.columns else row
            raise DataError(
                f"summary row {row} (customer {who}): {what}; rebuild it with clv.rfm.rfm_summary"
            )


def summary_unit(summary: pl.DataFrame, time_unit: TimeUnit | None) -> TimeUnit:
    """The summary's time unit: its ``time_unit`` column, else the ``time_unit`` keyword."""
    return time_unit_of(summary, time_unit)
