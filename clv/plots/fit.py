"""How well the fitted models reproduce the data they were fitted on: the purchase counts
(lifetimes' ``plot_period_transactions``), the order values (Gamma-Gamma), and whether order
value and frequency are independent, as Gamma-Gamma assumes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from clv.analysis.distributions import (
    SCATTER_POINTS,
    as_order_value_sample,
    counts_of,
    frequency_age_counts,
    order_value_correlation,
)
from clv.plots.source import fitted, frame_of
from clv.plots.theme import PALETTE, money_label, new_axes, themed

__all__ = [
    "SCATTER_POINTS",
    "gamma_gamma_independence",
    "order_value_correlation",
    "period_transactions",
    "period_transactions_frame",
    "spend_distribution",
    "spend_distribution_frame",
]

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def period_transactions_frame(
    model: ClvModel | GroupedClvModel, summary: pl.DataFrame, *, max_frequency: int = 7
) -> pl.DataFrame:
    """Customers by repeat purchases in the calibration period, observed vs the model's.

    ``summary``: the RFM summary, or its customers by ``frequency`` and ``T``
    (:func:`clv.analysis.distributions.frequency_age_counts`, which any engine can make).
    Expected = the sum over customers of P(X(T_i) = n) at each customer's own age ``T_i``
    (FHL 2005a eq. 8 for BG/NBD; exact for every purchase model, where lifetimes simulates).

    Returns
    -------
    pl.DataFrame
        ``frequency`` (``"0"`` ... ``"7+"``, the last row collecting the rest), ``observed``
        and ``expected`` (customers).
    """
    one = fitted(model)
    counts = summary if "customers" in summary.columns else frequency_age_counts(summary)
    ages = counts_of(counts, "T")
    ts = ages["T"].cast(pl.Float64).to_numpy()
    weights = ages["customers"].to_numpy()
    expected = [
        float((one.probability_of_purchases(ts, n) * weights).sum()) for n in range(max_frequency)
    ]
    expected.append(float(weights.sum() - sum(expected)))
    freq = counts["frequency"].to_numpy()
    customers = counts["customers"].to_numpy()
    observed = [int(customers[freq == n].sum()) for n in range(max_frequency)]
    observed.append(int(customers[freq >= max_frequency].sum()))
    labels = [str(n) for n in range(max_frequency)] + [f"{max_frequency}+"]
    return pl.DataFrame({"frequency": labels, "observed": observed, "expected": expected})


@themed
def period_transactions(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    summary: pl.DataFrame | None = None,
    *,
    max_frequency: int = 7,
    model_title: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Bars of customers by repeat purchases, observed and expected
    (:func:`period_transactions_frame`, or that frame); returns the Axes. The legend names the
    purchase model (``model_title``, else the model's own, else "model")."""
    frame = frame_of(
        model_or_frame, period_transactions_frame, summary, max_frequency=max_frequency
    )
    if model_title is None and not isinstance(model_or_frame, pl.DataFrame):
        model_title = model_or_frame.spec.title
    _, ax = new_axes(ax)
    labels = [str(v) for v in frame["frequency"].to_list()]
    x = np.arange(len(labels))
    w = 0.4
    ax.bar(x - w / 2, frame["observed"].cast(pl.Float64), w, label="observed", color=PALETTE[1])
    expected = f"{model_title} expected" if model_title else "model"
    ax.bar(x + w / 2, frame["expected"].cast(pl.Float64), w, label=expected, color=PALETTE[0])
    ax.set_xticks(x, labels)
    ax.set_xlabel("repeat purchases (count)")
    ax.set_ylabel("customers (count)")
    ax.set_title("Purchase counts")
    ax.legend()
    return ax


