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
from functools import cached_property
from typing import TYPE_CHECKING, Any

import polars as pl

from clv.analysis import findings, loyalty, profile, retention, segments, tables
from clv.analysis import kpis as kpi
from clv.analysis.money import Money, resolve_money
from clv.data.datasets import CDNOW_CALIBRATION_END
from clv.data.groups import GroupBy, with_customer_group
from clv.data.io import Loaded, load_transactions, read_transactions
from clv.data.period import DateLike, Period, resolve_period
from clv.data.quality import Quality
from clv.data.rfm import TimeUnit, calibration_holdout, rfm_summary
from clv.errors import UsageError
from clv.models.checks import penalizers

if TYPE_CHECKING:  # the models load SciPy (0.6 s of CPU): imported when a model is fitted,
    # so `clv summarize` never pays for them
    from clv.models.draws import IntervalMethod
    from clv.models.fitting import PurchaseModelChoice
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel

DATASETS = ("cdnow", "synthetic_shop")
"""Embedded data sets ``analyze`` reads when no source is given."""

READ_KEYWORDS = tuple(k for k in inspect.signature(read_transactions).parameters if k != "source")
"""The keywords of :func:`clv.data.io.read_transactions` that :func:`analyze` passes on."""


@dataclass(frozen=True)
class Options:
    """The analysis settings that are neither period nor money (names as the keywords)."""

    purchase_model: PurchaseModelChoice = "bgnbd"
    penalizer: float = 0.0
    gg_penalizer: float = 0.0
    by: GroupBy | None = None
    interval: float | None = None
    interval_method: IntervalMethod = "normal"
    seed: int = 1
    top_share: float = segments.TOP_SHARE
    tier_cuts: tuple[float, float] = (0.2, 0.8)
    at_risk_min_value_quantile: float = 0.8
    at_risk_max_p_alive: float = 0.5
    channel_costs: Mapping[str, float] | None = None
    retention_uplift_points: float = 5.0
    retention_cost: float | None = None
    acquisition_cost: float | None = None
    member_discount_rate: float = 0.0
    cost_per_reward: float = 0.0
    milestones: tuple[int, ...] = (4, 10)
    launch_date: dt.date | None = None
    review_month: dt.date | None = None


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
    unknown = sorted(set(read_options) - set(READ_KEYWORDS))
    if unknown:
        raise UsageError(f"unknown keyword(s) {', '.join(unknown)}; see clv.read_transactions")
    if source is not None:
        return load_transactions(source, **read_options)
    from clv.data import datasets

    if dataset == "cdnow":
        frame = datasets.cdnow()
    elif dataset == "synthetic_shop":
        frame = datasets.synthetic_shop(synthetic_customers, seed=seed)[0]
    else:
        raise UsageError(f"dataset must be one of {', '.join(DATASETS)}, not {dataset!r}")
    return Loaded(frame, Quality(rows_read=frame.height))


