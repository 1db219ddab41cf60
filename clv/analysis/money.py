"""The money of an analysis: basis (revenue or margin), margin rate, currency, discount, horizon.

Resolved once by :func:`resolve_money` and passed down frozen, so the command line, the
report and the notebooks put every money figure on the same basis: margin when a margin
column or a margin rate is given, revenue otherwise.
"""

import math
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from clv.data.period import TIME_UNIT_DAYS, UNIT_NAMES, Period, TimeUnit
from clv.errors import DataError, UsageError

Basis = Literal["revenue", "margin"]

MAX_HORIZON_YEARS = 100
"""Longest CLV horizon accepted (years)."""


@dataclass(frozen=True)
class Money:
    """How money is counted.

    ``basis`` is ``"margin"`` when a margin rate or column was given, else ``"revenue"``;
    ``margin_rate`` is the share of revenue that is margin (1.0 on a revenue basis; from a
    margin column, total margin / total revenue up to the observation end) and multiplies every
    predicted spend. ``horizon`` is in ``horizon_unit``; ``discount_rate_annual`` in [0, 1).
    """

    basis: Basis
    margin_rate: float
    margin_from_column: bool
    currency: str
    discount_rate_annual: float
    horizon: float
    horizon_unit: TimeUnit

    @property
    def horizon_months(self) -> float:
        """The horizon in months of 365.25 / 12 days."""
        return self.horizon * TIME_UNIT_DAYS[self.horizon_unit] / TIME_UNIT_DAYS["M"]

    @property
    def horizon_words(self) -> str:
        """The horizon spelled out: ``"12 months"``."""
        return f"{self.horizon:g} {UNIT_NAMES[self.horizon_unit]}"

    @property
    def value_col(self) -> str:
        """The customer column of historical value on this basis: ``margin`` or ``revenue``."""
        return "margin" if self.basis == "margin" else "revenue"

    def describe(self) -> dict[str, Any]:
        """The basis as plain numbers for ``kpis.json``: basis, margin rate, currency,
        discount rate and the horizon spelled out."""
        return {
            "basis": self.basis,
            "margin_rate": self.margin_rate,
            "margin_from_column": self.margin_from_column,
            "currency": self.currency,
            "discount_rate_annual": self.discount_rate_annual,
            "horizon": self.horizon_words,
        }

    def score_keywords(self) -> dict[str, Any]:
        """The keywords of ``ClvModel.score`` this money stands for."""
        return {
            "horizon": self.horizon,
            "horizon_unit": self.horizon_unit,
            "discount_rate_annual": self.discount_rate_annual,
            "margin": self.margin_rate,
        }


def check_money(
    *,
    margin: float | None = None,
    discount_rate_annual: float = 0.10,
    horizon: float = 12,
    horizon_unit: str = "M",
) -> None:
    """Raise :class:`~clv.errors.UsageError` naming the keyword of a value out of range.

    Margin in (0, 1], discount rate in [0, 1) a year, horizon positive and at most
    :data:`MAX_HORIZON_YEARS` years in ``D``, ``W`` or ``M``.
    """
    if horizon_unit not in TIME_UNIT_DAYS:
        raise UsageError(f"horizon_unit must be D, W or M, not {horizon_unit!r}")
    if margin is not None and not (_number(margin) and 0 < margin <= 1):
        raise UsageError(f"margin={margin!r}: give the margin as a share of revenue in (0, 1]")
    if not (_number(discount_rate_annual) and 0 <= discount_rate_annual < 1):
        raise UsageError(
            f"discount_rate_annual={discount_rate_annual!r}: give an annual rate in [0, 1), "
            "e.g. 0.10"
        )
    days = horizon * TIME_UNIT_DAYS[horizon_unit] if _number(horizon) else math.nan
    if not (_number(horizon) and 0 < days <= MAX_HORIZON_YEARS * 365.25):
        raise UsageError(
            f"horizon={horizon!r}: give a positive horizon of at most {MAX_HORIZON_YEARS} years"
        )


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def resolve_money(
    transactions: pl.DataFrame,
    period: Period,
    *,
    margin: float | None = None,
    currency: str = "",
    discount_rate_annual: float = 0.10,
    horizon: float = 12,
    horizon_unit: str = "M",
) -> Money:
    """The :class:`Money` of an analysis, checked by :func:`check_money`.

    With a ``margin`` column in ``transactions`` the margin rate is total margin / total
    revenue up to the period's observation end (``margin`` must then be None); with a
    ``margin`` rate, that rate; otherwise the basis is revenue.
    """
    check_money(
        margin=margin,
        discount_rate_annual=discount_rate_annual,
        horizon=horizon,
        horizon_unit=horizon_unit,
    )
    from_column = "margin" in transactions.columns
    if from_column and margin is not None:
        raise UsageError("give margin= or margin_col=, not both")
    rate = 1.0 if margin is None else float(margin)
    if from_column:
        totals = (
            transactions.lazy()
            .filter(pl.col("date") <= period.observation_end)
            .select(pl.col("margin").sum(), pl.col("amount").sum())
            .collect()
            .row(0)
        )
        if not totals[1] > 0:
            raise DataError(
                f"revenue up to the observation end is {totals[1]}, so the margin column gives "
                "no margin rate; pass margin= instead of margin_col="
            )
        rate = float(totals[0] / totals[1])
    return Money(
        basis="margin" if from_column or margin is not None else "revenue",
        margin_rate=rate,
        margin_from_column=from_column,
        currency=currency,
        discount_rate_annual=float(discount_rate_annual),
        horizon=float(horizon),
        horizon_unit=horizon_unit,  # type: ignore[arg-type]
    )
