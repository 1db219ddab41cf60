"""An analysis shown in a notebook: what it observed, how money is counted, the model, and
which tables it offers (computed ones marked), without computing anything."""

from __future__ import annotations

import html
from functools import cached_property
from typing import Any

from clv.data.period import UNIT_NAMES


def table_names(analysis: Any) -> dict[str, bool]:
    """The tables of an :class:`~clv.analysis.results.Analysis` (its public cached
    properties; typed ``Any``: that module imports this one) and whether each is computed."""
    names = [
        n
        for n, v in vars(type(analysis)).items()
        if isinstance(v, cached_property) and not n.startswith("_")
    ]
    return {n: n in vars(analysis) for n in names}


def analysis_html(analysis: Any) -> str:
    """:class:`~clv.analysis.results.Analysis` as HTML: the period, the money basis, the
    model (fitted or not yet) and the tables, each computed on first use."""
    period, money = analysis.period, analysis.money
    holdout = f"; holdout check from {period.calibration_end}" if period.calibration_end else ""
    basis = money.describe()
    margin = f" at a margin of {money.margin_rate:.1%}" if money.basis == "margin" else ""
    currency = f" ({money.currency})" if money.currency else ""
    model = vars(analysis).get("model")
    if model is None:
        fitted = f"{analysis.options.purchase_model} + Gamma-Gamma, fitted on first use"
    else:
        pooled = getattr(model, "pooled", model)
        fitted = f"{pooled.spec.title} + Gamma-Gamma on {pooled.n_customers:,} customers"
        if pooled is not model:
            fitted += f", one per {model.by}"
    items = "".join(
        f"<li><code>{html.escape(name)}</code>{' (computed)' if done else ''}</li>"
        for name, done in table_names(analysis).items()
    )
    return (
        "<div><strong>clv Analysis</strong><ul>"
        f"<li>Period: {period.first_day} to {period.observation_end}, time in "
        f"{UNIT_NAMES[period.time_unit]}{holdout}</li>"
        f"<li>Money: {html.escape(str(basis['basis']))}{margin}{html.escape(currency)}, "
        f"discounted at {money.discount_rate_annual:.0%} a year over "
        f"{html.escape(money.horizon_words)}</li>"
        f"<li>Model: {html.escape(fitted)}</li></ul>"
        f"<p>Tables (attributes, each computed on first use):</p><ul>{items}</ul></div>"
    )