def spend_distribution_frame(
    model: ClvModel | GroupedClvModel, summary: pl.DataFrame, *, bins: int = 30
) -> pl.DataFrame:
    """Repeat buyers by mean order value, observed vs Gamma-Gamma's.

    Under Gamma-Gamma a customer's mean of ``x`` order values, ``m``, has
    ``x m / (v + x m) ~ Beta(p x, q)`` (FHL 2005b, note 025 eq. 3), so the expected number
    of repeat buyers in a bin is the sum over them of the Beta probability of the bin at
    their own ``x``. Bins are equal, from 0 to the 99th percentile of ``m``.

    Returns
    -------
    pl.DataFrame
        ``low``, ``high`` (bin edges, currency), ``observed`` and ``expected`` (repeat buyers
        with a positive mean order value).
    """
    from scipy.special import betainc

    gg = fitted(model).gamma_gamma
    buyers = summary.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    m = buyers["monetary_value"].cast(pl.Float64).to_numpy()
    xs, counts = np.unique(buyers["frequency"].cast(pl.Float64).to_numpy(), return_counts=True)
    top = float(np.quantile(m, 0.99)) if m.size else 1.0
    edges = np.linspace(0.0, top, bins + 1)
    observed, _ = np.histogram(m, edges)
    xe = xs[:, None] * edges[None, :]
    cdf = betainc(gg["p"] * xs[:, None], gg["q"], xe / (gg["v"] + xe))
    expected = counts @ np.diff(cdf, axis=1)
    return pl.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "observed": observed, "expected": expected}
    )


@themed
def spend_distribution(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    summary: pl.DataFrame | None = None,
    *,
    bins: int = 30,
    currency: str = "",
    ax: Axes | None = None,
) -> Axes:
    """Histogram of repeat buyers' mean order values with Gamma-Gamma's expected counts
    (:func:`spend_distribution_frame`, or that frame); returns the Axes."""
    frame = frame_of(model_or_frame, spend_distribution_frame, summary, bins=bins)
    _, ax = new_axes(ax)
    low, high = frame["low"].to_numpy(), frame["high"].to_numpy()
    ax.bar(
        low,
        frame["observed"].cast(pl.Float64),
        high - low,
        align="edge",
        color=PALETTE[1],
        label="observed",
    )
    ax.plot(
        (low + high) / 2,
        frame["expected"].to_numpy(),
        "o-",
        ms=3,
        color=PALETTE[0],
        label="Gamma-Gamma",
    )
    ax.set_xlabel(f"mean order value {money_label(currency)}; top 1 % not shown")
    ax.set_ylabel("repeat buyers (count)")
    ax.set_title("Order values")
    ax.legend()
    return ax


@themed
def gamma_gamma_independence(
    summary: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Axes:
    """Frequency vs mean repeat order value of repeat buyers, their correlation in the legend.

    Gamma-Gamma assumes spend per order does not depend on purchase frequency: the
    correlation (:func:`order_value_correlation`, of every repeat buyer) should be near 0.
    ``summary``: ``frequency``, ``monetary_value``; or its
    :func:`clv.analysis.distributions.order_value_sample` (at most :data:`SCATTER_POINTS`
    repeat buyers drawn, a seeded sample beyond).
    """
    _, ax = new_axes(ax)
    sample = as_order_value_sample(summary)
    f = sample["frequency"].to_numpy().astype(float)
    m = sample["monetary_value"].to_numpy().astype(float)
    r = float(sample["correlation"][0]) if sample.height else math.nan
    repeat_buyers = int(sample["repeat_buyers"][0]) if sample.height else 0
    jitter = np.random.default_rng(0).uniform(-0.2, 0.2, len(f))
    ax.scatter(
        f + jitter,
        m,
        s=8,
        alpha=0.35,
        color=PALETTE[0],
        edgecolors="none",
        label=f"correlation {r:.2f}" if math.isfinite(r) else "too few to correlate",
    )
    ax.set_yscale("log")
    shown = len(f)
    sample_words = (
        f", a random {shown:,} of {repeat_buyers:,} shown" if shown < repeat_buyers else ""
    )
    ax.set_xlabel(f"repeat purchases (count){sample_words}")
    ax.set_ylabel(f"mean order value {money_label(currency)}")
    ax.set_title("Order value vs frequency")
    ax.legend(loc="upper right")
    return ax
