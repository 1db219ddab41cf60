"""Fit BG/NBD and Gamma-Gamma on weighted distinct rows into a :class:`~clv.models.model.ClvModel`.

``engine="fast"`` (the default) fits the vectorised numpy likelihoods of
:mod:`clv.models.bgnbd` and :mod:`clv.models.gamma_gamma` with analytic gradients;
``engine="lifetimes"`` calls lifetimes itself (:mod:`clv.models.lifetimes_engine`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import warnings
from importlib.metadata import PackageNotFoundError, version
from typing import Literal

import numpy as np
import polars as pl

from clv.data.engines import spark_engine
from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit
from clv.errors import ModelError, UsageError
from clv.models.bgnbd import (
    BGNBD_PARAMS,
    distinct_bgnbd_rows,
    fit_bgnbd_fast,
)

# Re-exported (the two "X as X" imports): callers imported them from clv.models.model before.
from clv.models.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.models.bgnbd import probability_of_purchases as probability_of_purchases
from clv.models.gamma_gamma import (
    GAMMA_GAMMA_PARAMS,
    fit_gamma_gamma_fast,
)
from clv.models.lifetimes_engine import _fit_lifetimes
from clv.models.model import ClvModel, _check_summary, _summary_unit

Engine = Literal["fast", "lifetimes", "spark"]


CORRELATION_WARNING = 0.3
"""|Pearson correlation| of frequency and monetary value above which Gamma-Gamma is doubtful.

