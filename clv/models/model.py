"""``ClvModel``: a fitted purchase model + Gamma-Gamma that scores customers, saves and loads.

The purchase models live in :mod:`clv.models.bgnbd` (Fader, Hardie & Lee 2005a),
:mod:`clv.models.mbgnbd` (Batislam et al. 2007) and :mod:`clv.models.pareto_nbd`
(Schmittlein et al. 1987), behind :mod:`clv.models.purchase`; spend in
:mod:`clv.models.gamma_gamma` (Fader, Hardie & Lee 2005b); fitting in
:mod:`clv.models.fitting`; the file format in :mod:`clv.models.model_file`.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from clv.data.frames import Frame, as_polars
from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit, unit_days
from clv.errors import ModelError, UsageError
from clv.models import model_file

# Re-exported (the two "X as X" imports): callers imported them from clv.models.model before.
from clv.models.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.models.bgnbd import probability_of_purchases as probability_of_purchases
from clv.models.cashflows import cash_flow_grid
from clv.models.checks import check_money_and_time, check_params, check_summary, summary_unit
from clv.models.draws import DRAWS, IntervalMethod
from clv.models.explore import Exploring
from clv.models.gamma_gamma import GAMMA_GAMMA_PARAMS, SPEND_LIMITS, expected_order_value
from clv.models.intervals import interval_scores
from clv.models.optimize import Params
from clv.models.prediction import prediction_bounds
from clv.models.purchase import PurchaseModel, limit_model, purchase_model

MONTH_DAYS = 365.25 / 12
"""Length of a month in days for CLV cash flows (lifetimes hard-codes 30)."""

_CELLS = 4_000_000  # (distinct pair, month) cells evaluated at once for CLV: ~100 MB


@dataclass
class ClvModel(Exploring):
    """A fitted purchase model + Gamma-Gamma: the only stateful object of clv.

    ``purchase_model`` names the purchase model (``"bgnbd"``, ``"mbgnbd"`` or
    ``"pareto_nbd"``) and ``purchase`` holds its parameters (alpha, and Pareto/NBD's beta,
    in the model's ``time_unit``); ``bgnbd`` is ``purchase`` for a BG/NBD model.
    ``gamma_gamma`` (p, q, v; v in currency units). ``standard_errors``, ``at_boundary``
    and ``log_likelihood`` are keyed by ``purchase_model`` and ``"gamma_gamma"``; a
    standard error is NaN for a parameter at the boundary. ``diagnostics`` lists
    ``{"code", "message", "values"}`` (see :mod:`clv.models.diagnostics`); ``comparison`` the rows
    of ``purchase_model="auto"``'s comparison (None otherwise). The notebook methods
    (``predict_*``, ``simulate``, ``summary``, the HTML display) are in
    :class:`~clv.models.explore.Exploring`.
    """

    purchase: Params
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
    purchase_model: str = "bgnbd"
    gg_penalizer: float = 0.0
    at_boundary: dict[str, list[str]] = field(default_factory=dict)
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    comparison: list[dict[str, Any]] | None = None
    convergence: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per sub-model: ``gradient_norm`` at the optimum (mean objective, free log
    parameters; NaN for the lifetimes engine) and the optimizer's ``message``."""
    covariance_log: dict[str, list[list[float]]] = field(default_factory=dict)
    """Per sub-model: covariance of the log-parameters (the inverse Hessian of the total
    negative log-likelihood; NaN rows and columns for a parameter at a boundary); empty for
    the lifetimes engine. :mod:`clv.models.intervals` draws parameters from it."""
    limits: dict[str, str] = field(default_factory=dict)
    """The limit each sub-model was fitted at (:mod:`clv.models.limits`), keyed by
    ``purchase_model`` (``"no_dropout"``, ``"poisson_no_dropout"``) and ``"gamma_gamma"``
    (``"equal_spend"``); a sub-model at no limit is absent. ``purchase`` and ``gamma_gamma``
    then hold the limit's parameters (``r, alpha``; ``rate``; ``p, nu``)."""
    limit_tests: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per sub-model, the full fit and each limit's likelihood-ratio statistic, as
    :func:`clv.models.limits.choose_limit` records them."""

    def __post_init__(self) -> None:
        spec = self.spec
        check_params(spec.title, self.purchase, spec.params, "model")
        check_params("Gamma-Gamma", self.gamma_gamma, self.gamma_gamma_params, "model")

    @property
    def spec(self) -> PurchaseModel:
        """The formulas of the purchase model, or of the limit it was fitted at
        (:mod:`clv.models.purchase`)."""
        if self.purchase_model in self.limits:
            return limit_model(self.purchase_model, self.limits[self.purchase_model])
        return purchase_model(self.purchase_model)

    @property
    def gamma_gamma_params(self) -> tuple[str, ...]:
        """Gamma-Gamma's parameter names: ``p, q, v``, or its limit's (``p, nu`` at equal
        spend, ``q, theta`` at steady spend)."""
        if "gamma_gamma" in self.limits:
            return SPEND_LIMITS[self.limits["gamma_gamma"]].params
        return GAMMA_GAMMA_PARAMS

    @property
    def bgnbd(self) -> Params:
        """BG/NBD's parameters (r, alpha, a, b); ``ModelError`` for another purchase model."""
        if self.purchase_model in self.limits:
            raise ModelError(
                f"this model is fitted at the {self.limits[self.purchase_model]} limit of "
                f"{self.purchase_model}; read model.purchase"
            )
        if self.purchase_model != "bgnbd":
            raise ModelError(
                f"this model's purchase model is {self.purchase_model}, not bgnbd; read "
                "model.purchase"
            )
        return self.purchase

    @property
    def warnings(self) -> list[str]:
        """The diagnostics' messages (clv 0.1 kept warnings as text)."""
        return [d["message"] for d in self.diagnostics]

    # ---- predictions on summaries ---------------------------------------------------------

    def _arrays(
        self, summary: pl.DataFrame, time_unit: TimeUnit | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        check_summary(summary, ("frequency", "recency", "T"))
        unit = summary_unit(summary, time_unit)
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
        """Evaluate ``columns(x, T)`` on the distinct (x, T) pairs only, then gather back; the
        pairs in first-seen order (NumPy's SIMD body and tail can differ in the last bit)."""
        keys = pl.DataFrame({"x": x, "T": T})
        distinct = keys.unique(maintain_order=True)
        values = columns(distinct["x"].to_numpy(), distinct["T"].to_numpy())
        joined = keys.join(
            distinct.with_columns(**{k: pl.Series(v) for k, v in values.items()}),
            on=["x", "T"],
            how="left",
            maintain_order="left",
        )
        return {k: joined[k].to_numpy() for k in values}

    def p_alive(self, summary: pl.DataFrame, *, time_unit: TimeUnit | None = None) -> np.ndarray:
        """P(alive at T | x, t_x, T) per row of ``summary`` under the purchase model."""
        x, tx, T = self._arrays(summary, time_unit)
        return self._finite("p_alive", self.spec.p_alive(self.purchase, x, tx, T), summary)

    def expected_purchases(
        self, summary: pl.DataFrame, *, t: float, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """E[Y(t) | x, t_x, T] per row of ``summary``; ``t`` in model units."""
        x, tx, T = self._arrays(summary, time_unit)
        spec = self.spec
        num = self._by_frequency_and_age(
            x, T, lambda xs, Ts: {"n": spec.numerator(self.purchase, t, xs, Ts)}
        )["n"]
        out = num / spec.denominator(self.purchase, x, tx, T)
        return self._finite("expected_purchases", out, summary)

    def probability_at_least(
        self, summary: pl.DataFrame, *, t: float, k: int = 1, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """P(at least ``k`` purchases in the next ``t`` model time units) per row."""
        x, tx, T = self._arrays(summary, time_unit)
        out = self.spec.probability_at_least(self.purchase, t, k, x, tx, T)
        return self._finite("probability_at_least", out, summary)

    def expected_purchases_new_customer(self, t: np.ndarray | float) -> np.ndarray:
        """E[X(t)]: a new customer's expected repeat purchases by age ``t`` (model units)."""
        return self.spec.expected_new(self.purchase, t)

    def probability_of_purchases(self, t: np.ndarray | float, n: np.ndarray | int) -> np.ndarray:
        """P(X(t) = n): a new customer's probability of ``n`` repeat purchases by age ``t``."""
        return self.spec.probability_of_purchases(self.purchase, t, n)

    def _finite(self, column: str, values: np.ndarray, summary: pl.DataFrame) -> np.ndarray:
        """``values`` if all finite; else ``ModelError`` naming the column, a row, parameters."""
        bad = ~np.isfinite(values)
        if not bad.any():
            return values
        row = int(np.argmax(bad))
        who = summary["customer_id"][row] if "customer_id" in summary.columns else row
        spec = self.spec
        edge = self.at_boundary.get(self.purchase_model, []) + [
            f"gamma_gamma {n}" for n in self.at_boundary.get("gamma_gamma", [])
        ]
        params = ", ".join(f"{k} = {v:.3g}" for k, v in self.purchase.items())
        spend = ", ".join(f"{k} = {v:.3g}" for k, v in self.gamma_gamma.items())
        culprit = (
            f"parameter(s) {', '.join(edge)} at the boundary"
            if edge
            else f"{spec.title} {params}; Gamma-Gamma {spend}"
        )
        raise ModelError(
            f"{column} is not finite for {int(bad.sum()):,} customers (first: {who}, "
            f"frequency {summary['frequency'][row]}) with {culprit}; refit with another "
            "purchase_model= or a different penalizer"
        )

    def score(
        self,
        summary: Frame,
        *,
        horizon: float,
        horizon_unit: TimeUnit = "M",
        discount_rate_annual: float = 0.10,
        margin: float = 1.0,
        month_days: float = MONTH_DAYS,
        discount_rate_monthly: float | None = None,
        time_unit: TimeUnit | None = None,
        interval: float | None = None,
        interval_method: IntervalMethod = "normal",
        draws: int = DRAWS,
        seed: int = 1,
        prediction_interval: float | None = None,
    ) -> pl.DataFrame:
        """Customer scores over the next ``horizon``: P(alive), purchases, order value, CLV.

        Parameters
        ----------
        summary
            An RFM summary in the model's time unit (``customer_id``, ``frequency``,
            ``recency``, ``T``, ``monetary_value``).
        horizon, horizon_unit
            Length of the future period (positive, at most 100 years): ``D`` days, ``W``
            weeks or ``M`` months of ``month_days`` days.
        discount_rate_annual
            Annual discount rate in [0, 1) (0.10 = 10 %); cash flows are discounted monthly
            at ``(1 + r)^(1/12) - 1`` unless ``discount_rate_monthly`` is given.
        margin
            Share of spend that is profit, in (0, 1] (1.0: CLV in revenue).
        month_days
            Length of a month in days (365.25/12; lifetimes uses 30).
        time_unit
            Only for a summary without ``first_purchase``/``observation_end`` columns.
        interval, interval_method, draws, seed
            With ``interval`` (e.g. 0.9): ``expected_purchases_low/high``, ``clv_low/high``
            and ``p_top`` from parameter draws (:func:`clv.models.intervals.interval_scores`):
            the uncertainty of the parameters only, not the range of a customer's value.
        prediction_interval
            With a probability (e.g. 0.9): ``clv_pred_low`` and ``clv_pred_high``, the range
            in which the customer's own realised value over the horizon falls with that
            probability (seeded Monte Carlo from their predictive distribution, ``seed``;
            :func:`clv.models.prediction.prediction_bounds`).

        Returns
        -------
        pl.DataFrame
            In the order of ``summary``: ``customer_id, frequency, recency, T,
            monetary_value``, ``p_alive``, ``expected_purchases`` (over the horizon),
            ``expected_order_value`` (currency, Gamma-Gamma note 025 eq. 5; one-time buyers
            get ``p v/(q-1)``) and ``clv`` (currency): lifetimes' method, month by month,
            ``(E[Y(t_i)] - E[Y(t_(i-1))]) * expected_order_value * margin / (1 + d)^i``,
            each month's cash flow discounted at its end; a last partial month is
            discounted at its fractional end ``(1+d)^(t/month)``. Every value is finite: a
            score that is not is a ``ModelError`` naming the column and the parameters.
        """
        summary = as_polars(summary, "summary")
        check_money_and_time(
            discount_rate_annual=discount_rate_annual,
            margin=margin,
            horizon=horizon,
            horizon_unit=horizon_unit,
            month_days=month_days,
        )
        if discount_rate_monthly is not None and not (0 <= discount_rate_monthly < 1):
            raise UsageError(f"discount_rate_monthly={discount_rate_monthly} must be in [0, 1)")
        check_summary(summary)
        x, tx, T = self._arrays(summary, time_unit)
        m = summary["monetary_value"].cast(pl.Float64).to_numpy()
        if "q" in self.gamma_gamma and self.gamma_gamma["q"] <= 1:
            raise ModelError(
                f"Gamma-Gamma q = {self.gamma_gamma['q']:.3g} <= 1: the mean order value is "
                "infinite; refit with more repeat buyers or a Gamma-Gamma penalizer "
                "(penalizer={'gamma_gamma': ...})"
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
        discount = 1.0 / (1 + d) ** exponents
        H = horizon_days / model_days
        spec, params = self.spec, self.purchase

        def per_x_and_age(xs: np.ndarray, Ts: np.ndarray) -> dict[str, np.ndarray]:
            discounted = np.empty(xs.size)
            step = max(1, _CELLS // n_months)
            for lo in range(0, xs.size, step):  # chunks of pairs, all months at once
                part = slice(lo, lo + step)
                num = spec.numerator(params, ends[None, :], xs[part, None], Ts[part, None])
                flows = np.diff(num, axis=1, prepend=0.0)
                total = np.zeros(flows.shape[0])
                for month in range(n_months):  # not a matrix product: its last bits depend
                    total += flows[:, month] * discount[month]  # on the pairs beside each one
                discounted[part] = total
            return {"horizon": spec.numerator(params, H, xs, Ts), "discounted": discounted}

        with np.errstate(all="ignore"):  # every score is checked below
            parts = self._by_frequency_and_age(x, T, per_x_and_age)
            denominator = spec.denominator(params, x, tx, T)
            value = expected_order_value(self.gamma_gamma, x, m)
            scores = {
                "p_alive": spec.p_alive(params, x, tx, T),
                "expected_purchases": parts["horizon"] / denominator,
                "expected_order_value": value,
                "clv": margin * value * (parts["discounted"] / denominator),
            }
        for column, values in scores.items():
            self._finite(column, values, summary)
        base = summary.select(
            *(["customer_id"] if "customer_id" in summary.columns else []),
            "frequency",
            "recency",
            "T",
            "monetary_value",
        )
        out = base.with_columns(pl.Series(k, v, dtype=pl.Float64) for k, v in scores.items())
        grid = cash_flow_grid(
            horizon=horizon,
            horizon_unit=horizon_unit,
            model_unit=self.time_unit,
            discount_rate_annual=discount_rate_annual,
            month_days=month_days,
            discount_rate_monthly=discount_rate_monthly,
        )
        if prediction_interval is not None:
            low, high = prediction_bounds(
                self,
                x,
                tx,
                T,
                m,
                grid=grid,
                level=prediction_interval,
                margin=margin,
                seed=seed,
            )
            out = out.with_columns(clv_pred_low=low, clv_pred_high=high)
        if interval is None:
            return out
        return interval_scores(
            self,
            summary,
            out,
            grid=grid,
            interval=interval,
            method=interval_method,
            draws=draws,
            seed=seed,
        )[0]

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON document :meth:`save` writes (:mod:`clv.models.model_file`)."""
        return model_file.to_document(self)

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write the model as JSON, atomically; an existing file is kept unless ``overwrite``."""
        from clv.data.write import atomic_output

        path = Path(path)
        text = json.dumps(self.to_dict(), indent=2) + "\n"
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ClvModel:
        """Read a model written by :meth:`save`; ``ModelError`` naming the file if it is not one."""
        try:
            return cls._load(Path(path))
        except (TypeError, ValueError, AttributeError, OverflowError) as e:  # a field's type
            raise ModelError(
                f"{path}: a field has the wrong type ({e}); refit with clv fit"
            ) from None

    @classmethod
    def _load(cls, path: Path) -> ClvModel:
        try:
            doc = json.loads(path.read_text())
        except FileNotFoundError:
            raise UsageError(f"{path}: no such model file; make one with clv fit") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{path}: not a clv model file (not JSON: {e})") from None
        except OSError as e:
            raise ModelError(f"{path}: cannot be read ({os.strerror(e.errno or 0)})") from None
        return cls.from_dict(doc, source=str(path))

    @classmethod
    def from_dict(cls, doc: Any, *, source: str) -> ClvModel:
        """The model of a :meth:`to_dict` document; errors name ``source`` (a file, a key)."""
        return cls(**model_file.from_document(doc, source))
