"""Model health: what a fit's numbers mean for the scores, as ``{"code", "message"}`` items.

Codes (stable, for programs): ``at_boundary``, ``se_larger_than_estimate``,
``no_dropout_seen``, ``one_purchase_rate``, ``equal_spend``, ``steady_spend``, ``gg_dependence``,
``gg_heavy_tail``, ``few_repeat_buyers``, ``gg_excluded_spend``, ``full_fit_failed``,
``auto_fallback``, ``auto_no_holdout``. Messages say in plain words what the condition
means for the numbers; the CLI prints them as warnings. ``values`` holds the numbers and names
of the message (``{"model": "Gamma-Gamma", "name": "q", "value": 1.24}``): the report writes
its Model health box from the code and the values, in the report's language.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import Any

from clv.models.optimize import Fit

Diagnostic = dict[str, Any]

CORRELATION_WARNING = 0.3
"""|Pearson correlation| of frequency and monetary value above which Gamma-Gamma is doubtful.

Gamma-Gamma assumes spend per order is independent of purchase frequency. Fader, Hardie and
Lee (2005b, section 3) report 0.11 on CDNOW and call it weak; by Cohen's conventions 0.1 is
a small, 0.3 a medium and 0.5 a large correlation, so at |r| > 0.3 the dependence is no
longer negligible and the expected order values (and CLV) may be biased.
"""

HEAVY_TAIL_Q = 2.0
"""Gamma-Gamma q at or below which the spread of customers' mean spend is infinite.

Customers' mean spend per order is ``p / nu`` with ``nu ~ Gamma(q, v)``: its population
mean ``p v/(q-1)`` needs q > 1 and its variance q > 2 (note 025, section 2)."""

FEW_REPEAT_BUYERS = 100
"""Fewer repeat buyers than this leave the Gamma-Gamma and dropout estimates rough."""

NO_DROPOUT = 1e-3
"""A mean dropout chance per purchase (BG/NBD, MBG/NBD: a/(a+b)) or a mean death rate times
the longest customer age (Pareto/NBD: s/beta * max T) below this means nobody is seen to
stop buying."""


def warn(diagnostics: Iterable[Diagnostic], *, group: str | None, stacklevel: int = 2) -> None:
    """One ``UserWarning`` per diagnostic, its message starting with ``group`` when given
    (``"channel 'search': ..."``); ``stacklevel`` as :func:`warnings.warn`'s, from the caller."""
    for item in diagnostics:
        message = f"{group}: {item['message']}" if group else item["message"]
        warnings.warn(message, UserWarning, stacklevel=stacklevel + 1)


def _item(code: str, message: str, **values: Any) -> Diagnostic:
    return {"code": code, "message": message, "values": values}


def fit_diagnostics(title: str, names: tuple[str, ...], fit: Fit) -> list[Diagnostic]:
    """``at_boundary`` and ``se_larger_than_estimate`` for one sub-model's fit."""
    out = []
    for name, value, se, edge in zip(
        names, fit.params, fit.standard_errors, fit.at_boundary, strict=True
    ):
        if edge:
            out.append(
                _item(
                    "at_boundary",
                    f"{title} {name} = {value:.3g} lies at the edge of what the data can tell "
                    f"(the best fit pushes it towards {'0' if value < 1 else 'infinity'}); it "
                    "has no standard error, and scores use that limit",
                    model=title,
                    name=name,
                    value=float(value),
                    towards="0" if value < 1 else "infinity",
                )
            )
        elif math.isfinite(se) and se > value:
            out.append(
                _item(
                    "se_larger_than_estimate",
                    f"{title} {name} = {value:.3g} has a standard error of {se:.3g}, larger "
                    "than itself: the data hardly determine it, so scores that depend on it "
                    "are rough",
                    model=title,
                    name=name,
                    value=float(value),
                    se=float(se),
                )
            )
    return out


def dropout_diagnostic(model: str, params: dict[str, float], max_age: float) -> list[Diagnostic]:
    """``no_dropout_seen`` when the fitted dropout is negligible (see :data:`NO_DROPOUT`)."""
    if model == "pareto_nbd":
        dropout = params["s"] / params["beta"] * max_age
    else:
        dropout = params["a"] / (params["a"] + params["b"])
    if dropout >= NO_DROPOUT:
        return []
    return [
        _item(
            "no_dropout_seen",
            "nobody appears to have stopped buying in this period, so P(alive) is close to 1 "
            "for everyone; the at-risk list is based on recency instead (time since the last "
            "purchase compared with the customer's usual gap between purchases)",
        )
    ]


_AT_RISK_BY_RECENCY = (
    "P(alive) is 1 for everyone, so the at-risk list is based on recency instead (time since "
    "the last purchase compared with the customer's usual gap between purchases)"
)


