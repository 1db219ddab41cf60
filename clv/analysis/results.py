"""The results of an analysis: every table, computed on first use from the resolved inputs.

:func:`clv.analysis.pipeline.analyze` makes an :class:`Analysis`; each property computes its
table once, from the tables before it, so a command computes only what it writes.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, cast

import polars as pl

from clv.analysis import (
    changes,
    distributions,
    findings,
    loyalty,
    loyalty_series,
    orders,
    profile,
    retention,
    risk,
    segments,
    tables,
)
from clv.analysis import kpis as kpi
from clv.analysis.display import analysis_html
from clv.analysis.findings import ListCounts
from clv.analysis.money import Money
from clv.analysis.segments import SegmentTotals
from clv.data.groups import GroupBy, with_customer_group
from clv.data.period import Period
from clv.data.quality import Quality
from clv.data.rfm import _calibration_holdout_keyed, _rfm_summary_keyed
from clv.data.write import Batches

if TYPE_CHECKING:  # the models load SciPy (0.6 s of CPU): imported when a model is fitted
    from clv.analysis.group_value import GroupValue
    from clv.models.draws import IntervalMethod
    from clv.models.fitting import PurchaseModelChoice
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


HEAD_ROWS = 25
"""The rows of a customer list the report shows (:attr:`Analysis.at_risk_head`); the whole
list is the run's file."""

CustomerTable = Literal["segments", "at_risk", "lost", "members_at_risk"]
"""The per-customer tables a run writes (:meth:`Analysis.rows`)."""


@dataclass(frozen=True)
class Options:
    """The analysis settings that are neither period nor money (names as the keywords)."""

    purchase_model: PurchaseModelChoice = "bgnbd"
    penalizer: float = 0.0
    gg_penalizer: float = 0.0
    by: GroupBy | None = None
    interval: float | None = None
    interval_method: IntervalMethod = "normal"
    prediction_interval: float | None = None
    seed: int = 1
    top_share: float = segments.TOP_SHARE
    tier_cuts: tuple[float, float] = (0.2, 0.8)
    at_risk_min_value_quantile: float = 0.8
    at_risk_max_p_alive: float = 0.5
    at_risk_overdue_gaps: float | None = None
    channel_costs: Mapping[str, float] | None = None
    retention_uplift_points: float = 5.0
    retention_cost: float | None = None
    acquisition_cost: float | None = None
    member_discount_rate: float = 0.0
    cost_per_reward: float = 0.0
    margin_after_member_discount: bool = True
    milestones: tuple[int, ...] = (4, 10)
    launch_date: dt.date | None = None
    review_month: dt.date | None = None


