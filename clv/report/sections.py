"""The steps a report notebook calls: load the data, compute a section's table, note or check.

Each function takes frames (and a fitted model) and returns a frame, a dict or text; the
notebooks only arrange them with :class:`clv.render.Display`. Nothing here writes files.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from clv.errors import UsageError

# Re-exported ("X as X"): the grid is a view of the models, kept importable from here.
from clv.models.history import frequency_recency_grid as frequency_recency_grid
from clv.report.render import format_number, value_text


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


def tiers_from_cuts(
    cuts: Sequence[float] = (0.2, 0.8), names: Sequence[str] = ("good", "middle", "bad")
) -> tuple[tuple[str, float], ...]:
    """``[0.2, 0.8]`` -> ``(("good", 0.2), ("middle", 0.6), ("bad", 0.2))``: tiers from the
    top down, cut at these cumulative shares of customers."""
    a, b = cuts
    if not 0 < a < b < 1:
        raise UsageError(f"tier_cuts must be two increasing shares in (0, 1), not {list(cuts)}")
    return ((names[0], a), (names[1], round(b - a, 12)), (names[2], round(1 - b, 12)))


def tier_tables(
    table: pl.DataFrame, tiers: Sequence[tuple[str, float]]
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The tiers by historical revenue and by predicted CLV, and both shares side by side.

    ``table``: :func:`clv.segments.segment_table` with scores (``tier`` and ``revenue``,
    ``value_tier`` and ``clv``). Returns :func:`clv.segments.tier_summary` by revenue, the
    same by CLV, and a frame ``tier``, ``customer_share``, ``revenue_share``, ``clv_share``
    for :func:`clv.plots.tier_shares`.
    """
    from clv.analysis.segments import tier_summary

    by_revenue = tier_summary(table, value_col="revenue", tier_col="tier", tiers=tiers)
    by_clv = tier_summary(table, value_col="clv", tier_col="value_tier", tiers=tiers)
    shares = by_revenue.select(
        "tier", "customer_share", pl.col("value_share").alias("revenue_share")
    ).with_columns(clv_share=by_clv["value_share"])
    return by_revenue, by_clv, shares


def lorenz_table(frame: pl.DataFrame, columns: Mapping[str, str]) -> pl.DataFrame:
    """Lorenz curves and Gini coefficients of several value columns, stacked for
    :func:`clv.plots.lorenz_curves`.

    ``columns``: column -> label, e.g. ``{"revenue": "historical revenue"}``. Returns
    ``label``, ``gini`` (:func:`clv.segments.gini`), ``customer_share`` and ``value_share``
    (:func:`clv.segments.lorenz_curve`).
    """
    from clv.analysis.segments import gini, lorenz_curve

    parts = [
        lorenz_curve(frame[col]).select(
            pl.lit(label).alias("label"),
            pl.lit(gini(frame[col])).alias("gini"),
            "customer_share",
            "value_share",
        )
        for col, label in columns.items()
    ]
    return pl.concat(parts)


def monthly_new_returning(orders: pl.DataFrame) -> pl.DataFrame:
    """First vs returning orders per calendar month: :func:`clv.kpis.returning_vs_new` of
    each month's orders (``is_first`` is a customer's first order ever, not of the month).

    Returns ``month`` (first day), ``new_orders``, ``returning_orders``, ``aov_new``,
    ``aov_returning`` (currency per order, null without such orders), ``new_revenue`` and
    ``returning_revenue`` (currency).
    """
    from clv.analysis.kpis import returning_vs_new

    rows = []
    by_month = orders.with_columns(_month=pl.col("date").dt.truncate("1mo"))
    for (month,), part in by_month.group_by("_month", maintain_order=False):
        kpis = returning_vs_new(part.drop("_month"))
        returning = int(kpis["returning_orders"] or 0)
        new = int(kpis["orders"] or 0) - returning
        aov_new, aov_ret = kpis["aov_new"], kpis["aov_returning"]
        rows.append(
            {
                "month": month,
                "new_orders": new,
                "returning_orders": returning,
                "aov_new": aov_new,
                "aov_returning": aov_ret,
                "new_revenue": (aov_new or 0.0) * new,
                "returning_revenue": (aov_ret or 0.0) * returning,
            }
        )
    schema = {
        "month": pl.Date,
        "new_orders": pl.Int64,
        "returning_orders": pl.Int64,
        "aov_new": pl.Float64,
        "aov_returning": pl.Float64,
        "new_revenue": pl.Float64,
        "returning_revenue": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema).sort("month")


