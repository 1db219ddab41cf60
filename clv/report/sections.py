"""The steps a report notebook calls: load the data, compute a section's table, note or check.

Each function takes frames (and a fitted model) and returns a frame, a dict or text; the
notebooks only arrange them with :class:`clv.render.Display`. Nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import polars as pl

from clv.analysis.money import Money
from clv.analysis.segments import SegmentTotals
from clv.errors import UsageError
from clv.report.headers import header
from clv.report.html_table import is_share
from clv.report.i18n import ENGLISH, N_, ReportLocale
from clv.report.messages import difference_words, horizon_text, text
from clv.report.notes import GROUPS, gamma_gamma_left_out
from clv.report.render import TEMPLATE_DIR, mask_ids


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


def _whole(kpis: Mapping[str, Any], key: str) -> int:
    """``kpis[key]`` as the whole number a plural form is chosen by (0 when missing)."""
    value = kpis.get(key)
    return int(value) if isinstance(value, int | float) and math.isfinite(value) else 0


def headline_cards(
    kpis: Mapping[str, Any], *, money: Money, locale: ReportLocale = ENGLISH
) -> dict[str, str]:
    """Headline numbers as label -> formatted text, for :meth:`clv.render.Display.cards`.

    Money figures carry ``money.currency`` as ``locale`` writes it; the CLV cards name the
    basis and the horizon in words (``"predicted CLV on margin, next 12 months"``).
    """
    _, cur = locale.gettext, money.currency

    def finite(value: Any) -> bool:
        return (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )

    def amount(value: Any) -> str:
        return locale.money(float(value), cur) if finite(value) else "-"

    def count(value: Any) -> str:
        return locale.integer(value) if finite(value) else "-"

    def share(value: Any) -> str:
        return locale.percent(value, 1) if finite(value) else "-"

    def ratio(value: Any) -> str:
        return locale.number(value, 2) if finite(value) else "-"

    horizon = horizon_words(money, locale)
    if money.basis == "margin":
        total = _("predicted CLV on margin, next {horizon}").format(horizon=horizon)
        mean = _("predicted CLV on margin per customer")
    else:
        total = _("predicted CLV on revenue, next {horizon}").format(horizon=horizon)
        mean = _("predicted CLV on revenue per customer")
    spec: list[tuple[str, str, Callable[[Any], str]]] = [
        (
            "customers",
            locale.ngettext("customer in all", "customers in all", _whole(kpis, "customers")),
            count,
        ),
        ("orders", locale.ngettext("order in all", "orders in all", _whole(kpis, "orders")), count),
        ("revenue", _("revenue"), amount),
        ("repeat_customer_rate", _("repeat customer rate"), share),
        ("top_10pct_revenue_share", _("revenue share of the top 10 %"), share),
        ("predicted_clv_total", total, amount),
        ("predicted_clv_mean", mean, amount),
        ("returning_vs_new_aov_ratio", _("order value, returning / first orders"), ratio),
    ]
    return {label: f(kpis.get(key)) for key, label, f in spec if key in kpis}


def horizon_words(money: Money, locale: ReportLocale = ENGLISH) -> str:
    """The CLV horizon in words, ``"12 months"`` (``"12 månader"``)."""
    return horizon_text(money.horizon_words, locale)


ONE_TIME_BUYERS = {
    "bgnbd": N_(
        "Customers with one purchase have P(alive) 1: BG/NBD lets a customer drop out only "
        "right after a repeat purchase, so one-time buyers are never counted as gone: read their "
        "P(alive) as no evidence either way, and their CLV as the expected purchases of customers "
        "with their history (MBG/NBD and Pareto/NBD do not pin it at 1)."
    ),
    "mbgnbd": N_(
        "MBG/NBD lets a customer drop out at the first purchase too, so a one-time buyer's "
        "P(alive) falls the longer they stay silent."
    ),
    "pareto_nbd": N_(
        "Pareto/NBD lets a customer drop out at any time, so a one-time buyer's "
        "P(alive) falls the longer they stay silent."
    ),
}
"""What the purchase model says about one-time buyers' P(alive)."""


