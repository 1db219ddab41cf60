"""The benchmark's steps: each one done the clv way and the lifetimes/pandas way, and checked.

A step is a :class:`Step`: ``clv_inputs(ctx)`` loads what the clv side needs (outside the
timing and, in the memory probe, before the peak is reset), ``clv(inputs)`` does the work,
``lifetimes(ctx)`` does the same job as a lifetimes/pandas user would, and ``check(a, b)``
compares the two results (``None`` when they agree, else a one-line reason).

Tolerances: summaries equal (frequency, recency, T exactly; monetary value to 1e-12
relative, since sums of the same floats in another order differ in the last bit),
parameters to 1e-6 relative, scores to 1e-9 relative (1e-12 absolute), KPIs to 1e-9.
The whole-process steps (``bench/processes.py``) compare two separate fits: parameters to
1e-6, P(alive) and CLV in lifetimes' month to 1e-5 relative (what 1e-6 in the parameters
allows), the CLV each side wrote to 1e-3 (clv's month, 365.25/12 days, is 0.074 % longer
than lifetimes' 4.345 weeks).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

OBSERVATION_END = "2024-12-31"  # the synthetic shop's last day
CALIBRATION_END = "2024-06-30"  # 26 weeks of holdout
HORIZON_WEEKS = 52.0  # P(alive) + expected purchases step
CLV_MONTHS = 12
LIFETIMES_MONTH_WEEKS = 4.345  # lifetimes' hard-coded month for freq="W"
DISCOUNT_RATE_MONTHLY = 0.01

PARAMS_RTOL = 1e-6
PARETO_PARAMS_RTOL = 1e-3
SCORES_RTOL, SCORES_ATOL = 1e-9, 1e-12
MONEY_RTOL = 1e-12
KPI_RTOL = 1e-9
FITTED_SCORES_RTOL = 1e-5  # scores from two separate fits (parameters agree to 1e-6)
P_ALIVE_ATOL, CLV_ATOL = 1e-9, 1e-6
MONTH_RTOL = 1e-3  # clv's month (365.25/12 days) is 0.074 % longer than lifetimes' 4.345 weeks


class Context:
    """Inputs shared by the steps, built lazily and cached (files written once per run)."""

    def __init__(self, csv: Path, parquet: Path, workdir: Path) -> None:
        self.csv, self.parquet, self.workdir = csv, parquet, workdir

    # ---- clv side -------------------------------------------------------------------------

    @cached_property
    def transactions(self) -> pl.DataFrame:
        from clv.data.io import read_transactions

        return read_transactions(self.parquet, order_col="order_id")

    @cached_property
    def summary(self) -> pl.DataFrame:
        path = self.workdir / "summary.parquet"
        if path.exists():
            return pl.read_parquet(path)
        from clv.data.rfm import rfm_summary

        summary = rfm_summary(
            self.transactions.select("customer_id", "date", "amount"),
            observation_end=OBSERVATION_END,
            time_unit="W",
        )
        summary.write_parquet(path)
        return summary

    @cached_property
    def model(self) -> Any:
        from clv.models.fitting import fit
        from clv.models.model import ClvModel

        path = self.workdir / "model.json"
        if path.exists():
            return ClvModel.load(path)
        model = fit(self.summary)
        model.save(path, overwrite=True)
        return model

    # ---- lifetimes/pandas side --------------------------------------------------------------

    @cached_property
    def pandas_transactions(self) -> Any:
        import pandas as pd

        frame = pd.read_parquet(self.parquet, columns=["customer_id", "date", "amount", "order_id"])
        # Parquet dates arrive as Python date objects (dtype object): give pandas its datetime64
        frame["date"] = pd.to_datetime(frame["date"])
        return frame

    @cached_property
    def pandas_summary(self) -> Any:
        return lifetimes_summary(self.pandas_transactions)

    @cached_property
    def lifetimes_fitters(self) -> tuple[Any, Any]:
        """lifetimes' fitters carrying clv's fitted parameters (so scores compare formulas)."""
        import pandas as pd
        from lifetimes import BetaGeoFitter, GammaGammaFitter

        bgf, ggf = BetaGeoFitter(), GammaGammaFitter()
        bgf.params_ = pd.Series(self.model.bgnbd)[["r", "alpha", "a", "b"]]
        ggf.params_ = pd.Series(self.model.gamma_gamma)[["p", "q", "v"]]
        bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time  # set by fit()
        return bgf, ggf


def lifetimes_summary(frame: Any) -> Any:
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(
        frame,
        "customer_id",
        "date",
        monetary_value_col="amount",
        observation_period_end=OBSERVATION_END,
        freq="D",
        freq_multiplier=7,
    )


@dataclass
class Step:
    name: str
    label: str
    clv_inputs: Callable[[Context], Any]
    clv: Callable[[Any], Any]
    lifetimes: Callable[[Context], Any] | None
    check: Callable[[Any, Any, Context], str | None] | None
    target: float | None = None  # speed-up the issue asks for
    note: str = ""
    derived_from: tuple[str, ...] = field(default_factory=tuple)  # lifetimes time = their sum
    # more fields for the row, called after the timed runs; a "memory" field replaces the
    # fresh-process memory probe
    row_extra: Callable[[], dict[str, Any]] | None = None


# ---- checks --------------------------------------------------------------------------------


def _close(name: str, a: Any, b: Any, rtol: float, atol: float = 0.0) -> str | None:
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        return f"{name}: {a.shape[0]} vs {b.shape[0]} values"
    bad = ~np.isclose(a, b, rtol=rtol, atol=atol) & ~(np.isnan(a) & np.isnan(b))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        return f"{name}: {int(bad.sum())} values differ (first: {a[i]!r} vs {b[i]!r})"
    return None


def _equal(name: str, a: Any, b: Any) -> str | None:
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        return f"{name}: {a.shape[0]} vs {b.shape[0]} values"
    if not np.array_equal(a, b):
        i = int(np.flatnonzero(a != b)[0])
        return f"{name}: {int((a != b).sum())} values differ (first: {a[i]!r} vs {b[i]!r})"
    return None


def _first_problem(*problems: str | None) -> str | None:
    return next((p for p in problems if p), None)


def check_summary(ours: pl.DataFrame, theirs: Any) -> str | None:
    theirs = theirs.sort_index()
    return _first_problem(
        _equal("customer_id", ours["customer_id"].to_numpy(), theirs.index.to_numpy(dtype=str)),
        _equal("frequency", ours["frequency"].to_numpy(), theirs["frequency"].to_numpy()),
        _equal("recency", ours["recency"].to_numpy(), theirs["recency"].to_numpy()),
        _equal("T", ours["T"].to_numpy(), theirs["T"].to_numpy()),
        _close("monetary_value", ours["monetary_value"], theirs["monetary_value"], MONEY_RTOL),
    )


def check_calibration(frame: pl.DataFrame, theirs: Any, same_day: pl.Series) -> str | None:
    """Equal, except lifetimes' ``monetary_value_holdout`` is a mean over rows, clv's over
    customer-days: customers with two rows on one holdout day are exempt from that column."""
    theirs = theirs.sort_index()
    exempt = frame["customer_id"].is_in(same_day.implode()).to_numpy()
    ours_m = frame["monetary_value_holdout"].to_numpy()
    theirs_m = theirs["monetary_value_holdout"].to_numpy()
    return _first_problem(
        _equal("customer_id", frame["customer_id"].to_numpy(), theirs.index.to_numpy(dtype=str)),
        *(
            _equal(c, frame[c].to_numpy(), theirs[f"{c}_cal"].to_numpy())
            for c in ("frequency", "recency", "T")
        ),
        _close("monetary_value", frame["monetary_value"], theirs["monetary_value_cal"], MONEY_RTOL),
        _equal(
            "frequency_holdout",
            frame["frequency_holdout"].to_numpy(),
            theirs["frequency_holdout"].to_numpy(),
        ),
        _close("monetary_value_holdout", ours_m[~exempt], theirs_m[~exempt], MONEY_RTOL),
        _equal(
            "duration_holdout",
            frame["duration_holdout"].to_numpy(),
            theirs["duration_holdout"].to_numpy(),
        ),
    )


def check_params(ours: dict[str, float], theirs: dict[str, float]) -> str | None:
    for k, v in theirs.items():
        if not math.isclose(ours[k], v, rel_tol=PARAMS_RTOL):
            return f"{k}: clv {ours[k]:.10g} vs lifetimes {v:.10g}"
    return None


def check_scores(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> str | None:
    return _first_problem(
        *(_close(k, ours[k], theirs[k], SCORES_RTOL, SCORES_ATOL) for k in theirs)
    )


def check_kpis(ours: dict[str, Any], theirs: dict[str, float]) -> str | None:
    for k, v in theirs.items():
        if ours.get(k) is None or not math.isclose(float(ours[k]), v, rel_tol=KPI_RTOL):
            return f"{k}: clv {ours.get(k)!r} vs pandas {v!r}"
    return None


# ---- load + RFM summary --------------------------------------------------------------------


def clv_summary(path: Path) -> pl.DataFrame:
    from clv.data.io import read_transactions
    from clv.data.rfm import rfm_summary

    return rfm_summary(read_transactions(path), observation_end=OBSERVATION_END, time_unit="W")


def lifetimes_summary_csv(ctx: Context) -> Any:
    import pandas as pd

    frame = pd.read_csv(
        ctx.csv,
        usecols=["customer_id", "date", "amount"],
        dtype={"customer_id": str},
        parse_dates=["date"],
    )
    return lifetimes_summary(frame)


def lifetimes_summary_parquet(ctx: Context) -> Any:
    import pandas as pd

    return lifetimes_summary(
        pd.read_parquet(ctx.parquet, columns=["customer_id", "date", "amount"])
    )


# ---- calibration / holdout -----------------------------------------------------------------


def clv_calibration(tx: pl.DataFrame) -> pl.DataFrame:
    from clv.data.rfm import calibration_holdout

    return calibration_holdout(
        tx, calibration_end=CALIBRATION_END, observation_end=OBSERVATION_END, time_unit="W"
    )


def _same_day_holdout(tx: pl.DataFrame) -> pl.Series:
    """Customers with two or more rows on one holdout day (see :func:`check_calibration`)."""
    import datetime as dt

    cal, end = dt.date.fromisoformat(CALIBRATION_END), dt.date.fromisoformat(OBSERVATION_END)
    return (
        tx.filter((pl.col("date") > cal) & (pl.col("date") <= end))
        .group_by("customer_id", "date")
        .len()
        .filter(pl.col("len") > 1)["customer_id"]
        .unique()
    )


def lifetimes_calibration(ctx: Context) -> Any:
    from lifetimes.utils import calibration_and_holdout_data

    return calibration_and_holdout_data(
        ctx.pandas_transactions,
        "customer_id",
        "date",
        calibration_period_end=CALIBRATION_END,
        observation_period_end=OBSERVATION_END,
        freq="D",
        freq_multiplier=7,
        monetary_value_col="amount",
    )


# ---- fits ----------------------------------------------------------------------------------


FALLBACKS: set[str] = set()
"""Steps whose clv side fell back to the public ``clv.models.fitting`` (both models timed)."""


def clv_fit_bgnbd(summary: pl.DataFrame) -> dict[str, float]:
    """clv's BG/NBD fit alone, as :func:`clv.models.fitting` does it (distinct rows, fast engine,
    standard errors included). Uses clv's private helpers; if they change, it falls back to
    the whole public ``fit`` (BG/NBD and Gamma-Gamma) and the table says so."""
    from clv.data.rfm import TIME_UNIT_DAYS, time_unit_of
    from clv.models import bgnbd, fitting

    try:
        f = summary.select(pl.col("frequency", "recency", "T").cast(pl.Float64)).to_numpy()
        days = TIME_UNIT_DAYS[time_unit_of(summary)]
        rows = bgnbd.distinct_bgnbd_rows(f[:, 0], f[:, 1], f[:, 2], days)
        result = bgnbd.fit_bgnbd_fast(*rows, 0.0)
    except (AttributeError, TypeError):
        FALLBACKS.add("bgnbd_fit")
        return fitting.fit(summary).bgnbd
    return dict(zip(bgnbd.BGNBD_PARAMS, map(float, result.params), strict=True))


def clv_fit_gamma_gamma(summary: pl.DataFrame) -> dict[str, float]:
    """clv's Gamma-Gamma fit alone (repeat buyers with positive spend), as ``fit`` does it."""
    from clv.models import fitting, gamma_gamma

    try:
        g = (
            summary.select(pl.col("frequency", "monetary_value").cast(pl.Float64))
            .filter((pl.col("frequency") > 0) & (pl.col("monetary_value") > 0))
            .to_numpy()
        )
        result = gamma_gamma.fit_gamma_gamma_fast(g[:, 0], g[:, 1], np.ones(g.shape[0]), 0.0)
    except (AttributeError, TypeError):
        FALLBACKS.add("gamma_gamma_fit")
        return fitting.fit(summary).gamma_gamma
    return dict(zip(gamma_gamma.GAMMA_GAMMA_PARAMS, map(float, result.params), strict=True))