def customer_value_kpis(
    transactions: pl.DataFrame,
    scores: pl.DataFrame,
    *,
    observation_end: str | dt.date | None = None,
    channel_costs: Mapping[str, float] | None = None,
    horizon: float = 12,
    horizon_unit: str = "M",
    orders: pl.DataFrame | None = None,
    customers: pl.DataFrame | None = None,
    good_share: float = 0.2,
) -> dict[str, Any]:
    """:func:`clv.kpis.headline_kpis` plus the predicted CLV over the horizon (``kpis.json``).

    ``good_share`` is the report's top tier (``tiers[0][1]`` of :func:`tiers_from_cuts`):
    the share of customers called good in the channel numbers, so ``kpis.json`` and the
    report's channel table agree. Adds ``predicted_clv_total`` and ``predicted_clv_mean``
    (currency, over ``horizon`` ``horizon_unit``) and ``horizon`` (e.g. ``"12 M"``).
    """
    from clv.analysis.kpis import headline_kpis

    out = headline_kpis(
        transactions,
        scores,
        observation_end=observation_end,
        channel_costs=channel_costs,
        orders=orders,
        customers=customers,
        good_share=good_share,
    )
    clv = scores["clv"].fill_null(0.0)
    out["predicted_clv_total"] = float(clv.sum())
    out["predicted_clv_mean"] = float(clv.mean()) if clv.len() else None
    out["horizon"] = f"{horizon:g} {horizon_unit}"
    return out


def headline_cards(kpis: Mapping[str, Any], *, horizon: float, horizon_unit: str) -> dict[str, str]:
    """Headline numbers as label -> formatted text, for :meth:`clv.render.Display.cards`."""
    unit = {"D": "days", "W": "weeks", "M": "months"}.get(horizon_unit, horizon_unit)
    spec = [
        ("customers", "customers", "{:,.0f}"),
        ("orders", "orders", "{:,.0f}"),
        ("revenue", "revenue", "{:,.0f}"),
        ("repeat_customer_rate", "repeat customer rate", "{:.1%}"),
        ("top_10pct_revenue_share", "revenue share of the top 10 %", "{:.1%}"),
        ("predicted_clv_total", f"predicted CLV, next {horizon:g} {unit}", "{:,.0f}"),
        ("predicted_clv_mean", "predicted CLV per customer", "{:,.2f}"),
        ("returning_vs_new_aov_ratio", "AOV returning / first orders", "{:.2f}"),
    ]
    return {label: format_number(kpis.get(key), f) for key, label, f in spec if key in kpis}


def data_overview(transactions: pl.DataFrame) -> pl.DataFrame:
    """The transactions in a few lines: rows, customers, period, amounts, optional columns."""
    first, last = transactions.select(
        pl.col("date").min().alias("first"), pl.col("date").max().alias("last")
    ).row(0)
    optional = [
        c
        for c in ("order_id", "channel", "product", "loyalty", "margin")
        if c in transactions.columns
    ]
    rows = [
        ("rows", f"{transactions.height:,}"),
        ("customers", f"{transactions['customer_id'].n_unique():,}"),
        ("first day", str(first)),
        ("last day", str(last)),
        ("total amount", f"{transactions['amount'].sum():,.2f}"),
        ("mean amount per row", f"{transactions['amount'].mean():,.2f}"),
        ("optional columns", ", ".join(optional) or "none"),
    ]
    return pl.DataFrame(rows, schema=["item", "value"], orient="row")


def describe(summary: pl.DataFrame) -> pl.DataFrame:
    """Mean, quartiles, 90th percentile and max of the RFM summary's numeric columns."""
    cols = [
        c
        for c in ("frequency", "recency", "T", "monetary_value", "orders", "revenue")
        if c in summary.columns
    ]
    rows = []
    for c in cols:
        s = summary[c].cast(pl.Float64)
        rows.append(
            (c, s.mean(), s.quantile(0.25), s.median(), s.quantile(0.75), s.quantile(0.9), s.max())
        )
    return pl.DataFrame(
        rows, schema=["column", "mean", "p25", "median", "p75", "p90", "max"], orient="row"
    )


