"""Parameter draws for intervals: the asymptotic normal of the log-parameters, or a bootstrap.

The normal draws use the maximum-likelihood estimate and the inverse Hessian of the total
negative log-likelihood (:attr:`clv.models.ClvModel.covariance_log`); the purchase model and
Gamma-Gamma are fitted separately, so they are drawn independently. The bootstrap resamples
customers with replacement and refits both sub-models (Efron & Tibshirani 1993, ch. 6), each
at the limit the model was fitted at (:mod:`clv.models.limits`): the limit is held, its
parameters drawn.
"""

from __future__ import annotations

from typing import Literal, Protocol

import numpy as np
import polars as pl

from clv.errors import ModelError, UsageError
from clv.models.gamma_gamma import SPEND_LIMITS, fit_gamma_gamma_fast
from clv.models.optimize import Params
from clv.models.purchase import PurchaseModel

IntervalMethod = Literal["normal", "bootstrap"]


class Fitted(Protocol):
    """What the draws need of a fitted model (:class:`clv.models.ClvModel` has it)."""

    @property
    def purchase_model(self) -> str: ...
    @property
    def purchase(self) -> Params: ...
    @property
    def spec(self) -> PurchaseModel: ...
    @property
    def gamma_gamma(self) -> Params: ...
    @property
    def gamma_gamma_params(self) -> tuple[str, ...]: ...
    @property
    def covariance_log(self) -> dict[str, list[list[float]]]: ...
    @property
    def penalizer(self) -> float: ...


DRAWS = 200
"""Parameter draws per interval (percentiles of 200 draws move by ~1 % of the width)."""


def parameter_draws(
    model: Fitted,
    *,
    draws: int = DRAWS,
    method: IntervalMethod = "normal",
    seed: int = 0,
    summary: pl.DataFrame | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``draws`` parameter sets: the purchase model's ``(draws, k)`` (BG/NBD: r, alpha, a,
    b) and Gamma-Gamma's ``(draws, j)`` (p, q, v; at the equal-spend limit p, nu).

    ``method="normal"``: ``exp`` of draws from N(log estimate, ``covariance_log``).
    ``method="bootstrap"``: refits on ``summary`` resampled over customers (seeded; the
    model's penalizer). Draws with Gamma-Gamma ``q <= 1`` (infinite mean order value) are
    dropped; a ``ModelError`` when more than half are.
    """
    if draws < 2:
        raise UsageError(f"draws must be at least 2, not {draws}")
    rng = np.random.default_rng(seed)
    if method == "normal":
        cov = model.covariance_log
        if not {model.purchase_model, "gamma_gamma"} <= cov.keys():
            raise ModelError(
                "the model has no covariance of its log-parameters (fitted with "
                "engine='lifetimes' or by an older clv); refit it with engine='fast'"
            )
        bg, gg = (
            np.exp(
                rng.multivariate_normal(
                    np.log([params[n] for n in names]), _held(cov[key]), size=draws
                )
            )
            for key, params, names in (
                (model.purchase_model, model.purchase, model.spec.params),
                ("gamma_gamma", model.gamma_gamma, model.gamma_gamma_params),
            )
        )
    elif method == "bootstrap":
        if summary is None:
            raise UsageError("method='bootstrap' needs the summary the model was fitted on")
        bg, gg = _bootstrap(summary, model, draws, rng)
    else:
        raise UsageError(f"interval method must be 'normal' or 'bootstrap', not {method!r}")
    names = model.gamma_gamma_params
    finite_mean = gg[:, names.index("q")] > 1 if "q" in names else np.ones(len(gg), bool)
    if finite_mean.sum() < draws / 2:
        raise ModelError(
            "more than half of the parameter draws have Gamma-Gamma q <= 1 (infinite mean "
            "order value); fit on more repeat buyers or pass gg_penalizer="
        )
    return bg[finite_mean], gg[finite_mean]


def _bootstrap(
    summary: pl.DataFrame, model: Fitted, draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    penalizer, spec = model.penalizer, model.spec
    fit_spend = next(  # the limit the model was fitted at, by its parameters
        (lim.fit for lim in SPEND_LIMITS.values() if lim.params == model.gamma_gamma_params),
        fit_gamma_gamma_fast,
    )
    f = summary.select(
        pl.col(c).cast(pl.Float64) for c in ("frequency", "recency", "T", "monetary_value")
    ).to_numpy()
    rows, inverse = np.unique(f[:, :3], axis=0, return_inverse=True)
    spender = (f[:, 0] > 0) & (f[:, 3] > 0)
    n = f.shape[0]
    bg = np.empty((draws, len(spec.params)))
    gg = np.empty((draws, len(model.gamma_gamma_params)))
    for i in range(draws):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        w = np.bincount(inverse.ravel(), weights=counts, minlength=rows.shape[0])
        keep = w > 0
        x, tx, T = rows[keep].T
        bg[i] = spec.fit(x, tx, T, w[keep], penalizer).params
        use = spender & (counts > 0)
        gg[i] = fit_spend(f[use, 0], f[use, 3], counts[use], penalizer).params
    return bg, gg


def _held(cov: list[list[float]]) -> np.ndarray:
    """The covariance with a boundary parameter's NaN rows and columns set to 0: that parameter
    is held at its limit in every draw (it has no standard error)."""
    return np.nan_to_num(np.asarray(cov, dtype=float))
