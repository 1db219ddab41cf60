"""The analysis on Spark: the model, the KPIs and the segments computed where the data lives.

:func:`analysis` is what ``clv.analyze(..., engine="spark")`` returns: a
:class:`SparkAnalysis`, which keeps the checked transactions as a Spark DataFrame. Its model
is fitted on the distinct (frequency, recency, T) rows (:func:`clv.engines.spark.fit`), its
scores are computed on the workers, and :attr:`~SparkAnalysis.kpis`,
:attr:`~SparkAnalysis.at_risk_findings` and :attr:`~SparkAnalysis.spark_segments` are
aggregated by Spark (:mod:`clv.engines.spark_tables`): the driver holds the distinct rows of
the fit and a few numbers, never a row per customer or per transaction. Every other table
(the report's) comes from :attr:`~SparkAnalysis.transactions`, the checked rows collected
on first use, so everything the one-machine :class:`~clv.analysis.results.Analysis` has
works unchanged.

This module registers the Spark engine (:mod:`clv.data.engines`): the functions of
:mod:`clv.engines.spark` and :func:`analysis`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cached_property
from typing import Any, cast

import polars as pl

from clv.analysis import risk
from clv.analysis.group_value import GroupValue, with_channel_value
from clv.analysis.kpis import headline_numbers, returning_from_counts, with_sections
from clv.analysis.loyalty import member_table
from clv.analysis.money import Money
from clv.analysis.pipeline import Request
from clv.analysis.results import Analysis, Options
from clv.analysis.tables import predicted_value
from clv.data import engines
from clv.data.period import Period
from clv.data.quality import Quality
from clv.engines import spark_groups, spark_intervals, spark_tables
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
from clv.engines.spark_read import read_checked
from clv.engines.spark_session import DataFrame, Row, sf
from clv.errors import ModelError
from clv.models.checks import penalizers
from clv.models.diagnostics import Diagnostic
from clv.models.fitting import auto_choice
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
    :attr:`at_risk_findings` and :attr:`spark_segments` are Spark's (see :attr:`on_spark`:
    BG/NBD, MBG/NBD, Pareto/NBD or ``auto``, one model or one per group with ``by``);
    otherwise, and for every other table, the one-machine tables of :attr:`transactions`.
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
    def ranked(self) -> DataFrame:
        """:attr:`spark_summary` with the point scores, scored on the workers (each
        customer by their group's model with ``by``), and each customer's rank by revenue
        and by CLV (:func:`clv.engines.spark_tables.ranked`)."""
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
        scores = score(
            self.model,
            self.spark_summary,
            **money,
            prediction_interval=options.prediction_interval,
            seed=options.seed,
            intervals=intervals,
        )
        return spark_tables.ranked(self.spark_summary, scores).cache()

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

    @cached_property
    def at_risk_findings(self) -> dict[str, Any]:
        """:attr:`Analysis.at_risk_findings` counted by Spark."""
        if not self.on_spark:
            return super().at_risk_findings
        rule = self.at_risk_rule
        return spark_tables.at_risk(
            self.ranked,
            rule=rule,
            min_value_quantile=self.options.at_risk_min_value_quantile,
            max_p_alive=self.options.at_risk_max_p_alive,
            overdue=self.overdue if rule == "recency" else None,
        )

    @cached_property
    def kpis(self) -> dict[str, Any]:
        """:attr:`Analysis.kpis` (``kpis.json``) from Spark's aggregates: the orders' counts,
        the value totals and ranks, the at-risk numbers."""
        if not self.on_spark:
            return super().kpis
        rows = self.checked.drop("_row")
        returning = returning_from_counts(spark_tables.order_counts(rows))
        n = self.customer_count
        revenue, clv, concentration = spark_tables.value_totals(self.ranked, n)
        kpis = headline_numbers(
            returning, customers=n, revenue=revenue, concentration=concentration
        )
        loyalty = None
        if "loyalty" in rows.columns:
            ranked = self.ranked.drop("loyalty")  # with by="loyalty": the group, not the flag
            loyalty = member_table(spark_tables.member_sums(ranked, rows))
        kpis = with_sections(kpis, channels=self.channels, loyalty=loyalty)
        kpis |= predicted_value(clv, clv / n if n else None, self.money)
        kpis = with_channel_value(kpis, self.channel_value)
        return kpis | {"at_risk": self.at_risk_findings}

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


def analysis(source: Any, request: Request, read_options: Mapping[str, Any]) -> SparkAnalysis:
    """The :class:`SparkAnalysis` of ``source`` read and checked on Spark with
    ``read_options`` (:func:`clv.engines.spark_read.read_checked`), the period and money
    resolved from Spark's aggregates by ``request``; rows after the observation end are left
    out with the one-machine engine's warning."""
    checked, quality = read_checked(source, **read_options)
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
