"""Every figure of the reports: frames in, a matplotlib Figure out.

Each function takes polars frames (documented columns), draws on ``ax`` when given (else on a
new Figure), labels both axes with units and titles the figure with what the reader should see.
Figures are made with the object-oriented API (``matplotlib.figure.Figure``), never pyplot, so
nothing is shown twice in a notebook and nothing leaks between figures. The house theme is set
in one place, :func:`set_theme`, which every function applies on first use.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

PALETTE = ["#1f5f8b", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#5c5c5c"]
"""House colours: blue (model/main), red (observed/alert), amber, teal, green, purple, grey."""

UNIT_NAMES = {"D": "days", "W": "weeks", "M": "months"}

_THEMED = False


def set_theme() -> None:
    """Apply the house theme (seaborn ``whitegrid``, house palette, readable sizes) globally."""
    global _THEMED
    import matplotlib as mpl
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    mpl.rcParams.update(
        {
            "figure.figsize": (8.0, 4.5),
            "figure.dpi": 100,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.labelsize": 10,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "font.size": 10,
        }
    )
    _THEMED = True


def _axes(ax: Axes | None, size: tuple[float, float] = (8.0, 4.5)) -> tuple[Figure, Axes]:
    if not _THEMED:
        set_theme()
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    fig = Figure(figsize=size, layout="constrained")
    return fig, fig.add_subplot()


def _money(currency: str) -> str:
    return f"({currency})" if currency else "(currency)"


def _pct(x: float) -> str:
    return f"{x:.0%}" if math.isfinite(x) else "n/a"


# --------------------------------------------------------------------------- model fit


def purchase_count_fit(counts: pl.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Observed vs model-expected number of customers by number of repeat purchases.

    Parameters
    ----------
    counts
        ``frequency`` (repeat purchases; the last row may be an open bucket such as ``7+``,
        give it as text or int), ``observed`` and ``expected`` (customers).
    """
    fig, ax = _axes(ax)
    labels = [str(v) for v in counts["frequency"].to_list()]
    x = np.arange(len(labels))
    obs = counts["observed"].to_numpy().astype(float)
    exp = counts["expected"].to_numpy().astype(float)
    w = 0.4
    ax.bar(x - w / 2, obs, w, label="observed", color=PALETTE[1])
    ax.bar(x + w / 2, exp, w, label="BG/NBD expected", color=PALETTE[0])
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchases in the calibration period (count)")
    ax.set_ylabel("customers (count)")
    gap = np.abs(obs - exp).sum() / max(obs.sum(), 1.0) / 2
    ax.set_title(_fit_verdict(gap))
    ax.legend()
    return fig


FIT_GOOD = 0.05
"""Share of customers misplaced (half the total absolute gap between observed and expected
counts) up to which the purchase count fit is called good; up to twice that, rough."""


def _fit_verdict(gap: float) -> str:
    if not math.isfinite(gap):
        return "Purchase counts: observed vs expected"
    if gap <= FIT_GOOD:
        return f"The model reproduces the purchase counts: {gap:.1%} of customers misplaced"
    if gap <= 2 * FIT_GOOD:
        return f"The model roughly reproduces the purchase counts: {gap:.1%} misplaced"
    return f"The model does NOT reproduce the purchase counts: {gap:.1%} of customers misplaced"