UNIT_PLURALS = {"D": N_("days"), "W": N_("weeks"), "M": N_("months")}
"""The models' time units in the report's words (a figure's axis unit, ``recency (weeks)``, is
translated word by word: :meth:`~clv.report.i18n.ReportLocale.figure_text`)."""

TIME_IN_UNIT = {"D": N_("time in days"), "W": N_("time in weeks"), "M": N_("time in months")}
"""The fitted models' time unit as a phrase, whole, so each language can put the unit in the
case the phrase needs (Finnish: ``aika viikkoina``)."""


def model_notes(model: Any, *, locale: ReportLocale = ENGLISH) -> list[str]:
    """Plain-language facts about the fit: customers used, who Gamma-Gamma leaves out, the
    correlation it assumes away (its warnings are in the Model health box; a model per group:
    the pooled model's, and which groups have a model of their own)."""
    _ = locale.gettext
    if getattr(model, "groups", None) is not None:
        own = ", ".join(model.groups) or _("none")
        return [
            *model_notes(model.pooled, locale=locale),
            _("A model per {by}: {own}; the others are scored by the pooled model.").format(
                by=_(GROUPS.get(model.by, model.by)), own=own
            ),
        ]
    unit = model.time_unit
    notes = [
        _(
            "{model} and Gamma-Gamma fitted on {customers} customers, {repeat} of them repeat "
            "buyers; {time_in_unit}."
        ).format(
            model=model.spec.title,
            customers=locale.integer(model.n_customers),
            repeat=locale.integer(model.n_repeat_buyers),
            time_in_unit=_(TIME_IN_UNIT[unit]),
        ),
        _(ONE_TIME_BUYERS[model.purchase_model]),
    ]
    if getattr(model, "n_excluded_gamma_gamma", 0):
        notes.append(gamma_gamma_left_out(model, locale=locale) + ".")
    corr = getattr(model, "frequency_monetary_correlation", None)
    if corr is not None:
        notes.append(
            _(
                "Correlation of frequency and order value among repeat buyers: {r} "
                "(Gamma-Gamma assumes about 0)."
            ).format(r=locale.number(corr, 2))
        )
    return notes  # the diagnostics are in the Model health box


def top_text(totals: SegmentTotals, *, top_share: float, locale: ReportLocale = ENGLISH) -> str:
    """One sentence on who the top customers are: how many, by what, what they hold.

    ``totals``: :func:`clv.analysis.segments.segment_totals` of a segment table made with
    the same ``top_share`` (:attr:`clv.analysis.results.Analysis.segment_totals`).
    """
    _ = locale.gettext
    numbers = {
        "share": locale.percent(top_share),
        "top": locale.integer(totals.top),
        "all": locale.integer(totals.customers),
    }
    if totals.revenue and totals.clv:
        numbers["revenue"] = locale.percent(totals.top_revenue / totals.revenue)
        numbers["clv"] = locale.percent(totals.top_clv / totals.clv)
        text = _(
            "The top {share} are the {top} customers (of {all}) with the highest historical "
            "revenue; they brought {revenue} of the revenue and hold {clv} of the predicted "
            "CLV. The table compares them with everyone else."
        )
    elif totals.revenue:
        numbers["revenue"] = locale.percent(totals.top_revenue / totals.revenue)
        text = _(
            "The top {share} are the {top} customers (of {all}) with the highest historical "
            "revenue; they brought {revenue} of the revenue. The table compares them with "
            "everyone else."
        )
    else:
        text = _(
            "The top {share} are the {top} customers (of {all}) with the highest historical "
            "revenue. The table compares them with everyone else."
        )
    return text.format(**numbers)


