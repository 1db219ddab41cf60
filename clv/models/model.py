"""``ClvModel``: a fitted BG/NBD + Gamma-Gamma model that scores customers, saves and loads.

The models themselves live in :mod:`clv.models.bgnbd` (Fader, Hardie & Lee 2005a) and
:mod:`clv.models.gamma_gamma` (Fader, Hardie & Lee 2005b); fitting in :mod:`clv.models.fitting`.
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

from clv.data.rfm import TIME_UNIT_DAYS, TimeUnit, time_unit_of, unit_days
from clv.errors import DataError, ModelError, UsageError
from clv.models.bgnbd import (
    BGNBD_PARAMS,
    conditional_denominator,
    conditional_numerator,
    p_alive,
    probability_at_least,
)

# Re-exported (the two "X as X" imports): callers imported them from clv.models.model before.
from clv.models.bgnbd import expected_purchases_new_customer as expected_purchases_new_customer
from clv.models.bgnbd import probability_of_purchases as probability_of_purchases
from clv.models.gamma_gamma import (
    GAMMA_GAMMA_PARAMS,
    expected_order_value,
)
from clv.models.optimize import Params

MONTH_DAYS = 365.25 / 12
"""Length of a month in days for CLV cash flows (lifetimes hard-codes 30)."""

_FORMAT = "clv-model"
_FORMAT_VERSION = 1


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
        if not isinstance(doc, dict):
            raise ModelError(f"{path}: not a clv model file (a JSON object is expected)")
        required = {
            "bgnbd": BGNBD_PARAMS,
            "gamma_gamma": GAMMA_GAMMA_PARAMS,
        }
        for key, names in required.items():
            block = doc.get(key)
            if not isinstance(block, dict) or not all(
                type(block.get(n)) in (int, float) and math.isfinite(block[n]) and block[n] > 0
                for n in names  # type(): true is not 1
            ):
                raise ModelError(
                    f"{path}: key {key!r} must hold positive numbers {', '.join(names)}; "
                    "refit with clv fit"
                )
        if doc["gamma_gamma"]["q"] <= 1:  # mean spend p v / (q - 1) needs q > 1 (FHL 2005b)
            raise ModelError(f"{path}: Gamma-Gamma q must be above 1; refit with clv fit")
        if not isinstance(doc.get("time_unit"), str) or doc["time_unit"] not in TIME_UNIT_DAYS:
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
