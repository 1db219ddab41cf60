"""Fit BG/NBD and Gamma-Gamma on weighted distinct rows; ``ClvModel`` scores, saves and loads.

The models themselves live in :mod:`clv.bgnbd` (Fader, Hardie & Lee 2005a) and
:mod:`clv.gamma_gamma` (Fader, Hardie & Lee 2005b), the optimizer in :mod:`clv._optimize`.
``engine="fast"`` (the default) fits their vectorised numpy likelihoods with analytic
gradients; ``engine="lifetimes"`` calls lifetimes itself (the reference of the tests).
pandas appears only inside :func:`_fit_lifetimes` and :func:`compare_purchase_models`, at
that boundary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl

from clv._optimize import ADVICE, Fit, Params
from clv.bgnbd import (
    BGNBD_PARAMS,
    bgnbd_negative_log_likelihood,
    conditional_denominator,
    conditional_numerator,
    distinct_bgnbd_rows,
    fit_bgnbd_fast,
    p_alive,
    probability_at_least,
)

# Re-exported (the two "X as X" imports): callers imported them from clv.models before.
from clv.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.bgnbd import probability_of_purchases as probability_of_purchases
from clv.errors import DataError, ModelError, UsageError
from clv.gamma_gamma import (
    GAMMA_GAMMA_PARAMS,
    expected_order_value,
    fit_gamma_gamma_fast,
    gamma_gamma_negative_log_likelihood,
)
from clv.rfm import TIME_UNIT_DAYS, TimeUnit, time_unit_of, unit_days

Engine = Literal["fast", "lifetimes"]

MONTH_DAYS = 365.25 / 12
"""Length of a month in days for CLV cash flows (lifetimes hard-codes 30)."""

CORRELATION_WARNING = 0.3
"""|Pearson correlation| of frequency and monetary value above which Gamma-Gamma is doubtful.

Gamma-Gamma assumes spend per order is independent of purchase frequency. Fader, Hardie and
Lee (2005b, section 3) report 0.11 on CDNOW and call it weak; by Cohen's conventions 0.1 is
a small, 0.3 a medium and 0.5 a large correlation, so at |r| > 0.3 the dependence is no
longer negligible and the expected order values (and CLV) may be biased.
"""

_FORMAT = "clv-model"
_FORMAT_VERSION = 1


# --------------------------------------------------------------------------------------------
# The lifetimes engine (pandas lives only here)
# --------------------------------------------------------------------------------------------


def _fit_lifetimes(
    bg: tuple[np.ndarray, ...], gg: tuple[np.ndarray, ...], penalizer: float
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
                fitter = make(penalizer_coef=penalizer).fit(*args, weights=weights)
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
        fits.append(Fit(params, se, float(ll), float("nan"), "lifetimes"))
    return fits[0], fits[1]


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------

_SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary_value")


def _check_summary(summary: pl.DataFrame, columns: tuple[str, ...] = _SUMMARY_COLUMNS) -> None:
    missing = [c for c in columns if c not in summary.columns]
    if missing:
        raise DataError(
            f"summary: missing column(s) {', '.join(missing)}; make it with clv.rfm.rfm_summary"
        )
    if summary.height == 0:
        raise DataError("summary: no customers")
    bad = summary.select(
        nulls=pl.any_horizontal(
            pl.col(c).is_null() | ~pl.col(c).cast(pl.Float64).is_finite() for c in columns
        ),
        negative=(pl.col("frequency") < 0) | (pl.col("recency") < 0),
        late=pl.col("recency") > pl.col("T"),
        fractional=pl.col("frequency").cast(pl.Float64)
        != pl.col("frequency").cast(pl.Float64).round(),
        one_time=(pl.col("frequency") == 0) & (pl.col("recency") != 0),
    )
    problems = {
        "nulls": "a missing or non-finite value",
        "negative": "a negative frequency or recency",
        "late": "recency greater than T",
        "fractional": "a fractional frequency",
        "one_time": "recency > 0 with frequency 0",
    }
    for column, what in problems.items():
        rows = bad.select(pl.arg_where(pl.col(column))).to_series()
        if rows.len():
            row = int(rows[0])
            who = summary["customer_id"][row] if "customer_id" in summary.columns else row
            raise DataError(
                f"summary row {row} (customer {who}): {what}; rebuild it with clv.rfm.rfm_summary"
            )


def _summary_unit(summary: pl.DataFrame, time_unit: TimeUnit | None) -> TimeUnit:
    """The summary's time unit: read off its columns, else the ``time_unit`` keyword."""
    if {"first_purchase", "observation_end"} <= set(summary.columns):
        if time_unit is not None and not (summary["T"] > 0).any():
            return time_unit  # only customers of age 0: every unit fits
        unit = time_unit_of(summary)
        if time_unit is not None and time_unit != unit:
            raise DataError(f"summary is in time unit {unit}, not {time_unit} as given")
        return unit
    if time_unit is None:
        raise DataError(
            "summary has no first_purchase/observation_end columns to tell its time unit; "
            "pass time_unit='D', 'W' or 'M'"
        )
    unit_days(time_unit)
    return time_unit


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
    x, m = gg_rows[0], gg_rows[1]
    digest = hashlib.sha256()
    for arr in (*bg_rows, np.sort(m), np.sort(x * m)):
        digest.update(np.ascontiguousarray(arr, dtype="<f8").tobytes())
    return "sha256:" + digest.hexdigest()


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------


