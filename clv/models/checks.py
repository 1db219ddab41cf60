"""Checks shared by fitting, scoring, the CLI and the report: summaries, money and time.

One place validates the money and time of a CLV (discount rate, margin, horizon) and the
penalizers, so the library, the CLI and the notebooks accept and refuse the same values.
Messages name the library keyword (``discount_rate_annual=``); the CLI names its flags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import polars as pl

from clv.data.rfm import TimeUnit, time_unit_of, unit_days
from clv.errors import DataError, ModelError, UsageError
from clv.params import SPEC, coerce

Params = dict[str, float]  # as clv.models.optimize.Params; importing that loads SciPy

MAX_HORIZON_YEARS = 100.0
"""Longest accepted CLV horizon: beyond a century the discounted cash flows are noise."""

_YEAR_DAYS = 365.25
SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def check_money_and_time(
    *,
    discount_rate_annual: float | None = None,
    margin: float | None = None,
    horizon: float | None = None,
    horizon_unit: TimeUnit = "M",
    month_days: float = _YEAR_DAYS / 12,
) -> None:
    """Refuse a CLV's money and time outside their meaning (``UsageError``, one line).

    The bounds are the spec's (:mod:`clv.params`): ``discount_rate_annual`` in [0, 1) (0.10 =
    10 % a year), ``margin`` in (0, 1], ``horizon`` > 0; here too a horizon of at most
    :data:`MAX_HORIZON_YEARS` years in ``horizon_unit`` (``D``, ``W`` or ``M`` of
    ``month_days`` days). ``None`` skips.
    """
    given = {"discount_rate_annual": discount_rate_annual, "margin": margin, "horizon": horizon}
    for name, value in given.items():
        if value is not None:
            coerce(SPEC[name], value)
    if horizon is not None:
        if not (math.isfinite(month_days) and month_days > 0):
            raise UsageError(f"month_days={month_days} must be a positive number of days")
        unit = coerce(SPEC["horizon_unit"], horizon_unit)
        days = horizon * (month_days if unit == "M" else unit_days(unit))
        if days > MAX_HORIZON_YEARS * _YEAR_DAYS:
            raise UsageError(
                f"horizon={horizon} ({horizon_unit}) must be at most {MAX_HORIZON_YEARS:g} years"
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
    purchase_pen = coerce(SPEC["penalizer"], values[0])
    return float(purchase_pen), float(coerce(SPEC["gg_penalizer"], values[1]))


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
