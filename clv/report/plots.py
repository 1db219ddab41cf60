"""The figures of the models and the customers: fits, holdout, scores, concentration, tiers.

Each function takes polars frames (documented columns), draws on ``ax`` when given (else on a
new Figure), labels both axes with units and titles the figure with what the reader should see;
the house theme (:mod:`clv.report.theme`) is applied per figure. The KPI figures are in
:mod:`clv.report.plots_kpis`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from clv.report.theme import (
    PALETTE,
    SMALLEST_FONT_PT,
    UNIT_NAMES,
    money_label,
    new_axes,
    pct,
    themed,
)

# --------------------------------------------------------------------------- model fit


@themed
def purchase_count_fit(
    counts: pl.DataFrame, *, model_title: str = "BG/NBD", ax: Axes | None = None
) -> Figure:
    """Observed vs model-expected number of customers by number of repeat purchases
    (``model_title``: the purchase model's name, for the legend).

    Parameters
    ----------
    counts
        ``frequency`` (repeat purchases; the last row may be an open bucket such as ``7+``,
        give it as text or int), ``observed`` and ``expected`` (customers).
    """
    fig, ax = new_axes(ax)
    labels = [str(v) for v in counts["frequency"].to_list()]
    x = np.arange(len(labels))
    obs = counts["observed"].to_numpy().astype(float)
    exp = counts["expected"].to_numpy().astype(float)
    w = 0.4
    ax.bar(x - w / 2, obs, w, label="observed", color=PALETTE[1])
    ax.bar(x + w / 2, exp, w, label=f"{model_title} expected", color=PALETTE[0])
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
    fig, ax = new_axes(ax, (6.0, 4.8), colorbar=True)
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


@themed
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


@themed
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


SCATTER_POINTS = 20_000
"""Most points a scatter plot draws (a seeded sample beyond): the picture is the same and a
million points take seconds to draw."""


@themed
def gamma_gamma_independence(
    summary: pl.DataFrame, *, ax: Axes | None = None, currency: str = ""
) -> Figure:
    """Frequency vs mean repeat order value of repeat buyers, with their correlation.

    Gamma-Gamma assumes spend per order does not depend on purchase frequency: the
    correlation should be near 0. ``summary``: ``frequency``, ``monetary_value``.
    """
    from clv.models.fitting import CORRELATION_WARNING  # scipy-heavy: only for this figure

    fig, ax = new_axes(ax)
    rep = summary.filter(pl.col("frequency") > 0)
    f = rep["frequency"].to_numpy().astype(float)
    m = rep["monetary_value"].to_numpy().astype(float)
    r = float(np.corrcoef(f, m)[0, 1]) if len(f) > 2 and f.std() > 0 and m.std() > 0 else math.nan
    rng = np.random.default_rng(0)
    shown = np.arange(len(f))
    if len(f) > SCATTER_POINTS:  # the correlation is of everyone; the picture of a sample
        shown = np.sort(rng.choice(len(f), SCATTER_POINTS, replace=False))
    jitter = rng.uniform(-0.2, 0.2, len(shown))
    ax.scatter(f[shown] + jitter, m[shown], s=8, alpha=0.35, color=PALETTE[0], edgecolors="none")
    ax.set_yscale("log")
    sample = f", a random {SCATTER_POINTS:,} of {len(f):,} shown" if len(shown) < len(f) else ""
    ax.set_xlabel(f"frequency: repeat purchases (count){sample}")
    ax.set_ylabel(f"mean repeat order value {money_label(currency)}, log scale")
    if not math.isfinite(r):
        ax.set_title("Order value vs frequency: too few repeat buyers to check independence")
    elif abs(r) <= CORRELATION_WARNING:
        ax.set_title(f"Order value vs frequency: correlation {r:.2f}, independent enough")
    else:
        ax.set_title(f"Order value vs frequency: correlation {r:.2f}, NOT independent")
    return fig


# --------------------------------------------------------------------------- holdout


@themed
def holdout_by_frequency(
    frame: pl.DataFrame, *, holdout_label: str = "holdout period", ax: Axes | None = None
) -> Figure:
    """Mean actual vs predicted holdout purchases by calibration frequency.

    ``frame``: :func:`clv.validation.holdout_by_frequency` (``frequency_bin``,
    ``actual_purchases``, ``predicted_purchases``: means per customer over the holdout).
    """
    fig, ax = new_axes(ax)
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
        return f"Predicted holdout purchases track the actual ones (mean absolute gap {gap:.0%})"
    way = "over" if bias > 0 else "under"
    return f"Predictions miss the holdout purchases: {way}stated, mean absolute gap {gap:.0%}"


@themed
def cumulative_tracking(
    frame: pl.DataFrame,
    *,
    calibration_end: Any = None,
    model_title: str = "BG/NBD",
    ax: Axes | None = None,
) -> Figure:
    """Cumulative repeat purchases, actual vs expected, over calendar time.

    ``frame``: :func:`clv.validation.tracking` (``date``, ``actual_cumulative``,
    ``expected_cumulative``). ``calibration_end`` draws a vertical line.
    """
    import datetime as dt

    fig, ax = new_axes(ax)
    x = frame["date"].to_list()
    act = frame["actual_cumulative"].cast(pl.Float64).to_numpy()
    pred = frame["expected_cumulative"].cast(pl.Float64).to_numpy()
    ax.plot(x, act, color=PALETTE[1], label="actual")
    ax.plot(x, pred, "--", color=PALETTE[0], label=f"expected ({model_title})")
    if calibration_end is not None:
        end = dt.date.fromisoformat(str(calibration_end)[:10])
        ax.axvline(end, color=PALETTE[6], lw=1, ls=":")  # type: ignore[arg-type]  # dates convert
        ax.annotate(
            "calibration end",
            (end, 0),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=SMALLEST_FONT_PT,
            color=PALETTE[6],
        )
    ax.set_xlabel("date")
    ax.set_ylabel("cumulative repeat purchases (count)")
    err = (pred[-1] - act[-1]) / act[-1] if len(act) and act[-1] else math.nan
    ax.set_title(f"Cumulative repeat purchases: total error {err:+.1%} at the last day")
    ax.legend()
    fig.autofmt_xdate()
    return fig


# --------------------------------------------------------------------------- scores


@themed
def clv_distribution(
    scores: pl.DataFrame,
    *,
    column: str = "clv",
    currency: str = "",
    horizon_label: str = "the horizon",
    ax: Axes | None = None,
) -> Figure:
    """Histogram of predicted CLV (up to the 99th percentile) with median and mean."""
    fig, ax = new_axes(ax)
    v = scores[column].drop_nulls().to_numpy().astype(float)
    top = float(np.quantile(v, 0.99)) if len(v) else 1.0
    counts, edges = np.histogram(v[v <= top], bins=50)  # binned once: one bar per bin
    ax.hist(edges[:-1], list(edges), weights=counts, color=PALETTE[0])
    med, mean = float(np.median(v)), float(v.mean())
    ax.axvline(med, color=PALETTE[2], lw=2, label=f"median {med:,.0f}")
    ax.axvline(mean, color=PALETTE[1], lw=2, ls="--", label=f"mean {mean:,.0f}")
    ax.set_xlabel(f"predicted CLV over {horizon_label} {money_label(currency)}; top 1 % not shown")
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
        return f"A few customers hold much of the value: mean CLV {ratio:.1f}x the median"
    if ratio >= 1.0:
        return f"CLV is fairly even across customers: the mean is {ratio:.1f}x the median"
    return f"A few low values pull the mean CLV below the median ({ratio:.1f}x the median)"


@themed
def p_alive_distribution(scores: pl.DataFrame, *, ax: Axes | None = None) -> Figure:
    """Histogram of P(alive), the probability each customer is still active."""
    fig, ax = new_axes(ax)
    p = scores["p_alive"].drop_nulls().to_numpy().astype(float)
    counts, edges = np.histogram(p, bins=40, range=(0.0, 1.0))  # equal bins: no search
    ax.hist(edges[:-1], list(edges), weights=counts, color=PALETTE[3])
    low = float((p < 0.5).mean()) if len(p) else math.nan
    ax.set_xlabel("P(alive) (probability)")
    ax.set_ylabel("customers (count)")
    ax.set_title(f"{pct(low)} of customers are more likely gone than active (P(alive) < 0.5)")
    return fig


@themed
def p_alive_history(history: pl.DataFrame, *, ax: Axes | None = None, title: str = "") -> Figure:
    """P(alive) by day with the purchases marked; ``history`` from
    :func:`clv.models.history.p_alive_history` (``date``, ``p_alive``, ``purchase``)."""
    fig, ax = new_axes(ax, (8.0, 3.5))
    ax.plot(history["date"].to_list(), history["p_alive"].to_numpy(), label="P(alive)")
    bought = history.filter(pl.col("purchase"))
    ax.scatter(bought["date"].to_list(), bought["p_alive"].to_numpy(), marker="o", label="purchase")
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("date")
    ax.set_ylabel("P(alive) (probability)")
    ax.set_title(title or "P(alive) jumps at each purchase and fades while the customer is quiet")
    ax.legend(loc="lower left")
    return fig