def limit_diagnostics(
    purchase_limit: str | None, spend_limit: str | None, title: str
) -> list[Diagnostic]:
    """The limits a fit kept (:mod:`clv.models.limits`), in plain words."""
    out = []
    if purchase_limit in ("poisson_no_dropout", "poisson"):
        out.append(
            _item(
                "one_purchase_rate",
                "everyone buys at about one rate: one purchase rate for all customers explains "
                f"the purchases as well as {title} does (a likelihood-ratio test), so it is used",
                model=title,
            )
        )
    if purchase_limit in ("poisson_no_dropout", "no_dropout"):
        out.append(
            _item(
                "no_dropout_seen",
                "nobody appears to have stopped buying in this period: the model without "
                f"dropout explains the purchases as well as {title} does; {_AT_RISK_BY_RECENCY}",
                model=title,
                limit=True,
            )
        )
    if spend_limit == "steady_spend":
        out.append(
            _item(
                "steady_spend",
                "each customer's orders are worth about the same every time: Gamma-Gamma "
                "without spread within a customer explains the order values as well as the "
                "full model does, so a repeat buyer's expected order value is their own average",
            )
        )
    if spend_limit == "equal_spend":
        out.append(
            _item(
                "equal_spend",
                "customers' average order values are alike: one spend level for everyone "
                "explains the order values as well as Gamma-Gamma's spread between customers "
                "does, so every customer's expected order value is the mean order value",
            )
        )
    return out


LIMIT_WORDS = {
    "poisson_no_dropout": "one purchase rate for everyone and no dropout",
    "no_dropout": "the model without dropout",
    "poisson": "one purchase rate for everyone (with dropout)",
}
"""The purchase limits of :mod:`clv.models.limits` in words."""


def full_fit_failed_diagnostic(
    title: str, kept: str, error: str, stand_ins: list[str]
) -> list[Diagnostic]:
    """``full_fit_failed``: the purchase model could not be fitted and its limit ``kept`` is
    used, tested against the other purchase models ``stand_ins`` (none: untested)."""
    test = (
        f"it explains the purchases as well as {' and '.join(stand_ins)} do"
        if stand_ins
        else "without a test against a fuller model"
    )
    return [
        _item(
            "full_fit_failed",
            f"{title} itself could not be fitted ({error.split(';')[0]}), so "
            f"{LIMIT_WORDS[kept]} is used: {test}",
            model=title,
            kept=kept,
            stand_ins=list(stand_ins),
        )
    ]


def auto_no_holdout_diagnostic() -> list[Diagnostic]:
    """``auto_no_holdout``: ``purchase_model="auto"`` had no holdout period to compare on."""
    return [
        _item(
            "auto_no_holdout",
            "no holdout period was possible, so the purchase models could not be compared "
            "on one and BG/NBD is used",
        )
    ]


def auto_fallback_diagnostic(reason: str) -> list[Diagnostic]:
    """``auto_fallback``: ``purchase_model="auto"`` could not compare the purchase models."""
    return [
        _item(
            "auto_fallback",
            "the purchase models could not be compared on the calibration period "
            f"({reason.rstrip('.')}), so BG/NBD is used and no comparison is shown",
        )
    ]


def gamma_gamma_diagnostics(
    q: float | None, correlation: float | None, n_repeat: int, n_zero_spend: int
) -> list[Diagnostic]:
    """``gg_dependence``, ``gg_heavy_tail`` (``q`` None: the equal-spend limit),
    ``few_repeat_buyers``, ``gg_excluded_spend``."""
    out = []
    if correlation is not None and abs(correlation) > CORRELATION_WARNING:
        out.append(
            _item(
                "gg_dependence",
                f"frequency and monetary value are correlated among repeat buyers (r = "
                f"{correlation:.2f}, |r| > {CORRELATION_WARNING}); Gamma-Gamma assumes they are "
                "independent, so expected order values and CLV may be biased",
                r=float(correlation),
                limit=CORRELATION_WARNING,
            )
        )
    if q is not None and q <= HEAVY_TAIL_Q:
        out.append(
            _item(
                "gg_heavy_tail",
                f"Gamma-Gamma q = {q:.3g} is close to 1: a few customers' spend dominates, the "
                "average order value of customers with few orders is uncertain and CLV can be "
                "far off for them (a Gamma-Gamma penalizer, gg_penalizer=, tempers it)",
                q=float(q),
            )
        )
    if n_repeat < FEW_REPEAT_BUYERS:
        out.append(
            _item(
                "few_repeat_buyers",
                f"only {n_repeat:,} customers bought more than once; the estimates of dropout "
                "and of order value rest on them and are rough",
                n=int(n_repeat),
            )
        )
    if n_zero_spend:
        out.append(
            _item(
                "gg_excluded_spend",
                f"{n_zero_spend:,} repeat buyers spent nothing on their repeat purchases: they "
                "count for the purchase model but are left out of the Gamma-Gamma (order "
                "value) fit",
                n=int(n_zero_spend),
            )
        )
    return out