Gamma-Gamma assumes spend per order is independent of purchase frequency. Fader, Hardie and
Lee (2005b, section 3) report 0.11 on CDNOW and call it weak; by Cohen's conventions 0.1 is
a small, 0.3 a medium and 0.5 a large correlation, so at |r| > 0.3 the dependence is no
longer negligible and the expected order values (and CLV) may be biased.
"""


def _package_versions() -> dict[str, str]:
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


def fit(
    summary: pl.DataFrame,
    *,
    penalizer: float = 0.0,
    engine: Engine = "fast",
    time_unit: TimeUnit | None = None,
) -> ClvModel:
    """Fit BG/NBD (all customers) and Gamma-Gamma (repeat buyers with positive spend).

    Parameters
    ----------
    summary
        An RFM summary from :func:`clv.rfm.rfm_summary` (``frequency``, ``recency``, ``T``,
        ``monetary_value``; ``first_purchase`` and ``observation_end`` tell the time unit).
    penalizer
        lifetimes' ``penalizer_coef``: ``penalizer * sum(params**2)`` is added to the mean
        negative log-likelihood (BG/NBD with time scaled so the oldest customer has age 1,
        as lifetimes does). 0.001 to 0.1 stabilises small or odd data.
    engine
        ``"fast"``: vectorised numpy likelihoods with analytic gradients, BFGS in
        log-parameter space from lifetimes' starting point, then Newton steps; BG/NBD on the
        weighted distinct (frequency, recency, T) rows, Gamma-Gamma on the weighted distinct
        (frequency, monetary value) rows (terms of x alone computed once per distinct
        frequency). ``"lifetimes"``: lifetimes' own fitters on the per-customer Gamma-Gamma
        rows and weighted BG/NBD rows (slow; the reference of the tests). ``"spark"``:
        ``summary`` is a Spark DataFrame from :func:`clv.data.rfm.rfm_summary` with
        ``engine="spark"``, fitted by :func:`clv.engines.spark.fit` (``"fast"`` on the
        collected distinct rows).
    time_unit
        Only for a summary without ``first_purchase``/``observation_end`` columns.

    Returns
    -------
    ClvModel
        Standard errors come from the inverse Hessian of the total negative log-likelihood
        (penalised objective times the number of customers) in log-parameter space, by
        central differences of the analytic gradient, mapped to the parameters by the delta
        method (``se = param * sqrt(diag(H^-1))``), as lifetimes reports them.

    Raises
    ------
    ModelError
        No repeat purchase in the data, or the optimizer did not converge (status, gradient
        norm, a finite likelihood and a positive definite Hessian are checked; the size of
        a parameter is not).

    Warns
    -----
    UserWarning
        When |corr(frequency, monetary_value)| among repeat buyers exceeds
        :data:`CORRELATION_WARNING` (Gamma-Gamma's independence assumption is doubtful).
    """
    if engine not in ("fast", "lifetimes", "spark"):
        raise UsageError(f"engine must be 'fast', 'lifetimes' or 'spark', not {engine!r}")
    if not (penalizer >= 0 and math.isfinite(penalizer)):
        raise UsageError(f"penalizer must be a non-negative number, not {penalizer}")
    if engine == "spark":
        return spark_engine(engine).fit(summary, penalizer=penalizer)
    _check_summary(summary)
    unit = _summary_unit(summary, time_unit)
    frame = summary.select(
        pl.col("frequency").cast(pl.Float64),
        pl.col("recency").cast(pl.Float64),
        pl.col("T").cast(pl.Float64),
        pl.col("monetary_value").cast(pl.Float64),
    )
    f = frame.to_numpy()
    g = frame.filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
    g = g.select("frequency", "monetary_value").to_numpy()
    end = None
    if "observation_end" in summary.columns:
        value = summary["observation_end"].max()
        end = value.isoformat() if isinstance(value, dt.date) else None
    return fit_distinct_rows(
        distinct_bgnbd_rows(f[:, 0], f[:, 1], f[:, 2], TIME_UNIT_DAYS[unit]),
        (g[:, 0], g[:, 1], np.ones(g.shape[0])),  # grouped by fit_gamma_gamma_fast
        time_unit=unit,
        observation_end=end,
        penalizer=penalizer,
        engine=engine,
    )


def fit_distinct_rows(
    bg_rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    gg_rows: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    time_unit: TimeUnit,
    observation_end: str | None,
    penalizer: float = 0.0,
    engine: str = "fast",
) -> ClvModel:
    """:func:`fit` on rows already grouped: the entry point of engines that aggregate elsewhere.

    Parameters
    ----------
    bg_rows
        Distinct (frequency, recency, T) rows of all customers, in ``time_unit``, and the
        number of customers of each (``distinct_bgnbd_rows``).
    gg_rows
        (frequency, monetary value, customers) of the repeat buyers with positive spend,
        grouped or not (currency units).
    engine
        ``"fast"`` or ``"lifetimes"`` (which fitters); any other name (``"spark"``) fits with
        ``"fast"`` and is recorded in the model.
    """
    x, _, T, w = bg_rows
    gx, gm, gw = gg_rows
    n_customers = int(w.sum())
    n_repeat = int(w[x > 0].sum())
    n_spenders = int(gw.sum())
    if n_repeat == 0:
        raise ModelError(
            f"none of the {n_customers:,} customers made a repeat purchase, so BG/NBD and "
            "Gamma-Gamma cannot be fitted; use a longer period or a later --observation-end"
        )
    if float(T.max()) <= 0:
        raise ModelError(
            "every customer was first seen on the observation end (T = 0); use a later "
            "--observation-end"
        )
    n_excluded = n_customers - n_spenders
    reason = (
        f"{n_customers - n_repeat:,} customers without a repeat purchase"
        + (
            f" and {n_repeat - n_spenders:,} repeat buyers with no positive spend"
            if n_repeat > n_spenders
            else ""
        )
        + " are left out of the Gamma-Gamma fit (it models the spend of repeat orders)"
    )
    if n_spenders == 0:
        raise ModelError(
            "no repeat purchase has a positive amount, so Gamma-Gamma cannot be fitted; "
            "check the amount column"
        )

    messages: list[str] = []
    if n_repeat > n_spenders:
        msg = (
            f"{n_repeat - n_spenders:,} repeat buyers spent nothing on their repeat "
            "purchases: they count for BG/NBD but are left out of the Gamma-Gamma (order "
            "value) fit"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        messages.append(msg)
    corr = _weighted_correlation(gx, gm, gw) if n_spenders >= 3 else None
    if corr is not None and abs(corr) > CORRELATION_WARNING:
        msg = (
            f"frequency and monetary value are correlated among repeat buyers (r = {corr:.2f}, "
            f"|r| > {CORRELATION_WARNING}); Gamma-Gamma assumes they are independent, so "
            "expected order values and CLV may be biased"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        messages.append(msg)

    if engine == "lifetimes":
        bg, gg = _fit_lifetimes(bg_rows, gg_rows, penalizer)
    else:
        bg = fit_bgnbd_fast(*bg_rows, penalizer)
        gg = fit_gamma_gamma_fast(*gg_rows, penalizer)
    gamma_gamma = dict(zip(GAMMA_GAMMA_PARAMS, map(float, gg.params), strict=True))
    if gamma_gamma["q"] <= 1:
        msg = (
            f"Gamma-Gamma q = {gamma_gamma['q']:.3g} <= 1: the population mean order value "
            "p v/(q-1) is not finite; scoring will fail (try a penalizer)"
        )
        warnings.warn(msg, UserWarning, stacklevel=3)
        messages.append(msg)

    return ClvModel(
        bgnbd=dict(zip(BGNBD_PARAMS, map(float, bg.params), strict=True)),
        gamma_gamma=gamma_gamma,
        standard_errors={
            "bgnbd": dict(zip(BGNBD_PARAMS, map(float, bg.standard_errors), strict=True)),
            "gamma_gamma": dict(
                zip(GAMMA_GAMMA_PARAMS, map(float, gg.standard_errors), strict=True)
            ),
        },
        log_likelihood={"bgnbd": bg.log_likelihood, "gamma_gamma": gg.log_likelihood},
        time_unit=time_unit,
        observation_end=observation_end,
        n_customers=n_customers,
        n_repeat_buyers=n_repeat,
        n_excluded_gamma_gamma=n_excluded,
        excluded_gamma_gamma_reason=reason,
        frequency_monetary_correlation=corr,
        penalizer=float(penalizer),
        engine=engine,
        versions=_package_versions(),
        data_fingerprint=_fingerprint(bg_rows, gg_rows),
        warnings=messages,
        convergence={
            name: {"gradient_norm": f.gradient_norm, "message": f.message}
            for name, f in (("bgnbd", bg), ("gamma_gamma", gg))
        },
    )