def top_profile_table(profile: pl.DataFrame, *, locale: ReportLocale = ENGLISH) -> pl.DataFrame:
    """:func:`clv.analysis.profile.top_profile` as the report shows it: each ``note`` written
    from its message (``difference_<kind>``, the first page's sentence) in ``locale``'s
    language, without the ``kind`` column."""
    notes = [
        text(
            f"difference_{row['kind']}",
            {
                "top": row["top"],
                "rest": row["rest"],
                "what": difference_words(row["metric"], locale),
            },
            locale=locale,
        )
        if row["top"] is not None and row["rest"] is not None
        else row["note"]
        for row in profile.iter_rows(named=True)
    ]
    return profile.with_columns(note=pl.Series(notes, dtype=pl.String)).drop("kind")


RETENTION_ASSUMPTIONS = N_(
    "Assumptions: annual retention r = share of customers with an order in the year before "
    "last who ordered again in the last year; margin per active customer m = last year's, "
    "constant; geometric retention, the same every year; value of an active customer "
    "V(r) = m (1 + d) / (1 + d - r), first year undiscounted; the uplift adds k points to r. "
    "The simple formula (margin per order x orders per year x lifespan 1 / (1 - r)) is "
    "compared with the model over the model's horizon, with the model's monthly discounting."
)
"""The assumptions of :func:`clv.analysis.retention.retention_economics`, in words."""

WHY_SIMPLE_OVERSTATES = N_(
    "Over the same months and with the same discounting, margin per order x orders per "
    "year gives every customer the future of an active customer buying at the active "
    "customers' pace; many have already stopped (a low probability of still being a "
    "customer). The model's CLV weights "
    "each customer's future purchases by the probability that they are still alive, so "
    "it is lower."
)

NO_RETENTION = N_(
    "The data is too short to measure retention (under two 30-day windows): neither the "
    "value of more retention nor the simple formula can be computed."
)

ON_REVENUE = N_("No margin was given, so m and the simple formula are on revenue.")