def _clv_purchase_fit(summary: pl.DataFrame, name: str) -> dict[str, float]:
    """clv's fit of one purchase model alone, as :func:`clv.models.fitting.fit` does it."""
    from clv.data.rfm import TIME_UNIT_DAYS, time_unit_of
    from clv.models import bgnbd
    from clv.models.purchase import PURCHASE_MODELS

    spec = PURCHASE_MODELS[name]
    f = summary.select(pl.col("frequency", "recency", "T").cast(pl.Float64)).to_numpy()
    rows = bgnbd.distinct_bgnbd_rows(
        f[:, 0], f[:, 1], f[:, 2], TIME_UNIT_DAYS[time_unit_of(summary)]
    )
    return dict(zip(spec.params, map(float, spec.fit(*rows, 0.0).params), strict=True))


def clv_fit_mbgnbd(summary: pl.DataFrame) -> dict[str, float]:
    return _clv_purchase_fit(summary, "mbgnbd")


def clv_fit_pareto_nbd(summary: pl.DataFrame) -> dict[str, float]:
    return _clv_purchase_fit(summary, "pareto_nbd")


def clv_fit(summary: pl.DataFrame) -> dict[str, float]:
    from clv.models.fitting import fit

    model = fit(summary)
    return model.bgnbd | model.gamma_gamma


