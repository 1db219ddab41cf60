"""The analysis on Spark: the model, the KPIs and the segments computed where the data lives.

:func:`analysis` is what ``clv.analyze(..., engine="spark")`` returns: a
:class:`SparkAnalysis`, which keeps the checked transactions as a Spark DataFrame. Its model
is fitted on the distinct (frequency, recency, T) rows (:func:`clv.engines.spark.fit`), its
scores are computed on the workers, and :attr:`~SparkAnalysis.kpis`,
:attr:`~SparkAnalysis.at_risk_findings` and :attr:`~SparkAnalysis.spark_segments` are
aggregated by Spark (:mod:`clv.engines.spark_tables`): the driver holds the distinct rows of
the fit and compact tables, never a row per customer or per transaction. The tiers, the
Lorenz curves, the top customers and the middle tier the report shows are aggregated by
Spark too (:mod:`clv.engines.spark_tiers`), and so are the order tables (months, cohorts,
first vs later orders, retention, the loyalty programme: :mod:`clv.engines.spark_orders`),
the compact tables the report's figures of the summary and the scores draw
(:mod:`clv.engines.spark_figures`) and the holdout check (:mod:`clv.engines.spark_holdout`),
each finished by the polars code. The customer lists stay Spark DataFrames
(:mod:`clv.engines.spark_lists`), the run's files are streamed batch by batch
(:mod:`clv.engines.spark_batches`) and the comparison with the last run is joined by Spark
(:mod:`clv.engines.spark_changes`). Every other table comes from
:attr:`~SparkAnalysis.transactions`, the checked rows collected on first use, so
everything the one-machine :class:`~clv.analysis.results.Analysis` has works unchanged.

This module registers the Spark engine (:mod:`clv.data.engines`): the functions of
:mod:`clv.engines.spark` and :func:`analysis`.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from collections.abc import Mapping
from functools import cached_property, partial
from typing import Any, cast

import polars as pl

from clv.analysis import changes, profile, risk, tables
from clv.analysis.findings import ListCounts, MiddleCounts
from clv.analysis.group_value import GroupValue, with_channel_value
from clv.analysis.kpis import (
    cohorts_from_counts,
    headline_numbers,
    returning_from_counts,
    second_order_days,
    with_sections,
)
from clv.analysis.loyalty import before_after_from, loyalty_months, member_table, reward_costs
from clv.analysis.loyalty_series import month_row_from, reviewed_month
from clv.analysis.money import Money
from clv.analysis.pipeline import Request
from clv.analysis.results import HEAD_ROWS, Analysis, CustomerTable, Options
from clv.analysis.retention import economics_from_counts, retention_window
from clv.analysis.segments import SegmentTotals, tier_summary_of
from clv.analysis.tables import monthly_from_counts, overview_values, predicted_value
from clv.data import engines
from clv.data.period import Period
from clv.data.quality import Quality
from clv.data.write import Batches
from clv.engines import (
    spark_changes,
    spark_figures,
    spark_groups,
    spark_holdout,
    spark_intervals,
    spark_lists,
    spark_orders,
    spark_tables,
    spark_tiers,
)
from clv.engines.spark import (
    _date_range,
    calibration_holdout,
    fit,
    fit_tables,
    fit_tables_model,
    load_transactions,
    rfm_summary,
    score,
    summary_in_file_order,
    to_polars,
    warn_rows_after_end,
)
from clv.engines.spark_batches import batches
from clv.engines.spark_read import read_checked
from clv.engines.spark_session import DataFrame, Row, sf, spark_session
from clv.errors import ModelError
from clv.models.checks import penalizers
from clv.models.diagnostics import Diagnostic
from clv.models.fitting import PurchaseModelChoice, auto_choice
from clv.models.groups import GroupedClvModel
from clv.models.model import ClvModel

__all__ = [
    "SparkAnalysis",
    "analysis",
    "calibration_holdout",
    "fit",
    "load_transactions",
    "rfm_summary",
    "to_polars",
]

DISTRIBUTED_MODELS = ("bgnbd", "mbgnbd", "pareto_nbd")
"""The purchase models :func:`clv.engines.spark.fit` fits from Spark's distinct rows."""

