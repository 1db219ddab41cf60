"""Table headers in words and the columns a reader looks for first.

Frames keep their snake_case column names (the names of the files a run writes); the report
shows :func:`header` of each and puts :data:`KEY_COLUMNS` first.
"""

import polars as pl

from clv.report.i18n import N_

HEADER_WORDS = {
    "customer_id": N_("customer"),
    "p_alive": N_("P(alive)"),
    "clv_cac": N_("CLV:CAC"),
    "clv_cac_low": N_("CLV:CAC low"),
    "clv_cac_high": N_("CLV:CAC high"),
    "aov": N_("order value"),
    "pays_off": N_("pays off"),
    "share_good": N_("share of good customers"),
    "share_of_good": N_("share of all good customers"),
    "value_tier": N_("tier by predicted CLV"),
    "previous_value_tier": N_("previous tier by predicted CLV"),
    "share_good_clv": N_("share of good customers by predicted CLV"),
    "previous_share_good_clv": N_("previous share of good customers by predicted CLV"),
    "tier": N_("tier by revenue"),
    "T": N_("T (age)"),
    "value_if_stays": N_("value if they stay"),
}
"""Column headers in words; any other column is spelled with :data:`TOKEN_WORDS`."""

ROW_WORDS = {
    "frequency": N_("frequency (repeat purchase days)"),
    "recency": N_("recency (first to last purchase)"),
    "T": N_("T (first purchase to the end)"),
    "monetary_value": N_("monetary value (mean repeat purchase)"),
}
"""Row labels that are the RFM summary's column names (the RFM statistics table), in words."""

TABLE_WORDS = (
    N_("column"),
    N_("item"),
    N_("metric"),
    N_("measure"),
    N_("parameter"),
    N_("quantity"),
    N_("value"),
    N_("estimate"),
    N_("standard error"),
    N_("mean"),
    N_("median"),
    N_("max"),
    N_("min"),
    N_("p25"),
    N_("p75"),
    N_("p90"),
    N_("note"),
    N_("ratio"),
    N_("top"),
    N_("rest"),
    N_("lacks"),
    N_("orders"),
    N_("revenue"),
    N_("log-likelihood"),
    N_("last purchase"),
    N_("CLV gap"),
    N_("RFM cell"),
    N_("actual total"),
    N_("predicted total"),
    N_("relative error"),
    N_("mae"),
    N_("rmse"),
    N_("customer share"),
    N_("value share"),
    N_("mean value"),
    N_("min value"),
    N_("value at stake"),
    N_("rows"),
    N_("first day"),
    N_("last day"),
    N_("total amount"),
    N_("mean amount per row"),
    N_("optional columns"),
    N_("purchases"),
    N_("spend"),
    N_("run"),
    N_("started (UTC)"),
    N_("notebook"),
    N_("input"),
    N_("input sha256"),
    N_("input bytes"),
    N_("active customers"),
    N_("annual retention"),
    N_("aov new"),
    N_("aov returning"),
    N_("discount rate annual"),
    N_("margin per active customer"),
    N_("margin share"),
    N_("mean days to second order"),
    N_("median days to second order"),
    N_("model mean clv"),
    N_("returning orders"),
    N_("returning revenue share"),
    N_("returning vs new aov ratio"),
    N_("uplift points"),
    N_("tenure days"),
    N_("before"),
    N_("after"),
    N_("share reordered same product"),
    N_("distinct products"),
    N_("share loyalty members"),
    N_("CLV high"),
    N_("CLV low"),
    N_("this month"),
    N_("last month"),
    N_("a year before"),
    N_("period"),
    N_("group"),
    N_("milestone"),
    N_("reached"),
    N_("share reached"),
    N_("expected share"),
    N_("expected to reach"),
    N_("discount cost"),
    N_("extra margin"),
    N_("program cost"),
    N_("rewards"),
    N_("reward cost"),
    N_("member margin"),
    N_("member margin per active"),
    N_("member order value"),
    N_("member orders"),
    N_("member revenue"),
    N_("members active"),
    N_("non member margin"),
    N_("non member margin per active"),
    N_("non member order value"),
    N_("non member orders"),
    N_("non member revenue"),
    N_("non members active"),
    N_("good customers"),
    N_("mean CLV"),
    N_("new customer value"),
    N_("new customer value high"),
    N_("new customer value low"),
    N_("orders per customer"),
    N_("repeat rate"),
    N_("rank"),
    N_("horizon months"),
    N_("simple clv"),
    N_("simple clv horizon"),
    N_("simple clv: aov"),
    N_("simple clv: lifespan years"),
    N_("simple clv: margin per order"),
    N_("simple clv: orders per year"),
    N_("simple over model"),
    N_("simple clv: average order value"),
    N_("simple clv: revenue per order"),
    N_("revenue per active customer"),
    N_("annualised from days"),
    N_("net uplift value"),
    N_("retention cost"),
    N_("clv cac"),
    N_("uplift value per customer"),
    N_("uplift value total"),
    N_("uses pooled"),
    N_("value per active customer"),
    N_("value with uplift"),
)
"""Headers and row labels of the report's tables that the catalog translates whole (a
table's header or a label in its ``item``/``metric``/``measure``/``quantity`` column); any
other shows as :func:`header` spells it."""

TOKEN_WORDS = {"clv": "CLV", "cac": "CAC", "aov": "order value", "rfm": "RFM", "pct": "%"}
"""Words of a column name spelled differently (a header is translated whole, as a message)."""

KEY_COLUMNS = (
    "rank",
    "channel",
    "group",
    "period",
    "month",
    "customer_id",
    "metric",
    "quantity",
    "tier",
    "value_tier",
    "clv_cac",
    "share_good",
    "net",
    "pays_off",
    "clv",
    "value_at_stake",
    "p_alive",
)
"""Columns shown first, in this order, when a table has them: what a reader looks for."""


def header(column: str) -> str:
    """A column name as a header: ``"mean_clv"`` -> ``"mean CLV"``, ``"p_alive"`` ->
    ``"P(alive)"``."""
    if column in HEADER_WORDS:
        return HEADER_WORDS[column]
    return " ".join(TOKEN_WORDS.get(t, t) for t in column.split("_") if t)


def key_columns_first(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its :data:`KEY_COLUMNS` first (in that order), the others as they were."""
    first = [c for c in KEY_COLUMNS if c in frame.columns]
    return frame.select(first + [c for c in frame.columns if c not in first])
