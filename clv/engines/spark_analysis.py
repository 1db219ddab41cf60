"""The analysis on Spark: the model, the KPIs and the segments computed where the data lives.

:func:`analysis` is what ``clv.analyze(..., engine="spark")`` returns: a
:class:`SparkAnalysis`, which keeps the checked transactions as a Spark DataFrame. Its model
is fitted on the distinct (frequency, recency, T) rows (:func:`clv.engines.spark.fit`), its
scores are computed on the workers, and :attr:`~SparkAnalysis.kpis`,
:attr:`~SparkAnalysis.at_risk_findings` and :attr:`~SparkAnalysis.spark_segments` are
aggregated by Spark (:mod:`clv.engines.spark_tables`), the customer lists stay Spark
DataFrames (:mod:`clv.engines.spark_lists`), the run's files are streamed batch by batch
(:mod:`clv.engines.spark_batches`) and the comparison with the last run is joined by Spark
(:mod:`clv.engines.spark_changes`): the driver holds the distinct rows of the fit, a few
numbers and the heads shown, never a row per customer or per transaction. Every other table
(the report's) comes from :attr:`~SparkAnalysis.transactions`, the checked rows collected
on first use, so everything the one-machine :class:`~clv.analysis.results.Analysis` has
works unchanged.

This module registers the Spark engine (:mod:`clv.data.engines`): the functions of
:mod:`clv.engines.spark` and :func:`analysis`.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from clv.analysis import changes, risk
from clv.analysis.kpis import headline_numbers, returning_from_counts, with_sections
from clv.analysis.loyalty import member_table
from clv.analysis.money import Money
from clv.analysis.pipeline import Request
from clv.analysis.results import HEAD_ROWS, Analysis, CustomerTable, Options
from clv.analysis.tables import predicted_value
from clv.data import engines
from clv.data.period import Period
from clv.data.quality import Quality
from clv.data.write import Batches
from clv.engines import spark_changes, spark_lists, spark_tables
from clv.engines.spark import (
    _date_range,
    calibration_holdout,
    fit,
    load_transactions,
    rfm_summary,
    score,
    summary_in_file_order,
    to_polars,
    warn_rows_after_end,
)
from clv.engines.spark_batches import batches
from clv.engines.spark_read import read_checked
from clv.engines.spark_session import DataFrame, Row, sf
from clv.models.model import ClvModel

if TYPE_CHECKING:
    from clv.models.groups import GroupedClvModel

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


class SparkAnalysis(Analysis):
    """:class:`~clv.analysis.results.Analysis` of checked transactions held by Spark.

    ``checked`` holds the rows up to the observation end (with ``_row``, their order in the
    source). :attr:`model`, :attr:`kpis`, :attr:`at_risk_findings` and
    :attr:`spark_segments` are Spark's, for one model without ``by`` (BG/NBD, MBG/NBD or
    Pareto/NBD) and data without a channel column; so are the customer lists
    (:attr:`spark_at_risk`, :attr:`spark_lost`, their heads), the run's files
    (:meth:`rows`) and :meth:`customer_changes` when there are no intervals either
    (:attr:`segments_on_spark`). Otherwise, and for every other table, the one-machine
    tables of :attr:`transactions`.
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
        """Whether :attr:`kpis` and :attr:`spark_segments` are computed by Spark: one
        model fitted from distinct rows (or a given one) and no channel column (the
        channels' tables and models come from the collected rows)."""
        if "channel" in self.checked.columns:  # the channels' own models need each customer
            return False
        if self.model_given:  # decided by what was given, never by what was used first
            return isinstance(self.model, ClvModel)
        return self.options.by is None and self.options.purchase_model in DISTRIBUTED_MODELS

    @cached_property
    def spark_summary(self) -> DataFrame:
        """The RFM summary, bit-identical to :attr:`summary`
        (:func:`clv.engines.spark.summary_in_file_order`), kept by Spark."""
        period = self.period
        return summary_in_file_order(self.checked, period.observation_end, period.time_unit).cache()

    @cached_property
    def model(self) -> ClvModel | GroupedClvModel:
        """:func:`clv.engines.spark.fit` on :attr:`spark_summary` for one BG/NBD, MBG/NBD or
        Pareto/NBD model (without ``by``); the one-machine fit otherwise (a model per group,
        or ``auto``, which chooses on a holdout)."""
        if self.options.by is not None or self.options.purchase_model not in DISTRIBUTED_MODELS:
            return super().model
        return fit(
            self.spark_summary,
            penalizer=self._penalizers,
            purchase_model=self.options.purchase_model,
        )

    @cached_property
    def ranked(self) -> DataFrame:
        """:attr:`spark_summary` with the point scores, scored on the workers, and each
        customer's rank by revenue and by CLV (:func:`clv.engines.spark_tables.ranked`)."""
        scores = score(
            cast(ClvModel, self.model), self.spark_summary, **self.money.score_keywords()
        )
        return spark_tables.ranked(self.spark_summary, scores).cache()

    @cached_property
    def customer_count(self) -> int:
        """The number of customers (rows of :attr:`spark_summary`)."""
        return self.ranked.count()

    @property
    def segments_on_spark(self) -> bool:
        """Whether :attr:`spark_segments` has :attr:`segments`' columns: :attr:`on_spark`
        and point scores only (intervals are the one-machine engine's)."""
        options = self.options
        return self.on_spark and options.interval is None and options.prediction_interval is None

    @cached_property
    def spark_segments(self) -> DataFrame:
        """:attr:`segments` as a Spark DataFrame, sorted by ``customer_id``
        (:func:`clv.engines.spark_tables.segments`; see :attr:`segments_on_spark`)."""
        return spark_tables.segments(
            self.ranked,
            self.customer_count,
            tiers=self.tiers,
            top_share=self.options.top_share,
        )

    @cached_property
    def overdue(self) -> risk.Overdue:
        """:attr:`Analysis.overdue` from Spark's calibration/holdout summary."""
        if not self.on_spark:
            return super().overdue
        gaps = self.options.at_risk_overdue_gaps
        if self.period.calibration_end is None:
            return risk.overdue_threshold(None, gaps=gaps)
        calibration = calibration_holdout(
            self.checked.drop("_row"),
            calibration_end=self.period.calibration_end,
            observation_end=self.period.observation_end,
            time_unit=self.period.time_unit,
        )
        return spark_tables.overdue(calibration, gaps=gaps)

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
        return to_polars(self.spark_at_risk.limit(HEAD_ROWS), sort_by=None)

    @cached_property
    def lost_head(self) -> pl.DataFrame:
        """:attr:`Analysis.lost_head`, the head of :attr:`spark_lost`."""
        if not self.segments_on_spark:
            return super().lost_head
        return to_polars(self.spark_lost.limit(HEAD_ROWS), sort_by=None)

    @cached_property
    def transaction_count(self) -> int:
        """:attr:`Analysis.transaction_count`, counted by Spark."""
        return self.checked.count()

    def rows(self, table: CustomerTable) -> pl.DataFrame | Batches:
        """:meth:`Analysis.rows`: Spark's table, batch by batch
        (:func:`clv.engines.spark_batches.batches`; see :attr:`segments_on_spark`)."""
        if not self.segments_on_spark:
            return super().rows(table)
        counts = self.at_risk_findings
        frame, height = {
            "segments": (self.spark_segments, self.customer_count),
            "at_risk": (self.spark_at_risk, counts["customers"]),
            "lost": (self.spark_lost, counts["lost"]),
        }[table]
        return batches(frame, height=height)

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
            loyalty = member_table(spark_tables.member_sums(self.ranked, rows))
        kpis = with_sections(kpis, channels=None, loyalty=loyalty)
        kpis |= predicted_value(clv, clv / n if n else None, self.money)
        return kpis | {"at_risk": self.at_risk_findings}


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
