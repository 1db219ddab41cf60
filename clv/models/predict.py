"""Predictions for customers given as numbers, like lifetimes' conditional functions.

``ClvModel.predict_purchases(t, frequency, recency, T)`` and its siblings take scalars or
numpy arrays (broadcast together) instead of a summary frame, in the model's time unit. They
evaluate the same formulas as :meth:`ClvModel.score`: the purchase model's conditional
expectation (FHL 2005a eq. 10 for BG/NBD) and P(alive) (eq. 11), and Gamma-Gamma's
conditional expected order value (FHL 2005b eq. 5).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from clv.errors import ModelError, UsageError
from clv.models.fitted import Fitted
from clv.models.gamma_gamma import expected_order_value


def _customers(**values: ArrayLike) -> dict[str, np.ndarray]:
    """The inputs as float arrays broadcast to one shape; ``UsageError`` naming a bad one."""
    arrays = {k: np.asarray(v, dtype=float) for k, v in values.items()}
    try:
        shaped = np.broadcast_arrays(*arrays.values())
    except ValueError:
        shapes = ", ".join(f"{k} {a.shape}" for k, a in arrays.items())
        raise UsageError(f"the inputs do not broadcast to one shape: {shapes}") from None
    out = dict(zip(arrays, shaped, strict=True))
    for name, a in out.items():
        if not np.all(np.isfinite(a)) or np.any(a < 0):
            raise UsageError(f"{name} must be finite and >= 0 (time in the model's unit)")
    if "recency" in out and "T" in out and np.any(out["recency"] > out["T"]):
        raise UsageError("recency must be at most T (both in the model's time unit)")
    return out


def _result(model: Fitted, what: str, values: np.ndarray, scalar: bool) -> np.ndarray | float:
    """``values`` (a float for scalar inputs); ``ModelError`` when one is not finite."""
    if not np.all(np.isfinite(values)):
        params = ", ".join(f"{k} = {v:.3g}" for k, v in model.purchase.items())
        raise ModelError(
            f"{what} is not finite for {int((~np.isfinite(values)).sum()):,} of the inputs with "
            f"{model.spec.title} {params}; refit with another purchase_model= or a penalizer"
        )
    return float(values) if scalar else values


def predict_purchases(
    model: Fitted, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray | float:
    """E[Y(t) | x, t_x, T]: expected repeat purchases in the next ``t`` (model time units).

    lifetimes' ``conditional_expected_number_of_purchases_up_to_time(t, frequency, recency,
    T)``; scalars give a float, arrays an array of their broadcast shape.
    """
    c = _customers(t=t, frequency=frequency, recency=recency, T=T)
    spec, params = model.spec, model.purchase
    with np.errstate(all="ignore"):
        out = spec.numerator(params, c["t"], c["frequency"], c["T"]) / spec.denominator(
            params, c["frequency"], c["recency"], c["T"]
        )
    return _result(model, "predict_purchases", out, c["t"].ndim == 0)


def predict_p_alive(
    model: Fitted, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike
) -> np.ndarray | float:
    """P(alive at T | x, t_x, T), times in model units: lifetimes'
    ``conditional_probability_alive(frequency, recency, T)``."""
    c = _customers(frequency=frequency, recency=recency, T=T)
    with np.errstate(all="ignore"):
        out = model.spec.p_alive(model.purchase, c["frequency"], c["recency"], c["T"])
    return _result(model, "predict_p_alive", np.asarray(out, dtype=float), c["T"].ndim == 0)


def predict_order_value(
    model: Fitted, frequency: ArrayLike, monetary_value: ArrayLike
) -> np.ndarray | float:
    """E[Z | x, m]: expected spend per order (currency), Gamma-Gamma's conditional mean:
    lifetimes' ``conditional_expected_average_profit(frequency, monetary_value)``."""
    c = _customers(frequency=frequency, monetary_value=monetary_value)
    if model.gamma_gamma.get("q", np.inf) <= 1:  # the equal-spend limit has no q
        raise ModelError(
            f"Gamma-Gamma q = {model.gamma_gamma['q']:.3g} <= 1: the mean order value is "
            "infinite; refit with a Gamma-Gamma penalizer (penalizer={'gamma_gamma': ...})"
        )
    out = expected_order_value(model.gamma_gamma, c["frequency"], c["monetary_value"])
    return _result(model, "predict_order_value", out, c["frequency"].ndim == 0)
