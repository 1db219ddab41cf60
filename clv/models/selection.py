"""Which purchase model: fit BG/NBD, MBG/NBD and Pareto/NBD on a calibration period and
compare their predictions of the holdout period, customer by customer.

BG/NBD is kept unless another model's holdout error per customer is lower by more than the
comparison's own noise: a paired bootstrap over customers (Efron & Tibshirani 1993, ch. 6)
of the mean difference of absolute errors, one-sided at :data:`CONFIDENCE`."""

from __future__ import annotations

import math
from functools import partial
from typing import Any, cast

import numpy as np
import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS
from clv.errors import DataError, ModelError
from clv.models.bgnbd import distinct_rows_and_index
from clv.models.checks import check_summary, penalizers, summary_unit
from clv.models.limits import Chosen, fit_purchase
from clv.models.purchase import PURCHASE_MODELS, PurchaseModelName, limit_model
from clv.models.threads import run_all

_HOLDOUT = ("frequency_holdout", "duration_holdout")

COMPARISON_SCHEMA = {
    "purchase_model": pl.String,
    "limit": pl.String,
    "log_likelihood": pl.Float64,
    "n_params": pl.Int64,
    "aic": pl.Float64,
    "holdout_mae": pl.Float64,
    "mae_difference": pl.Float64,
    "difference_upper_95": pl.Float64,
    "chosen": pl.Boolean,
    "error": pl.String,
}

CONFIDENCE = 0.95
"""Another model replaces BG/NBD when the bootstrap's upper CONFIDENCE bound of its mean
holdout error minus BG/NBD's, per customer, is below 0."""

RESAMPLES = 1_000
"""Bootstrap resamples of the customers (seeded)."""


def _upper_bound(difference: np.ndarray, seed: int = 0, weights: np.ndarray | None = None) -> float:
    """The upper :data:`CONFIDENCE` bound of the mean of ``difference`` (one value per
    customer, or per group of ``weights`` customers) over :data:`RESAMPLES` resamples of
    the customers with replacement: the distinct values drawn by multinomial counts, which
    is the same resampling."""
    if weights is None:
        values, counts = np.unique(difference, return_counts=True)
        n = difference.size
    else:
        values, index = np.unique(difference, return_inverse=True)
        counts = np.bincount(index, weights=weights, minlength=values.size)
        n = round(float(counts.sum()))
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, counts / n, size=RESAMPLES)
    means = (draws @ values) / n
    return float(np.quantile(means, CONFIDENCE))


def _fit_or_error(
    name: str, *, rows: tuple[np.ndarray, ...], penalizer: float
) -> Chosen | ModelError:
    """The purchase model ``name`` (or the limit of it that its tests keep,
    :func:`clv.models.limits.fit_purchase`) fitted on weighted distinct rows, or why it
    failed."""
    try:
        return fit_purchase(PURCHASE_MODELS[name], rows, penalizer)
    except ModelError as e:
        return e


def _mean(values: np.ndarray, weights: np.ndarray | None) -> float:
    """The mean over customers of ``values`` (one per customer, or per ``weights``
    customers)."""
    if weights is None:
        return float(np.mean(values))
    return float(np.sum(values * weights) / np.sum(weights))