def retention_tables(
    economics: Mapping[str, Any], *, locale: ReportLocale = ENGLISH
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """:func:`clv.kpis.retention_economics` as two tables and the sentences to show with them.

    The first table is the value of more retention; the second the simple formula (with its
    inputs: every nested dict, and every key naming ``simple``, ``model`` or ``horizon``)
    beside the model's CLV; on a revenue basis the "margin" terms are named revenue. The
    sentences are the assumptions, how retention was annualised from less than two years,
    and why the simple formula overstates (or why nothing can be computed), in ``locale``'s
    language.
    """
    _ = locale.gettext
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
    texts = [_(RETENTION_ASSUMPTIONS)]
    if revenue:
        texts.append(_(ON_REVENUE))
    days = economics.get("annualised_from_days")
    if economics.get("annual_retention") is None:
        texts.append(_(NO_RETENTION))
    else:
        if days:
            texts.append(
                _(
                    "The data covers less than two years: retention is measured over two "
                    "windows of {days} days and annualised (r = r_window ^ (365 / {days})); m "
                    "and orders per year are scaled to a year the same way."
                ).format(days=locale.integer(days))
            )
        if "simple_over_model" in economics:
            texts.append(_(WHY_SIMPLE_OVERSTATES))
    return as_table(uplift, locale=locale), as_table(compare, locale=locale), texts


def recent_months(
    by_month: pl.DataFrame | None, *, months: int = 3, locale: ReportLocale = ENGLISH
) -> pl.DataFrame | None:
    """The last ``months`` rows of a monthly table turned on its side: one row per measure
    (:func:`~clv.report.headers.header` words), one column per month (as ``locale`` names a
    month), values as report text, so a 20-column table reads on a phone. None stays None."""
    if by_month is None:
        return None
    last = by_month.sort("month").tail(months)
    labels = [locale.month(m) for m in last["month"].to_list()]
    rows = [
        [locale.gettext(header(c))] + [locale.value(v) for v in last[c].to_list()]
        for c in last.columns
        if c != "month"
    ]
    return pl.DataFrame(rows, schema=["measure", *labels], orient="row")


def month_comparison_table(
    comparison: pl.DataFrame | None, *, locale: ReportLocale = ENGLISH
) -> pl.DataFrame | None:
    """:func:`clv.analysis.tables.month_comparison` on its side: one row per measure
    (:func:`~clv.report.headers.header` words), one column per period (this month, last month,
    a year before), values as report text in ``locale``'s form, so the 20 measures read on
    any screen. None stays None."""
    if comparison is None:
        return None
    periods = [locale.gettext(str(p)) for p in comparison["period"].to_list()]
    rows = [
        [locale.gettext(header(c))] + [locale.value(v) for v in comparison[c].to_list()]
        for c in comparison.columns
        if c != "period"
    ]
    return pl.DataFrame(rows, schema=["measure", *periods], orient="row")


def months_long(
    by_month: pl.DataFrame | None, *, locale: ReportLocale = ENGLISH
) -> pl.DataFrame | None:
    """Every month of a monthly table, long: ``month`` (as ``locale`` names it), ``measure``,
    ``value`` (report text), for the appendix. None stays None."""
    if by_month is None:
        return None
    rows = [
        (locale.month(row["month"]), locale.gettext(header(c)), locale.value(v))
        for row in by_month.sort("month").iter_rows(named=True)
        for c, v in row.items()
        if c != "month"
    ]
    return pl.DataFrame(rows, schema=["month", "measure", "value"], orient="row")


def as_table(values: Mapping[str, Any], *, locale: ReportLocale = ENGLISH) -> pl.DataFrame:
    """A flat dict as a two-column table of formatted values; a share (a key
    :func:`~clv.report.html_table.is_share` names) as a percentage in the locale's form."""
    rows = [
        (
            locale.gettext(str(k).replace("_", " ")),
            locale.percent(v, 1) if isinstance(v, float) and is_share(str(k)) else locale.value(v),
        )
        for k, v in values.items()
        if not isinstance(v, Mapping | list)
    ]
    return pl.DataFrame(rows, schema=["metric", "value"], orient="row")


AT_RISK_CAPTIONS = {
    ("recency", "customers"): N_(
        "High-value customers overdue by their own rhythm (rule: silent for more than k usual "
        "gaps; the model sees no dropout); value at stake = value if they stay x lapse rate"
    ),
    ("recency", "members"): N_(
        "High-value members overdue by their own rhythm (rule: silent for more than k usual "
        "gaps; the model sees no dropout); value at stake = value if they stay x lapse rate"
    ),
    ("p_alive", "customers"): N_(
        "High-value customers who have probably stopped buying (rule: probability of still "
        "being a customer at most the threshold); value at stake = (1 - P(alive)) x value if "
        "they stay"
    ),
    ("p_alive", "members"): N_(
        "High-value members who have probably stopped buying (rule: probability of still "
        "being a customer at most the threshold); value at stake = (1 - P(alive)) x value if "
        "they stay"
    ),
}
"""The at-risk table's captions by rule (``recency`` or ``p_alive``) and who is listed."""


def at_risk_caption(rule: str, who: str = "customers", *, locale: ReportLocale = ENGLISH) -> str:
    """The at-risk table's caption, naming the rule that made the list; ``who`` is
    ``"customers"`` or ``"members"``."""
    key = ("recency" if rule == "recency" else "p_alive", who)
    return locale.gettext(AT_RISK_CAPTIONS.get(key, AT_RISK_CAPTIONS[(key[0], "customers")]))


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


AT_RISK_WHERE = N_("The full list, with the real customer ids, is at_risk.csv in the run folder.")
"""Where the whole at-risk list is (a msgid: shown in the report's language)."""

LOST_WHERE = N_(
    "The win-back list of customers already gone, with the real customer ids, is lost.csv in "
    "the run folder."
)
"""Where the whole win-back list is (a msgid: shown in the report's language)."""


def lists_where(lost_customers: int, *, locale: ReportLocale = ENGLISH) -> list[str]:
    """Where the at-risk list is and, when there are lost customers (``lost_customers``),
    the win-back list, in ``locale``'s language."""
    where = [locale.gettext(AT_RISK_WHERE)]
    return [*where, locale.gettext(LOST_WHERE)] if lost_customers else where


METHODS_TEMPLATE = "methods.html.j2"
"""Definitions and methods of the report (``templates/methods.html.j2``, one message per
item)."""


def methods_html(*, locale: ReportLocale = ENGLISH) -> str:
    """The report's definitions and methods in the report's language."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(locale.translations, newstyle=True)  # type: ignore[attr-defined]
    return env.get_template(METHODS_TEMPLATE).render()


METHODS_HTML = methods_html()
"""The definitions and methods in English (the report shows :func:`methods_html` in its
language)."""


def quality_table(
    quality: Any,
    *,
    id_salt: str | None = None,
    refunded_customers: int | None = None,
    locale: ReportLocale = ENGLISH,
) -> pl.DataFrame:
    """What reading found (:class:`clv.data.quality.Quality`) as a two-column table, in
    ``locale``'s language.

    ``id_salt`` masks the customer ids of house accounts and of ``exclude_customers`` ids
    the data does not hold (:func:`clv.report.render.mask_ids`);
    ``refunded_customers``: customers whose net revenue is zero or below, scored but left out
    of the lists.
    """
    _, n = locale.gettext, locale.integer

    def yes_no(flag: bool) -> str:
        return _("yes") if flag else _("no")

    def masked(ids: Sequence[str]) -> list[str]:
        return mask_ids(list(ids), id_salt).to_list() if id_salt is not None and ids else list(ids)

    names = masked(list(quality.house_accounts))
    excluded = ""
    if quality.excluded_customers:
        customers = len(quality.excluded_customers)
        rows_left_out = sum(quality.excluded_customers.values())
        excluded = "{customers}: {rows}".format(
            customers=locale.ngettext("{n} customer", "{n} customers", customers).format(
                n=n(customers)
            ),
            rows=locale.ngettext("{n} row", "{n} rows", rows_left_out).format(n=n(rows_left_out)),
        )
    placeholders = "; ".join(
        _("{id}: {n} rows").format(id=repr(k or _("(empty)")), n=n(v))
        for k, v in quality.placeholder_ids.items()
    )
    houses = "; ".join(
        _("{id}: {n} orders").format(id=k, n=n(v))
        for k, v in zip(names, quality.house_accounts.values(), strict=True)
    )
    rows = [
        (_("rows read"), n(quality.rows_read)),
        (_("customers excluded on request"), excluded or _("none")),
        (_("placeholder customer ids left out"), placeholders or _("none")),
        (_("refunds dropped"), n(quality.refunds_dropped)),
        (_("refunds netted against their purchase"), n(quality.refunds_netted)),
        (_("refunds before any purchase (left out)"), n(quality.refunds_without_purchase)),
        (_("rows with amount 0"), n(quality.zero_amounts)),
        (_("rows repeating an earlier row exactly"), n(quality.duplicate_rows)),
        (_("date format"), quality.date_format or _("dates typed in the file")),
        (_("encoding"), quality.encoding or "-"),
        (_("decimal comma"), yes_no(quality.decimal_comma)),
        (_("currency sign stripped"), quality.currency or _("none")),
        (_("first month partial"), yes_no(quality.first_month_partial)),
        (_("last month partial"), yes_no(quality.last_month_partial)),
        (_("possible house accounts (kept)"), houses or _("none")),
    ]
    if quality.excluded_not_found:
        missing = "; ".join(masked(quality.excluded_not_found))
        rows.insert(2, (_("ids to exclude that are not in the data"), missing))
    if refunded_customers is not None:
        rows.append(
            (
                _("customers with net revenue 0 or below (scored, left out of the lists)"),
                n(refunded_customers),
            )
        )
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


INTERVAL_NOTE = N_(
    "An interval shows how much a value could move because the models' parameters are "
    "estimated from a finite number of customers (90 %: nine in ten plausible parameter values "
    "give a value inside it). It does not cover the randomness of each customer's own future: a "
    "customer worth 40 (35-46) may well spend nothing or 120 next year; totals over many "
    "customers come close to what the interval says. The value of a new customer counts the "
    "first order; CLV:CAC divides it by the channel's acquisition cost."
)
"""What the report's intervals cover, in words (shown translated by :class:`Display`)."""