class Analysis:
    """The results of :func:`analyze`: frames and numbers, each computed on first use, once.

    ``transactions`` are those up to the observation end; ``period``, ``money`` and
    ``options`` are what the analysis was asked for, resolved.
    """

    model_given: bool = False
    """Whether :attr:`model` was given (``analyze(model=...)``), not fitted here."""

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

    def _repr_html_(self) -> str:
        return analysis_html(self)

    @property
    def _penalizers(self) -> dict[str, float]:
        return {"purchase": self.options.penalizer, "gamma_gamma": self.options.gg_penalizer}

    # ---- the chain -------------------------------------------------------------------------

    @cached_property
    def _keyed_summary(self) -> tuple[pl.DataFrame, pl.Series]:
        """The RFM summary (:func:`clv.rfm_summary`) at the observation end, and each
        transaction row's customer as its row in it (the integer key the tables group on)."""
        return _rfm_summary_keyed(
            self.transactions, end=self.period.observation_end, time_unit=self.period.time_unit
        )

    @property
    def _customer_key(self) -> pl.Series:
        return self._keyed_summary[1]

    @cached_property
    def summary(self) -> pl.DataFrame:
        """The RFM summary (:func:`clv.rfm_summary`) at the observation end."""
        summary = self._keyed_summary[0]
        if self.options.by is None:
            return summary
        return with_customer_group(
            summary, self.transactions, by=self.options.by, _customer_key=self._customer_key
        )

    @cached_property
    def model(self) -> ClvModel | GroupedClvModel:
        """BG/NBD + Gamma-Gamma fitted on :attr:`summary` (one per group with ``by``)."""
        from clv.models.fitting import fit

        options = self.options
        return fit(
            self.summary,
            penalizer=self._penalizers,
            purchase_model=options.purchase_model,
            holdout=self.calibration if options.purchase_model == "auto" else None,
            by=options.by,
        )

    @cached_property
    def calibration(self) -> pl.DataFrame | None:
        """The calibration-period summary with the holdout columns (None without a split),
        made once for the choice of purchase model and the holdout check."""
        if self.period.calibration_end is None:
            return None
        return _calibration_holdout_keyed(
            self.transactions,
            customer_key=self._customer_key,
            customer_ids=self._keyed_summary[0]["customer_id"],
            period=self.period,
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
            prediction_interval=self.options.prediction_interval,
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
    def at_risk_rule(self) -> risk.AtRiskRule:
        """``"recency"`` when the model sees no dropout (its ``no_dropout_seen`` diagnostic:
        P(alive) is close to 1 for everyone and cannot pick anyone out), else ``"p_alive"``.
        With ``by``, the pooled model (fitted on all customers) decides."""
        from clv.models.model import ClvModel  # loaded already: self.model is fitted

        model = self.model if isinstance(self.model, ClvModel) else self.model.pooled
        codes = {d["code"] for d in model.diagnostics}
        return "recency" if "no_dropout_seen" in codes else "p_alive"

    @cached_property
    def overdue(self) -> risk.Overdue:
        """The recency rule's cut (``at_risk_overdue_gaps`` usual gaps, or measured on the
        calibration/holdout split: :func:`clv.analysis.risk.overdue_threshold`)."""
        return risk.overdue_threshold(self.calibration, gaps=self.options.at_risk_overdue_gaps)

    @cached_property
    def at_risk(self) -> pl.DataFrame:
        """High-value customers overdue by their own rhythm, by value at stake, chosen by
        :attr:`at_risk_rule` (:func:`clv.analysis.risk.at_risk`)."""
        return risk.at_risk(
            self.segments,
            rule=self.at_risk_rule,
            min_value_quantile=self.options.at_risk_min_value_quantile,
            max_p_alive=self.options.at_risk_max_p_alive,
            overdue=self.overdue if self.at_risk_rule == "recency" else None,
        )

    @cached_property
    def lost(self) -> pl.DataFrame:
        """High-value customers already gone (:func:`clv.analysis.risk.lost`), shown apart;
        none (its columns, no rows) under the recency rule."""
        lost = risk.lost(self.segments, min_value_quantile=self.options.at_risk_min_value_quantile)
        return lost.head(0) if self.at_risk_rule == "recency" else lost

    @cached_property
    def at_risk_head(self) -> pl.DataFrame:
        """The first :data:`HEAD_ROWS` rows of :attr:`at_risk`, what the report shows (the
        list's length is ``at_risk_findings["customers"]``)."""
        return self.at_risk.head(HEAD_ROWS)

    @cached_property
    def lost_head(self) -> pl.DataFrame:
        """The first :data:`HEAD_ROWS` rows of :attr:`lost` (its length:
        ``at_risk_findings["lost"]``)."""
        return self.lost.head(HEAD_ROWS)

    @cached_property
    def transaction_count(self) -> int:
        """The number of transactions up to the observation end."""
        return self.transactions.height

    def rows(self, table: CustomerTable) -> pl.DataFrame | Batches:
        """The per-customer table ``table`` (:attr:`segments`, :attr:`at_risk`, :attr:`lost`
        or :attr:`members_at_risk`) as the run's files take it
        (:func:`clv.report.runs.save_run`): the frame; an engine that keeps the rows where the
        data lives gives their batches."""
        return cast(pl.DataFrame, getattr(self, table))

    def customer_changes(
        self, previous: str | os.PathLike[str], *, top_tier: str
    ) -> changes.CustomerChanges:
        """How the customers changed since the run in folder ``previous`` (its scores and
        at-risk list, :func:`clv.analysis.changes.read_customers`): tiers by predicted CLV,
        the top customers who slipped and those new in ``top_tier``, the at-risk lists
        (:func:`clv.analysis.changes.customer_changes`)."""
        scores, at_risk = changes.read_customers(previous)
        ids = self.at_risk["customer_id"].cast(pl.String).drop_nulls().to_list()
        return changes.customer_changes(
            changes.RunState(scores=scores, kpis={}, at_risk=at_risk),
            changes.RunState(scores=self.segments, kpis={}, at_risk=frozenset(ids)),
            top_tier=top_tier,
        )

    @cached_property
    def segment_totals(self) -> SegmentTotals:
        """The segment table's totals the report's sentences read
        (:func:`clv.analysis.segments.segment_totals`)."""
        return segments.segment_totals(self.segments)

    @cached_property
    def tier_tables(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """The tiers by revenue and by predicted CLV, and their shares side by side
        (:func:`clv.analysis.tables.tier_tables`)."""
        return tables.tier_tables(self.segments, self.tiers)

    @cached_property
    def lorenz(self) -> pl.DataFrame:
        """The Lorenz curves and Gini coefficients of revenue and predicted CLV, labelled by
        column (:func:`clv.analysis.tables.lorenz_table`; label them for a reader with
        :func:`clv.analysis.tables.lorenz_labelled`)."""
        columns = tables.LORENZ_COLUMNS
        return tables.lorenz_table(self.segments, dict(zip(columns, columns, strict=True)))

    @cached_property
    def top_profile(self) -> pl.DataFrame:
        """What distinguishes the top customers (:func:`clv.analysis.profile.top_profile`)."""
        return profile.top_profile(self.customers)

    @cached_property
    def middle_tier(self) -> pl.DataFrame:
        """The whole middle tier, closest to the good tier first, with what each lacks
        (:func:`clv.analysis.profile.middle_to_top`, the customers already gone included);
        customers whose net revenue is zero or below (full refunds) are left out, as in the
        tier tables."""
        refunded = self.segments.filter(pl.col("revenue") <= 0).select("customer_id")
        table = profile.middle_to_top(self.segments, n=None, leave_out_gone=False)
        return table.join(refunded, on="customer_id", how="anti", maintain_order="left")

    @cached_property
    def middle_to_top(self) -> pl.DataFrame:
        """The middle-to-top candidates: :attr:`middle_tier` without the customers already
        gone (P(alive) below :data:`clv.analysis.risk.LOST_P_ALIVE`: the win-back list's cut,
        so no customer is both a candidate and on :attr:`lost`)."""
        return self.middle_tier.filter(~risk.gone())

    @cached_property
    def middle_to_top_shown(self) -> pl.DataFrame:
        """The first :data:`~clv.analysis.profile.MIDDLE_TO_TOP_SHOWN` rows of
        :attr:`middle_to_top`: the candidates the report shows."""
        return self.middle_to_top.head(profile.MIDDLE_TO_TOP_SHOWN)

    @cached_property
    def middle_counts(self) -> findings.MiddleCounts:
        """How many of :attr:`middle_tier` are close to the top, and what they lack
        (:func:`clv.analysis.findings.middle_counts`)."""
        return findings.middle_counts(self.middle_tier)

    @cached_property
    def findings(self) -> dict[str, Any]:
        """The first page's numbers, each read from the table that backs it."""
        totals = self.segment_totals
        return {
            "money": self.money.describe(),
            "top": findings.top_customers(totals, self.top_profile),
            "top_share": self.options.top_share,
            "middle": findings.middle_findings(self.middle_counts, good_share=self.tiers[0][1]),
            "returning": findings.returning_vs_new(self.returning_vs_new),
            "channels": findings.channels(self.channels),
            "loyalty": self.loyalty_totals,
            "at_risk": self.at_risk_findings,
            "health": findings.model_health(
                self.model,
                holdout=self.holdout,
                totals=totals,
                last_year_value=self.last_year_value,
                horizon_months=self.money.horizon_months,
            ),
            "quality": findings.data_quality(self.quality, totals),
            "period": {
                "first_day": self.period.first_day.isoformat(),
                "observation_end": self.period.observation_end.isoformat(),
            },
        }

    @cached_property
    def members_at_risk(self) -> pl.DataFrame:
        """The loyalty members on the at-risk list (all of it without a loyalty column)."""
        return tables.members_only(self.at_risk, self.customers)

    @cached_property
    def members_at_risk_head(self) -> pl.DataFrame:
        """The first :data:`HEAD_ROWS` rows of :attr:`members_at_risk`, what the loyalty
        review shows (the list's length is :attr:`members_at_risk_counts`)."""
        return self.members_at_risk.head(HEAD_ROWS)

    @cached_property
    def members_at_risk_counts(self) -> ListCounts:
        """:attr:`members_at_risk`'s length and value at stake (currency)."""
        return findings.list_counts(self.members_at_risk)

    @cached_property
    def loyalty_findings(self) -> dict[str, Any]:
        """The loyalty review's first page numbers: the reviewed month, members vs
        non-members, the programme's totals, the members at risk, model health and data
        quality (the last three as in :attr:`findings`)."""
        return {
            "money": self.findings["money"],
            "period": self.findings["period"],
            "month": findings.loyalty_month(self.month_comparison, self.loyalty_totals),
            "members": findings.loyalty_members(self.loyalty, self.members_at_risk_counts),
            "loyalty": self.loyalty_totals,
            "health": self.findings["health"],
            "quality": self.findings["quality"],
        }

    @cached_property
    def loyalty_totals(self) -> dict[str, Any] | None:
        """:func:`clv.analysis.loyalty.programme_totals`, and ``discount_in_margin``: whether
        the member discount is taken to be in the recorded margin already."""
        totals = loyalty.programme_totals(self.loyalty_by_month)
        if totals is None:
            return None
        return totals | {"discount_in_margin": self.options.margin_after_member_discount}

    @cached_property
    def last_year_value(self) -> float | None:
        """The value of the 365 days up to the observation end on the money basis (revenue,
        or margin: the margin column, else revenue x margin rate); None when the data covers
        less than a year."""
        end = self.period.observation_end
        if (end - self.period.first_day).days < 364:
            return None
        start = end - dt.timedelta(days=364)
        last = self.transactions.filter(pl.col("date") >= start)
        if self.money.basis == "margin" and "margin" in last.columns:
            return float(last["margin"].sum())
        return float(last["amount"].sum()) * self.money.margin_rate

    @cached_property
    def at_risk_findings(self) -> dict[str, Any]:
        """The at-risk list's rule, thresholds and totals (:func:`findings.at_risk`); in
        :attr:`findings` and ``kpis.json``."""
        return findings.at_risk(
            self.at_risk,
            self.lost,
            rule=self.at_risk_rule,
            min_value_quantile=self.options.at_risk_min_value_quantile,
            max_p_alive=self.options.at_risk_max_p_alive,
            overdue=self.overdue if self.at_risk_rule == "recency" else None,
        )

    # ---- descriptive tables ----------------------------------------------------------------

    @cached_property
    def overview_values(self) -> dict[str, Any]:
        """The transactions in a few numbers (:func:`clv.analysis.tables.data_overview_values`):
        rows, customers, first and last day, amounts, optional columns."""
        return tables.data_overview_values(self.transactions, customers=self.summary.height)

    @cached_property
    def overview(self) -> pl.DataFrame:
        """The transactions in a few lines (:func:`clv.analysis.tables.data_overview`)."""
        return tables.overview_table(self.overview_values)

    @cached_property
    def orders(self) -> pl.DataFrame:
        """One row per order (:func:`clv.analysis.segments.order_table`)."""
        ids = self._keyed_summary[0]["customer_id"]
        return orders.order_table_keyed(
            self.transactions, customer_key=self._customer_key, customer_ids=ids
        )

    @cached_property
    def customers(self) -> pl.DataFrame:
        """One row per customer with their history and scores."""
        table = orders.customer_table(
            self.transactions,
            orders=self.orders,
            margin_rate=self.money.margin_rate,
            _customer_key=self._customer_key,
        )
        return kpi.with_scores(table, self.segments)

    @cached_property
    def kpis(self) -> dict[str, Any]:
        """The headline KPIs (``kpis.json``), with the predicted CLV over the horizon and, with
        a channel column, each channel's value from its own model (:attr:`channel_value`)."""
        from clv.analysis.group_value import with_channel_value  # the models are loaded

        kpis = with_channel_value(copy.deepcopy(self._kpis), self.channel_value)
        return kpis | {"at_risk": self.at_risk_findings}

    @cached_property
    def _kpis(self) -> dict[str, Any]:
        """:attr:`kpis` but the per-channel models' (made beside them in a report)."""
        return tables.customer_value_kpis(
            self.transactions,
            self.scores,
            observation_end=self.period.observation_end,
            channel_costs=self.options.channel_costs,
            orders=self.orders,
            customers=self.customers,
            good_share=self.tiers[0][1],
            money=self.money,
            returning=self.returning_vs_new,  # the tables of the report: made once
            channels=self.channels,
            loyalty=self.loyalty,
        )

    @cached_property
    def channel_value(self) -> GroupValue | str | None:
        """Per-channel models (BG/NBD + Gamma-Gamma per first-order channel, the pooled model
        for channels too small): each channel's CLV with its 90 % interval, the value of a
        newly acquired customer and, with costs, its CLV:CAC (its ``scores``: each customer's
        point scores by their channel's model, without intervals). None without a channel
        column; the reason, in words, when the channel models cannot be fitted."""
        if "channel" not in self.transactions.columns:
            return None
        from clv.errors import ModelError
        from clv.models.fitting import fit

        summary = self.summary
        if "channel" not in summary.columns:
            summary = with_customer_group(
                summary, self.transactions, by="channel", _customer_key=self._customer_key
            )
        try:
            model = fit(
                summary, penalizer=self._penalizers, by="channel", pooled=self._channel_pooled
            )
            return self._channels_valued(model, summary)
        except ModelError as e:
            return str(e)

    @property
    def _channel_pooled(self) -> ClvModel | None:
        """:attr:`model` (its pooled model with ``by``) when it is the pooled BG/NBD the
        channel models stand beside (fitted on these customers: not refitted), else None."""
        from clv.models.groups import GroupedClvModel

        fitted = self.model
        pooled = fitted.pooled if isinstance(fitted, GroupedClvModel) else fitted
        return pooled if pooled.purchase_model == "bgnbd" else None

    def _channels_valued(
        self, model: GroupedClvModel, summary: pl.DataFrame, weights: str | None = None
    ) -> GroupValue:
        """:attr:`channel_value` of the channel models ``model`` and the customers'
        ``summary`` with ``channel`` (``weights``: distinct rows, see
        :func:`~clv.analysis.group_value.group_value`)."""
        from clv.analysis.group_value import group_value

        return group_value(
            model,
            summary,
            horizon=self.money.horizon,
            horizon_unit=self.money.horizon_unit,
            discount_rate_annual=self.money.discount_rate_annual,
            margin=self.money.margin_rate,
            channel_costs=self.options.channel_costs,
            seed=self.options.seed,
            per_customer=False,  # the channels' totals and intervals only
            weights=weights,
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
            basis=self.money.basis,
        )

    @cached_property
    def channels(self) -> pl.DataFrame | None:
        """Acquisition channels (the channel of each customer's first order) by share of good
        customers, with the value of a newly acquired customer and, with costs, CLV:CAC
        (``clv_cac`` = that value / CAC) from :attr:`channel_value`. None without a channel
        column."""
        sums = self.channel_sums
        if sums is None:
            return None
        table = kpi.channel_table_of_sums(sums, channel_costs=self.options.channel_costs)
        value = self.channel_value
        if table is None or value is None or isinstance(value, str):
            return table
        keep = [c for c in ("new_customer_value", "clv_cac") if c in value.groups.columns]
        return table.join(
            value.groups.select("channel", *keep), on="channel", how="left", maintain_order="left"
        )

    @cached_property
    def channel_sums(self) -> pl.DataFrame | None:
        """The per-channel counts and sums :attr:`channels` is made of
        (:func:`clv.analysis.kpis.channel_sums` of :attr:`customers`: good customers by the
        money basis' value, the top tier's share); None without a channel column."""
        if "channel" not in self.customers.columns:
            return None
        return kpi.channel_sums(
            self.customers, value_col=self.money.value_col, good_share=self.tiers[0][1]
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
            margin_after_member_discount=self.options.margin_after_member_discount,
        )

    @cached_property
    def month_comparison(self) -> pl.DataFrame | None:
        """The reviewed month beside the month before and a year before
        (:func:`clv.analysis.tables.month_comparison` of :attr:`loyalty_by_month`)."""
        return tables.month_comparison(self.loyalty_by_month, self.options.review_month)

    @cached_property
    def reviewed_month(self) -> dict[str, Any] | None:
        """The reviewed month's row of the loyalty review's series
        (:func:`clv.analysis.loyalty_series.review_row`); None without a loyalty column."""
        return loyalty_series.review_row(
            self.orders, self.month_comparison, margin_rate=self.money.margin_rate
        )

    @cached_property
    def before_after(self) -> pl.DataFrame | None:
        """Before vs after the programme's launch (:func:`clv.analysis.tables.before_after`);
        None without ``launch_date``."""
        return tables.before_after(self.orders, self.options.launch_date)

    @property
    def _milestone_keys(self) -> list[str]:
        """The columns a customer's probabilities of reaching a milestone depend on."""
        by = [self.options.by] if self.options.by is not None else []
        return ["frequency", "recency", "T", *by]

    @cached_property
    def reward_milestones(self) -> pl.DataFrame:
        """The members who reached each reward milestone and how many are expected to by the
        horizon (:func:`clv.analysis.loyalty.reward_milestones`; everyone without a loyalty
        column), the model's probabilities computed once per distinct summary row."""
        members = tables.members_only(self.summary, self.customers)
        counts = loyalty.milestone_counts(
            members, milestones=self.options.milestones, keys=self._milestone_keys
        )
        return self._milestone_table(counts)

    def _milestone_table(self, counts: pl.DataFrame) -> pl.DataFrame:
        """:func:`clv.analysis.loyalty.milestone_table` of ``counts``
        (:func:`~clv.analysis.loyalty.milestone_counts`) with the model's probabilities."""
        rows = loyalty.with_reach_probabilities(
            self.model,
            counts,
            milestones=self.options.milestones,
            horizon=self.money.horizon,
            horizon_unit=self.money.horizon_unit,
        )
        return loyalty.milestone_table(rows, milestones=self.options.milestones)

    @cached_property
    def holdout(self) -> dict[str, Any] | None:
        """The holdout check (refit on the calibration period); None without a split."""

        from clv.analysis import validation  # loads the models (SciPy): only for this table

        purchase_model = self.options.purchase_model
        if purchase_model == "auto" and self.calibration is not None:
            # the model's own (what auto chose on this same calibration period)
            purchase_model = cast("PurchaseModelChoice", self.model.purchase_model)
        return validation.holdout_check(
            self.transactions,
            calibration_end=self.period.calibration_end,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
            penalizer=self._penalizers,
            purchase_model=purchase_model,
            frame=self.calibration,
            _customer_key=self._customer_key,
        )

    # ---- the figures' frames: compact tables (:mod:`clv.analysis.distributions`) -----------

    @cached_property
    def summary_statistics(self) -> pl.DataFrame:
        """Mean, quartiles, 90th percentile and max of :attr:`summary`'s numeric columns
        (:func:`clv.analysis.distributions.describe`)."""
        return distributions.describe(self.summary)

    @cached_property
    def frequency_age_counts(self) -> pl.DataFrame:
        """Customers by repeat purchases and age: ``frequency``, ``T`` (model time units),
        ``customers`` (:func:`clv.analysis.distributions.frequency_age_counts`)."""
        return distributions.frequency_age_counts(self.summary)

    @cached_property
    def matrix_grid(self) -> dict[str, int]:
        """The frequency/recency matrices' grid: ``max_frequency`` (the 99th percentile of
        frequency) and ``max_recency`` (the oldest customer's age), as keywords of
        :func:`clv.plots.frequency_recency_matrix_frame`."""
        return distributions.matrix_maxima(self.frequency_age_counts)

    @cached_property
    def p_alive_histogram(self) -> pl.DataFrame:
        """Customers by P(alive) in equal bins
        (:func:`clv.analysis.distributions.p_alive_histogram`)."""
        return distributions.p_alive_histogram(distributions.value_counts(self.scores, "p_alive"))

    @cached_property
    def clv_histogram(self) -> pl.DataFrame:
        """Customers by predicted CLV up to its 99th percentile, with the median and mean
        (:func:`clv.analysis.distributions.clv_histogram`)."""
        return distributions.clv_histogram(self.scores)

    @cached_property
    def order_value_sample(self) -> pl.DataFrame:
        """The repeat buyers of the order-value scatter, a seeded sample beyond
        :data:`~clv.analysis.distributions.SCATTER_POINTS`, with the correlation of all of
        them (:func:`clv.analysis.distributions.order_value_sample`)."""
        return distributions.order_value_sample(self.summary)
