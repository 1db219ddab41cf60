"""The steps a report notebook calls: load the data, compute a section's table, note or check.

Each function takes frames (and a fitted model) and returns a frame, a dict or text; the
notebooks only arrange them with :class:`clv.render.Display`. Nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from collections.abc import Mapping
from typing import Any

import polars as pl

from clv.analysis.money import Money
from clv.data.period import UNIT_NAMES
from clv.errors import UsageError
from clv.report.first_page import money_text
from clv.report.headers import header
from clv.report.render import TEMPLATE_DIR, format_number, value_text


def load_data(
    data: str | os.PathLike[str] | None,
    *,
    observation_end: str | dt.date | None = None,
    default: str = "cdnow",
    synthetic_customers: int = 5_000,
    seed: int = 1,
    **read_options: Any,
) -> pl.DataFrame:
    """The report's transactions up to ``observation_end`` (inclusive; default: all).

    ``data`` is read with :func:`clv.io.read_transactions`; when it is None, the embedded
    default: ``"cdnow"`` (the CDNOW sample) or ``"synthetic_shop"`` (``synthetic_customers``
    customers drawn with ``seed``). ``read_options`` are ``read_transactions`` keywords
    (``customer_col``, ``channel_col``, ...). Every table of the report then describes the
    same period as the model.
    """
    if data is not None:
        from clv.data.io import read_transactions

        transactions = read_transactions(data, **read_options)
    elif default == "cdnow":
        from clv.data.datasets import cdnow

        transactions = cdnow()
    elif default == "synthetic_shop":
        from clv.data.datasets import synthetic_shop

        transactions = synthetic_shop(synthetic_customers, seed=seed)[0]
    else:
        raise UsageError(f"unknown embedded data {default!r}; use cdnow or synthetic_shop")
    if observation_end is None:
        return transactions
    from clv.data.rfm import as_date

    end = as_date(observation_end, "observation_end")
    observed = transactions.filter(pl.col("date") <= end)
    if observed.height < transactions.height:
        warnings.warn(
            f"{transactions.height - observed.height:,} rows after the observation end {end} "
            "are left out of the report",
            UserWarning,
            stacklevel=2,
        )
    return observed


def frequency_recency_grid(summary: pl.DataFrame, *, points: int = 30) -> pl.DataFrame:
    """Hypothetical customers for the frequency/recency matrices: every frequency from 0 to
    the 99th percentile, recencies from 0 to the longest ``T``, all observed for that ``T``.

    Returns a summary-like frame (``customer_id``, ``frequency``, ``recency``, ``T``,
    ``monetary_value``) to pass to ``ClvModel.score``.
    """
    import numpy as np

    t_max = float(summary["T"].max())
    f_max = max(int(summary["frequency"].quantile(0.99) or 1), 1)
    recency = np.minimum(np.round(np.linspace(0.0, t_max, points), 6), t_max)
    mv = float(summary.filter(pl.col("frequency") > 0)["monetary_value"].mean() or 1.0)
    # a customer without repeat purchases has recency 0 by definition: one row for frequency 0
    rows = [(f, float(r)) for f in range(f_max + 1) for r in recency if f > 0 or r == 0.0]
    grid = pl.DataFrame(rows, schema={"frequency": pl.Int64, "recency": pl.Float64}, orient="row")
    return grid.with_columns(
        customer_id=pl.format("grid-{}-{}", "frequency", pl.int_range(pl.len())),
        T=pl.lit(t_max),
        monetary_value=pl.when(pl.col("frequency") > 0).then(mv).otherwise(0.0),
        time_unit=pl.lit(summary["time_unit"][0], dtype=summary["time_unit"].dtype),
    ).select("customer_id", "frequency", "recency", "T", "monetary_value", "time_unit")


def headline_cards(kpis: Mapping[str, Any], *, money: Money) -> dict[str, str]:
    """Headline numbers as label -> formatted text, for :meth:`clv.render.Display.cards`.

    Money figures carry ``money.currency``; the CLV cards name the basis and the horizon in
    words (``"predicted CLV on margin, next 12 months"``).
    """
    cur = money.currency

    def amount(value: Any) -> str:
        ok = isinstance(value, int | float) and math.isfinite(value)
        return money_text(float(value), cur) if ok else "-"

    spec = [
        ("customers", "customers", "{:,.0f}"),
        ("orders", "orders", "{:,.0f}"),
        ("revenue", "revenue", amount),
        ("repeat_customer_rate", "repeat customer rate", "{:.1%}"),
        ("top_10pct_revenue_share", "revenue share of the top 10 %", "{:.1%}"),
        (
            "predicted_clv_total",
            f"predicted CLV on {money.basis}, next {money.horizon_words}",
            amount,
        ),
        ("predicted_clv_mean", f"predicted CLV on {money.basis} per customer", amount),
        ("returning_vs_new_aov_ratio", "order value, returning / first orders", "{:.2f}"),
    ]
    return {
        label: f(kpis.get(key)) if callable(f) else format_number(kpis.get(key), f)
        for key, label, f in spec
        if key in kpis
    }


def model_notes(model: Any) -> list[str]:
    """Plain-language facts about the fit: converged, customers used, warnings."""
    notes = [
        f"Both models converged (the fit fails otherwise), on {model.n_customers:,} customers, "
        f"{model.n_repeat_buyers:,} of them repeat buyers; time in "
        f"{UNIT_NAMES.get(model.time_unit, model.time_unit)}.",
        "Customers with one purchase have P(alive) 1: BG/NBD lets a customer drop out only "
        "right after a repeat purchase, so one-time buyers are never counted as gone: read their "
        "P(alive) as no evidence either way, and their CLV as the expected purchases of "
        "customers with their history.",
    ]
    if getattr(model, "n_excluded_gamma_gamma", 0):
        notes.append(
            f"{model.n_excluded_gamma_gamma:,} customers left out of Gamma-Gamma: "
            f"{model.excluded_gamma_gamma_reason}."
        )
    corr = getattr(model, "frequency_monetary_correlation", None)
    if corr is not None:
        notes.append(
            f"Correlation of frequency and order value among repeat buyers: {corr:.2f} "
            "(Gamma-Gamma assumes about 0)."
        )
    notes.extend(str(w) for w in getattr(model, "warnings", []) or [])
    return notes


def top_text(table: pl.DataFrame, *, top_share: float) -> str:
    """One sentence on who the top customers are: how many, by what, what they hold.

    ``table``: :func:`clv.segments.segment_table` (``top``, ``revenue``, optionally ``clv``)
    made with the same ``top_share``.
    """
    top = table.filter(pl.col("top"))
    revenue = table["revenue"].sum()
    text = (
        f"The top {top_share:.0%} are the {top.height:,} customers (of {table.height:,}) with "
        "the highest historical revenue"
    )
    if revenue:
        text += f"; they brought {top['revenue'].sum() / revenue:.0%} of the revenue"
    clv = table["clv"].fill_null(0.0).sum() if "clv" in table.columns else 0.0
    if clv:
        text += f" and hold {top['clv'].fill_null(0.0).sum() / clv:.0%} of the predicted CLV"
    return text + ". The table compares them with everyone else."


RETENTION_ASSUMPTIONS = (
    "annual retention r = share of customers with an order in the year before last who "
    "ordered again in the last year; margin per active customer m = last year's, constant; "
    "geometric retention, the same every year; value of an active customer "
    "V(r) = m (1 + d) / (1 + d - r), first year undiscounted; the uplift adds k points to r. "
    "The simple formula (margin per order x orders per year x lifespan 1 / (1 - r)) is "
    "compared with the model over the model's horizon, with the model's monthly discounting."
)
"""The assumptions of :func:`clv.analysis.retention.retention_economics`, in words."""

WHY_SIMPLE_OVERSTATES = (
    "Over the same months and with the same discounting, margin per order x orders per "
    "year gives every customer the future of an active customer buying at the active "
    "customers' pace; many have already stopped (low p_alive). The model's CLV weights "
    "each customer's future purchases by the probability that they are still alive, so "
    "it is lower."
)


def retention_tables(
    economics: Mapping[str, Any],
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """:func:`clv.kpis.retention_economics` as two tables and the sentences to show with them.

    The first table is the value of more retention; the second the simple formula (with its
    inputs: every nested dict, and every key naming ``simple``, ``model`` or ``horizon``)
    beside the model's CLV. The sentences are the assumptions, then why the simple formula
    overstates, or, when the data covers less than two years (no ``annual_retention``),
    why neither can be computed.
    """
    uplift: dict[str, Any] = {}
    compare: dict[str, Any] = {}
    for key, value in economics.items():
        if isinstance(value, Mapping):
            compare |= {f"{key.removesuffix('_inputs')}: {k}": v for k, v in value.items()}
        elif any(word in key for word in ("simple", "model", "horizon")):
            compare[key] = value
        else:
            uplift[key] = value
    texts = [f"Assumptions: {RETENTION_ASSUMPTIONS}"]
    if economics.get("annual_retention") is None:
        texts.append(
            "The data covers less than two years, so there is no annual retention to measure: "
            "neither the value of more retention nor the simple formula can be computed."
        )
    elif "simple_over_model" in economics:
        texts.append(WHY_SIMPLE_OVERSTATES)
    return as_table(uplift), as_table(compare), texts


def recent_months(by_month: pl.DataFrame | None, *, months: int = 3) -> pl.DataFrame | None:
    """The last ``months`` rows of a monthly table turned on its side: one row per measure
    (:func:`~clv.report.headers.header` words), one column per month (``YYYY-MM``), values
    as report text, so a 20-column table reads on a phone. None stays None."""
    if by_month is None:
        return None
    last = by_month.sort("month").tail(months)
    labels = [m.strftime("%Y-%m") for m in last["month"].to_list()]
    rows = [
        [header(c)] + [_month_value(v) for v in last[c].to_list()]
        for c in last.columns
        if c != "month"
    ]
    return pl.DataFrame(rows, schema=["measure", *labels], orient="row")


def months_long(by_month: pl.DataFrame | None) -> pl.DataFrame | None:
    """Every month of a monthly table, long: ``month`` (``YYYY-MM``), ``measure``, ``value``
    (report text), for the appendix. None stays None."""
    if by_month is None:
        return None
    rows = [
        (row["month"].strftime("%Y-%m"), header(c), _month_value(v))
        for row in by_month.sort("month").iter_rows(named=True)
        for c, v in row.items()
        if c != "month"
    ]
    return pl.DataFrame(rows, schema=["month", "measure", "value"], orient="row")


def _month_value(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else value_text(value)


def as_table(values: Mapping[str, Any]) -> pl.DataFrame:
    """A flat dict as a two-column table of formatted values."""
    rows = [
        (str(k).replace("_", " "), value_text(v))
        for k, v in values.items()
        if not isinstance(v, Mapping | list)
    ]
    return pl.DataFrame(rows, schema=["metric", "value"], orient="row")


def at_risk_text(at_risk: pl.DataFrame, *, min_value_quantile: float, max_p_alive: float) -> str:
    """One sentence on the at-risk list: how many, the rule, the value at stake."""
    stake = at_risk["value_at_stake"].sum() if "value_at_stake" in at_risk.columns else 0.0
    return (
        f"{at_risk.height:,} customers have a historical value in the top "
        f"{1 - min_value_quantile:.0%} and a probability of still being active of at most "
        f"{max_p_alive:.0%}; together {stake:,.0f} of historical value is at stake. The full "
        "list, with the real customer ids, is at_risk.csv in the run folder."
    )


METHODS_HTML = (TEMPLATE_DIR / "methods.html").read_text(encoding="utf-8")
"""Definitions and methods of the report (``templates/methods.html``)."""