def _matrix(
    grid: pl.DataFrame,
    value: str,
    ax: Axes | None,
    cmap: str,
    label: str,
    title: str,
    time_unit: str,
) -> Figure:
    fig, ax = _axes(ax, (7.0, 5.5))
    freqs = sorted(set(grid["frequency"].to_list()))
    recs = sorted(set(grid["recency"].to_list()))
    fi = {f: i for i, f in enumerate(freqs)}
    ri = {r: i for i, r in enumerate(recs)}
    z = np.full((len(freqs), len(recs)), np.nan)
    for f, r, v in grid.select("frequency", "recency", value).iter_rows():
        z[fi[f], ri[r]] = v
    for i in range(len(freqs)):  # frequency 0 has recency 0 only: it holds for every recency
        if np.isfinite(z[i]).sum() == 1:
            z[i] = z[i][np.isfinite(z[i])][0]
    extent = (min(recs), max(recs), min(freqs), max(freqs))
    im = ax.imshow(
        z, origin="lower", aspect="auto", cmap=cmap, extent=extent, interpolation="nearest"
    )
    ax.grid(False)
    fig.colorbar(im, ax=ax, label=label)
    ax.set_xlabel(
        f"recency: time of last purchase since first ({UNIT_NAMES.get(time_unit, time_unit)})"
    )
    ax.set_ylabel("frequency: repeat purchases (count)")
    ax.set_title(title)
    return fig


def expected_purchases_matrix(
    grid: pl.DataFrame,
    *,
    horizon_label: str = "the horizon",
    time_unit: str = "W",
    ax: Axes | None = None,
) -> Figure:
    """Expected purchases over the horizon by frequency and recency (a customer with the
    longest tenure T). ``grid``: ``frequency``, ``recency``, ``expected_purchases``."""
    return _matrix(
        grid,
        "expected_purchases",
        ax,
        "viridis",
        f"expected purchases in {horizon_label}",
        "Frequent buyers who bought recently are expected to buy the most",
        time_unit,
    )


def p_alive_matrix(grid: pl.DataFrame, *, time_unit: str = "W", ax: Axes | None = None) -> Figure:
    """P(alive) by frequency and recency. ``grid``: ``frequency``, ``recency``, ``p_alive``."""
    return _matrix(
        grid,
        "p_alive",
        ax,
        "magma",
        "P(alive) (probability)",
        "Frequent buyers who have not bought for a while are probably gone",
        time_unit,
    )


def gamma_gamma_independence(
    summary: pl.DataFrame, *, ax: Axes | None = None, currency: str = ""
) -> Figure:
    """Frequency vs mean repeat order value of repeat buyers, with their correlation.

    Gamma-Gamma assumes spend per order does not depend on purchase frequency: the
    correlation should be near 0. ``summary``: ``frequency``, ``monetary_value``.
    """
    from clv.models.fitting import CORRELATION_WARNING  # scipy-heavy: only for this figure

    fig, ax = _axes(ax)
    rep = summary.filter(pl.col("frequency") > 0)
    f = rep["frequency"].to_numpy().astype(float)
    m = rep["monetary_value"].to_numpy().astype(float)
    r = float(np.corrcoef(f, m)[0, 1]) if len(f) > 2 and f.std() > 0 and m.std() > 0 else math.nan
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(f))
    ax.scatter(f + jitter, m, s=8, alpha=0.35, color=PALETTE[0], edgecolors="none")
    ax.set_yscale("log")
    ax.set_xlabel("frequency: repeat purchases (count)")
    ax.set_ylabel(f"mean repeat order value {_money(currency)}, log scale")
    if not math.isfinite(r):
        ax.set_title("Order value vs frequency: too few repeat buyers to check independence")
    elif abs(r) <= CORRELATION_WARNING:
        ax.set_title(f"Order value vs frequency: correlation {r:.2f}, independent enough")
    else:
        ax.set_title(f"Order value vs frequency: correlation {r:.2f}, NOT independent")
    return fig


# --------------------------------------------------------------------------- holdout


def holdout_by_frequency(
    frame: pl.DataFrame, *, holdout_label: str = "holdout period", ax: Axes | None = None
) -> Figure:
    """Mean actual vs predicted holdout purchases by calibration frequency.

    ``frame``: :func:`clv.validation.holdout_by_frequency` (``frequency_bin``,
    ``actual_purchases``, ``predicted_purchases``: means per customer over the holdout).
    """
    fig, ax = _axes(ax)
    labels = [str(v) for v in frame["frequency_bin"].to_list()]
    x = np.arange(len(labels))
    ax.plot(x, frame["actual_purchases"].to_numpy(), "o-", color=PALETTE[1], label="actual")
    ax.plot(x, frame["predicted_purchases"].to_numpy(), "s--", color=PALETTE[0], label="predicted")
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchases in the calibration period (count)")
    ax.set_ylabel(f"mean purchases per customer in the {holdout_label} (count)")
    ax.set_title(_holdout_verdict(frame))
    ax.legend()
    return fig


