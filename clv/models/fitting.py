"""Fit a purchase model and Gamma-Gamma on weighted distinct rows into a ``ClvModel``.

``engine="fast"`` (the default) fits the vectorised numpy likelihoods of
:mod:`clv.models.bgnbd`, :mod:`clv.models.mbgnbd`, :mod:`clv.models.pareto_nbd` and
:mod:`clv.models.gamma_gamma`; ``engine="lifetimes"`` calls lifetimes itself
(:mod:`clv.models.lifetimes_engine`, BG/NBD only).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Mapping, Sequence
from functools import cache, partial
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Literal, overload

import numpy as np
import polars as pl

from clv.data import engines
from clv.data.frames import Frame, as_polars
from clv.data.rfm import TimeUnit
from clv.errors import ModelError, UsageError

# Re-exported (the two "X as X" imports): callers imported them from clv.models.model before.
from clv.models.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.models.bgnbd import probability_of_purchases as probability_of_purchases
from clv.models.checks import check_summary as _check_summary
from clv.models.checks import penalizers
from clv.models.checks import summary_unit as _summary_unit
from clv.models.diagnostics import (
    CORRELATION_WARNING as CORRELATION_WARNING,  # re-exported: the report's figure reads it
)
from clv.models.diagnostics import (
    Diagnostic,
    auto_fallback_diagnostic,
    auto_no_holdout_diagnostic,
    dropout_diagnostic,
    fit_diagnostics,
    full_fit_failed_diagnostic,
    gamma_gamma_diagnostics,
    limit_diagnostics,
)
from clv.models.diagnostics import warn as warn_diagnostics
from clv.models.gamma_gamma import GAMMA_GAMMA_PARAMS, SPEND_LIMITS
from clv.models.groups import GroupedClvModel, fit_by_group
from clv.models.lifetimes_engine import _fit_lifetimes
from clv.models.limits import fit_purchase, fit_spend
from clv.models.model import ClvModel
from clv.models.optimize import Fit
from clv.models.purchase import PurchaseModelName, limit_model
from clv.models.purchase import purchase_model as purchase_spec
from clv.models.rows import fit_rows
from clv.models.selection import choose_purchase_model

Engine = Literal["fast", "lifetimes", "spark"]
PurchaseModelChoice = Literal["bgnbd", "mbgnbd", "pareto_nbd", "auto"]


def _package_versions() -> dict[str, str]:
    """The versions recorded in a model (a copy: each model owns its dict)."""
    return dict(_installed_versions())


@cache  # 30 ms of metadata lookups per call; fit_by_group fits a model per group
def _installed_versions() -> dict[str, str]:
    out = {}
    for name in ("clv", "lifetimes", "numpy", "scipy", "polars"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "unknown"
    return out


def _fingerprint(bg_rows: tuple[np.ndarray, ...], gg_rows: tuple[np.ndarray, ...]) -> str:
    """sha256 of what the fit saw: the sorted distinct (frequency, recency, T, customers)
    rows, and the sorted spends per order and per customer of the Gamma-Gamma customers.
    Customer ids and row order do not enter."""
    counts = gg_rows[2].astype(np.int64)  # per customer, as the rows came grouped or not
    x, m = np.repeat(gg_rows[0], counts), np.repeat(gg_rows[1], counts)
    digest = hashlib.sha256()
    for arr in (*bg_rows, np.sort(m), np.sort(x * m)):
        digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


def _weighted_correlation(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> float | None:
    """Pearson correlation of ``x`` and ``m`` over rows weighted by ``w`` (None if undefined)."""
    with np.errstate(all="ignore"):
        dx, dm = x - np.average(x, weights=w), m - np.average(m, weights=w)
        c = np.sum(w * dx * dm) / np.sqrt(np.sum(w * dx * dx) * np.sum(w * dm * dm))
    return float(c) if math.isfinite(c) else None


# --------------------------------------------------------------------------------------------
# Fit
# --------------------------------------------------------------------------------------------


def check_fittable(summary: pl.DataFrame) -> None:
    """Raise the :class:`~clv.errors.ModelError` that :func:`fit` would raise before it
    optimizes anything: no repeat purchase, every customer of age 0, no positive repeat spend.

    Cheap (one pass over the summary): the report runner calls it before a run folder exists.
    """
    repeat = pl.col("frequency") > 0
    stats = summary.select(
        n=pl.len(),
        repeat=repeat.sum(),
        age=pl.col("T").max(),
        spenders=(repeat & (pl.col("monetary_value") > 0)).sum(),
    ).row(0, named=True)
    _fittable(stats["n"], stats["repeat"], stats["age"] or 0.0, stats["spenders"])


def _fittable(n: int, repeat: int, age: float, spenders: int) -> None:
    if repeat == 0:
        raise ModelError(
            f"none of the {n:,} customers made a repeat purchase, so the purchase model and "
            "Gamma-Gamma cannot be fitted; use a longer period or a later observation_end="
        )
    if not age > 0:
        raise ModelError(
            "every customer was first seen on the observation end (T = 0); use a later "
            "observation_end="
        )
    if spenders == 0:
        raise ModelError(
            "no repeat purchase has a positive amount, so Gamma-Gamma cannot be fitted; "
            "check the amount column"
        )


@overload
def fit(
    summary: Frame,
    *,
    penalizer: float | Mapping[str, float] = ...,
    engine: Engine = ...,
    time_unit: TimeUnit | None = ...,
    purchase_model: PurchaseModelChoice = ...,
    holdout: pl.DataFrame | None = ...,
    weights: str | None = ...,
    by: None = None,
    group: str | None = ...,
    _warn: bool = ...,
) -> ClvModel: ...
@overload
def fit(
    summary: Frame,
    *,
    penalizer: float | Mapping[str, float] = ...,
    engine: Engine = ...,
    time_unit: TimeUnit | None = ...,
    purchase_model: PurchaseModelChoice = ...,
    holdout: pl.DataFrame | None = ...,
    weights: str | None = ...,
    by: str,
    pooled: ClvModel | None = ...,
    group: str | None = ...,
    _warn: bool = ...,
) -> GroupedClvModel: ...
def fit(
    summary: Frame,
    *,
    penalizer: float | Mapping[str, float] = 0.0,
    engine: Engine = "fast",
    time_unit: TimeUnit | None = None,
    purchase_model: PurchaseModelChoice = "bgnbd",
    holdout: pl.DataFrame | None = None,
    weights: str | None = None,
    by: str | None = None,
    pooled: ClvModel | None = None,
    group: str | None = None,
    _warn: bool = True,
) -> ClvModel | GroupedClvModel:
    """Fit a purchase model (all customers) and Gamma-Gamma (repeat buyers, positive spend).

    Parameters
    ----------
    summary
        An RFM summary from :func:`clv.rfm.rfm_summary` (``frequency``, ``recency``, ``T``,
        ``monetary_value``; ``first_purchase`` and ``observation_end`` tell the time unit).
    penalizer
        A number: lifetimes' ``penalizer_coef`` of the purchase model only (``penalizer *
        sum(params**2)`` added to the mean negative log-likelihood, time scaled so the
        oldest customer has age 1). A mapping ``{"bgnbd": x, "gamma_gamma": y}`` sets both
        (Gamma-Gamma's v is in currency units, so its penalizer needs its own size). Finite
        and >= 0.
    engine
        ``"fast"``: vectorised numpy likelihoods on weighted distinct rows, BFGS in
        log-parameter space from lifetimes' starting point, then Newton steps.
        ``"lifetimes"``: lifetimes' own fitters (BG/NBD only; slow; the tests' reference).
    time_unit
        Only for a summary without ``first_purchase``/``observation_end`` columns.
    by
        A column of ``summary`` (``channel`` or ``loyalty``, added by
        :func:`clv.data.groups.with_customer_group`): one model per value, the pooled model
        alongside, in a :class:`~clv.models.groups.GroupedClvModel` (see
        :func:`~clv.models.groups.fit_by_group` for the groups too small to fit).
    pooled
        With ``by``: the model this call would fit on all of ``summary`` (same penalizer
        and purchase model), when the caller has it already; it is used, not refitted.
    group
        Who these customers are (``"channel 'search'"``): each warning starts with it.
        (``_warn=False``, private: no warnings, the diagnostics are in the model only.)
    purchase_model
        ``"bgnbd"`` (FHL 2005a; lifetimes' default), ``"mbgnbd"`` (Batislam et al. 2007),
        ``"pareto_nbd"`` (Schmittlein et al. 1987), or ``"auto"``: the one with the lowest
        holdout error per customer on ``holdout`` (:func:`choose_purchase_model`; its table
        is kept in ``model.comparison``; BG/NBD unless another model is better by more than
        the comparison's noise), BG/NBD when ``holdout`` is None (with an
        ``auto_no_holdout`` diagnostic).
    holdout
        For ``"auto"``: a :func:`clv.data.rfm.calibration_holdout` frame in the same unit.
    weights
        A column of ``summary`` with the number of customers each row stands for (a summary
        aggregated by (x, t_x, T, m), as lifetimes' ``weights=``); None: one per row.

    Returns
    -------
    ClvModel
        The purchase model and Gamma-Gamma, or the simplest of their limits that a
        likelihood-ratio test does not reject (:mod:`clv.models.limits`: no dropout, one
        purchase rate, equal spend; ``model.limits``, the tests in ``model.limit_tests``).
        Standard errors from the inverse Hessian of the total negative log-likelihood of the
        free parameters (log-parameter space, delta method), as lifetimes reports them; a
        parameter at the boundary has none (NaN) and a diagnostic. ``model.diagnostics``
        lists what the fit means for the scores.

    Raises
    ------
    ModelError
        No repeat purchase in the data, or a fit that failed (a non-finite likelihood, a
        large gradient of the free parameters, a Hessian that is not positive definite)
        where no limit of the model explains the data either.

    Warns
    -----
    UserWarning
        One per diagnostic (the CLI prints them).
    """
    if engine not in ("fast", "lifetimes", "spark"):
        raise UsageError(f"engine must be 'fast', 'lifetimes' or 'spark', not {engine!r}")
    if engine == "spark":  # a Spark DataFrame: aggregated in Spark, fitted here
        if by is not None:
            raise UsageError("engine='spark' fits without by=; use clv.analyze(engine='spark')")
        return engines.get(engine).fit(summary, penalizer=penalizer, purchase_model=purchase_model)
    summary = as_polars(summary, "summary")
    holdout = None if holdout is None else as_polars(holdout, "holdout")
    pen, _ = penalizers(penalizer)
    comparison, notes = None, list[Diagnostic]()
    if purchase_model == "auto":
        purchase_model, comparison, notes = auto_choice(holdout, penalizer=pen)
    if by is not None:  # every group with the purchase model chosen on the whole shop
        one = partial(
            fit,
            penalizer=penalizer,
            engine=engine,
            time_unit=time_unit,
            purchase_model=purchase_model,
            weights=weights,
            _warn=False,  # fit_by_group fits the groups on threads, then warns in order
        )
        grouped = fit_by_group(summary, by=by, fit_one=one, pooled=pooled)
        # the choice was made on the whole shop: the pooled model carries it
        grouped.pooled.comparison = comparison or grouped.pooled.comparison
        grouped.pooled.diagnostics = [*notes, *grouped.pooled.diagnostics]
        return grouped
    if engine == "lifetimes" and purchase_model != "bgnbd":
        raise UsageError("engine='lifetimes' fits BG/NBD only; use engine='fast'")
    _check_summary(summary)
    unit = _summary_unit(summary, time_unit)
    check_fittable(summary)
    bg_rows, gg_rows = fit_rows(summary, unit, weights=weights)
    end = None
    if "observation_end" in summary.columns:
        value = summary["observation_end"].max()
        end = value.isoformat() if isinstance(value, dt.date) else None
    return fit_distinct_rows(
        bg_rows,
        gg_rows,
        time_unit=unit,
        observation_end=end,
        penalizer=penalizer,
        engine=engine,
        purchase_model=purchase_model,
        comparison=comparison,
        notes=notes,
        group=group,
        _warn=_warn,
    )


def auto_choice(
    holdout: pl.DataFrame | None,
    *,
    penalizer: float,
    weights: str | None = None,
) -> tuple[PurchaseModelName, list[dict[str, Any]] | None, list[Diagnostic]]:
    """What ``purchase_model="auto"`` fits: the model :func:`choose_purchase_model` chooses
    on ``holdout`` (its ``weights`` column counts each row's customers when given), its
    comparison table's rows and the notes of the choice; BG/NBD with an ``auto_no_holdout``
    note without a holdout, with an ``auto_fallback`` note when the calibration period
    cannot choose (not fatal)."""
    if holdout is None:
        return "bgnbd", None, auto_no_holdout_diagnostic()
    try:
        chosen, table = choose_purchase_model(holdout, penalizer=penalizer, weights=weights)
    except ModelError as e:
        return "bgnbd", None, auto_fallback_diagnostic(str(e))
    return chosen, table.to_dicts(), []


def fit_distinct_rows(
    bg_rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    gg_rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    time_unit: TimeUnit,
    observation_end: str | None,
    penalizer: float | Mapping[str, float] = 0.0,
    engine: str = "fast",
    purchase_model: str = "bgnbd",
    comparison: list[dict[str, Any]] | None = None,
    notes: Sequence[Diagnostic] = (),
    group: str | None = None,
    _warn: bool = True,
) -> ClvModel:
    """:func:`fit` on rows already grouped: the entry point of engines that aggregate elsewhere.

    Parameters
    ----------
    bg_rows
        Distinct (frequency, recency, T) rows of all customers, in ``time_unit``, and the
        number of customers of each (:func:`~clv.models.bgnbd.distinct_bgnbd_rows`).
    gg_rows
        (frequency, monetary value, customers) of the repeat buyers with positive spend,
        grouped or not (currency units).
    engine
        ``"fast"`` or ``"lifetimes"`` (which fitters); any other name (``"spark"``) fits with
        ``"fast"`` and is recorded in the model.
    notes
        Diagnostics of the choice of purchase model (``auto_fallback``), listed first.
    """
    pen, gg_pen = penalizers(penalizer)
    spec = purchase_spec(purchase_model)
    x, _, T, w = bg_rows
    gx, gm, gw = gg_rows
    n_customers, n_repeat, n_spenders = int(w.sum()), int(w[x > 0].sum()), int(gw.sum())
    _fittable(n_customers, n_repeat, float(T.max()), n_spenders)
    reason = (
        f"{n_customers - n_repeat:,} customers without a repeat purchase"
        + (
            f" and {n_repeat - n_spenders:,} repeat buyers with no positive spend"
            if n_repeat > n_spenders
            else ""
        )
        + " are left out of the Gamma-Gamma fit (it models the spend of repeat orders)"
    )
    corr = _weighted_correlation(gx, gm, gw) if n_spenders >= 3 else None
    limits: dict[str, str] = {}
    limit_tests: dict[str, list[dict[str, Any]]] = {}
    if engine == "lifetimes":
        bg, gg = _fit_lifetimes(bg_rows, gg_rows, pen, gg_pen)
    else:
        chosen, spend = fit_purchase(spec, bg_rows, pen), fit_spend(gg_rows, gg_pen)
        bg, gg = chosen.fit, spend.fit
        limit_tests = {purchase_model: chosen.tests, "gamma_gamma": spend.tests}
        if chosen.limit:
            limits[purchase_model] = chosen.limit
        if "error" in chosen.tests[0]:
            notes = [
                *notes,
                *full_fit_failed_diagnostic(
                    spec.title,
                    limits[purchase_model],
                    chosen.tests[0]["error"],
                    [purchase_spec(t["stand_in"]).title for t in chosen.tests if "stand_in" in t],
                ),
            ]
        if spend.limit:
            limits["gamma_gamma"] = spend.limit
    kept = limit_model(purchase_model, limits[purchase_model]) if purchase_model in limits else spec
    purchase_names, purchase_title = kept.params, kept.title
    spend_limit = SPEND_LIMITS.get(limits.get("gamma_gamma", ""))
    gg_names = GAMMA_GAMMA_PARAMS if spend_limit is None else spend_limit.params
    purchase = dict(zip(purchase_names, map(float, bg.params), strict=True))
    gamma_gamma = dict(zip(gg_names, map(float, gg.params), strict=True))
    diagnostics = [
        *notes,
        *fit_diagnostics(purchase_title, purchase_names, bg),
        *limit_diagnostics(limits.get(purchase_model), limits.get("gamma_gamma"), spec.title),
        *(
            []
            if purchase_model in limits
            else dropout_diagnostic(purchase_model, purchase, float(T.max()))
        ),
        *fit_diagnostics("Gamma-Gamma", gg_names, gg),
        *gamma_gamma_diagnostics(gamma_gamma.get("q"), corr, n_repeat, n_repeat - n_spenders),
    ]
    if _warn:
        warn_diagnostics(diagnostics, group=group, stacklevel=3)
    return ClvModel(
        purchase_model=purchase_model,
        purchase=purchase,
        gamma_gamma=gamma_gamma,
        standard_errors={
            purchase_model: _named(purchase_names, bg.standard_errors),
            "gamma_gamma": _named(gg_names, gg.standard_errors),
        },
        at_boundary={
            purchase_model: _edges(purchase_names, bg),
            "gamma_gamma": _edges(gg_names, gg),
        },
        limits=limits,
        limit_tests=limit_tests,
        log_likelihood={purchase_model: bg.log_likelihood, "gamma_gamma": gg.log_likelihood},
        time_unit=time_unit,
        observation_end=observation_end,
        n_customers=n_customers,
        n_repeat_buyers=n_repeat,
        n_excluded_gamma_gamma=n_customers - n_spenders,
        excluded_gamma_gamma_reason=reason,
        frequency_monetary_correlation=corr,
        penalizer=pen,
        gg_penalizer=gg_pen,
        engine=engine,
        versions=_package_versions(),
        data_fingerprint=_fingerprint(bg_rows, gg_rows),
        diagnostics=diagnostics,
        comparison=comparison,
        convergence={
            name: {"gradient_norm": f.gradient_norm, "message": f.message}
            for name, f in ((purchase_model, bg), ("gamma_gamma", gg))
        },
        covariance_log={
            name: f.covariance_log.tolist()
            for name, f in ((purchase_model, bg), ("gamma_gamma", gg))
            if f.covariance_log is not None
        },
    )


def _named(names: tuple[str, ...], values: np.ndarray) -> dict[str, float]:
    return dict(zip(names, map(float, values), strict=True))


def _edges(names: tuple[str, ...], fitted: Fit) -> list[str]:
    return [n for n, edge in zip(names, fitted.at_boundary, strict=False) if edge]
