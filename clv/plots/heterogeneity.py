"""How customers differ under the fitted purchase model: the gamma distribution of purchase
rates, and the distribution of dropout (lifetimes' ``plot_transaction_rate_heterogeneity``
and ``plot_dropout_rate_heterogeneity``, for every purchase model).

Purchase rates are ``lambda ~ Gamma(r, rate=alpha)`` per time unit in all three models.
Dropout is the probability ``p ~ Beta(a, b)`` of leaving after a purchase under BG/NBD (FHL
2005a) and MBG/NBD (Batislam et al. 2007), and the rate ``mu ~ Gamma(s, rate=beta)`` per time
unit under Pareto/NBD (Schmittlein et al. 1987).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import numpy as np
import polars as pl

from clv.data.period import UNIT_NAMES
from clv.errors import UsageError
from clv.plots.source import fitted, frame_of
from clv.plots.theme import PALETTE, new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel

Quantity = Literal["purchase_rate", "dropout"]


def _density(kind: str, shape: float, other: float, points: int) -> tuple[np.ndarray, ...]:
    """Values from 0 (left out: the density may be infinite there) to the 99th percentile,
    their density and the mean, of ``Gamma(shape, rate=other)`` or ``Beta(shape, other)``."""
    from scipy.special import betaln, gammaincinv, gammaln, xlogy

    if kind == "gamma":
        top = gammaincinv(shape, 0.99) / other
        x = np.linspace(0.0, top, points + 1)[1:]
        log_pdf = xlogy(shape, other) + xlogy(shape - 1, x) - other * x - gammaln(shape)
        return x, np.exp(log_pdf), np.full(points, shape / other)
    from scipy.special import betaincinv

    top = float(betaincinv(shape, other, 0.99))
    x = np.linspace(0.0, top, points + 1)[1:]
    log_pdf = xlogy(shape - 1, x) + xlogy(other - 1, 1 - x) - betaln(shape, other)
    return x, np.exp(log_pdf), np.full(points, shape / (shape + other))


def heterogeneity_frame(model: ClvModel | GroupedClvModel, *, points: int = 200) -> pl.DataFrame:
    """The fitted distributions of purchase rate and dropout across customers.

    Returns
    -------
    pl.DataFrame
        ``quantity`` (``"purchase_rate"`` or ``"dropout"``), ``value`` (purchases per time
        unit; dropout probability per purchase, or Pareto/NBD's dropouts per time unit),
        ``density``, ``mean`` (of the distribution), ``dropout_kind`` (``"probability"`` or
        ``"rate"``) and ``time_unit``; ``points`` rows of each, up to the 99th percentile.
    """
    one = fitted(model)
    params = one.purchase
    rate = _density("gamma", params["r"], params["alpha"], points)
    if one.purchase_model == "pareto_nbd":
        dropout, kind = _density("gamma", params["s"], params["beta"], points), "rate"
    else:
        dropout, kind = _density("beta", params["a"], params["b"], points), "probability"
    parts = [
        pl.DataFrame(
            {"quantity": name, "value": v, "density": d, "mean": m},
            schema_overrides={"quantity": pl.String},
        )
        for name, (v, d, m) in (("purchase_rate", rate), ("dropout", dropout))
    ]
    return pl.concat(parts).with_columns(dropout_kind=pl.lit(kind), time_unit=pl.lit(one.time_unit))


@themed
def heterogeneity(
    model_or_frame: ClvModel | GroupedClvModel | pl.DataFrame,
    *,
    quantity: Quantity = "purchase_rate",
    ax: Axes | None = None,
) -> Axes:
    """The density of purchase rates (``quantity="purchase_rate"``) or of dropout
    (``"dropout"``) across customers, with its mean (:func:`heterogeneity_frame`, or that
    frame); returns the Axes. Draw both side by side on two axes to see the whole model."""
    if quantity not in ("purchase_rate", "dropout"):
        raise UsageError(f"quantity must be 'purchase_rate' or 'dropout', not {quantity!r}")
    frame = frame_of(model_or_frame, heterogeneity_frame)
    part = frame.filter(pl.col("quantity") == quantity)
    _, ax = new_axes(ax)
    unit = UNIT_NAMES.get(str(frame["time_unit"][0]), "time unit").rstrip("s")
    per_time = quantity == "purchase_rate" or frame["dropout_kind"][0] == "rate"
    what = "purchases" if quantity == "purchase_rate" else "dropouts"
    label = f"{what} per {unit}" if per_time else "dropout probability per purchase"
    mean = float(part["mean"][0])
    color = PALETTE[0] if quantity == "purchase_rate" else PALETTE[1]
    ax.plot(part["value"].to_numpy(), part["density"].to_numpy(), color=color)
    ax.axvline(mean, color=PALETTE[6], ls="--", lw=1, label=f"mean {mean:.3g}")
    ax.set_xlim(0, float(part["value"].max()))  # type: ignore[arg-type]
    ax.set_yscale("log")
    ax.set_xlabel(label)
    ax.set_ylabel("density, log scale")
    ax.set_title("Purchase rates" if quantity == "purchase_rate" else "Dropout")
    ax.legend(loc="upper right")
    return ax