def _quiet() -> contextlib.AbstractContextManager[Any]:
    return contextlib.redirect_stdout(io.StringIO())


def lifetimes_fit_bgnbd(ctx: Context) -> dict[str, float]:
    from lifetimes import BetaGeoFitter

    s = ctx.pandas_summary
    with _quiet():
        bgf = BetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    return {k: float(bgf.params_[k]) for k in ("r", "alpha", "a", "b")}


def lifetimes_fit_gamma_gamma(ctx: Context) -> dict[str, float]:
    from lifetimes import GammaGammaFitter

    s = ctx.pandas_summary
    s = s[(s["frequency"] > 0) & (s["monetary_value"] > 0)]
    with _quiet():
        ggf = GammaGammaFitter().fit(s["frequency"], s["monetary_value"])
    return {k: float(ggf.params_[k]) for k in ("p", "q", "v")}


def lifetimes_fit_mbgnbd(ctx: Context) -> dict[str, float]:
    from lifetimes import ModifiedBetaGeoFitter

    s = ctx.pandas_summary
    with _quiet():
        f = ModifiedBetaGeoFitter().fit(s["frequency"], s["recency"], s["T"])
    return {k: float(f.params_[k]) for k in ("r", "alpha", "a", "b")}


def lifetimes_fit_pareto_nbd(ctx: Context) -> dict[str, float]:
    from lifetimes import ParetoNBDFitter

    s = ctx.pandas_summary
    with _quiet():
        f = ParetoNBDFitter().fit(s["frequency"], s["recency"], s["T"])
    return {k: float(f.params_[k]) for k in ("r", "alpha", "s", "beta")}


