"""The one pipeline: read, check, summarize, fit, score and build every table, once.

:func:`analyze` is the only place where the read → summarize → fit → score chain is written;
the command line, the report runner and the notebooks call it. It resolves the
:class:`~clv.data.period.Period` and :class:`~clv.analysis.money.Money` once and returns an
:class:`Analysis`, whose tables are computed on first use and kept (``clv summarize`` never
fits a model; a report builds every table once).
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import polars as pl

from clv import params
from clv.analysis import segments, tables
from clv.analysis.money import Money, margin_totals, resolve_money
from clv.analysis.results import Analysis, Options
from clv.data import engines, exclusions
from clv.data.datasets import CDNOW_CALIBRATION_END
from clv.data.engines import DataEngine
from clv.data.groups import GroupBy
from clv.data.io import Loaded, load_transactions, read_transactions
from clv.data.period import DateLike, Period, date_range, period_between
from clv.data.quality import Quality
from clv.data.rfm import TimeUnit
from clv.errors import UsageError
from clv.models.checks import penalizers

if TYPE_CHECKING:  # the models load SciPy (0.6 s of CPU): imported when a model is fitted
    from clv.models.draws import IntervalMethod
    from clv.models.fitting import PurchaseModelChoice
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel

DATASETS = ("cdnow", "synthetic_shop")
"""Embedded data sets ``analyze`` reads when no source is given."""

READ_KEYWORDS = tuple(k for k in inspect.signature(read_transactions).parameters if k != "source")
"""The keywords of :func:`clv.data.io.read_transactions` that :func:`analyze` passes on."""


def load(
    source: str | os.PathLike[str] | pl.DataFrame | None = None,
    *,
    dataset: str = "cdnow",
    synthetic_customers: int = 5_000,
    seed: int = 1,
    **read_options: Any,
) -> Loaded:
    """The transactions of an analysis and what reading found: ``source`` read by
    :func:`~clv.data.io.load_transactions` with ``read_options``, or the embedded ``dataset``
    (``"cdnow"``, or ``"synthetic_shop"`` of ``synthetic_customers`` drawn with ``seed``)."""
    check_read_keywords(read_options)
    if source is not None:
        return load_transactions(source, **read_options)
    from clv.data import datasets

    if dataset == "cdnow":
        frame = datasets.cdnow()
    elif dataset == "synthetic_shop":
        frame = datasets.synthetic_shop(synthetic_customers, seed=seed)[0]
    else:
        raise UsageError(f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
    rows_read = frame.height
    ids = exclusions.customer_ids(read_options.get("exclude_customers"))
    frame, excluded = exclusions.leave_out(frame, ids, f"the {dataset} data set")
    zero = int((frame["amount"] == 0).sum())
    quality = Quality(
        rows_read=rows_read,
        zero_amounts=zero,
        excluded_customers=excluded,
        excluded_not_found=tuple(exclusions.not_found(ids, excluded)),
    )
    return Loaded(frame, quality)


def check_read_keywords(read_options: Mapping[str, Any]) -> None:
    """A one-line usage error for a keyword :func:`clv.read_transactions` does not take."""
    unknown = sorted(set(read_options) - set(READ_KEYWORDS))
    if unknown:
        raise UsageError(f"unknown keyword(s) {', '.join(unknown)}; see clv.read_transactions")


def analyze(
    source: str | os.PathLike[str] | pl.DataFrame | None = None,
    *,
    dataset: str = "cdnow",
    synthetic_customers: int = 5_000,
    seed: int = 1,
    observation_end: DateLike | None = None,
    calibration_end: DateLike | None = "auto",
    time_unit: TimeUnit = "W",
    margin: float | None = None,
    currency: str = "",
    discount_rate_annual: float = 0.10,
    horizon: float = 12,
    horizon_unit: TimeUnit = "M",
    purchase_model: PurchaseModelChoice = "bgnbd",
    penalizer: float = 0.0,
    gg_penalizer: float = 0.0,
    by: GroupBy | None = None,
    interval: float | None = None,
    interval_method: IntervalMethod = "normal",
    prediction_interval: float | None = None,
    top_share: float = segments.TOP_SHARE,
    tier_cuts: Sequence[float] = (0.2, 0.8),
    at_risk_min_value_quantile: float = 0.8,
    at_risk_max_p_alive: float = 0.5,
    at_risk_overdue_gaps: float | None = None,
    channel_costs: Mapping[str, float] | None = None,
    retention_uplift_points: float = 5.0,
    retention_cost: float | None = None,
    acquisition_cost: float | None = None,
    member_discount_rate: float = 0.0,
    cost_per_reward: float = 0.0,
    margin_after_member_discount: bool = True,
    milestones: Sequence[int] = (4, 10),
    launch_date: DateLike | None = None,
    review_month: DateLike | None = "auto",
    model: ClvModel | GroupedClvModel | None = None,
    engine: DataEngine = "polars",
    spark_master: str | None = None,
    spark_conf: Mapping[str, str] | None = None,
    **read_options: Any,
) -> Analysis:
    """Analyze a transactions file (or frame, or an embedded data set).

    Every keyword has the name of the notebook parameter and (with dashes) the CLI option
    that sets it: the columns and parsing options of :func:`clv.read_transactions`
    (``customer_col``, ``date_col``, ``amount_col``, ``order_col``, ``channel_col``, ...),
    the period (``observation_end``, ``calibration_end`` of the holdout check: a date,
    ``"auto"`` or None, ``time_unit``), the money (``margin`` rate, ``currency``,
    ``discount_rate_annual``, ``horizon`` in ``horizon_unit``), the model
    (``purchase_model``: ``"bgnbd"``, ``"mbgnbd"``, ``"pareto_nbd"`` or ``"auto"``, the best
    on the holdout; ``penalizer`` of the purchase model, ``gg_penalizer`` of Gamma-Gamma;
    ``by="channel"`` or ``"loyalty"``: one model per first-order channel or membership;
    ``interval``: CLV intervals from parameter draws, ``interval_method`` ``"normal"`` or
    ``"bootstrap"``, drawn with ``seed``: the parameters' uncertainty only;
    ``prediction_interval``: each customer's range of realised value, ``clv_pred_low`` and
    ``clv_pred_high``),
    segments (``top_share``, ``tier_cuts``, at-risk thresholds) and KPIs (channel costs,
    retention economics, the loyalty programme). ``model``: a fitted model to score with
    instead of fitting one (its time unit must be ``time_unit``). Rows after the observation
    end are left out of every table, with a warning. ``engine="spark"`` reads and checks the
    source on Spark (the active session, e.g. a notebook's kernel on a cluster's driver, or a
    local one; ``spark_master`` starts one there and ``spark_conf`` adds its settings) with
    the same rules, and returns the engine's :class:`Analysis`: the model, the KPIs and the
    report's tables computed where the data lives, every per-row table from the checked rows
    collected on first use.

    Examples
    --------
    >>> analysis = analyze("orders.csv", customer_col="client", horizon=24)  # doctest: +SKIP
    >>> analysis.scores.sort("clv", descending=True).head()  # doctest: +SKIP
    """
    given = {k: v for k, v in {**locals(), **read_options}.items() if k in params.SPEC}
    checked = params.validate(given)  # every keyword by the spec, before any data is read
    tiers = tables.tiers_from_cuts(tier_cuts)  # checks the cuts
    if by not in (None, "channel", "loyalty"):
        raise UsageError(f"by must be channel or loyalty, not {by!r}")
    penalizers({"purchase": penalizer, "gamma_gamma": gg_penalizer})  # checked before any work
    options = Options(
        purchase_model=purchase_model,
        penalizer=penalizer,
        gg_penalizer=gg_penalizer,
        by=by,
        interval=interval,
        interval_method=interval_method,
        prediction_interval=prediction_interval,
        seed=seed,
        top_share=top_share,
        tier_cuts=(float(tier_cuts[0]), float(tier_cuts[1])),
        at_risk_min_value_quantile=at_risk_min_value_quantile,
        at_risk_max_p_alive=at_risk_max_p_alive,
        at_risk_overdue_gaps=at_risk_overdue_gaps,
        channel_costs=channel_costs,
        retention_uplift_points=retention_uplift_points,
        retention_cost=retention_cost,
        acquisition_cost=acquisition_cost,
        member_discount_rate=member_discount_rate,
        cost_per_reward=cost_per_reward,
        margin_after_member_discount=margin_after_member_discount,
        milestones=tuple(int(m) for m in milestones),
        launch_date=None if launch_date is None else _date(launch_date, "launch_date"),
        review_month=None if review_month is None else _date(review_month, "review_month"),
    )
    request = Request(
        observation_end=observation_end,
        calibration_end=calibration_end,
        time_unit=time_unit,
        published_calibration_end=(
            CDNOW_CALIBRATION_END if source is None and dataset == "cdnow" else None
        ),
        margin=margin,
        currency=currency,
        discount_rate_annual=discount_rate_annual,
        horizon=horizon,
        horizon_unit=horizon_unit,
        options=options,
        tiers=tiers,
    )
    distributed = engines.get(engine) if engine != "polars" else None  # unknown: one line
    if distributed is not None and source is not None:
        check_read_keywords(read_options)
        session = {"master": checked.get("spark_master"), "conf": checked.get("spark_conf")}
        analysis = distributed.analysis(source, request, read_options, session)
    else:  # the embedded data sets are polars frames on every engine
        loaded = load(
            source,
            dataset=dataset,
            synthetic_customers=synthetic_customers,
            seed=seed,
            **read_options,
        )
        transactions = loaded.transactions
        period = request.period(*date_range(transactions))
        money = request.money(margin_totals(transactions, period.observation_end))
        analysis = Analysis(
            _observed(transactions, period), period, money, options, tiers, loaded.quality
        )
    if model is not None and model.time_unit != analysis.period.time_unit:
        raise UsageError(
            f"the model was fitted in time unit {model.time_unit}, not time_unit="
            f"{analysis.period.time_unit!r}"
        )
    if model is not None:
        analysis.__dict__["model"] = model  # the cached value of Analysis.model
        analysis.model_given = True
    return analysis


@dataclass(frozen=True)
class Request:
    """What :func:`analyze` was asked for, checked, before the data is read: every engine
    resolves the period and the money against its data with :meth:`period` and
    :meth:`money`, so both engines decide every default the same way."""

    observation_end: DateLike | None
    calibration_end: DateLike | None
    time_unit: TimeUnit
    published_calibration_end: DateLike | None
    margin: float | None
    currency: str
    discount_rate_annual: float
    horizon: float
    horizon_unit: TimeUnit
    options: Options
    tiers: tuple[tuple[str, float], ...]

    def period(self, first: dt.date, last: dt.date) -> Period:
        """The :class:`~clv.data.period.Period` of transactions from day ``first`` to day
        ``last`` (:func:`clv.data.period.period_between`)."""
        return period_between(
            first,
            last,
            observation_end=self.observation_end,
            time_unit=self.time_unit,
            calibration_end=self.calibration_end,
            published_calibration_end=self.published_calibration_end,
        )

    def money(self, margin_totals: tuple[float, float] | None) -> Money:
        """The :class:`~clv.analysis.money.Money` of data whose margin column sums to
        ``margin_totals`` (margin, revenue) up to the observation end (None: no margin
        column; :func:`clv.analysis.money.resolve_money`)."""
        return resolve_money(
            margin_totals,
            margin=self.margin,
            currency=self.currency,
            discount_rate_annual=self.discount_rate_annual,
            horizon=self.horizon,
            horizon_unit=self.horizon_unit,
        )


def _date(value: DateLike, name: str) -> dt.date | None:
    from clv.data.period import as_date

    return None if str(value).strip().lower() == "auto" else as_date(value, name)


def _observed(transactions: pl.DataFrame, period: Period) -> pl.DataFrame:
    """The rows up to the observation end; a warning counts the rows (and customers) after it."""
    before = pl.col("date") <= period.observation_end
    observed = transactions.filter(before)
    later = transactions.height - observed.height
    if later:
        late = (
            transactions.filter(~before)
            .select("customer_id")
            .unique()
            .join(observed.select("customer_id"), on="customer_id", how="anti")
            .height
        )
        warn_rows_after(later, late, period.observation_end)
    return observed


def warn_rows_after(rows: int, customers: int, end: dt.date) -> None:
    """Warn that ``rows`` rows after the observation ``end`` are left out, among them every
    purchase of ``customers`` customers (every engine says it so)."""
    whose = f", among them all the purchases of {customers:,} customers" if customers else ""
    warnings.warn(
        f"{rows:,} rows after the observation end {end} are left out{whose}",
        UserWarning,
        stacklevel=4,
    )