@dataclass
class ClvModel:
    """A fitted BG/NBD + Gamma-Gamma model: the only stateful object of clv.

    ``bgnbd`` (r, alpha, a, b; alpha in the model's ``time_unit``) and ``gamma_gamma``
    (p, q, v; v in currency units). ``standard_errors`` has the same two keys;
    ``log_likelihood`` the total (summed over customers, unpenalised) log-likelihood of
    each sub-model in the model's time unit.
    """

    bgnbd: Params
    gamma_gamma: Params
    standard_errors: dict[str, Params]
    log_likelihood: dict[str, float]
    time_unit: TimeUnit
    observation_end: str | None
    n_customers: int
    n_repeat_buyers: int
    n_excluded_gamma_gamma: int
    excluded_gamma_gamma_reason: str
    frequency_monetary_correlation: float | None
    penalizer: float
    engine: str
    versions: dict[str, str]
    data_fingerprint: str
    warnings: list[str] = field(default_factory=list)
    convergence: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per sub-model: ``gradient_norm`` at the optimum (mean objective, log parameters;
    NaN for the lifetimes engine) and the optimizer's ``message``."""

    # ---- predictions on summaries ---------------------------------------------------------

    def _arrays(
        self, summary: pl.DataFrame, time_unit: TimeUnit | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _check_summary(summary, ("frequency", "recency", "T"))
        unit = _summary_unit(summary, time_unit)
        if unit != self.time_unit:
            raise ModelError(
                f"the summary is in time unit {unit} but the model was fitted in "
                f"{self.time_unit}; rebuild the summary with time_unit={self.time_unit!r}"
            )
        return (
            summary["frequency"].cast(pl.Float64).to_numpy(),
            summary["recency"].cast(pl.Float64).to_numpy(),
            summary["T"].cast(pl.Float64).to_numpy(),
        )

    def _by_frequency_and_age(
        self, x: np.ndarray, T: np.ndarray, columns: Callable[[np.ndarray, np.ndarray], dict]
    ) -> dict[str, np.ndarray]:
        """Evaluate ``columns(x, T)`` on the distinct (x, T) pairs only, then gather back."""
        keys = pl.DataFrame({"x": x, "T": T})
        distinct = keys.unique(maintain_order=False)
        values = columns(distinct["x"].to_numpy(), distinct["T"].to_numpy())
        joined = keys.join(
            distinct.with_columns(**{k: pl.Series(v) for k, v in values.items()}),
            on=["x", "T"],
            how="left",
            maintain_order="left",
        )
        return {k: joined[k].to_numpy() for k in values}

    def expected_purchases(
        self, summary: pl.DataFrame, *, t: float, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T] (FHL 2005a eq. 10) per row of ``summary``; ``t`` in model units."""
        x, tx, T = self._arrays(summary, time_unit)
        num = self._by_frequency_and_age(
            x, T, lambda xs, Ts: {"n": conditional_numerator(self.bgnbd, t, xs, Ts)}
        )["n"]
        return num / conditional_denominator(self.bgnbd, x, tx, T)

    def probability_at_least(
        self, summary: pl.DataFrame, *, t: float, k: int = 1, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """P(at least ``k`` purchases in the next ``t`` model time units) per row (see
        :func:`probability_at_least`)."""
        x, tx, T = self._arrays(summary, time_unit)
        return probability_at_least(self.bgnbd, t, k, x, tx, T)

    def score(
        self,
        summary: pl.DataFrame,
        *,
        horizon: float,
        horizon_unit: TimeUnit = "M",
        discount_rate_annual: float = 0.10,
        margin: float = 1.0,
        month_days: float = MONTH_DAYS,
        discount_rate_monthly: float | None = None,
        time_unit: TimeUnit | None = None,
    ) -> pl.DataFrame:
        """Customer scores over the next ``horizon``: P(alive), purchases, order value, CLV.

        Parameters
        ----------
        summary
            An RFM summary in the model's time unit (``customer_id``, ``frequency``,
            ``recency``, ``T``, ``monetary_value``).
        horizon, horizon_unit
            Length of the future period: ``D`` days, ``W`` weeks or ``M`` months of
            ``month_days`` days.
        discount_rate_annual
            Annual discount rate r (0.10 = 10 %); cash flows are discounted monthly at
            ``(1 + r)^(1/12) - 1`` unless ``discount_rate_monthly`` is given.
        margin
            Share of spend that is profit (1.0: CLV in revenue).
        month_days
            Length of a month in days (365.25/12; lifetimes uses 30).
        time_unit
            Only for a summary without ``first_purchase``/``observation_end`` columns.

        Returns
        -------
        pl.DataFrame
            In the order of ``summary``: ``customer_id, frequency, recency, T,
            monetary_value``, ``p_alive`` (Hardie note 021), ``expected_purchases`` (repeat
            purchases over the horizon, FHL 2005a eq. 10), ``expected_order_value``
            (currency, Gamma-Gamma note 025 eq. 5; one-time buyers get ``p v/(q-1)``) and
            ``clv`` (currency): lifetimes' method, month by month, ``(E[Y(t_i)] -
            E[Y(t_(i-1))]) * expected_order_value * margin / (1 + d)^i``, each month's cash
            flow discounted at its end; a last partial month (horizon not a whole number of
            months) is discounted at its fractional end ``(1+d)^(t/month)``.
        """
        if horizon <= 0:
            raise UsageError(f"horizon must be positive, not {horizon}")
        if month_days <= 0:
            raise UsageError(f"month_days must be positive, not {month_days}")
        _check_summary(summary)
        x, tx, T = self._arrays(summary, time_unit)
        m = summary["monetary_value"].cast(pl.Float64).to_numpy()
        if self.gamma_gamma["q"] <= 1:
            raise ModelError(
                f"Gamma-Gamma q = {self.gamma_gamma['q']:.3g} <= 1: the mean order value is "
                "infinite; refit with more repeat buyers or a penalizer"
            )
        d = (
            (1 + discount_rate_annual) ** (1 / 12) - 1
            if discount_rate_monthly is None
            else discount_rate_monthly
        )
        horizon_days = horizon * (month_days if horizon_unit == "M" else unit_days(horizon_unit))
        model_days = TIME_UNIT_DAYS[self.time_unit]
        n_months = math.ceil(horizon_days / month_days - 1e-9)
        months = np.arange(1, n_months + 1)
        ends_days = np.minimum(months * month_days, horizon_days)
        ends = ends_days / model_days  # in the model's time unit
        exponents = np.where(months * month_days <= horizon_days, months, ends_days / month_days)
        factors = (1 + d) ** exponents
        H = horizon_days / model_days

        def per_x_and_age(xs: np.ndarray, Ts: np.ndarray) -> dict[str, np.ndarray]:
            prev = np.zeros(xs.size)
            discounted = np.zeros(xs.size)
            for end, factor in zip(ends, factors, strict=True):
                cur = conditional_numerator(self.bgnbd, end, xs, Ts)
                discounted += (cur - prev) / factor
                prev = cur
            horizon_num = prev if ends[-1] == H else conditional_numerator(self.bgnbd, H, xs, Ts)
            return {"horizon": horizon_num, "discounted": discounted}

        parts = self._by_frequency_and_age(x, T, per_x_and_age)
        denominator = conditional_denominator(self.bgnbd, x, tx, T)
        value = expected_order_value(self.gamma_gamma, x, m)
        scores = {
            "p_alive": p_alive(self.bgnbd, x, tx, T),
            "expected_purchases": parts["horizon"] / denominator,
            "expected_order_value": value,
            "clv": margin * value * (parts["discounted"] / denominator),
        }
        ids = summary["customer_id"] if "customer_id" in summary.columns else None
        base = summary.select(
            *(["customer_id"] if ids is not None else []),
            "frequency",
            "recency",
            "T",
            "monetary_value",
        )
        return base.with_columns(pl.Series(k, v, dtype=pl.Float64) for k, v in scores.items())

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON document :meth:`save` writes."""

        def clean(v: Any) -> Any:
            if isinstance(v, float) and not math.isfinite(v):
                return None
            if isinstance(v, dict):
                return {k: clean(x) for k, x in v.items()}
            return v

        body = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "bgnbd": self.bgnbd,
            "gamma_gamma": self.gamma_gamma,
            "standard_errors": self.standard_errors,
            "log_likelihood": self.log_likelihood,
            "time_unit": self.time_unit,
            "observation_end": self.observation_end,
            "n_customers": self.n_customers,
            "n_repeat_buyers": self.n_repeat_buyers,
            "n_excluded_gamma_gamma": self.n_excluded_gamma_gamma,
            "excluded_gamma_gamma_reason": self.excluded_gamma_gamma_reason,
            "frequency_monetary_correlation": self.frequency_monetary_correlation,
            "penalizer": self.penalizer,
            "engine": self.engine,
            "versions": self.versions,
            "data_fingerprint": self.data_fingerprint,
            "warnings": list(self.warnings),
            "convergence": self.convergence,
        }
        return clean(body)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the model as JSON, atomically; an existing file is kept unless ``overwrite``."""
        from clv.io import atomic_output

        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClvModel:
        """Read a model written by :meth:`save`; ``ModelError`` naming the file if it is not one."""
        path = Path(path)
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"{path}: no such model file; make one with clv fit") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{path}: not a clv model file (not JSON: {e})") from None
        if not isinstance(doc, dict):
            raise ModelError(f"{path}: not a clv model file (a JSON object is expected)")
        required = {
            "bgnbd": BGNBD_PARAMS,
            "gamma_gamma": GAMMA_GAMMA_PARAMS,
        }
        for key, names in required.items():
            block = doc.get(key)
            if not isinstance(block, dict) or not all(
                isinstance(block.get(n), int | float) and math.isfinite(block[n]) and block[n] > 0
                for n in names
            ):
                raise ModelError(
                    f"{path}: key {key!r} must hold positive numbers {', '.join(names)}; "
                    "refit with clv fit"
                )
        if doc.get("time_unit") not in TIME_UNIT_DAYS:
            raise ModelError(f"{path}: key 'time_unit' must be D, W or M; refit with clv fit")
        se = doc.get("standard_errors") or {}
        nan = float("nan")

        def floats(block: Any, names: tuple[str, ...]) -> Params:
            block = block if isinstance(block, dict) else {}
            return {n: float(block[n]) if block.get(n) is not None else nan for n in names}

        ll = doc.get("log_likelihood") or {}
        return cls(
            bgnbd={n: float(doc["bgnbd"][n]) for n in BGNBD_PARAMS},
            gamma_gamma={n: float(doc["gamma_gamma"][n]) for n in GAMMA_GAMMA_PARAMS},
            standard_errors={
                "bgnbd": floats(se.get("bgnbd"), BGNBD_PARAMS),
                "gamma_gamma": floats(se.get("gamma_gamma"), GAMMA_GAMMA_PARAMS),
            },
            log_likelihood={
                k: float(ll[k]) if ll.get(k) is not None else nan for k in ("bgnbd", "gamma_gamma")
            },
            time_unit=doc["time_unit"],
            observation_end=doc.get("observation_end"),
            n_customers=int(doc.get("n_customers") or 0),
            n_repeat_buyers=int(doc.get("n_repeat_buyers") or 0),
            n_excluded_gamma_gamma=int(doc.get("n_excluded_gamma_gamma") or 0),
            excluded_gamma_gamma_reason=str(doc.get("excluded_gamma_gamma_reason") or ""),
            frequency_monetary_correlation=doc.get("frequency_monetary_correlation"),
            penalizer=float(doc.get("penalizer") or 0.0),
            engine=str(doc.get("engine") or "unknown"),
            versions=dict(doc.get("versions") or {}),
            data_fingerprint=str(doc.get("data_fingerprint") or ""),
            warnings=list(doc.get("warnings") or []),
            convergence={
                k: {
                    "gradient_norm": nan
                    if v.get("gradient_norm") is None
                    else float(v["gradient_norm"]),
                    "message": str(v.get("message", "")),
                }
                for k, v in (doc.get("convergence") or {}).items()
                if isinstance(v, dict)
            },
        )


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
        rows and weighted BG/NBD rows (slow; the reference of the tests).
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
    if engine not in ("fast", "lifetimes"):
        raise UsageError(f"engine must be 'fast' or 'lifetimes', not {engine!r}")
    if not (penalizer >= 0 and math.isfinite(penalizer)):
        raise UsageError(f"penalizer must be a non-negative number, not {penalizer}")
    _check_summary(summary)
    unit = _summary_unit(summary, time_unit)
    n_customers = summary.height
    frame = summary.select(
        pl.col("frequency").cast(pl.Float64),
        pl.col("recency").cast(pl.Float64),
        pl.col("T").cast(pl.Float64),
        pl.col("monetary_value").cast(pl.Float64),
    )
    repeat = frame.filter(pl.col("frequency") > 0)
    if repeat.height == 0:
        raise ModelError(
            f"none of the {n_customers:,} customers made a repeat purchase, so BG/NBD and "
            "Gamma-Gamma cannot be fitted; use a longer period or a later --observation-end"
        )
    if float(frame["T"].max()) <= 0:
        raise ModelError(
            "every customer was first seen on the observation end (T = 0); use a later "
            "--observation-end"
        )
    spenders = repeat.filter(pl.col("monetary_value") > 0)
    n_excluded = n_customers - spenders.height
    reason = (
        f"{n_customers - repeat.height:,} customers without a repeat purchase"
        + (
            f" and {repeat.height - spenders.height:,} repeat buyers with no positive spend"
            if repeat.height > spenders.height
            else ""
        )
        + " are left out of the Gamma-Gamma fit (it models the spend of repeat orders)"
    )
    if spenders.height == 0:
        raise ModelError(
            "no repeat purchase has a positive amount, so Gamma-Gamma cannot be fitted; "
            "check the amount column"
        )

    messages: list[str] = []
    if repeat.height > spenders.height:
        msg = (
            f"{repeat.height - spenders.height:,} repeat buyers spent nothing on their repeat "
            "purchases: they count for BG/NBD but are left out of the Gamma-Gamma (order "
            "value) fit"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)
    corr = None
    if spenders.height >= 3:
        c = spenders.select(pl.corr("frequency", "monetary_value")).item()
        corr = float(c) if c is not None and math.isfinite(c) else None
    if corr is not None and abs(corr) > CORRELATION_WARNING:
        msg = (
            f"frequency and monetary value are correlated among repeat buyers (r = {corr:.2f}, "
            f"|r| > {CORRELATION_WARNING}); Gamma-Gamma assumes they are independent, so "
            "expected order values and CLV may be biased"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)

    f = frame.to_numpy()
    bg_rows = distinct_bgnbd_rows(f[:, 0], f[:, 1], f[:, 2], TIME_UNIT_DAYS[unit])
    g = spenders.select("frequency", "monetary_value").to_numpy()
    gg_rows = (g[:, 0], g[:, 1], np.ones(g.shape[0]))  # grouped by fit_gamma_gamma_fast
    if engine == "fast":
        bg = fit_bgnbd_fast(*bg_rows, penalizer)
        gg = fit_gamma_gamma_fast(*gg_rows, penalizer)
    else:
        bg, gg = _fit_lifetimes(bg_rows, gg_rows, penalizer)
    gamma_gamma = dict(zip(GAMMA_GAMMA_PARAMS, map(float, gg.params), strict=True))
    if gamma_gamma["q"] <= 1:
        msg = (
            f"Gamma-Gamma q = {gamma_gamma['q']:.3g} <= 1: the population mean order value "
            "p v/(q-1) is not finite; scoring will fail (try a penalizer)"
        )
        warnings.warn(msg, UserWarning, stacklevel=2)
        messages.append(msg)

    end = None
    if "observation_end" in summary.columns:
        value = summary["observation_end"].max()
        end = value.isoformat() if isinstance(value, dt.date) else None
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
        time_unit=unit,
        observation_end=end,
        n_customers=n_customers,
        n_repeat_buyers=repeat.height,
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