def check_params_nelder_mead(ours: dict[str, float], theirs: dict[str, float]) -> str | None:
    """lifetimes fits Pareto/NBD by Nelder-Mead (no gradient): its optimum agrees to ~1e-3."""
    for k, v in theirs.items():
        if not math.isclose(ours[k], v, rel_tol=PARETO_PARAMS_RTOL):
            return f"{k}: clv {ours[k]:.10g} vs lifetimes {v:.10g}"
    return None


def lifetimes_fit_both(ctx: Context) -> dict[str, float]:
    return lifetimes_fit_bgnbd(ctx) | lifetimes_fit_gamma_gamma(ctx)


# ---- scores --------------------------------------------------------------------------------


def clv_p_alive_expected(inputs: tuple[pl.DataFrame, Any]) -> dict[str, np.ndarray]:
    from clv.models.bgnbd import p_alive

    summary, model = inputs
    x, tx, T = (summary[c].cast(pl.Float64).to_numpy() for c in ("frequency", "recency", "T"))
    return {
        "p_alive": p_alive(model.bgnbd, x, tx, T),
        "expected_purchases": model.expected_purchases(summary, t=HORIZON_WEEKS),
    }


def lifetimes_p_alive_expected(ctx: Context) -> dict[str, np.ndarray]:
    bgf, _ = ctx.lifetimes_fitters
    s = ctx.pandas_summary
    f, r, T = s["frequency"], s["recency"], s["T"]
    return {
        "p_alive": np.asarray(bgf.conditional_probability_alive(f, r, T)),
        "expected_purchases": np.asarray(
            bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_WEEKS, f, r, T)
        ),
    }


