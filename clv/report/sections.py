"""The steps a report notebook calls: load the data, compute a section's table, note or check.

Each function takes frames (and a fitted model) and returns a frame, a dict or text; the
notebooks only arrange them with :class:`clv.render.Display`. Nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any, cast

import polars as pl

from clv.analysis.money import Money
from clv.data.period import UNIT_NAMES
from clv.errors import UsageError
from clv.report.headers import header
from clv.report.messages import money_text
from clv.report.render import TEMPLATE_DIR, format_number, mask_ids, value_text


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


def headline_cards(kpis: Mapping[str, Any], *, money: Money) -> dict[str, str]:
    """Headline numbers as label -> formatted text, for :meth:`clv.render.Display.cards`.

    Money figures carry ``money.currency``; the CLV cards name the basis and the horizon in
    words (``"predicted CLV on margin, next 12 months"``).
    """
    cur = money.currency

    def amount(value: Any) -> str:
        ok = isinstance(value, int | float) and math.isfinite(value)
        return money_text(float(value), cur) if ok else "-"

    spec: list[tuple[str, str, str | Callable[[Any], str]]] = [
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


ONE_TIME_BUYERS = {
    "bgnbd": "Customers with one purchase have P(alive) 1: BG/NBD lets a customer drop out only "
    "right after a repeat purchase, so one-time buyers are never counted as gone: read their "
    "P(alive) as no evidence either way, and their CLV as the expected purchases of customers "
    "with their history (MBG/NBD and Pareto/NBD do not pin it at 1).",
    "mbgnbd": "MBG/NBD lets a customer drop out at the first purchase too, so a one-time buyer's "
    "P(alive) falls the longer they stay silent.",
    "pareto_nbd": "Pareto/NBD lets a customer drop out at any time, so a one-time buyer's "
    "P(alive) falls the longer they stay silent.",
}
"""What the purchase model says about one-time buyers' P(alive)."""


def model_notes(model: Any) -> list[str]:
    """Plain-language facts about the fit: converged, customers used, warnings (those the
    Model health box shows already left out; a model per group: the pooled model's, and which
    groups have a model of their own)."""
    if getattr(model, "groups", None) is not None:
        own = ", ".join(model.groups) or "none"
        return [
            *model_notes(model.pooled),
            f"A model per {model.by}: {own}; the others are scored by the pooled model.",
        ]
    notes = [
        f"{model.spec.title} and Gamma-Gamma fitted on {model.n_customers:,} customers, "
        f"{model.n_repeat_buyers:,} of them repeat buyers; time in "
        f"{UNIT_NAMES.get(model.time_unit, model.time_unit)}.",
        ONE_TIME_BUYERS[model.purchase_model],
    ]
    if getattr(model, "n_excluded_gamma_gamma", 0):  # the reason names how many
        notes.append(f"Gamma-Gamma: {model.excluded_gamma_gamma_reason}.")
    corr = getattr(model, "frequency_monetary_correlation", None)
    if corr is not None:
        notes.append(
            f"Correlation of frequency and order value among repeat buyers: {corr:.2f} "
            "(Gamma-Gamma assumes about 0)."
        )
    shown = {str(d["message"]) for d in getattr(model, "diagnostics", []) or []}
    notes.extend(str(w) for w in getattr(model, "warnings", []) or [] if str(w) not in shown)
    return list(dict.fromkeys(notes))  # Model health shows the diagnostics: never twice


def top_text(table: pl.DataFrame, *, top_share: float) -> str:
    """One sentence on who the top customers are: how many, by what, what they hold.

    ``table``: :func:`clv.segments.segment_table` (``top``, ``revenue``, optionally ``clv``)
    made with the same ``top_share``.
    """
    top = table.filter(pl.col("top"))
    revenue = cast(float, table["revenue"].sum())
    text = (
        f"The top {top_share:.0%} are the {top.height:,} customers (of {table.height:,}) with "
        "the highest historical revenue"
    )
    if revenue:
        text += f"; they brought {cast(float, top['revenue'].sum()) / revenue:.0%} of the revenue"
    clv = cast(float, table["clv"].fill_null(0.0).sum()) if "clv" in table.columns else 0.0
    if clv:
        top_clv = cast(float, top["clv"].fill_null(0.0).sum())
        text += f" and hold {top_clv / clv:.0%} of the predicted CLV"
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
    "customers' pace; many have already stopped (a low probability of still being a "
    "customer). The model's CLV weights "
    "each customer's future purchases by the probability that they are still alive, so "
    "it is lower."
)