def parameter_table(model: Any, which: str) -> pl.DataFrame:
    """Fitted parameters of the purchase model (``which`` its name, e.g. ``"bgnbd"``, or
    ``"purchase"``) or of ``"gamma_gamma"``, with standard errors (null at a boundary)."""
    which = model.purchase_model if which == "purchase" else which
    params = model.gamma_gamma if which == "gamma_gamma" else model.purchase
    errors = (getattr(model, "standard_errors", None) or {}).get(which, {})
    rows = [(k, float(v), errors.get(k)) for k, v in params.items()]
    frame = pl.DataFrame(
        rows,
        schema={"parameter": pl.String, "estimate": pl.Float64, "standard_error": pl.Float64},
        orient="row",
    )
    ll = (getattr(model, "log_likelihood", None) or {}).get(which)
    extra = [("log-likelihood", ll, None)] if ll is not None else []
    if extra:
        frame = pl.concat([frame, pl.DataFrame(extra, schema=frame.schema, orient="row")])
    return frame.with_columns(pl.col("estimate").round(4), pl.col("standard_error").round(4))


def model_notes(model: Any) -> list[str]:
    """Plain-language facts about the fit: converged, customers used, warnings."""
    notes = [
        f"{model.spec.title} and Gamma-Gamma fitted on {model.n_customers:,} customers, "
        f"{model.n_repeat_buyers:,} of them repeat buyers; time unit {model.time_unit}.",
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


def purchase_count_table(
    summary: pl.DataFrame, model: Any, *, max_frequency: int = 7
) -> pl.DataFrame:
    """Customers by repeat purchases, observed vs expected from the BG/NBD.

    Expected = the sum over customers of P(X(T_i) = n) (FHL 2005a eq. 8) at each customer's
    own age ``T_i``; the last row ``max_frequency+`` collects the rest.
    """
    import numpy as np

    T = summary["T"].cast(pl.Float64).to_numpy()
    freq = summary["frequency"].to_numpy()
    ts, weights = np.unique(T, return_counts=True)
    expected = [
        float((model.probability_of_purchases(ts, n) * weights).sum()) for n in range(max_frequency)
    ]
    expected.append(float(len(T) - sum(expected)))
    observed = [int((freq == n).sum()) for n in range(max_frequency)]
    observed.append(int((freq >= max_frequency).sum()))
    labels = [str(n) for n in range(max_frequency)] + [f"{max_frequency}+"]
    return pl.DataFrame({"frequency": labels, "observed": observed, "expected": expected})


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


RETENTION_TEXTS = ("assumptions", "why_simple_overstates")
"""Keys of :func:`clv.kpis.retention_economics` that are sentences, not numbers."""


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
        if key in RETENTION_TEXTS:
            continue
        if isinstance(value, Mapping):
            compare |= {f"{key.removesuffix('_inputs')}: {k}": v for k, v in value.items()}
        elif any(word in key for word in ("simple", "model", "horizon")):
            compare[key] = value
        else:
            uplift[key] = value
    texts = [f"Assumptions: {economics['assumptions']}"] if economics.get("assumptions") else []
    if economics.get("annual_retention") is None:
        texts.append(
            "The data covers less than two years, so there is no annual retention to measure: "
            "neither the value of more retention nor the simple formula can be computed."
        )
    elif economics.get("why_simple_overstates"):
        texts.append(str(economics["why_simple_overstates"]))
    return as_table(uplift), as_table(compare), texts


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


def members_only(frame: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``frame`` whose customer is a loyalty member (all rows without ``loyalty``)."""
    if "loyalty" not in customers.columns:
        return frame
    members = customers.filter(pl.col("loyalty")).select("customer_id")
    return frame.join(members, on="customer_id", how="semi", maintain_order="left")


def month_comparison(
    by_month: pl.DataFrame | None, review_month: Any = "auto"
) -> pl.DataFrame | None:
    """The review month next to the month before and the same month a year before.

    ``review_month``: any day of the month, or ``"auto"`` (the last month in ``by_month``).
    Returns ``None`` without data (no loyalty column).
    """
    from clv.data.rfm import as_date

    if by_month is None or by_month.height == 0:
        return None
    months = by_month.sort("month")
    if review_month is None or str(review_month).lower() == "auto":
        month = months["month"][-1]
    else:
        day = as_date(review_month, "review_month")
        month = dt.date(day.year, day.month, 1)
    prev = dt.date(month.year - (month.month == 1), 12 if month.month == 1 else month.month - 1, 1)
    year = dt.date(month.year - 1, month.month, 1)
    labels = pl.DataFrame(
        {
            "period": ["this month", "last month", "a year before"],
            "month": [month, prev, year],
        }
    )
    return labels.join(months, on="month", how="left", maintain_order="left")


def before_after(orders: pl.DataFrame, launch_date: Any) -> pl.DataFrame | None:
    """:func:`clv.kpis.loyalty_before_after`, or ``None`` when no launch date is given."""
    if launch_date is None:
        return None
    from clv.analysis.kpis import loyalty_before_after

    return loyalty_before_after(orders, launch_date=launch_date)


METHODS_HTML = """
<h3 id="Definitions">Definitions</h3>
<ul>
<li><b>Order</b>: an <code>order_id</code> when that column is given, otherwise a purchase
occasion (all of one customer's rows on one calendar day). <b>Revenue</b> is the sum of amounts;
<b>margin</b> is revenue times the margin rate, or the margin column.</li>
<li><b>AOV</b> (average order value) = revenue per order. A customer's first order is "new", every
later order "returning".</li>
<li><b>Repeat customer rate</b> = share of customers with more than one order.</li>
<li><b>Top 10 %</b> = the round(0.10 n) customers with the highest value: historical revenue for
the descriptive view, predicted CLV for the forward view. <b>Tiers</b>: good / middle / bad cut
at the tier_cuts shares of customers (20 / 60 / 20 % by default).</li>
<li><b>P(alive)</b>: the probability that a customer has not dropped out, given their purchase
history (BG/NBD). <b>Expected purchases</b>: repeat purchases expected over the horizon.</li>
<li><b>CLV</b>: expected purchases month by month, times the expected order value, times the
margin, discounted monthly at the annual discount rate, over the horizon.</li>
<li><b>At risk</b>: historical value at or above the chosen quantile and P(alive) at most the
chosen threshold; value at stake = value x (1 - P(alive)).</li>
</ul>
<h3 id="Methods">Methods</h3>
<ul>
<li>BG/NBD: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2).</li>
<li>Gamma-Gamma: Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: using
iso-value curves for customer base analysis", Journal of Marketing Research 42(4).</li>
<li>Both are fitted by maximum likelihood on the RFM summary up to the observation end; the
holdout check refits on the calibration period only and compares its predictions with the
purchases that followed.</li>
<li>Member vs non-member comparisons describe customers who chose to join; they are not the
effect of the program.</li>
<li>Customer ids in this report are salted hashes; the run folder's scores.parquet and
at_risk.csv keep the real ids (at_risk.csv also has the masked id as customer_ref).</li>
</ul>
"""


def holdout_check(
    transactions: pl.DataFrame,
    *,
    calibration_end: dt.date | str | None,
    observation_end: str | dt.date | None = None,
    time_unit: str = "W",
    penalizer: float | dict[str, float] = 0.0,
    purchase_model: str = "bgnbd",
) -> dict[str, Any] | None:
    """Refit on the calibration period and compare with the holdout (None without a split).

    Returns a dict: ``calibration_end``, ``holdout_days``, ``model`` (the calibration fit),
    ``parameters``, ``by_frequency`` (:func:`clv.validation.holdout_by_frequency`),
    ``metrics`` (:func:`clv.validation.holdout_metrics`), ``tracking``
    (:func:`clv.validation.tracking`) and ``error`` (None). When the calibration refit
    fails, ``error`` holds the reason and ``model`` and the tables are None: the report
    says so and goes on.
    """
    if calibration_end is None:
        return None
    from clv.analysis import validation
    from clv.data.rfm import as_date, calibration_holdout
    from clv.errors import ModelError
    from clv.models import fitting

    cal = as_date(calibration_end, "calibration_end")
    frame = calibration_holdout(
        transactions, calibration_end=cal, observation_end=observation_end, time_unit=time_unit
    )
    last = as_date(observation_end) if observation_end is not None else transactions["date"].max()
    failed = dict.fromkeys(("model", "parameters", "by_frequency", "metrics", "tracking"))
    try:
        model = fitting.fit(
            frame,
            penalizer=penalizer,
            purchase_model=purchase_model,
            holdout=frame if purchase_model == "auto" else None,
        )
        predictions = validation.holdout_predictions(frame, model)
    except ModelError as e:
        return {
            "calibration_end": cal,
            "holdout_days": (last - cal).days,
            **failed,
            "error": str(e),
        }
    return {
        "calibration_end": cal,
        "holdout_days": (last - cal).days,
        "model": model,
        "parameters": parameter_table(model, "purchase"),
        "by_frequency": validation.holdout_by_frequency(predictions),
        "metrics": validation.holdout_metrics(predictions),
        "tracking": validation.tracking(
            transactions, model, calibration_end=cal, observation_end=observation_end
        ),
        "error": None,
    }