def clv_score_12m(inputs: tuple[pl.DataFrame, Any]) -> dict[str, np.ndarray]:
    summary, model = inputs
    scores = model.score(
        summary,
        horizon=CLV_MONTHS,
        horizon_unit="M",
        month_days=LIFETIMES_MONTH_WEEKS * 7,
        discount_rate_monthly=DISCOUNT_RATE_MONTHLY,
    )
    return {"clv": scores["clv"].to_numpy()}


def lifetimes_clv_12m(ctx: Context) -> dict[str, np.ndarray]:
    bgf, ggf = ctx.lifetimes_fitters
    s = ctx.pandas_summary
    clv = ggf.customer_lifetime_value(
        bgf,
        s["frequency"],
        s["recency"],
        s["T"],
        s["monetary_value"],
        time=CLV_MONTHS,
        discount_rate=DISCOUNT_RATE_MONTHLY,
        freq="W",
    )
    return {"clv": np.asarray(clv, dtype=float)}


# ---- intervals and per-channel models (clv only: lifetimes has neither) ---------------------

INTERVAL = 0.9
CHANNEL_CUSTOMERS = 1_500  # per channel, in the simulated three-channel shop
CHANNEL_RESULTS: dict[str, Any] = {}
"""Filled by :func:`clv_channel_models`: each channel's predicted / simulated ratios."""


def clv_intervals(inputs: tuple[pl.DataFrame, Any]) -> dict[str, np.ndarray]:
    """12-month CLV with 90 % intervals and P(top tier) from 200 normal parameter draws."""
    summary, model = inputs
    scores = model.score(summary, horizon=CLV_MONTHS, horizon_unit="M", interval=INTERVAL)
    return {c: scores[c].to_numpy() for c in ("clv_low", "clv", "clv_high", "p_top")}


def _channel_shop(ctx: Context) -> tuple[pl.DataFrame, pl.DataFrame]:
    from clv.data.simulate import channel_shop

    return channel_shop(CHANNEL_CUSTOMERS, seed=2024, new_customers_per_channel=4_000)


