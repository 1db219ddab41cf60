"""lifetimes itself, as a second engine and the reference of the tests (pandas lives only here).

``fit(..., engine="lifetimes")`` fits with lifetimes' own fitters, and
:func:`compare_purchase_models` fits BG/NBD, MBG/NBD and Pareto/NBD with them.
"""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit
from clv.errors import ModelError
from clv.models.bgnbd import (
    bgnbd_negative_log_likelihood,
    distinct_bgnbd_rows,
)

# Re-exported (the two "X as X" imports): callers imported them from clv.models.model before.
from clv.models.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.models.bgnbd import probability_of_purchases as probability_of_purchases
from clv.models.checks import check_summary as _check_summary
from clv.models.checks import summary_unit as _summary_unit
from clv.models.gamma_gamma import (
    gamma_gamma_negative_log_likelihood,
)
from clv.models.optimize import ADVICE, Fit

# --------------------------------------------------------------------------------------------
# The lifetimes engine (pandas lives only here)
# --------------------------------------------------------------------------------------------


def _fit_lifetimes(
    bg: tuple[np.ndarray, ...], gg: tuple[np.ndarray, ...], penalizer: float, gg_penalizer: float
) -> tuple[Fit, Fit]:
    """lifetimes' own fitters on the weighted distinct rows (pandas lives only here)."""
    import contextlib
    import io

    from lifetimes import BetaGeoFitter, GammaGammaFitter
    from lifetimes.utils import ConvergenceError

    x, tx, T, w = bg
    gx, gm, gw = gg
    fits = []
    for name, make, args in (
        ("BG/NBD", BetaGeoFitter, (x, tx, T)),
        ("Gamma-Gamma", GammaGammaFitter, (gx, gm)),
    ):
        weights = w if name == "BG/NBD" else gw
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                pen = penalizer if name == "BG/NBD" else gg_penalizer
                fitter = make(penalizer_coef=pen).fit(*args, weights=weights)
        except (ConvergenceError, np.linalg.LinAlgError) as e:
            raise ModelError(
                f"{name} did not converge (lifetimes: {e}); {ADVICE}".replace("\n", " ")
            ) from None
        params = fitter.params_.to_numpy(dtype=float).copy()
        se = fitter.standard_errors_.to_numpy(dtype=float).copy()
        if name == "BG/NBD":
            ll = -bgnbd_negative_log_likelihood(np.log(params), x, tx, T, w)[0] * w.sum()
        else:
            ll = -gamma_gamma_negative_log_likelihood(np.log(params), gx, gm, gw)[0] * gw.sum()
        if not np.isfinite(ll) or not np.all(np.isfinite(se)):
            raise ModelError(f"{name} did not converge (non-finite result); {ADVICE}")
        edge = np.zeros(params.size, dtype=bool)
        fits.append(Fit(params, se, float(ll), float("nan"), "lifetimes", edge))
    return fits[0], fits[1]


# --------------------------------------------------------------------------------------------
# Other purchase models, for comparison (through lifetimes)
# --------------------------------------------------------------------------------------------

PURCHASE_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")
"""BG/NBD (FHL 2005a), modified BG/NBD (Batislam, Denizel & Filiztekin 2007) and Pareto/NBD
(Schmittlein, Morrison & Colombo 1987; Fader & Hardie note 009)."""


def compare_purchase_models(
    summary: pl.DataFrame,
    *,
    t: float,
    penalizer: float = 0.0,
    time_unit: TimeUnit | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Fit BG/NBD, modified BG/NBD and Pareto/NBD with lifetimes and predict ``t`` ahead.

    Each model is fitted by lifetimes on the weighted distinct (frequency, recency, T) rows.
    The log-likelihoods are totals over customers in the summary's time unit (lifetimes
    fits in a scaled time; its objectives differ by a constant and, for Pareto/NBD, a
    normalisation, so they are recomputed here from each model's own per-customer
    likelihood: FHL 2005a eq. 6; Batislam et al. 2007 eq. 5; Fader & Hardie note 009
    eq. 18). Pareto/NBD is slow (tens of seconds on 100,000 distinct rows).

    Returns
    -------
    (pl.DataFrame, pl.DataFrame)
        The models: ``model, parameters`` (JSON text), ``log_likelihood``, ``n_params``,
        ``aic``; and per customer, in the summary's order, ``expected_<model>``: expected
        repeat purchases in the next ``t`` (in the summary's time unit) under each model.
    """
    import contextlib
    import io

    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
    from lifetimes.utils import ConvergenceError

    _check_summary(summary, ("frequency", "recency", "T"))
    unit = _summary_unit(summary, time_unit)
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    if not (x > 0).any():
        raise ModelError("no customer made a repeat purchase: no purchase model can be fitted")
    rx, rtx, rT, w = distinct_bgnbd_rows(x, tx, T, TIME_UNIT_DAYS[unit])
    rows, expected = [], {}
    for name, make in (
        ("bgnbd", BetaGeoFitter),
        ("mbgnbd", ModifiedBetaGeoFitter),
        ("pareto_nbd", ParetoNBDFitter),
    ):
        try:
            with contextlib.redirect_stdout(io.StringIO()), np.errstate(all="ignore"):
                fitter = make(penalizer_coef=penalizer).fit(rx, rtx, rT, weights=w)
        except (ConvergenceError, np.linalg.LinAlgError) as e:
            raise ModelError(f"{name} did not converge (lifetimes: {e}); {ADVICE}") from None
        params = {k: float(v) for k, v in fitter.params_.items()}
        p = np.array(list(params.values()))
        with np.errstate(all="ignore"):
            if name == "bgnbd":
                ll = -bgnbd_negative_log_likelihood(np.log(p), rx, rtx, rT, w)[0] * w.sum()
            elif name == "mbgnbd":
                ll = -float(fitter._negative_log_likelihood(np.log(p), rx, rtx, rT, w, 0.0))
                ll *= w.sum()
            else:
                ll = float(np.sum(w * fitter._conditional_log_likelihood(p, rx, rtx, rT)))
            predicted = np.asarray(
                fitter.conditional_expected_number_of_purchases_up_to_time(t, x, tx, T),
                dtype=float,
            )
        rows.append(
            {
                "model": name,
                "parameters": json.dumps(params),
                "log_likelihood": float(ll),
                "n_params": len(params),
                "aic": 2 * len(params) - 2 * float(ll),
            }
        )
        expected[f"expected_{name}"] = predicted
    return pl.DataFrame(rows), pl.DataFrame(expected)