def retention_tables(
    economics: Mapping[str, Any],
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """:func:`clv.kpis.retention_economics` as two tables and the sentences to show with them.

    The first table is the value of more retention; the second the simple formula (with its
    inputs: every nested dict, and every key naming ``simple``, ``model`` or ``horizon``)
    beside the model's CLV; on a revenue basis the "margin" terms are named revenue. The
    sentences are the assumptions, how retention was annualised from less than two years,
    and why the simple formula overstates (or why nothing can be computed).
    """
    revenue = economics.get("basis") == "revenue"
    uplift: dict[str, Any] = {}
    compare: dict[str, Any] = {}
    for key, value in economics.items():
        if key == "basis":
            continue
        if revenue:  # on a revenue basis every "margin" term is revenue
            key = key.replace("margin", "revenue")
        if isinstance(value, Mapping):
            for k, v in value.items():
                name = k.replace("margin", "revenue") if revenue else k
                compare[f"{key.removesuffix('_inputs')}: {name}"] = v
        elif any(word in key for word in ("simple", "model", "horizon")):
            compare[key] = value
        else:
            uplift[key] = value
    texts = [f"Assumptions: {RETENTION_ASSUMPTIONS}"]
    if revenue:
        texts.append("No margin was given, so m and the simple formula are on revenue.")
    days = economics.get("annualised_from_days")
    if economics.get("annual_retention") is None:
        texts.append(
            "The data is too short to measure retention (under two 30-day windows): neither "
            "the value of more retention nor the simple formula can be computed."
        )
    else:
        if days:
            texts.append(
                f"The data covers less than two years: retention is measured over two windows "
                f"of {days:,} days and annualised (r = r_window ^ (365 / {days:,})); m and "
                "orders per year are scaled to a year the same way."
            )
        if "simple_over_model" in economics:
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


def month_comparison_table(comparison: pl.DataFrame | None) -> pl.DataFrame | None:
    """:func:`clv.analysis.tables.month_comparison` on its side: one row per measure
    (:func:`~clv.report.headers.header` words), one column per period (this month, last month,
    a year before), values as report text, so the 20 measures read on any screen. None stays
    None."""
    if comparison is None:
        return None
    periods = comparison["period"].to_list()
    rows = [
        [header(c)] + [_month_value(v) for v in comparison[c].to_list()]
        for c in comparison.columns
        if c != "period"
    ]
    return pl.DataFrame(rows, schema=["measure", *periods], orient="row")


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


def at_risk_caption(rule: str, who: str = "customers") -> str:
    """The at-risk table's caption, naming the rule that made the list."""
    if rule == "recency":
        return (
            f"High-value {who} overdue by their own rhythm (rule: silent for more than k usual "
            "gaps; the model sees no dropout); value at stake = value if they stay x lapse rate"
        )
    return (
        f"High-value {who} who have probably stopped buying (rule: probability of still being "
        "a customer at most the threshold); value at stake = (1 - P(alive)) x value if they stay"
    )


AT_RISK_SHOWN = (
    "customer_id",
    "value_at_stake",
    "value_if_stays",
    "p_alive",
    "gaps_since_last_purchase",
    "revenue",
    "orders",
    "last_purchase",
)
"""The at-risk columns the report shows (at_risk.csv has them all)."""


def at_risk_shown(table: pl.DataFrame) -> pl.DataFrame:
    """The at-risk list with the columns that matter (:data:`AT_RISK_SHOWN`), so it fits the
    page; the run's at_risk.csv keeps every column."""
    return table.select([c for c in AT_RISK_SHOWN if c in table.columns])


AT_RISK_WHERE = "The full list, with the real customer ids, is at_risk.csv in the run folder."
"""Where the whole at-risk list is."""


METHODS_HTML = (TEMPLATE_DIR / "methods.html").read_text(encoding="utf-8")
"""Definitions and methods of the report (``templates/methods.html``)."""


def quality_table(
    quality: Any, *, id_salt: str | None = None, refunded_customers: int | None = None
) -> pl.DataFrame:
    """What reading found (:class:`clv.data.quality.Quality`) as a two-column table.

    ``id_salt`` masks the house accounts' customer ids (:func:`clv.report.render.mask_ids`);
    ``refunded_customers``: customers whose net revenue is zero or below, scored but left out
    of the lists.
    """
    houses = quality.house_accounts
    names = list(houses)
    if id_salt is not None and names:
        names = mask_ids(names, id_salt).to_list()
    rows = [
        ("rows read", f"{quality.rows_read:,}"),
        (
            "placeholder customer ids left out",
            "; ".join(f"{k or '(empty)'!r}: {v:,} rows" for k, v in quality.placeholder_ids.items())
            or "none",
        ),
        ("refunds dropped", f"{quality.refunds_dropped:,}"),
        ("refunds netted against their purchase", f"{quality.refunds_netted:,}"),
        ("refunds before any purchase (left out)", f"{quality.refunds_without_purchase:,}"),
        ("rows with amount 0", f"{quality.zero_amounts:,}"),
        ("rows repeating an earlier row exactly", f"{quality.duplicate_rows:,}"),
        ("date format", quality.date_format or "dates typed in the file"),
        ("encoding", quality.encoding or "-"),
        ("decimal comma", "yes" if quality.decimal_comma else "no"),
        ("currency sign stripped", quality.currency or "none"),
        ("first month partial", "yes" if quality.first_month_partial else "no"),
        ("last month partial", "yes" if quality.last_month_partial else "no"),
        (
            "possible house accounts (kept)",
            "; ".join(f"{k}: {v:,} orders" for k, v in zip(names, houses.values(), strict=True))
            or "none",
        ),
    ]
    if refunded_customers is not None:
        rows.append(
            (
                "customers with net revenue 0 or below (scored, left out of the lists)",
                f"{refunded_customers:,}",
            )
        )
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


INTERVAL_NOTE = (
    "An interval shows how much a value could move because the models' parameters are "
    "estimated from a finite number of customers (90 %: nine in ten plausible parameter values "
    "give a value inside it). It does not cover the randomness of each customer's own future: a "
    "customer worth 40 (35-46) may well spend nothing or 120 next year; totals over many "
    "customers come close to what the interval says. The value of a new customer counts the "
    "first order; CLV:CAC divides it by the channel's acquisition cost."
)
"""What the report's intervals cover, in words."""