def clv_channel_models(inputs: tuple[pl.DataFrame, pl.DataFrame]) -> dict[str, Any]:
    """Per-channel fit on 3 x 1,500 simulated customers; each channel's mean 12-month value
    (discount 0) over its next-365-day spend, and new_customer_value over the simulated
    first-year spend of 4,000 new customers per channel."""
    from clv.analysis.group_value import group_value
    from clv.data.groups import with_customer_group
    from clv.data.rfm import rfm_summary
    from clv.models.fitting import fit

    transactions, new = inputs
    end = "2023-12-31"
    summary = rfm_summary(transactions, observation_end=end)
    summary = with_customer_group(summary, transactions, by="channel")
    with _quiet():
        model = fit(summary, by="channel")
    year = {"horizon": 365, "horizon_unit": "D", "discount_rate_annual": 0.0}
    value = group_value(model, summary, interval=INTERVAL, **year)
    actual = transactions.filter(pl.col("date") > pl.lit(end).str.to_date())
    spent = actual.group_by("customer_id").agg(spent=pl.col("amount").sum())
    existing = (
        value.scores.join(spent, on="customer_id", how="left")
        .group_by("channel")
        .agg(pl.col("clv").mean() / pl.col("spent").fill_null(0).mean())
    )
    first_year = new.group_by("channel").agg(pl.col("first_year_spend").mean())
    newcomers = value.groups.join(first_year, on="channel").select(
        "channel", pl.col("new_customer_value") / pl.col("first_year_spend")
    )
    CHANNEL_RESULTS["existing_ratio"] = dict(existing.iter_rows())
    CHANNEL_RESULTS["new_customer_ratio"] = dict(newcomers.iter_rows())
    return CHANNEL_RESULTS


def _channel_row() -> dict[str, Any]:
    existing = CHANNEL_RESULTS.get("existing_ratio", {})
    new = CHANNEL_RESULTS.get("new_customer_ratio", {})
    bad = [f"{c} existing {r:.2f}" for c, r in existing.items() if abs(r - 1) > 0.15]
    bad += [f"{c} new {r:.2f}" for c, r in new.items() if abs(r - 1) > 0.2]
    check = "passed" if existing and new and not bad else f"FAILED: {', '.join(bad)}"
    return {"check": check, "accuracy": CHANNEL_RESULTS | {}}


# ---- KPIs ----------------------------------------------------------------------------------

KPI_KEYS = (
    "customers",
    "orders",
    "revenue",
    "aov",
    "aov_new",
    "aov_returning",
    "returning_vs_new_aov_ratio",
    "repeat_customer_rate",
    "top_10pct_revenue_share",
    "top_20pct_revenue_share",
    "gini_revenue",
)


def clv_kpis(tx: pl.DataFrame) -> dict[str, Any]:
    from clv.analysis.kpis import headline_kpis

    return headline_kpis(tx.select("customer_id", "date", "amount", "order_id"))


def pandas_kpis(ctx: Context) -> dict[str, float]:
    """The same headline numbers, written as a pandas user would."""
    df = ctx.pandas_transactions
    orders = (
        df.groupby(["customer_id", "order_id"], sort=False)
        .agg(date=("date", "min"), amount=("amount", "sum"))
        .reset_index()
        .sort_values(["customer_id", "date", "order_id"])
    )
    number = orders.groupby("customer_id").cumcount() + 1
    first = number == 1
    customers = orders["customer_id"].nunique()
    revenue = orders["amount"].sum()
    aov_new = orders.loc[first, "amount"].sum() / first.sum()
    aov_returning = orders.loc[~first, "amount"].sum() / (~first).sum()
    per_customer = np.sort(orders.groupby("customer_id")["amount"].sum().to_numpy())
    n, total = per_customer.size, per_customer.sum()
    top = per_customer[::-1]
    i = np.arange(1, n + 1)
    return {
        "customers": float(customers),
        "orders": float(len(orders)),
        "revenue": float(revenue),
        "aov": float(revenue / len(orders)),
        "aov_new": float(aov_new),
        "aov_returning": float(aov_returning),
        "returning_vs_new_aov_ratio": float(aov_returning / aov_new),
        "repeat_customer_rate": float((number == 2).sum() / customers),
        "top_10pct_revenue_share": float(top[: round(0.1 * n)].sum() / total),
        "top_20pct_revenue_share": float(top[: round(0.2 * n)].sum() / total),
        "gini_revenue": float(np.sum((2 * i - n - 1) * per_customer) / (n * total)),
    }


# ---- the table -----------------------------------------------------------------------------


def _summary_and_model(ctx: Context) -> tuple[pl.DataFrame, Any]:
    return ctx.summary, ctx.model


def _calibration_check(ours: Any, theirs: Any, ctx: Context) -> str | None:
    return check_calibration(ours, theirs, _same_day_holdout(ctx.transactions))


