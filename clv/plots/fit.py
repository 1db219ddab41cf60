"""How well the fitted models reproduce the data they were fitted on: the purchase counts
(lifetimes' ``plot_period_transactions``), the order values (Gamma-Gamma), and whether order
value and frequency are independent, as Gamma-Gamma assumes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from clv.plots.source import fitted, frame_of
from clv.plots.theme import PALETTE, money_label, new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def period_transactions_frame(
    model: ClvModel | GroupedClvModel, summary: pl.DataFrame, *, max_frequency: int = 7
) -> pl.DataFrame:
    """Customers by repeat purchases in the calibration period, observed vs the model's.

    Expected = the sum over customers of P(X(T_i) = n) at each customer's own age ``T_i``
    (FHL 2005a eq. 8 for BG/NBD; exact for every purchase model, where lifetimes simulates).

    Returns
    -------
    pl.DataFrame
        ``frequency`` (``"0"`` ... ``"7+"``, the last row collecting the rest), ``observed``
        and ``expected`` (customers).
    """
    one = fitted(model)
    T = summary["T"].cast(pl.Float64).to_numpy()
    freq = summary["frequency"].to_numpy()
    ts, weights = np.unique(T, return_counts=True)
    expected = [
        float((one.probability_of_purchases(ts, n) * weights).sum()) for n in range(max_frequency)
    ]
    expected.append(float(len(T) - sum(expected)))
    observed = [int((freq == n).sum()) for n in range(max_frequency)]
    observed.append(int((freq >= max_frequency).sum()))
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


SCATTER_POINTS = 20_000
"""Most points a scatter plot draws (a seeded sample beyond): the picture is the same and a
million points take seconds to draw."""


def order_value_correlation(summary: pl.DataFrame) -> float:
    """Pearson correlation of frequency and mean order value over repeat buyers (NaN when
    there are too few, or either does not vary)."""
    rep = summary.filter(pl.col("frequency") > 0)
    f = rep["frequency"].to_numpy().astype(float)
    m = rep["monetary_value"].to_numpy().astype(float)
    if len(f) > 2 and f.std() > 0 and m.std() > 0:
        return float(np.corrcoef(f, m)[0, 1])
    return math.nan


@themed
def gamma_gamma_independence(
    summary: pl.DataFrame, *, currency: str = "", ax: Axes | None = None
) -> Axes:
    """Frequency vs mean repeat order value of repeat buyers, their correlation in the legend.

    Gamma-Gamma assumes spend per order does not depend on purchase frequency: the
    correlation (:func:`order_value_correlation`) should be near 0. ``summary``:
    ``frequency``, ``monetary_value``.
    """
    _, ax = new_axes(ax)
    rep = summary.filter(pl.col("frequency") > 0)
    f = rep["frequency"].to_numpy().astype(float)
    m = rep["monetary_value"].to_numpy().astype(float)
    rng = np.random.default_rng(0)
    shown = np.arange(len(f))
    if len(f) > SCATTER_POINTS:  # the correlation is of everyone; the picture of a sample
        shown = np.sort(rng.choice(len(f), SCATTER_POINTS, replace=False))
    jitter = rng.uniform(-0.2, 0.2, len(shown))
    r = order_value_correlation(summary)
    ax.scatter(
        f[shown] + jitter,
        m[shown],
        s=8,
        alpha=0.35,
        color=PALETTE[0],
        edgecolors="none",
        label=f"correlation {r:.2f}" if math.isfinite(r) else "too few to correlate",
    )
    ax.set_yscale("log")
    sample = f", a random {SCATTER_POINTS:,} of {len(f):,} shown" if len(shown) < len(f) else ""
    ax.set_xlabel(f"repeat purchases (count){sample}")
    ax.set_ylabel(f"mean order value {money_label(currency)}")
    ax.set_title("Order value vs frequency")
    ax.legend(loc="upper right")
    return ax