HOLDOUT_GOOD = 0.15
"""Mean absolute gap between predicted and actual holdout purchases, relative to the actual
ones (customer-weighted over frequency bins), up to which predictions are said to track."""


def _holdout_verdict(frame: pl.DataFrame) -> str:
    act = frame["actual_purchases"].cast(pl.Float64).to_numpy()
    pred = frame["predicted_purchases"].cast(pl.Float64).to_numpy()
    w = (
        frame["customers"].cast(pl.Float64).to_numpy()
        if "customers" in frame.columns
        else np.ones(len(act))
    )
    total = float((w * act).sum())
    if not total or not np.isfinite(total):
        return "Holdout purchases: predicted vs actual"
    gap = float((w * np.abs(pred - act)).sum()) / total
    bias = float((w * (pred - act)).sum()) / total
    if gap <= HOLDOUT_GOOD:
        return f"Predicted holdout purchases track the actual ones (mean gap {gap:.0%})"
    way = "over" if bias > 0 else "under"
    return f"Predictions miss the holdout purchases: {way}stated, mean gap {gap:.0%}"


def cumulative_tracking(
    frame: pl.DataFrame, *, calibration_end: Any = None, ax: Axes | None = None
) -> Figure:
    """Cumulative repeat purchases, actual vs expected, over calendar time.

    ``frame``: :func:`clv.validation.tracking` (``date``, ``actual_cumulative``,
    ``expected_cumulative``). ``calibration_end`` draws a vertical line.
    """
    import datetime as dt

    fig, ax = _axes(ax)
    x = frame["date"].to_list()
    act = frame["actual_cumulative"].cast(pl.Float64).to_numpy()
    pred = frame["expected_cumulative"].cast(pl.Float64).to_numpy()
    ax.plot(x, act, color=PALETTE[1], label="actual")
    ax.plot(x, pred, "--", color=PALETTE[0], label="expected (BG/NBD)")
    if calibration_end is not None:
        end = dt.date.fromisoformat(str(calibration_end)[:10])
        ax.axvline(end, color=PALETTE[6], lw=1, ls=":")
        ax.annotate(
            "calibration end",
            (end, 0),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=9,
            color=PALETTE[6],
        )
    ax.set_xlabel("date")
    ax.set_ylabel("cumulative repeat purchases (count)")
    err = (pred[-1] - act[-1]) / act[-1] if len(act) and act[-1] else math.nan
    ax.set_title(f"Cumulative repeat purchases: prediction off by {err:+.1%} at the end")
    ax.legend()
    fig.autofmt_xdate()
    return fig


# --------------------------------------------------------------------------- scores


def clv_distribution(
    scores: pl.DataFrame,
    *,
    column: str = "clv",
    currency: str = "",
    horizon_label: str = "the horizon",
    ax: Axes | None = None,
) -> Figure:
    """Histogram of predicted CLV (up to the 99th percentile) with median and mean."""
    fig, ax = _axes(ax)
    v = scores[column].drop_nulls().to_numpy().astype(float)
    top = float(np.quantile(v, 0.99)) if len(v) else 1.0
    ax.hist(v[v <= top], bins=50, color=PALETTE[0])
    med, mean = float(np.median(v)), float(v.mean())
    ax.axvline(med, color=PALETTE[2], lw=2, label=f"median {med:,.0f}")
    ax.axvline(mean, color=PALETTE[1], lw=2, ls="--", label=f"mean {mean:,.0f}")
    ax.set_xlabel(f"predicted CLV over {horizon_label} {_money(currency)}; top 1 % not shown")
    ax.set_ylabel("customers (count)")
    ax.set_title(_skew_verdict(mean, med))
    ax.legend()
    return fig