def _ignore_ctx(check: Callable[[Any, Any], str | None]) -> Callable[[Any, Any, Context], Any]:
    return lambda ours, theirs, ctx: check(ours, theirs)


STEPS: list[Step] = [
    Step(
        "summary_csv",
        "load + RFM summary (CSV)",
        lambda ctx: ctx.csv,
        clv_summary,
        lifetimes_summary_csv,
        _ignore_ctx(check_summary),
    ),
    Step(
        "summary_parquet",
        "load + RFM summary (Parquet)",
        lambda ctx: ctx.parquet,
        clv_summary,
        lifetimes_summary_parquet,
        _ignore_ctx(check_summary),
        target=10,
    ),
    Step(
        "calibration_holdout",
        "calibration/holdout split (in memory)",
        lambda ctx: ctx.transactions,
        clv_calibration,
        lifetimes_calibration,
        _calibration_check,
        target=10,
    ),
    Step(
        "bgnbd_fit",
        "BG/NBD fit",
        lambda ctx: ctx.summary,
        clv_fit_bgnbd,
        lifetimes_fit_bgnbd,
        _ignore_ctx(check_params),
        target=20,
        note="clv: weighted distinct rows + standard errors; lifetimes: unweighted BetaGeoFitter",
    ),
    Step(
        "mbgnbd_fit",
        "MBG/NBD fit",
        lambda ctx: ctx.summary,
        clv_fit_mbgnbd,
        lifetimes_fit_mbgnbd,
        _ignore_ctx(check_params),
        target=20,
        note="clv: weighted distinct rows + standard errors; lifetimes: ModifiedBetaGeoFitter",
    ),
    Step(
        "pareto_nbd_fit",
        "Pareto/NBD fit",
        lambda ctx: ctx.summary,
        clv_fit_pareto_nbd,
        lifetimes_fit_pareto_nbd,
        _ignore_ctx(check_params_nelder_mead),
        target=20,
        note="clv: distinct rows and pairs, BFGS; lifetimes: ParetoNBDFitter (Nelder-Mead)",
    ),
    Step(
        "gamma_gamma_fit",
        "Gamma-Gamma fit",
        lambda ctx: ctx.summary,
        clv_fit_gamma_gamma,
        lifetimes_fit_gamma_gamma,
        _ignore_ctx(check_params),
        target=4,
    ),
    Step(
        "fit",
        "clv.fit (BG/NBD + Gamma-Gamma, public API)",
        lambda ctx: ctx.summary,
        clv_fit,
        None,
        _ignore_ctx(check_params),
        note="lifetimes time = BG/NBD + Gamma-Gamma rows above",
        derived_from=("bgnbd_fit", "gamma_gamma_fit"),
    ),
    Step(
        "p_alive_expected",
        "P(alive) + expected purchases (52 weeks)",
        _summary_and_model,
        clv_p_alive_expected,
        lifetimes_p_alive_expected,
        _ignore_ctx(check_scores),
        note="same parameters on both sides",
    ),
    Step(
        "clv_12m",
        "12-month discounted CLV",
        _summary_and_model,
        clv_score_12m,
        lifetimes_clv_12m,
        _ignore_ctx(check_scores),
        target=20,
        note="clv score (all columns) with month_days=4.345*7, 1 %/month, lifetimes' convention",
    ),
    Step(
        "clv_intervals",
        "12-month CLV with 90 % intervals (200 draws) + P(top)",
        _summary_and_model,
        clv_intervals,
        None,
        None,
        note="clv only: delta method in the log-parameters, chunks of 10,000 customers",
    ),
    Step(
        "channel_models",
        "per-channel models on a simulated 3 x 1,500 shop",
        _channel_shop,
        clv_channel_models,
        None,
        None,
        note="clv only; passed = each channel within 15 % (existing) and 20 % (new customers)",
        row_extra=_channel_row,
    ),
    Step(
        "kpis",
        "seed KPIs (headline)",
        lambda ctx: ctx.transactions,
        clv_kpis,
        pandas_kpis,
        _ignore_ctx(check_kpis),
        note="pandas side: a straightforward groupby implementation of the same numbers",
    ),
]