def choose_purchase_model(
    calibration_holdout: pl.DataFrame,
    *,
    penalizer: float | dict[str, float] = 0.0,
    weights: str | None = None,
) -> tuple[PurchaseModelName, pl.DataFrame]:
    """The purchase model with the lowest holdout mean absolute error per customer.

    Parameters
    ----------
    calibration_holdout
        From :func:`clv.data.rfm.calibration_holdout`: the calibration RFM columns plus
        ``frequency_holdout`` and ``duration_holdout`` (model time units).
    penalizer
        As :func:`clv.models.fitting.fit`'s (the purchase model's part is used).
    weights
        The column of ``calibration_holdout`` that counts each row's customers when its rows
        are distinct rows of the customers (an engine that groups them elsewhere); the same
        choice and table as the customers' own rows, up to the sums' last bits.

    Returns
    -------
    (str, pl.DataFrame)
        The chosen name and one row per model: ``purchase_model``, ``limit`` (the limit of
        it that was kept, :mod:`clv.models.limits`), ``log_likelihood`` (calibration,
        total), ``n_params``, ``aic``, ``holdout_mae`` (mean over customers
        of |actual - E[Y(t) | x, t_x, T]| holdout purchases), ``mae_difference`` (its
        holdout MAE minus BG/NBD's) and ``difference_upper_95`` (the bootstrap's upper 95 %
        bound of that difference: the margin it must be below 0 by), ``chosen`` and
        ``error`` (why a model could not be fitted; its other columns are then null). When
        BG/NBD itself cannot be fitted, the lowest holdout MAE is chosen.
    """
    check_summary(calibration_holdout, ("frequency", "recency", "T"))
    missing = [c for c in _HOLDOUT if c not in calibration_holdout.columns]
    if missing:
        raise DataError(
            f"holdout frame: missing column(s) {', '.join(missing)}; make it with "
            "clv.data.rfm.calibration_holdout"
        )
    unit = summary_unit(calibration_holdout, None)
    pen, _ = penalizers(penalizer)
    x, tx, T = (
        calibration_holdout[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T")
    )
    if not (x > 0).any():
        raise ModelError("no customer made a repeat purchase in the calibration period")
    actual = calibration_holdout["frequency_holdout"].cast(pl.Float64).to_numpy()
    t = float(cast(float, calibration_holdout["duration_holdout"].max()))
    w = None if weights is None else calibration_holdout[weights].cast(pl.Float64).to_numpy()
    rows, index = distinct_rows_and_index(x, tx, T, TIME_UNIT_DAYS[unit], weights=w)
    if index is not None:  # predicted once per distinct (x, t_x, T) row, then per customer
        x, tx, T = rows[:3]
    out: list[dict[str, Any]] = []  # rows of the comparison table
    errors: dict[str, np.ndarray] = {}  # each model's absolute holdout error per customer
    # the three fits are independent and spend their time in NumPy and SciPy's special
    # functions, which release the GIL: on threads they share the cores (same results)
    fits = run_all(
        [partial(_fit_or_error, name, rows=rows, penalizer=pen) for name in PURCHASE_MODELS],
        workers=len(PURCHASE_MODELS),
    )
    for (name, spec), fitted in zip(PURCHASE_MODELS.items(), fits, strict=True):
        if isinstance(fitted, ModelError):
            out.append({"purchase_model": name, "n_params": len(spec.params), "error": str(fitted)})
            continue
        kept = limit_model(name, fitted.limit) if fitted.limit else spec
        params = dict(zip(kept.params, map(float, fitted.fit.params), strict=True))
        with np.errstate(all="ignore"):
            predicted = kept.numerator(params, t, x, T) / kept.denominator(params, x, tx, T)
        if index is not None:
            predicted = predicted[index]
        error = np.abs(actual - predicted)
        mae = _mean(error, w)
        if math.isfinite(mae):
            errors[name] = error
        out.append(
            {
                "purchase_model": name,
                "limit": fitted.limit,
                "log_likelihood": fitted.fit.log_likelihood,
                "n_params": len(kept.params),
                "aic": 2 * len(kept.params) - 2 * fitted.fit.log_likelihood,
                "holdout_mae": mae if math.isfinite(mae) else None,
                "error": None if math.isfinite(mae) else "predictions are not finite",
            }
        )
    if not errors:
        raise ModelError(
            "no purchase model could be fitted on the calibration period ("
            + "; ".join(f"{r['purchase_model']}: {r['error']}" for r in out)
            + "); try a later calibration_end="
        )
    scored = [r for r in out if r["purchase_model"] in errors]
    if "bgnbd" in errors:  # BG/NBD unless another model beats it by more than the noise
        base = errors["bgnbd"]
        for r in scored:
            if r["purchase_model"] != "bgnbd":
                difference = errors[r["purchase_model"]] - base
                r["mae_difference"] = _mean(difference, w)
                r["difference_upper_95"] = _upper_bound(difference, weights=w)
        scored = [r for r in scored if r.get("difference_upper_95", 0.0) < 0] or [
            r for r in scored if r["purchase_model"] == "bgnbd"
        ]
    best: PurchaseModelName = min(scored, key=lambda r: r["holdout_mae"])["purchase_model"]
    for r in out:
        r["chosen"] = r["purchase_model"] == best
    return best, pl.DataFrame(out, schema=COMPARISON_SCHEMA)
