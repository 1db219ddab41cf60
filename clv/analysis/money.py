"""The money of an analysis: basis (revenue or margin), margin rate, currency, discount, horizon.

Resolved once by :func:`resolve_money` and passed down frozen, so the command line, the
report and the notebooks put every money figure on the same basis: margin when a margin
column or a margin rate is given, revenue otherwise.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

import polars as pl

from clv.data.period import TIME_UNIT_DAYS, UNIT_NAMES, TimeUnit
from clv.errors import DataError, UsageError
from clv.models.checks import MAX_HORIZON_YEARS as MAX_HORIZON_YEARS
from clv.models.checks import check_money_and_time

Basis = Literal["revenue", "margin"]


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

    def horizon_in(self, time_unit: TimeUnit) -> float:
        """The horizon in ``time_unit`` (a model's unit: ``D``, ``W`` or ``M``)."""
        return self.horizon * TIME_UNIT_DAYS[self.horizon_unit] / TIME_UNIT_DAYS[time_unit]

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


def margin_totals(transactions: pl.DataFrame, end: dt.date) -> tuple[float, float] | None:
    """Total margin and total revenue (currency) of ``transactions`` up to ``end``, the
    day of the observation end (inclusive); None without a ``margin`` column."""
    if "margin" not in transactions.columns:
        return None
    margin, revenue = (
        transactions.lazy()
        .filter(pl.col("date") <= end)
        .select(pl.col("margin").sum(), pl.col("amount").sum())
        .collect()
        .row(0)
    )
    return float(margin), float(revenue)


def resolve_money(
    margin_totals: tuple[float, float] | None,
    *,
    margin: float | None = None,
    currency: str = "",
    discount_rate_annual: float = 0.10,
    horizon: float = 12,
    horizon_unit: TimeUnit = "M",
) -> Money:
    """The :class:`Money` of an analysis, checked by
    :func:`clv.models.checks.check_money_and_time` (the one check of money and time).

    ``margin_totals``: total margin and total revenue up to the observation end when the
    transactions have a ``margin`` column (:func:`margin_totals`, or an engine's sums), else
    None. With a margin column the margin rate is total margin / total revenue (``margin``
    must then be None); with a ``margin`` rate, that rate; otherwise the basis is revenue.
    """
    check_money_and_time(
        margin=margin,
        discount_rate_annual=discount_rate_annual,
        horizon=horizon,
        horizon_unit=horizon_unit,
    )
    from_column = margin_totals is not None
    if from_column and margin is not None:
        raise UsageError("give margin= or margin_col=, not both")
    rate = 1.0 if margin is None else float(margin)
    if margin_totals is not None:
        total_margin, revenue = margin_totals
        if not revenue > 0:
            raise DataError(
                f"revenue up to the observation end is {revenue}, so the margin column gives "
                "no margin rate; pass margin= instead of margin_col="
            )
        rate = float(total_margin / revenue)
    return Money(
        basis="margin" if from_column or margin is not None else "revenue",
        margin_rate=rate,
        margin_from_column=from_column,
        currency=currency,
        discount_rate_annual=float(discount_rate_annual),
        horizon=float(horizon),
        horizon_unit=horizon_unit,
    )