def analyze(
    source: str | os.PathLike[str] | pl.DataFrame | None = None,
    *,
    dataset: str = "cdnow",
    synthetic_customers: int = 5_000,
    seed: int = 1,
    observation_end: DateLike | None = None,
    calibration_end: DateLike | None = None,
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
    top_share: float = segments.TOP_SHARE,
    tier_cuts: Sequence[float] = (0.2, 0.8),
    at_risk_min_value_quantile: float = 0.8,
    at_risk_max_p_alive: float = 0.5,
    channel_costs: Mapping[str, float] | None = None,
    retention_uplift_points: float = 5.0,
    retention_cost: float | None = None,
    acquisition_cost: float | None = None,
    member_discount_rate: float = 0.0,
    cost_per_reward: float = 0.0,
    milestones: Sequence[int] = (4, 10),
    launch_date: DateLike | None = None,
    review_month: DateLike | None = None,
    model: ClvModel | GroupedClvModel | None = None,
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
    ``"bootstrap"``, drawn with ``seed``),
    segments (``top_share``, ``tier_cuts``, at-risk thresholds) and KPIs (channel costs,
    retention economics, the loyalty programme). ``model``: a fitted model to score with
    instead of fitting one (its time unit must be ``time_unit``). Rows after the observation
    end are left out of every table, with a warning.

    Examples
    --------
    >>> analysis = analyze("orders.csv", customer_col="client", horizon=24)  # doctest: +SKIP
    >>> analysis.scores.sort("clv", descending=True).head()  # doctest: +SKIP
    """
    loaded = load(
        source,
        dataset=dataset,
        synthetic_customers=synthetic_customers,
        seed=seed,
        **read_options,
    )
    transactions = loaded.transactions
    published = CDNOW_CALIBRATION_END if source is None and dataset == "cdnow" else None
    period = resolve_period(
        transactions,
        observation_end=observation_end,
        time_unit=time_unit,
        calibration_end=calibration_end,
        published_calibration_end=published,
    )
    money = resolve_money(
        transactions,
        period,
        margin=margin,
        currency=currency,
        discount_rate_annual=discount_rate_annual,
        horizon=horizon,
        horizon_unit=horizon_unit,
    )
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
        seed=seed,
        top_share=top_share,
        tier_cuts=(float(tier_cuts[0]), float(tier_cuts[1])),
        at_risk_min_value_quantile=at_risk_min_value_quantile,
        at_risk_max_p_alive=at_risk_max_p_alive,
        channel_costs=channel_costs,
        retention_uplift_points=retention_uplift_points,
        retention_cost=retention_cost,
        acquisition_cost=acquisition_cost,
        member_discount_rate=member_discount_rate,
        cost_per_reward=cost_per_reward,
        milestones=tuple(int(m) for m in milestones),
        launch_date=None if launch_date is None else _date(launch_date, "launch_date"),
        review_month=None if review_month is None else _date(review_month, "review_month"),
    )
    if model is not None and model.time_unit != period.time_unit:
        raise UsageError(
            f"the model was fitted in time unit {model.time_unit}, not time_unit="
            f"{period.time_unit!r}"
        )
    analysis = Analysis(
        _observed(transactions, period), period, money, options, tiers, loaded.quality
    )
    if model is not None:
        analysis.__dict__["model"] = model  # the cached value of Analysis.model
    return analysis


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
        whose = f", among them all the purchases of {late:,} customers" if late else ""
        warnings.warn(
            f"{later:,} rows after the observation end {period.observation_end} are left "
            f"out{whose}",
            UserWarning,
            stacklevel=3,
        )
    return observed


class Analysis:
    """The results of :func:`analyze`: frames and numbers, each computed on first use, once.

    ``transactions`` are those up to the observation end; ``period``, ``money`` and
    ``options`` are what the analysis was asked for, resolved.
    """

    def __init__(
        self,
        transactions: pl.DataFrame,
        period: Period,
        money: Money,
        options: Options,
        tiers: tuple[tuple[str, float], ...],
        quality: Quality,
    ) -> None:
        self.transactions = transactions
        self.period = period
        self.money = money
        self.options = options
        self.tiers = tiers
        self.quality = quality

    @property
    def _penalizers(self) -> dict[str, float]:
        return {"purchase": self.options.penalizer, "gamma_gamma": self.options.gg_penalizer}

    # ---- the chain -------------------------------------------------------------------------

    @cached_property
    def summary(self) -> pl.DataFrame:
        """The RFM summary (:func:`clv.rfm_summary`) at the observation end."""
        summary = rfm_summary(
            self.transactions,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
        )
        if self.options.by is None:
            return summary
        return with_customer_group(summary, self.transactions, by=self.options.by)

    @cached_property
    def model(self) -> ClvModel | GroupedClvModel:
        """BG/NBD + Gamma-Gamma fitted on :attr:`summary` (one per group with ``by``)."""
        from clv.models.fitting import fit

        options = self.options
        holdout = None
        if options.purchase_model == "auto" and self.period.calibration_end is not None:
            holdout = calibration_holdout(
                self.transactions,
                calibration_end=self.period.calibration_end,
                observation_end=self.period.observation_end,
                time_unit=self.period.time_unit,
            )
        return fit(
            self.summary,
            penalizer=self._penalizers,
            purchase_model=options.purchase_model,
            holdout=holdout,
            by=options.by,
        )

    @cached_property
    def scores(self) -> pl.DataFrame:
        """Each customer's P(alive), expected purchases, order value and CLV over the horizon,
        on the money basis."""
        return self.model.score(
            self.summary,
            **self.money.score_keywords(),
            interval=self.options.interval,
            interval_method=self.options.interval_method,
            seed=self.options.seed,
        )

    @cached_property
    def segments(self) -> pl.DataFrame:
        """One row per customer: tiers by revenue and by CLV, RFM cell and scores."""
        return segments.segment_table(
            self.summary,
            self.scores,
            tiers=self.tiers,
            top_share=self.options.top_share,
        )

    @cached_property
    def at_risk(self) -> pl.DataFrame:
        """High-value customers who have probably stopped buying, by value at stake."""
        return profile.at_risk(
            self.segments,
            min_value_quantile=self.options.at_risk_min_value_quantile,
            max_p_alive=self.options.at_risk_max_p_alive,
        )

    @cached_property
    def top_profile(self) -> pl.DataFrame:
        """What distinguishes the top customers (:func:`clv.analysis.profile.top_profile`)."""
        return profile.top_profile(self.customers)

    @cached_property
    def middle_to_top(self) -> pl.DataFrame:
        """The whole middle tier, closest to the good tier first, with what each lacks."""
        return profile.middle_to_top(self.segments, n=None)

    @cached_property
    def findings(self) -> dict[str, Any]:
        """The first page's numbers, each read from the table that backs it."""
        return {
            "money": self.money.describe(),
            "top": findings.top_customers(self.segments, self.top_profile, value_col="revenue"),
            "top_share": self.options.top_share,
            "middle": findings.middle_close_to_top(self.middle_to_top, good_share=self.tiers[0][1]),
            "returning": findings.returning_vs_new(self.returning_vs_new),
            "channels": findings.channels(self.channels),
            "loyalty": loyalty.programme_totals(self.loyalty_by_month),
            "at_risk": findings.at_risk(self.at_risk),
        }

    # ---- descriptive tables ----------------------------------------------------------------

    @cached_property
    def orders(self) -> pl.DataFrame:
        """One row per order (:func:`clv.analysis.segments.order_table`)."""
        return segments.order_table(self.transactions)

    @cached_property
    def customers(self) -> pl.DataFrame:
        """One row per customer with their history and scores."""
        table = segments.customer_table(
            self.transactions, orders=self.orders, margin_rate=self.money.margin_rate
        )
        return kpi.with_scores(table, self.segments)

    @cached_property
    def kpis(self) -> dict[str, Any]:
        """The headline KPIs (``kpis.json``), with the predicted CLV over the horizon."""
        return tables.customer_value_kpis(
            self.transactions,
            self.scores,
            observation_end=self.period.observation_end,
            channel_costs=self.options.channel_costs,
            orders=self.orders,
            customers=self.customers,
            good_share=self.tiers[0][1],
            money=self.money,
        )

    @cached_property
    def monthly(self) -> pl.DataFrame:
        """First vs returning orders per calendar month."""
        return tables.monthly_new_returning(self.orders)

    @cached_property
    def cohorts(self) -> pl.DataFrame:
        """Monthly acquisition cohorts."""
        return kpi.cohort_table(self.orders)

    @cached_property
    def returning_vs_new(self) -> dict[str, Any]:
        """Order value of first vs later orders, repeat rate, time to the second order."""
        return kpi.returning_vs_new(self.orders)

    @cached_property
    def retention(self) -> dict[str, Any]:
        """Retention economics and the simple formula beside the model."""
        return retention.retention_economics(
            self.orders,
            self.scores,
            observation_end=self.period.observation_end,
            uplift_points=self.options.retention_uplift_points,
            discount_rate_annual=self.money.discount_rate_annual,
            margin_rate=self.money.margin_rate,
            horizon_months=self.money.horizon_months,
            retention_cost=self.options.retention_cost,
            acquisition_cost=self.options.acquisition_cost,
        )

    @cached_property
    def channels(self) -> pl.DataFrame | None:
        """Acquisition channels by share of good customers (None without a channel column)."""
        return kpi.channel_table(
            self.customers,
            channel_costs=self.options.channel_costs,
            value_col=self.money.value_col,
            good_share=self.tiers[0][1],
        )

    @cached_property
    def loyalty(self) -> pl.DataFrame | None:
        """Members vs non-members (None without a loyalty column)."""
        return loyalty.loyalty_table(self.customers)

    @cached_property
    def loyalty_by_month(self) -> pl.DataFrame | None:
        """The loyalty programme month by month (None without a loyalty column)."""
        return loyalty.loyalty_by_month(
            self.orders,
            member_discount_rate=self.options.member_discount_rate,
            cost_per_reward=self.options.cost_per_reward,
            milestones=self.options.milestones,
            margin_rate=self.money.margin_rate,
        )

    @cached_property
    def holdout(self) -> dict[str, Any] | None:
        """The holdout check (refit on the calibration period); None without a split."""

        from clv.analysis import validation  # loads the models (SciPy): only for this table

        return validation.holdout_check(
            self.transactions,
            calibration_end=self.period.calibration_end,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
            penalizer={
                "purchase": self.options.penalizer,
                "gamma_gamma": self.options.gg_penalizer,
            },
            purchase_model=self.options.purchase_model,
        )