def _skew_verdict(mean: float, median: float) -> str:
    if not (math.isfinite(mean) and math.isfinite(median)):
        return "Predicted CLV per customer"
    if median <= 0:
        return (
            "Most customers are expected to spend nothing more"
            if mean > 0
            else "No customer is expected to spend anything more"
        )
    ratio = mean / median
    if ratio >= 1.5:
        return f"Most customers are worth little: the mean CLV is {ratio:.1f}x the median"
    if ratio >= 1.0:
        return f"CLV is fairly even across customers: the mean is {ratio:.1f}x the median"
    return f"A few low values pull the mean CLV below the median ({ratio:.1f}x the median)"


def p_alive_distribution(scores: pl.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Histogram of P(alive), the probability each customer is still active."""
    fig, ax = _axes(ax)
    p = scores["p_alive"].drop_nulls().to_numpy().astype(float)
    ax.hist(p, bins=np.linspace(0, 1, 41), color=PALETTE[3])
    low = float((p < 0.5).mean()) if len(p) else math.nan
    ax.set_xlabel("P(alive) (probability)")
    ax.set_ylabel("customers (count)")
    ax.set_title(f"{_pct(low)} of customers are more likely gone than active (P(alive) < 0.5)")
    return fig


GINI_CONCENTRATED = 0.5
"""Gini from which value is called concentrated; below 0.3 it is called evenly spread."""


def lorenz_curves(curves: pl.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Lorenz curves (value held by the bottom x % of customers) and the Gini of each.

    ``curves``: one or more curves stacked, with ``label``, ``gini``
    (:func:`clv.segments.gini`), ``customer_share`` and ``value_share``
    (:func:`clv.segments.lorenz_curve`); :func:`clv.analysis.tables.lorenz_table` builds it.
    """
    fig, ax = _axes(ax, (6.0, 5.5))
    ginis = []
    labels = list(dict.fromkeys(curves["label"].to_list()))
    for i, label in enumerate(labels):
        curve = curves.filter(pl.col("label") == label).sort("customer_share")
        gini = float(curve["gini"][0])
        ginis.append(gini)
        ax.plot(
            curve["customer_share"].to_numpy(),
            curve["value_share"].to_numpy(),
            color=PALETTE[i % len(PALETTE)],
            label=f"{label} (Gini {gini:.2f})",
        )
    ax.plot([0, 1], [0, 1], color=PALETTE[6], lw=1, ls=":", label="equal shares")
    ax.set_xlabel("customers, from lowest to highest value (cumulative share)")
    ax.set_ylabel("value held (cumulative share)")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    most = max(ginis) if ginis else math.nan
    if not math.isfinite(most):
        ax.set_title("How value is shared among customers")
    elif most >= GINI_CONCENTRATED:
        ax.set_title(f"Value is concentrated in few customers (Gini up to {most:.2f})")
    elif most >= 0.3:
        ax.set_title(f"Value is moderately concentrated (Gini up to {most:.2f})")
    else:
        ax.set_title(f"Value is spread fairly evenly across customers (Gini up to {most:.2f})")
    ax.legend(loc="upper left")
    return fig


def tier_shares(
    tiers: pl.DataFrame,
    *,
    tier_col: str = "tier",
    share_cols: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Share of customers, revenue and CLV held by each value tier (grouped bars).

    ``tiers``: ``tier`` and share columns (0-1), by default every column ending in ``share``.
    """
    fig, ax = _axes(ax)
    share_cols = list(share_cols or [c for c in tiers.columns if c.endswith("share")])
    names = [str(t) for t in tiers[tier_col].to_list()]
    x = np.arange(len(names))
    w = 0.8 / max(len(share_cols), 1)
    for i, col in enumerate(share_cols):
        vals = tiers[col].to_numpy().astype(float)
        bars = ax.bar(
            x + (i - (len(share_cols) - 1) / 2) * w,
            vals,
            w,
            label=col.replace("_", " "),
            color=PALETTE[i % len(PALETTE)],
        )
        ax.bar_label(bars, labels=[_pct(v) for v in vals], fontsize=8, padding=2)
    ax.set_xticks(x, names)
    ax.set_xlabel("value tier")
    ax.set_ylabel("share of the total (fraction)")
    ax.yaxis.set_major_formatter(_percent_formatter())
    ax.set_title(_tier_verdict(tiers, share_cols, names))
    ax.legend()
    return fig


def _tier_verdict(tiers: pl.DataFrame, share_cols: list[str], names: list[str]) -> str:
    """How the first (top) tier's value share compares with its share of customers."""
    people = [c for c in share_cols if c.startswith("customer")]
    values = [c for c in share_cols if c not in people]
    if not people or not values or tiers.height == 0:
        return "Share of customers and value by tier"
    n_share = tiers[people[0]][0]
    v_shares = [tiers[c][0] for c in values if tiers[c][0] is not None]
    if not n_share or not v_shares:
        return "Share of customers and value by tier"
    top = max(v_shares)
    what = f"{_pct(top)} of the value with {_pct(n_share)} of the customers"
    if top >= 2 * n_share:
        return f"The {names[0]} tier holds far more than its share: {what}"
    if top > 1.2 * n_share:
        return f"The {names[0]} tier holds somewhat more than its share: {what}"
    return f"The {names[0]} tier holds about its share of value or less: {what}"


def _percent_formatter() -> Any:
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)


# --------------------------------------------------------------------------- KPIs


def aov_new_vs_returning(
    monthly: pl.DataFrame,
    *,
    overall_ratio: float | None = None,
    currency: str = "",
    ax: Axes | None = None,
) -> Figure:
    """Average order value of first orders vs later orders, month by month.

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``aov_new``,
    ``aov_returning``). ``overall_ratio``: ``returning_vs_new_aov_ratio`` of
    :func:`clv.kpis.returning_vs_new` over the whole period, for the title.
    """
    fig, ax = _axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    for i, kind in enumerate(["new", "returning"]):
        ax.plot(
            months,
            m[f"aov_{kind}"].cast(pl.Float64).to_numpy(),
            "o-",
            ms=3,
            color=PALETTE[i],
            label="first orders" if kind == "new" else "returning orders",
        )
    ax.set_xlabel("month of the order")
    ax.set_ylabel(f"average order value {_money(currency)}")
    if overall_ratio is not None and math.isfinite(overall_ratio):
        if abs(overall_ratio - 1) < 0.05:
            ax.set_title("Returning and first orders are worth about the same")
        else:
            more = "more" if overall_ratio > 1 else "less"
            ax.set_title(
                f"Returning orders are worth {abs(overall_ratio - 1):.0%} {more} than first orders"
            )
    else:
        ax.set_title("Average order value of first and returning orders")
    ax.legend()
    fig.autofmt_xdate()
    return fig


def cohort_retention(
    cohorts: pl.DataFrame,
    *,
    value: str = "retention",
    period: str = "months_since",
    ax: Axes | None = None,
) -> Figure:
    """Heatmap of monthly acquisition cohorts: share still buying n months after acquisition.

    ``cohorts``: :func:`clv.kpis.cohort_table`: ``cohort`` (month of first purchase),
    ``months_since`` (int) and ``retention`` (share of the cohort buying that month, 0-1).
    """
    fig, ax = _axes(ax, (9.0, 6.0))
    labels = sorted(set(cohorts["cohort"].to_list()))
    periods = sorted(set(cohorts[period].to_list()))
    ci = {c: i for i, c in enumerate(labels)}
    pi = {p: i for i, p in enumerate(periods)}
    z = np.full((len(labels), len(periods)), np.nan)
    for c, p, v in cohorts.select("cohort", period, value).iter_rows():
        z[ci[c], pi[p]] = v
    shown = z.copy()
    if 0 in pi and len(periods) > 1:
        shown[:, pi[0]] = np.nan  # month 0 is 100 % by definition: leave it out of the colours
    im = ax.imshow(shown, aspect="auto", cmap="YlGnBu", interpolation="nearest")
    ax.grid(False)
    fig.colorbar(im, ax=ax, label="customers buying that month (share of cohort)")
    step = max(1, len(labels) // 12)
    ax.set_yticks(
        range(0, len(labels), step), [str(labels[i])[:7] for i in range(0, len(labels), step)]
    )
    pstep = max(1, len(periods) // 12)
    ax.set_xticks(
        range(0, len(periods), pstep), [str(periods[i]) for i in range(0, len(periods), pstep)]
    )
    ax.set_xlabel("months since first purchase (months)")
    ax.set_ylabel("cohort: month of first purchase")
    month1 = float(np.nanmean(z[:, pi[1]])) if 1 in pi else math.nan
    if not math.isfinite(month1):
        ax.set_title("Share of each cohort buying, month by month")
    elif month1 < 0.2:
        ax.set_title(f"Only {_pct(month1)} of a cohort buys again the month after joining")
    elif month1 < 0.5:
        ax.set_title(f"{_pct(month1)} of a cohort buys again the month after joining")
    else:
        ax.set_title(f"Most of a cohort ({_pct(month1)}) buys again the month after joining")
    return fig


def channel_quality(
    channels: pl.DataFrame,
    *,
    good_share: float | None = None,
    ax: Axes | None = None,
    currency: str = "",
) -> Figure:
    """Share of good customers brought by each acquisition channel, best first.

    ``channels``: :func:`clv.kpis.channel_table` (``channel``, ``share_good`` (0-1), optional
    ``customers``, ``good_customers`` and ``mean_clv``). ``good_share``: the share of all
    customers called good (the top tier's, e.g. 0.2); by default read off the table as all
    good customers / all customers.
    """
    fig, ax = _axes(ax)
    ch = channels.sort("share_good")
    names = [str(c) for c in ch["channel"].to_list()]
    vals = ch["share_good"].to_numpy().astype(float)
    bars = ax.barh(names, vals, color=PALETTE[0])
    extra = []
    for i in range(ch.height):
        bits = []
        if "customers" in ch.columns:
            bits.append(f"{ch['customers'][i]:,} customers")
        if "mean_clv" in ch.columns and ch["mean_clv"][i] is not None:
            bits.append(f"mean CLV {ch['mean_clv'][i]:,.0f}")
        extra.append(f"{_pct(vals[i])}" + (" · " + ", ".join(bits) if bits else ""))
    ax.bar_label(bars, labels=extra, fontsize=8, padding=3)
    ax.set_xlim(0, min(1.0, max(vals.max() * 1.6, 0.05)) if len(vals) else 1.0)
    ax.xaxis.set_major_formatter(_percent_formatter())
    if good_share is None and {"good_customers", "customers"} <= set(ch.columns):
        good_share = ch["good_customers"].sum() / max(ch["customers"].sum(), 1)
    top = f"the top {good_share:.0%}" if good_share is not None else "the good tier"
    ax.set_xlabel(f"customers in {top} by value (share of the channel's customers)")
    ax.set_ylabel("acquisition channel")
    if not names:
        ax.set_title("No channels")
    elif len(names) == 1 or vals[-1] - vals[0] < 0.02:
        ax.set_title("The channels bring about the same share of good customers")
    else:
        ax.set_title(f"{names[-1]} brings the best customers ({_pct(vals[-1])} good)")
    return fig


def loyalty_by_month(
    monthly: pl.DataFrame,
    *,
    member_col: str = "member_aov",
    non_member_col: str = "non_member_aov",
    value_label: str = "average order value (currency)",
    ax: Axes | None = None,
) -> Figure:
    """A metric for loyalty members vs non-members, month by month.

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``member_aov``,
    ``non_member_aov`` or the columns named by ``member_col`` / ``non_member_col``).
    """
    fig, ax = _axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    mem = m[member_col].cast(pl.Float64).to_numpy()
    non = m[non_member_col].cast(pl.Float64).to_numpy()
    ax.plot(months, mem, "o-", ms=3, color=PALETTE[0], label="members")
    ax.plot(months, non, "o-", ms=3, color=PALETTE[1], label="non-members")
    ax.set_xlabel("month")
    ax.set_ylabel(value_label)
    fig.autofmt_xdate()
    base = np.nanmean(non) if np.isfinite(non).any() else math.nan
    diff = np.nanmean(mem) / base - 1 if base else math.nan
    what = value_label.split(" (")[0]
    ax.set_title(
        f"Members' {what} is {diff:+.0%} vs non-members (self-selected, not an effect)"
        if math.isfinite(diff)
        else f"{what} of members and non-members by month"
    )
    ax.legend()
    return fig


def loyalty_program_net(
    monthly: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Figure:
    """Members' extra margin vs what the program costs, month by month.

    ``monthly``: :func:`clv.kpis.loyalty_by_month` (``month``, ``extra_margin``,
    ``program_cost``, ``net``).
    """
    fig, ax = _axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    ax.bar(
        months,
        m["extra_margin"].to_numpy(),
        width=20,
        color=PALETTE[4],
        label="members' extra margin",
    )
    ax.bar(
        months,
        -m["program_cost"].to_numpy(),
        width=20,
        color=PALETTE[1],
        label="program cost (discounts and rewards)",
    )
    ax.plot(months, m["net"].to_numpy(), "o-", ms=3, color=PALETTE[6], label="net")
    ax.axhline(0, color=PALETTE[6], lw=0.8)
    ax.set_xlabel("month")
    ax.set_ylabel(f"margin per month {_money(currency)}")
    paying = float(m["net"].gt(0).mean()) if m.height else math.nan
    ax.set_title(f"The program paid for itself in {_pct(paying)} of months")
    ax.legend()
    fig.autofmt_xdate()
    return fig


def revenue_by_month(
    monthly: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Figure:
    """Revenue per month from first orders vs returning orders (stacked bars).

    ``monthly``: :func:`clv.analysis.tables.monthly_new_returning` (``month``, ``new_revenue``,
    ``returning_revenue``).
    """
    fig, ax = _axes(ax)
    m = monthly.sort("month")
    months = m["month"].to_list()
    new = m["new_revenue"].cast(pl.Float64).to_numpy()
    ret = m["returning_revenue"].cast(pl.Float64).to_numpy()
    ax.bar(months, new, width=20, color=PALETTE[2], label="first orders")
    ax.bar(months, ret, width=20, bottom=new, color=PALETTE[0], label="returning orders")
    ax.set_xlabel("month")
    ax.set_ylabel(f"revenue {_money(currency)}")
    share = ret.sum() / max(new.sum() + ret.sum(), 1e-12)
    ax.set_title(f"Returning orders bring {_pct(share)} of revenue")
    ax.legend()
    fig.autofmt_xdate()
    return fig


def frequency_histogram(
    summary: pl.DataFrame, *, ax: Axes | None = None, max_frequency: int = 20
) -> Figure:
    """How many customers made 0, 1, 2, ... repeat purchases (the last bar is ``max+``)."""
    fig, ax = _axes(ax)
    f = np.minimum(summary["frequency"].to_numpy(), max_frequency)
    counts = np.bincount(f, minlength=max_frequency + 1)
    ax.bar(np.arange(len(counts)), counts, color=PALETTE[0])
    ax.set_xlabel(f"repeat purchases (count; {max_frequency} means {max_frequency} or more)")
    ax.set_ylabel("customers (count)")
    one_time = counts[0] / max(counts.sum(), 1)
    ax.set_title(f"{_pct(one_time)} of customers never bought again")
    return fig