HOLDOUT_KEYS = ("frequency", "recency", "T", "time_unit", "frequency_holdout", "duration_holdout")
"""The columns of the calibration summary ``auto``'s choice reads."""


class SparkAnalysis(Analysis):
    """:class:`~clv.analysis.results.Analysis` of checked transactions held by Spark.

    ``checked`` holds the rows up to the observation end (with ``_row``, their order in the
    source). :attr:`model`, :attr:`kpis`, :attr:`channels`, :attr:`channel_value`,
    :attr:`at_risk_findings` and :attr:`spark_segments` are Spark's, and so are
    :attr:`segment_totals`, :attr:`tier_tables`, :attr:`lorenz`, :attr:`top_profile`,
    :attr:`middle_counts` and :attr:`middle_to_top_shown` (the :attr:`findings` of the tiers),
    :attr:`retention`, :attr:`loyalty` and :attr:`reward_milestones` (they read the scores),
    whenever :attr:`on_spark` (BG/NBD, MBG/NBD, Pareto/NBD or ``auto``, one model or one per
    group with ``by``). The order tables that need no model (:attr:`monthly`,
    :attr:`cohorts`, :attr:`returning_vs_new`, :attr:`loyalty_by_month`, ...) are always
    Spark's. Otherwise, and for every other table, the one-machine tables of
    :attr:`transactions`. The customer lists
    (:attr:`spark_at_risk`, :attr:`spark_lost`, their heads), the run's files (:meth:`rows`)
    and :meth:`customer_changes` are Spark's whenever :attr:`segments_on_spark`.
    """

    def __init__(
        self,
        checked: DataFrame,
        period: Period,
        money: Money,
        options: Options,
        tiers: tuple[tuple[str, float], ...],
        quality: Quality,
    ) -> None:
        self.checked = checked
        self.period = period
        self.money = money
        self.options = options
        self.tiers = tiers
        self.quality = quality

    @cached_property
    def transactions(self) -> pl.DataFrame:  # type: ignore[override]
        """The checked rows up to the observation end, collected to the driver in the
        source's order (on first use: only the tables Spark does not compute need them)."""
        return to_polars(self.checked, sort_by="_row").drop("_row")

    @property
    def on_spark(self) -> bool:
        """Whether :attr:`kpis` and :attr:`spark_segments` are computed by Spark: a model
        (one, or one per group with ``by``; ``auto`` chosen on distinct rows too) fitted
        from distinct rows, or a given one."""
        if self.model_given:  # decided by what was given, never by what was used first
            return isinstance(self.model, ClvModel)
        return self.options.purchase_model in (*DISTRIBUTED_MODELS, "auto")

    @cached_property
    def spark_summary(self) -> DataFrame:
        """The RFM summary, bit-identical to :attr:`summary`
        (:func:`clv.engines.spark.summary_in_file_order`), kept by Spark; with ``by``, each
        customer's group last (:func:`clv.engines.spark_groups.with_group`)."""
        period = self.period
        summary = summary_in_file_order(self.checked, period.observation_end, period.time_unit)
        if self.options.by is not None:
            summary = spark_groups.with_group(summary, self.checked, by=self.options.by)
        return summary.cache()

    @cached_property
    def channel_summary(self) -> DataFrame:
        """:attr:`spark_summary` with each customer's first-order ``channel``."""
        if "channel" in self.spark_summary.columns:
            return self.spark_summary
        return spark_groups.with_group(self.spark_summary, self.checked, by="channel").cache()

    @cached_property
    def spark_calibration(self) -> DataFrame | None:
        """:attr:`calibration` kept by Spark (:func:`clv.engines.spark.calibration_holdout`);
        None without a split."""
        if self.period.calibration_end is None:
            return None
        return calibration_holdout(
            self.checked.drop("_row"),
            calibration_end=self.period.calibration_end,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
        ).cache()

    @cached_property
    def auto_choice(self) -> tuple[str, list[dict[str, Any]] | None, list[Diagnostic]]:
        """What ``purchase_model="auto"`` fits (:func:`clv.models.fitting.auto_choice`),
        chosen on the distinct rows of :attr:`spark_calibration` with their customers."""
        rows = None
        if self.spark_calibration is not None:
            keys = list(HOLDOUT_KEYS)
            counted = self.spark_calibration.groupBy(*keys).agg(
                sf.count(sf.lit(1)).alias("customers")
            )
            rows = to_polars(counted, sort_by=None).sort(keys)  # one order, the same sums
        penalizer, _ = penalizers(self._penalizers)
        return auto_choice(rows, penalizer=penalizer, weights="customers")

    @cached_property
    def model(self) -> ClvModel | GroupedClvModel:
        """:func:`clv.engines.spark.fit` on :attr:`spark_summary` for BG/NBD, MBG/NBD or
        Pareto/NBD, one model per group with ``by``
        (:func:`clv.engines.spark_groups.fit_by_group`); ``auto`` fits the one
        :attr:`auto_choice` chooses."""
        options = self.options
        purchase_model: str = options.purchase_model
        comparison, notes = None, list[Diagnostic]()
        if purchase_model == "auto":
            purchase_model, comparison, notes = self.auto_choice
        elif purchase_model not in DISTRIBUTED_MODELS:
            return super().model
        if options.by is not None:
            grouped = spark_groups.fit_by_group(
                self.spark_summary,
                by=options.by,
                penalizer=self._penalizers,
                purchase_model=purchase_model,
            )
            # the choice was made on the whole shop: the pooled model carries it
            grouped.pooled.comparison = comparison or grouped.pooled.comparison
            grouped.pooled.diagnostics = [*notes, *grouped.pooled.diagnostics]
            return grouped
        bg, gg = fit_tables(self.spark_summary)
        return fit_tables_model(
            bg,
            gg,
            penalizer=self._penalizers,
            purchase_model=purchase_model,
            comparison=comparison,
            notes=notes,
        )

    @cached_property
    def spark_scores(self) -> DataFrame:
        """:attr:`scores` as a Spark DataFrame, the same columns (with ``by``, the group after
        the id; see :attr:`segments_on_spark`)."""
        by = self.options.by
        if by is None:
            return self._worker_scores
        rest = [c for c in self._worker_scores.columns if c != "customer_id"]
        groups = self.spark_summary.select("customer_id", by)
        return self._worker_scores.join(groups, "customer_id").select("customer_id", by, *rest)

    @cached_property
    def _worker_scores(self) -> DataFrame:
        """The scores, scored on the workers (:func:`clv.engines.spark.score`; each customer
        by their group's model with ``by``)."""
        options, money = self.options, self.money.score_keywords()
        intervals = None
        if options.interval is not None and options.interval_method == "normal":
            n = self.spark_summary.count()
            intervals = spark_intervals.intervals(
                self.model,
                self.spark_summary,
                n,
                **money,
                interval=options.interval,
                seed=options.seed,
            )
        return score(
            self.model,
            self.spark_summary,
            **money,
            prediction_interval=options.prediction_interval,
            seed=options.seed,
            intervals=intervals,
        )

    @cached_property
    def ranked(self) -> DataFrame:
        """:attr:`spark_summary` with the scores and each customer's rank by revenue and by
        CLV (:func:`clv.engines.spark_tables.ranked`)."""
        return spark_tables.ranked(self.spark_summary, self._worker_scores).cache()

    @cached_property
    def customer_count(self) -> int:
        """The number of customers (rows of :attr:`spark_summary`)."""
        return self.ranked.count()

    @property
    def segments_on_spark(self) -> bool:
        """Whether :attr:`spark_segments` has :attr:`segments`' columns: :attr:`on_spark`,
        with point scores, prediction ranges and the parameters' intervals from normal
        draws (the bootstrap refits on resampled customers: the one-machine engine's)."""
        options = self.options
        return self.on_spark and (options.interval is None or options.interval_method == "normal")

    @cached_property
    def spark_segments(self) -> DataFrame:
        """:attr:`segments` as a Spark DataFrame, sorted by ``customer_id``
        (:func:`clv.engines.spark_tables.segments`; see :attr:`segments_on_spark`)."""
        return spark_tables.segments(
            self.ranked,
            self.customer_count,
            tiers=self.tiers,
            top_share=self.options.top_share,
            by=self.options.by,
        )

    @cached_property
    def overdue(self) -> risk.Overdue:
        """:attr:`Analysis.overdue` from Spark's calibration/holdout summary."""
        if not self.on_spark:
            return super().overdue
        gaps = self.options.at_risk_overdue_gaps
        if self.spark_calibration is None:
            return risk.overdue_threshold(None, gaps=gaps)
        return spark_tables.overdue(self.spark_calibration, gaps=gaps)

    def _lists(self, table: DataFrame) -> tuple[DataFrame, DataFrame]:
        """The at-risk and win-back lists of ``table`` (:mod:`clv.engines.spark_lists`)."""
        rule, q = self.at_risk_rule, self.options.at_risk_min_value_quantile
        listed = spark_lists.at_risk(
            table,
            rule=rule,
            min_value_quantile=q,
            max_p_alive=self.options.at_risk_max_p_alive,
            overdue=self.overdue if rule == "recency" else None,
        )
        return listed, spark_lists.lost(table, min_value_quantile=q, rule=rule)

    @cached_property
    def _segment_lists(self) -> tuple[DataFrame, DataFrame]:
        listed, gone = self._lists(self.spark_segments)
        return listed.cache(), gone.cache()

    @property
    def spark_at_risk(self) -> DataFrame:
        """:attr:`at_risk` as a Spark DataFrame in list order (see :attr:`segments_on_spark`)."""
        return self._segment_lists[0]

    @property
    def spark_lost(self) -> DataFrame:
        """:attr:`lost` as a Spark DataFrame in list order (see :attr:`segments_on_spark`)."""
        return self._segment_lists[1]

    @cached_property
    def at_risk_head(self) -> pl.DataFrame:
        """:attr:`Analysis.at_risk_head`, the head of :attr:`spark_at_risk`."""
        if not self.segments_on_spark:
            return super().at_risk_head
        return spark_lists.head(self.spark_at_risk, HEAD_ROWS)

    @cached_property
    def lost_head(self) -> pl.DataFrame:
        """:attr:`Analysis.lost_head`, the head of :attr:`spark_lost`."""
        if not self.segments_on_spark:
            return super().lost_head
        return spark_lists.head(self.spark_lost, HEAD_ROWS, lost=True)

    @cached_property
    def spark_members_at_risk(self) -> DataFrame:
        """:attr:`members_at_risk` as a Spark DataFrame in list order (see
        :attr:`segments_on_spark`)."""
        if "loyalty" not in self.checked.columns:
            return self.spark_at_risk
        return spark_lists.members(self.spark_at_risk, self.checked.drop("_row")).cache()

    @cached_property
    def members_at_risk_head(self) -> pl.DataFrame:
        """:attr:`Analysis.members_at_risk_head`, the head of :attr:`spark_members_at_risk`."""
        if not self.segments_on_spark:
            return super().members_at_risk_head
        return spark_lists.head(self.spark_members_at_risk, HEAD_ROWS)

    @cached_property
    def members_at_risk_counts(self) -> ListCounts:
        """:attr:`Analysis.members_at_risk_counts`, counted and summed by Spark."""
        if not self.segments_on_spark:
            return super().members_at_risk_counts
        return spark_lists.counts(self.spark_members_at_risk)

    @cached_property
    def transaction_count(self) -> int:
        """:attr:`Analysis.transaction_count`, counted by Spark."""
        return self.checked.count()

    def rows(self, table: CustomerTable) -> pl.DataFrame | Batches:
        """:meth:`Analysis.rows`: Spark's table, batch by batch
        (:func:`clv.engines.spark_batches.batches`; see :attr:`segments_on_spark`)."""
        if not self.segments_on_spark:
            return super().rows(table)
        if table == "segments":
            return batches(
                self.spark_segments, height=self.customer_count, order=[sf.asc("customer_id")]
            )
        counts, listed = self.at_risk_findings, spark_lists.list_order()
        frame, height, order = {
            "at_risk": (self.spark_at_risk, counts["customers"], listed),
            "lost": (self.spark_lost, counts["lost"], spark_lists.lost_order()),
            "members_at_risk": (
                self.spark_members_at_risk,
                self.members_at_risk_counts.customers,
                listed,
            ),
        }[table]
        return batches(frame, height=height, order=order)

    def customer_changes(
        self, previous: str | os.PathLike[str], *, top_tier: str
    ) -> changes.CustomerChanges:
        """:meth:`Analysis.customer_changes`: the previous run's customers read and joined by
        Spark (:func:`clv.engines.spark_changes.customer_changes`; see
        :attr:`segments_on_spark`)."""
        if not self.segments_on_spark:
            return super().customer_changes(previous, top_tier=top_tier)
        return spark_changes.customer_changes(
            previous, self.spark_segments, self.spark_at_risk, top_tier=top_tier
        )

    @cached_property
    def at_risk_findings(self) -> dict[str, Any]:
        """:attr:`Analysis.at_risk_findings` counted by Spark."""
        if not self.on_spark:
            return super().at_risk_findings
        rule = self.at_risk_rule
        listed, gone = self._lists(self.ranked)
        return spark_lists.totals(
            listed,
            gone,
            rule=rule,
            min_value_quantile=self.options.at_risk_min_value_quantile,
            max_p_alive=self.options.at_risk_max_p_alive,
            overdue=self.overdue if rule == "recency" else None,
        )

    # ---- the order tables, aggregated by Spark (clv.engines.spark_orders) ---------------

    @cached_property
    def spark_orders(self) -> DataFrame:
        """:attr:`orders` as a Spark DataFrame (:func:`clv.engines.spark_orders.orders`),
        kept by Spark."""
        return spark_orders.orders(self.checked.drop("_row")).cache()

    @cached_property
    def order_counts(self) -> dict[str, Any]:
        """The first and later orders counted and summed
        (:func:`clv.engines.spark_orders.order_counts`)."""
        return spark_orders.order_counts(self.spark_orders)

    @cached_property
    def overview_values(self) -> dict[str, Any]:
        """:attr:`Analysis.overview_values` from Spark's aggregates."""
        numbers = spark_orders.overview(self.checked)
        return overview_values(**numbers, columns=self.checked.drop("_row").columns)

    @cached_property
    def monthly(self) -> pl.DataFrame:
        """:attr:`Analysis.monthly` from Spark's sums per month."""
        return monthly_from_counts(spark_orders.monthly_counts(self.spark_orders))

    @cached_property
    def cohorts(self) -> pl.DataFrame:
        """:attr:`Analysis.cohorts` from Spark's counts per cohort and month."""
        return cohorts_from_counts(spark_orders.cohort_counts(self.spark_orders))

    @cached_property
    def returning_vs_new(self) -> dict[str, Any]:
        """:attr:`Analysis.returning_vs_new` from Spark's counts (the days to the second
        order counted by number of days)."""
        days = spark_orders.second_order_days(self.spark_orders)
        return returning_from_counts(self.order_counts) | second_order_days(days)

    @cached_property
    def last_year_value(self) -> float | None:
        """:attr:`Analysis.last_year_value` summed by Spark."""
        end = self.period.observation_end
        if (end - self.period.first_day).days < 364:
            return None
        start = end - dt.timedelta(days=364)
        if self.money.basis == "margin" and "margin" in self.checked.columns:
            return spark_orders.value_since(self.checked, start, "margin")
        return spark_orders.value_since(self.checked, start, "amount") * self.money.margin_rate

    @cached_property
    def retention(self) -> dict[str, Any]:
        """:attr:`Analysis.retention` from Spark's counts and the mean of the point CLVs
        (on Spark's path: :attr:`on_spark`)."""
        if not self.on_spark:
            return super().retention
        end = self.period.observation_end
        window = retention_window(self.period.first_day, end)
        counts = spark_orders.retention_counts(
            self.spark_orders, end=end, window=window, margin_rate=self.money.margin_rate
        )
        mean = cast(Row, self.ranked.agg(sf.avg("clv")).first())[0]  # clv: null as 0
        options = self.options
        return economics_from_counts(
            counts,
            window=window,
            model_mean_clv=None if mean is None else float(mean),
            uplift_points=options.retention_uplift_points,
            discount_rate_annual=self.money.discount_rate_annual,
            horizon_months=self.money.horizon_months,
            retention_cost=options.retention_cost,
            acquisition_cost=options.acquisition_cost,
            basis=self.money.basis,
        )

    @cached_property
    def loyalty(self) -> pl.DataFrame | None:
        """:attr:`Analysis.loyalty` from Spark's sums per group (on Spark's path)."""
        if not self.on_spark:
            return super().loyalty
        if "loyalty" not in self.checked.columns:
            return None
        ranked = self.ranked.drop("loyalty")  # with by="loyalty": the group, not the flag
        return member_table(spark_tables.member_sums(ranked, self.checked.drop("_row")))

    @cached_property
    def loyalty_by_month(self) -> pl.DataFrame | None:
        """:attr:`Analysis.loyalty_by_month` from Spark's sums per month."""
        if "loyalty" not in self.checked.columns:
            return None
        options = self.options
        sums = spark_orders.member_month_sums(
            self.spark_orders,
            costs=reward_costs(options.cost_per_reward, options.milestones),
            margin_rate=self.money.margin_rate,
        )
        return loyalty_months(
            sums,
            member_discount_rate=options.member_discount_rate,
            margin_after_member_discount=options.margin_after_member_discount,
        )

    @cached_property
    def reviewed_month(self) -> dict[str, Any] | None:
        """:attr:`Analysis.reviewed_month` from Spark's margins per group of the month."""
        month = reviewed_month(self.month_comparison)
        if month is None or "loyalty" not in self.checked.columns:
            return None
        margins = spark_orders.month_margins(
            self.spark_orders, month, margin_rate=self.money.margin_rate
        )
        return month_row_from(margins, month)

    @cached_property
    def before_after(self) -> pl.DataFrame | None:
        """:attr:`Analysis.before_after` from Spark's sums per period."""
        launch = self.options.launch_date
        if launch is None:
            return None
        return before_after_from(spark_orders.launch_sums(self.spark_orders, launch=launch))

    @cached_property
    def reward_milestones(self) -> pl.DataFrame:
        """:attr:`Analysis.reward_milestones` from Spark's counts per distinct summary row
        of the members (on Spark's path: :attr:`on_spark`)."""
        if not self.on_spark:
            return super().reward_milestones
        counts = spark_orders.milestone_counts(
            self.ranked,
            self.checked.drop("_row"),
            milestones=self.options.milestones,
            keys=self._milestone_keys,
        )
        return self._milestone_table(counts)

    @cached_property
    def kpis(self) -> dict[str, Any]:
        """:attr:`Analysis.kpis` (``kpis.json``) from Spark's aggregates: the orders' counts,
        the value totals and ranks, the at-risk numbers."""
        if not self.on_spark:
            return super().kpis
        returning = returning_from_counts(self.order_counts)
        n = self.customer_count
        revenue, clv, concentration = spark_tables.value_totals(self.ranked, n)
        kpis = headline_numbers(
            returning, customers=n, revenue=revenue, concentration=concentration
        )
        kpis = with_sections(kpis, channels=self.channels, loyalty=self.loyalty)
        kpis |= predicted_value(clv, clv / n if n else None, self.money)
        kpis = with_channel_value(kpis, self.channel_value)
        return kpis | {"at_risk": self.at_risk_findings}

    # ---- the figures' frames (:mod:`clv.engines.spark_figures`) ---------------------------

    @cached_property
    def summary_statistics(self) -> pl.DataFrame:
        """:attr:`Analysis.summary_statistics` of :attr:`spark_summary`, sorted by Spark."""
        if not self.on_spark:
            return super().summary_statistics
        return spark_figures.describe(self.spark_summary)

    @cached_property
    def frequency_age_counts(self) -> pl.DataFrame:
        """:attr:`Analysis.frequency_age_counts` counted by Spark."""
        if not self.on_spark:
            return super().frequency_age_counts
        return spark_figures.value_counts(self.spark_summary, "frequency", "T")

    @cached_property
    def p_alive_histogram(self) -> pl.DataFrame:
        """:attr:`Analysis.p_alive_histogram` of the scores on the workers."""
        if not self.on_spark:
            return super().p_alive_histogram
        return spark_figures.p_alive_histogram(self.ranked)

    @cached_property
    def clv_histogram(self) -> pl.DataFrame:
        """:attr:`Analysis.clv_histogram` of the scores on the workers."""
        if not self.on_spark:
            return super().clv_histogram
        return spark_figures.clv_histogram(self.ranked)

    @cached_property
    def order_value_sample(self) -> pl.DataFrame:
        """:attr:`Analysis.order_value_sample`: the correlation over every repeat buyer and
        the sample chosen by Spark."""
        if not self.on_spark:
            return super().order_value_sample
        return spark_figures.order_value_sample(self.ranked)

    @cached_property
    def holdout(self) -> dict[str, Any] | None:
        """:attr:`Analysis.holdout` on Spark (:func:`clv.engines.spark_holdout.holdout_check`)
        for a purchase model Spark fits; the one-machine check otherwise."""
        cal_end = self.period.calibration_end
        if cal_end is None:
            return None
        purchase_model = self.options.purchase_model
        if purchase_model == "auto":  # the model's own, as the one-machine check takes it
            purchase_model = cast("PurchaseModelChoice", self.model.purchase_model)
        if not self.on_spark or purchase_model not in DISTRIBUTED_MODELS:
            return super().holdout
        return spark_holdout.holdout_check(
            self.checked.drop("_row"),
            calibration_end=cal_end,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
            penalizer=self._penalizers,
            purchase_model=purchase_model,
        )

    # ---- the tiers, the top customers and the middle tier (clv.engines.spark_tiers) -------

    @cached_property
    def spark_tiered(self) -> DataFrame:
        """:attr:`ranked` with the ``top`` flag and both tiers
        (:func:`clv.engines.spark_tiers.tiered`)."""
        options = self.options
        n = self.customer_count
        return spark_tiers.tiered(self.ranked, n, tiers=self.tiers, top_share=options.top_share)

    @cached_property
    def segment_totals(self) -> SegmentTotals:
        """:attr:`Analysis.segment_totals` summed by Spark."""
        if not self.on_spark:
            return super().segment_totals
        return spark_tiers.segment_totals(self.spark_tiered)

    @cached_property
    def tier_tables(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        """:attr:`Analysis.tier_tables` from Spark's sums per tier."""
        if not self.on_spark:
            return super().tier_tables
        table = self.spark_tiered
        customers, revenue, clv = spark_tiers.kept_totals(table)
        summaries = [
            tier_summary_of(
                spark_tiers.tier_stats(table, value_col=value_col, tier_col=tier_col),
                tiers=self.tiers,
                customers=customers,
                total=total,
            )
            for value_col, tier_col, total in (
                ("revenue", "tier", revenue),
                ("clv", "value_tier", clv),
            )
        ]
        return tables.tiers_side_by_side(*summaries)

    @cached_property
    def lorenz(self) -> pl.DataFrame:
        """:attr:`Analysis.lorenz` from Spark's sums over the ranks."""
        if not self.on_spark:
            return super().lorenz
        columns = tables.LORENZ_COLUMNS
        return tables.lorenz_stack(spark_tiers.lorenz(self.ranked, self.customer_count, columns))

    @cached_property
    def top_profile(self) -> pl.DataFrame:
        """:attr:`Analysis.top_profile` from Spark's means of the top customers and the
        rest."""
        if not self.on_spark:
            return super().top_profile
        rows = self.checked.drop("_row")
        channels = self.channel_summary if "channel" in rows.columns else None
        stats = spark_tiers.profile_stats(self.spark_tiered, rows, channels)
        return profile.profile_of(stats)

    @cached_property
    def good_tier(self) -> profile.GoodTier:
        """:func:`clv.analysis.profile.good_tier`, found by Spark."""
        return spark_tiers.good_tier(self.spark_tiered)

    @cached_property
    def middle_counts(self) -> MiddleCounts:
        """:attr:`Analysis.middle_counts` counted by Spark."""
        if not self.on_spark:
            return super().middle_counts
        return spark_tiers.middle_counts(self.spark_tiered, self.good_tier)

    @cached_property
    def middle_to_top_shown(self) -> pl.DataFrame:
        """:attr:`Analysis.middle_to_top_shown`: the head of the middle tier from Spark."""
        if not self.on_spark:
            return super().middle_to_top_shown
        head = spark_tiers.middle_head(self.spark_tiered, profile.MIDDLE_TO_TOP_SHOWN)
        return profile.middle_candidates(head, self.good_tier)

    @cached_property
    def channel_sums(self) -> pl.DataFrame | None:
        """:attr:`Analysis.channel_sums` counted by Spark, of :attr:`ranked` with each
        customer's channel and value on the money basis
        (:func:`clv.engines.spark_groups.channel_sums`)."""
        if not self.on_spark:
            return super().channel_sums
        if "channel" not in self.checked.columns:
            return None
        table = self.ranked
        if "channel" not in table.columns:
            table = table.join(self.channel_summary.select("customer_id", "channel"), "customer_id")
        value = self.money.value_col
        if value == "margin" and "margin" in self.checked.columns:
            margins = spark_groups.customer_margins(self.checked)
            table = table.join(margins, "customer_id", "left")
        elif value == "margin":
            table = table.withColumn("margin", sf.col("revenue") * self.money.margin_rate)
        return spark_groups.channel_sums(
            table, self.customer_count, value=value, good_share=self.tiers[0][1]
        )

    @cached_property
    def channel_value(self) -> GroupValue | str | None:
        """:attr:`Analysis.channel_value` from Spark's distinct rows: the channel models
        fitted per channel (:func:`clv.engines.spark_groups.fit_by_group`), their totals
        and intervals from each distinct (channel, tier, frequency, recency, T, spend) row
        and its customers (:func:`clv.engines.spark_groups.value_rows`)."""
        if not self.on_spark:
            return super().channel_value
        if "channel" not in self.checked.columns:
            return None
        try:
            model = spark_groups.fit_by_group(
                self.channel_summary,
                by="channel",
                penalizer=self._penalizers,
                purchase_model="bgnbd",
                pooled=self._channel_pooled,
            )
            money = self.money.score_keywords()
            rows = spark_groups.value_rows(
                model, self.channel_summary, self.customer_count, **money
            )
            return self._channels_valued(model, rows, weights="customers")
        except ModelError as e:
            return str(e)


def analysis(
    source: Any,
    request: Request,
    read_options: Mapping[str, Any],
    session: Mapping[str, Any],
) -> SparkAnalysis:
    """The :class:`SparkAnalysis` of ``source`` read and checked on Spark with
    ``read_options`` (:func:`clv.engines.spark_read.read_checked`) in the session of
    ``session`` (``master`` and ``conf`` of :func:`clv.engines.spark_session.spark_session`),
    the period and money resolved from Spark's aggregates by ``request``; rows after the
    observation end are left out with the one-machine engine's warning."""
    start = partial(spark_session, master=session.get("master"), conf=session.get("conf"))
    checked, quality = read_checked(source, spark=start, **read_options)
    first, last = _date_range(checked)
    period = request.period(first, last)
    end = period.observation_end
    observed = checked.filter(sf.col("date") <= sf.lit(end))
    totals = None
    if "margin" in checked.columns:
        sums = cast(Row, observed.agg(sf.sum("margin"), sf.sum("amount")).first())
        totals = (float(sums[0]), float(sums[1]))
    money = request.money(totals)
    if end < last:
        warn_rows_after_end(checked, end)
    return SparkAnalysis(observed, period, money, request.options, request.tiers, quality)


engines.register("spark", cast(engines.Engine, sys.modules[__name__]))
