"""Which model: the full model or one of its nested limits, by likelihood-ratio tests.

Each model has limits inside its parameter space where a parameter sits at a finite bound: the
purchase models' no-dropout limit (the NBD, :mod:`clv.models.nbd`) and, within it, one purchase
rate for everyone (Poisson); BG/NBD's and MBG/NBD's one purchase rate with their dropout kept
(:func:`clv.models.bgnbd.fit_poisson_dropout`) and Pareto/NBD's
(:func:`clv.models.pareto_nbd.fit_one_rate`); Gamma-Gamma's equal-spend limit (q -> infinity
at a fixed mean, :func:`clv.models.gamma_gamma.fit_equal_spend`) and steady-spend limit (p ->
infinity at a fixed p v: each customer's orders all worth the same,
:func:`clv.models.gamma_gamma.fit_steady_spend`). Each limit's likelihood is computed exactly
there, not by pushing a parameter towards 1e7.

The full model and every limit are fitted; the limits are tested in a fixed order, simplest
first, each against the best log-likelihood found: the first limit with ``2 (ll_best -
ll_limit) <=`` :data:`LR_CUT` is kept, else the full model. When the full fit fails, the
other purchase models, in which the purchase limits are nested too, stand in for it in the
test; a fit fails only when no limit passes it (or every fit failed).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from clv.errors import ModelError
from clv.models.gamma_gamma import SPEND_LIMITS, fit_gamma_gamma_fast
from clv.models.optimize import Fit
from clv.models.purchase import PURCHASE_LIMITS, PURCHASE_MODELS, PurchaseModel

LR_CUT = 6.63
"""The likelihood-ratio statistic up to which a limit is kept: the 99th percentile of
chi-squared with one degree of freedom. Conservative: at a limit some parameter of the full
model is unidentified and the statistic's null distribution is a mixture at or below it."""

Fitter = Callable[[], Fit]


@dataclass
class Chosen:
    """The fit kept, the limit it is (None: the full model), and the tests as recorded."""

    fit: Fit
    limit: str | None
    tests: list[dict[str, Any]]


def _fit_or_error(fitter: Fitter) -> Fit | ModelError:
    try:
        return fitter()
    except ModelError as e:
        return e


def choose_limit(
    full: Fitter,
    limits: Sequence[tuple[str, Fitter]],
    stand_ins: Sequence[tuple[str, Fitter]] = (),
) -> Chosen:
    """Fit the full model and each limit (``(name, fitter)``, simplest first); keep the first
    limit the likelihood-ratio test does not reject, else the full model.

    ``stand_ins``: models in which the limits are nested too, fitted only when the full fit
    fails. ``tests`` starts with the full model's record (``log_likelihood`` or ``error``)
    and each stand-in's, then one per limit: ``limit``, ``log_likelihood``, ``statistic``
    (``2 (ll_best - ll_limit)``), ``kept``; or ``error`` when that limit's fit failed.
    Raises the full model's ``ModelError`` when no fit is left to keep.
    """
    fits = {name: _fit_or_error(fitter) for name, fitter in (("full", full), *limits)}
    records: list[dict[str, Any]] = []
    if isinstance(fits["full"], ModelError):
        for name, fitter in stand_ins:
            fitted = _fit_or_error(fitter)
            if isinstance(fitted, Fit):
                fits[name] = fitted
                records.append({"stand_in": name, "log_likelihood": fitted.log_likelihood})
    found = {name: f for name, f in fits.items() if isinstance(f, Fit)}
    if not found:
        raise fits["full"]  # type: ignore[misc]  # every fit raised ModelError
    best = max(f.log_likelihood for f in found.values())
    tests: list[dict[str, Any]] = []
    chosen: str | None = None
    for name, _ in limits:
        fitted = fits[name]
        if isinstance(fitted, ModelError):
            tests.append({"limit": name, "error": str(fitted), "kept": False})
            continue
        statistic = max(2.0 * (best - fitted.log_likelihood), 0.0)
        kept = chosen is None and statistic <= LR_CUT
        chosen = name if kept else chosen
        tests.append(
            {
                "limit": name,
                "log_likelihood": fitted.log_likelihood,
                "statistic": statistic,
                "kept": kept,
            }
        )
    full_fit = fits["full"]
    if chosen is None and isinstance(full_fit, ModelError):
        raise full_fit  # a stand-in rejects every limit
    record = (
        {"model": "full", "log_likelihood": full_fit.log_likelihood}
        if isinstance(full_fit, Fit)
        else {"model": "full", "error": str(full_fit)}
    )
    return Chosen(found[chosen or "full"], chosen, [record, *records, *tests])


def fit_purchase(spec: PurchaseModel, rows: tuple[np.ndarray, ...], penalizer: float) -> Chosen:
    """The purchase model ``spec`` or one of its limits (:data:`PURCHASE_LIMITS`, simplest
    first) on weighted rows ``(x, t_x, T, customers)``; the other purchase models stand in
    for ``spec`` in the tests when its fit fails."""
    return choose_limit(
        partial(spec.fit, *rows, penalizer),
        [
            (name, partial(limit.fit, *rows, penalizer))
            for name, limit in PURCHASE_LIMITS[spec.name].items()
        ],
        [
            (name, partial(other.fit, *rows, penalizer))
            for name, other in PURCHASE_MODELS.items()
            if name != spec.name
        ],
    )


def fit_spend(rows: tuple[np.ndarray, np.ndarray, np.ndarray], penalizer: float) -> Chosen:
    """Gamma-Gamma or one of its limits (:data:`~clv.models.gamma_gamma.SPEND_LIMITS`:
    equal spend, steady spend) on rows ``(x, m, customers)``."""
    return choose_limit(
        partial(fit_gamma_gamma_fast, *rows, penalizer),
        [(name, partial(limit.fit, *rows)) for name, limit in SPEND_LIMITS.items()],
    )
