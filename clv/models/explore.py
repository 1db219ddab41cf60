"""What a data scientist calls on a fitted model in a notebook: predictions from numbers,
a synthetic customer base, the parameter summary and the model's HTML display.

:class:`Exploring` holds these methods for :class:`~clv.models.model.ClvModel`; the work is
done in :mod:`clv.models.predict`, :mod:`clv.models.simulate` and here.
"""

from __future__ import annotations

import html
import math
from typing import Any, cast

import numpy as np
import polars as pl
from numpy.typing import ArrayLike

from clv.data.period import UNIT_NAMES
from clv.data.rfm import DateLike
from clv.models import predict, simulate
from clv.models.fitted import Fitted, GroupedFitted

Z_95 = 1.96
"""The normal quantile of lifetimes' 95 % bounds (estimate -/+ 1.96 standard errors)."""

SUMMARY_SCHEMA = {
    "parameter": pl.String,
    "coef": pl.Float64,
    "se(coef)": pl.Float64,
    "lower 95% bound": pl.Float64,
    "upper 95% bound": pl.Float64,
    "at_limit": pl.Boolean,
}
"""lifetimes' ``summary`` columns, the parameter as a column, and whether it is at a limit."""


class Exploring:
    """The notebook methods of :class:`~clv.models.model.ClvModel`."""

    def predict_purchases(
        self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray | float:
        """Expected repeat purchases in the next ``t`` of customers with these (x, t_x, T),
        all in the model's time unit; scalars or arrays (:func:`~clv.models.predict.
        predict_purchases`). ``model.predict_purchases(10, 2, 30.4, 38.9)``."""
        return predict.predict_purchases(_model(self), t, frequency, recency, T)

    def predict_p_alive(
        self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
    ) -> np.ndarray | float:
        """P(alive) of customers with these (x, t_x, T) in the model's time unit."""
        return predict.predict_p_alive(_model(self), frequency, recency, T)

    def predict_order_value(
        self, frequency: ArrayLike, monetary_value: ArrayLike
    ) -> np.ndarray | float:
        """Expected spend per order (currency) given x repeat purchases of mean value m."""
        return predict.predict_order_value(_model(self), frequency, monetary_value)

    def simulate(
        self,
        n_customers: int,
        periods: float,
        *,
        seed: int = 0,
        start: DateLike = "2020-01-01",
    ) -> pl.DataFrame:
        """Transactions (``customer_id``, ``date``, ``amount``) of ``n_customers`` new
        customers drawn from this model, each observed for ``periods`` model time units from
        a first purchase on ``start`` (:func:`~clv.models.simulate.simulate_transactions`)."""
        return simulate.simulate_transactions(
            _model(self), n_customers, periods, seed=seed, start=start
        )

    def summary(self) -> dict[str, pl.DataFrame]:
        """The fitted parameters as lifetimes shows them, purchase and spend models apart.

        Returns
        -------
        dict
            ``{"purchase": frame, "spend": frame}``, one row per parameter: ``parameter``,
            ``coef``, ``se(coef)``, ``lower 95% bound``, ``upper 95% bound`` (coef -/+ 1.96
            standard errors, as lifetimes) and ``at_limit`` (a parameter at the edge of its
            space: no standard error, so the three are null).
        """
        model = _model(self)
        return {
            "purchase": _parameters(model, model.purchase_model, model.purchase),
            "spend": _parameters(model, "gamma_gamma", model.gamma_gamma),
        }

    def _repr_html_(self) -> str:
        return model_html(_model(self))


def _model(exploring: Exploring) -> Fitted:
    """The :class:`~clv.models.model.ClvModel` these methods belong to."""
    return cast("Fitted", exploring)


def _parameters(model: Fitted, name: str, params: dict[str, float]) -> pl.DataFrame:
    edges = set(model.at_boundary.get(name, []))
    rows = []
    for key, coef in params.items():
        se = model.standard_errors.get(name, {}).get(key, math.nan)
        known = math.isfinite(se) and key not in edges
        rows.append(
            (
                key,
                coef,
                se if known else None,
                coef - Z_95 * se if known else None,
                coef + Z_95 * se if known else None,
                key in edges,
            )
        )
    return pl.DataFrame(rows, schema=SUMMARY_SCHEMA, orient="row")


def frame_html(frame: pl.DataFrame) -> str:
    """A small frame as an HTML table, every value escaped, floats to 4 significant digits."""

    def cell(v: Any) -> str:
        text = "-" if v is None else f"{v:.4g}" if isinstance(v, float) else str(v)
        return f"<td>{html.escape(text)}</td>"

    head = "".join(f"<th>{html.escape(c)}</th>" for c in frame.columns)
    body = "".join(f"<tr>{''.join(map(cell, row))}</tr>" for row in frame.iter_rows())
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def model_html(model: Fitted) -> str:
    """The model as HTML: purchase model, customers, time unit, parameters with standard
    errors and 95 % bounds, log-likelihoods, the parameters at a limit and the diagnostics."""
    tables = {
        "purchase": _parameters(model, model.purchase_model, model.purchase),
        "spend": _parameters(model, "gamma_gamma", model.gamma_gamma),
    }
    ll = model.log_likelihood
    limits = [
        f"{which} {name}"
        for which in (model.purchase_model, "gamma_gamma")
        for name in model.at_boundary.get(which, [])
    ]
    notes = [d["message"] for d in model.diagnostics] or ["none"]
    end = f", observed to {model.observation_end}" if model.observation_end else ""
    items = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    return (
        f"<div><strong>ClvModel: {html.escape(model.spec.title)} + Gamma-Gamma</strong>"
        f"<p>{model.n_customers:,} customers ({model.n_repeat_buyers:,} repeat buyers){end}; "
        f"time in {UNIT_NAMES.get(model.time_unit, model.time_unit)}, money in currency "
        "units.</p>"
        f"<p>Purchase model ({html.escape(model.spec.title)}), log-likelihood "
        f"{ll.get(model.purchase_model, math.nan):,.2f}</p>{frame_html(tables['purchase'])}"
        f"<p>Spend model (Gamma-Gamma), log-likelihood {ll.get('gamma_gamma', math.nan):,.2f}"
        f"</p>{frame_html(tables['spend'])}"
        f"<p>At a limit: {html.escape(', '.join(limits) or 'none')}</p>"
        f"<p>Diagnostics:</p><ul>{items}</ul></div>"
    )


def grouped_html(grouped: GroupedFitted) -> str:
    """A per-group model as HTML: the groups with a model of their own (customers, purchase
    parameters), those scored by the pooled model and why, then the pooled model."""
    rows = [
        {"group": name, "customers": m.n_customers, "model": "own"}
        | {k: v for k, v in m.purchase.items()}
        for name, m in grouped.groups.items()
    ]
    own = frame_html(pl.DataFrame(rows)) if rows else "<p>No group has a model of its own.</p>"
    pooled = "".join(
        f"<li>{html.escape(str(name))}: {html.escape(why)}</li>"
        for name, why in grouped.pooled_groups.items()
    )
    return (
        f"<div><strong>GroupedClvModel by {html.escape(grouped.by)}: "
        f"{len(grouped.groups)} group model(s)</strong>{own}"
        f"<p>Scored by the pooled model:</p><ul>{pooled or '<li>none</li>'}</ul>"
        f"<p>Pooled model (every customer):</p>{model_html(grouped.pooled)}</div>"
    )
