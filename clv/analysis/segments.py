"""Orders, customers, value tiers, Lorenz/Gini, RFM cells, top profile and at-risk lists.

Definitions (the same in every function, in the CLI and in the report's methods section):

- An **order** is an ``order_id`` when that column is present, otherwise a purchase occasion
  (all of one customer's rows on one calendar day). Its date is its first row's date, its
  amount the sum of its rows, its channel that of its first row (earliest date, then first
  in file order). A customer's first order (earliest date, then smallest order key) is
  "new"; every later order is "returning".
- **Value** is historical revenue (sum of amounts) or margin (the ``margin`` column, or
  revenue times a margin rate) for the descriptive view, predicted ``clv`` for the forward
  view.
- **Top share s** = the ``round(s * n)`` customers with the highest value (Python's ``round``,
  half to even), ties broken by ``customer_id`` ascending, customers without a value (null)
  ranked last. The 20/60/20 tiers cut at
  ``round(0.2 n)`` and ``round(0.8 n)`` customers from the top in the same order.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl
from polars.expr.whenthen import ChainedThen, Then

from clv.analysis.orders import customer_table as customer_table
from clv.analysis.orders import order_table as order_table

TIERS: tuple[tuple[str, float], ...] = (("good", 0.20), ("middle", 0.60), ("low", 0.20))
"""Value tiers from the top down: (name, share of customers). Shares must sum to 1."""

TOP_SHARE = 0.10
"""Share of customers in the "top 10 %"."""

RFM_CELLS: tuple[tuple[str, Mapping[str, tuple[int, int]]], ...] = (
    ("champions", {"R": (4, 5), "F": (4, 5), "M": (4, 5)}),
    ("loyal", {"R": (3, 5), "F": (4, 5)}),
    ("cant_lose", {"R": (1, 2), "F": (4, 5), "M": (4, 5)}),
    ("at_risk", {"R": (1, 2), "F": (3, 5)}),
    ("potential_loyalists", {"R": (4, 5), "F": (2, 3)}),
    ("new_customers", {"R": (4, 5), "F": (1, 1)}),
    ("promising", {"R": (3, 3), "F": (1, 3)}),
    ("hibernating", {"R": (1, 2), "F": (1, 2)}),
)
"""RFM cells as data: the first cell whose inclusive score ranges all match wins; customers
matching none are ``"others"``. R, F and M are quintile scores 1-5 (5 = best)."""

ACTIVE_CELLS = ("champions", "loyal", "potential_loyalists", "new_customers", "promising")
"""RFM cells whose names say the customer is still buying."""

ACTIVE_MIN_P_ALIVE = 0.5
"""With scores, a customer in an :data:`ACTIVE_CELLS` cell whose P(alive) is below this is
put in ``at_risk`` instead: R is a quintile of days since the last order, and a frequent
buyer who has been silent for many of their own purchase intervals is probably gone even
when that silence is short next to other customers'."""

SCORE_COLUMNS = (
    "p_alive",
    "expected_purchases",
    "expected_purchases_low",
    "expected_purchases_high",
    "expected_order_value",
    "clv",
    "clv_low",
    "clv_high",
    "clv_pred_low",
    "clv_pred_high",
    "p_top",
)


def ratio(numerator: float, denominator: float | None) -> float | None:
    """``numerator / denominator``, or None when the denominator is 0 (no such customers) or
    None (not known)."""
    return numerator / denominator if denominator else None


def _ranks(frame: pl.DataFrame, value_col: str) -> pl.Series:
    """Each row's rank by value descending, ties by customer_id, nulls last (1 = highest);
    rows in id order (a summary) need only a stable sort of the values (5x faster)."""
    if frame["customer_id"].is_sorted():
        by: list[str] = [value_col]
    else:
        by = [value_col, "customer_id"]
    order = frame.select(
        pl.arg_sort_by(
            by, descending=[True, False][: len(by)], nulls_last=True, maintain_order=True
        )
    ).to_series()
    rank = np.empty(frame.height, dtype=np.int64)
    rank[order.to_numpy()] = np.arange(1, frame.height + 1)
    return pl.Series("rank", rank)


def _same_ids(ids: pl.Series, other: pl.Series) -> bool:
    """Whether ``ids`` and ``other`` are the same ids in the same order, strictly increasing (a
    customer table and a summary's scores: a left join then keeps every row where it is)."""
    return ids.equals(other, check_names=False, check_dtypes=True) and _increasing(ids)


def _increasing(ids: pl.Series) -> bool:
    """Whether ``ids`` are strictly increasing, without nulls (sorted: a sort keeps them)."""
    if ids.null_count():
        return False
    return ids.len() < 2 or bool((ids.slice(1) > ids.slice(0, ids.len() - 1)).all())


def top_count(n_customers: int, share: float = TOP_SHARE) -> int:
    """Number of customers in the top ``share``: ``round(share * n_customers)``."""
    return round(share * n_customers)


def tier_bounds(tiers: Sequence[tuple[str, float]], n_customers: int) -> list[int]:
    """The last rank of each tier (``(name, share)`` from the top down) among
    ``n_customers``: ``round(cumulative share * n)``, the last tier ending at ``n``."""
    bounds, cumulative = [], 0.0
    for _, share in tiers:
        cumulative += share
        bounds.append(round(cumulative * n_customers))
    bounds[-1] = n_customers
    return bounds


def value_tiers(
    frame: pl.DataFrame,
    *,
    value_col: str = "revenue",
    tiers: Sequence[tuple[str, float]] = TIERS,
    top_share: float = TOP_SHARE,
    prefix: str = "",
) -> pl.DataFrame:
    """Add a top-``top_share`` flag and value tiers (default good 20 / middle 60 / low 20 %).

    Parameters
    ----------
    frame
        One row per customer with ``customer_id`` and ``value_col``.
    value_col
        The value ranked: ``revenue``, ``margin`` or ``clv``.
    tiers
        ``(name, share)`` from the top down; the shares must sum to 1.
    top_share
        Share of customers flagged as top (``round(top_share * n)`` customers).
    prefix
        Prefix of the added columns (e.g. ``"clv_"``).

    Returns
    -------
    pl.DataFrame
        ``frame`` (same row order) plus ``{prefix}rank`` (1 = highest value; ties by
        ``customer_id``; a null value ranks after every non-null one, so it is never top
        and falls in the last tiers), ``{prefix}top`` (bool) and ``{prefix}tier`` (str).
    """
    shares = [share for _, share in tiers]
    if abs(sum(shares) - 1.0) > 1e-9 or min(shares) < 0:
        from clv.errors import UsageError

        raise UsageError(f"tier shares must be non-negative and sum to 1, not {shares}")
    n = frame.height
    bounds = tier_bounds(tiers, n)
    rank = pl.col(f"{prefix}rank")
    tier: Then | ChainedThen = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for (name, _), bound in zip(tiers, bounds, strict=True):
        tier = tier.when(rank <= bound).then(pl.lit(name))
    return frame.with_columns(_ranks(frame, value_col).alias(f"{prefix}rank")).with_columns(
        (rank <= top_count(n, top_share)).alias(f"{prefix}top"),
        tier.otherwise(pl.lit(tiers[-1][0])).alias(f"{prefix}tier"),
    )


def tier_summary(
    tiered: pl.DataFrame,
    *,
    value_col: str = "revenue",
    tier_col: str = "tier",
    tiers: Sequence[tuple[str, float]] = TIERS,
) -> pl.DataFrame:
    """Customers and value per tier, with their shares of the total.

    Returns
    -------
    pl.DataFrame
        One row per tier, top down: ``tier``, ``customers``, ``customer_share``, ``value``,
        ``value_share`` (value / total value), ``mean_value``, ``min_value``.
    """
    stats = tier_stats(tiered, value_col=value_col, tier_col=tier_col)
    total = cast(float, tiered[value_col].sum())
    return tier_summary_of(stats, tiers=tiers, customers=tiered.height, total=total)


def tier_stats(tiered: pl.DataFrame, *, value_col: str, tier_col: str) -> pl.DataFrame:
    """The numbers :func:`tier_summary_of` reads: per tier present, ``tier``, ``customers``,
    ``value`` (sum), ``mean_value`` and ``min_value`` of ``value_col``."""
    return tiered.group_by(pl.col(tier_col).alias("tier")).agg(
        customers=pl.len().cast(pl.Int64),
        value=pl.col(value_col).sum(),
        mean_value=pl.col(value_col).mean(),
        min_value=pl.col(value_col).min(),
    )


def tier_summary_of(
    stats: pl.DataFrame, *, tiers: Sequence[tuple[str, float]], customers: int, total: float
) -> pl.DataFrame:
    """:func:`tier_summary` from its numbers (:func:`tier_stats`, of either engine), the
    ``customers`` tiered and their ``total`` value."""
    order = pl.DataFrame({"tier": [name for name, _ in tiers]}).with_row_index("_order")
    return (
        order.join(stats, on="tier", how="left")
        .sort("_order")
        .drop("_order")
        .with_columns(
            pl.col("customers").fill_null(0),
            pl.col("value").fill_null(0.0),
            customer_share=pl.col("customers") / max(customers, 1),
            value_share=pl.col("value") / total if total else pl.lit(None, dtype=pl.Float64),
        )
        .select(
            "tier",
            "customers",
            "customer_share",
            "value",
            "value_share",
            "mean_value",
            "min_value",
        )
    )


@dataclass(frozen=True)
class SegmentTotals:
    """The segment table's totals the report's sentences read (:func:`segment_totals`)."""

    customers: int
    """Customers (rows)."""
    top: int
    """Customers flagged ``top`` (the top share by revenue)."""
    revenue: float
    """Their total historical revenue (currency)."""
    top_revenue: float
    """The top customers' revenue (currency)."""
    clv: float
    """Total predicted CLV, null as 0 (currency; 0 without scores)."""
    top_clv: float
    """The top customers' predicted CLV (currency)."""
    lowest_p_alive: float | None
    """The lowest P(alive) (None without scores)."""
    one_time: int | None
    """Customers without a repeat purchase (``frequency`` 0; None without ``frequency``)."""
    refunded: int
    """Customers whose net revenue is zero or below (full refunds)."""


def segment_totals(table: pl.DataFrame) -> SegmentTotals:
    """The :class:`SegmentTotals` of :func:`segment_table` (with or without scores)."""
    top = pl.col("top")
    clv = pl.col("clv").fill_null(0.0) if "clv" in table.columns else pl.lit(0.0)
    p_alive = pl.col("p_alive").min() if "p_alive" in table.columns else pl.lit(None, pl.Float64)
    row = table.select(
        customers=pl.len(),
        top=top.sum(),
        revenue=pl.col("revenue").sum(),
        top_revenue=pl.col("revenue").filter(top).sum(),
        clv=clv.sum(),
        top_clv=clv.filter(top).sum(),
        lowest_p_alive=p_alive,
        one_time=(pl.col("frequency") == 0).sum() if "frequency" in table.columns else pl.lit(None),
        refunded=(pl.col("revenue") <= 0).sum(),
    ).row(0, named=True)
    return SegmentTotals(
        customers=int(row["customers"]),
        top=int(row["top"]),
        revenue=float(row["revenue"]),
        top_revenue=float(row["top_revenue"]),
        clv=float(row["clv"]),
        top_clv=float(row["top_clv"]),
        lowest_p_alive=row["lowest_p_alive"],
        one_time=None if row["one_time"] is None else int(row["one_time"]),
        refunded=int(row["refunded"]),
    )


def _quintile(value: pl.Expr) -> pl.Expr:
    """Score 1-5 from the rank of ``value`` ascending (ties share the lowest rank)."""
    rank = value.rank("min")
    return (1 + ((rank - 1) * 5 // pl.len())).clip(1, 5).cast(pl.Int8)


def rfm_cells(
    customers: pl.DataFrame,
    *,
    cells: Sequence[tuple[str, Mapping[str, tuple[int, int]]]] = RFM_CELLS,
) -> pl.DataFrame:
    """Add quintile scores ``R``, ``F``, ``M`` (1-5, 5 best) and a named ``rfm_cell``.

    ``R`` ranks days since the last order (fewer is better) at the observation end, ``F``
    the number of orders, ``M`` historical revenue; tied customers share the lower score
    (so every one-order customer has ``F = 1``).

    Parameters
    ----------
    customers
        One row per customer with ``last_purchase`` (or ``last_order``), ``orders``
        and ``revenue`` (an RFM summary or :func:`customer_table`).
    cells
        ``(name, {"R": (lo, hi), ...})`` checked in order; see :data:`RFM_CELLS`.
    """
    last = "last_purchase" if "last_purchase" in customers.columns else "last_order"
    cell: Then | ChainedThen = pl.when(pl.lit(False)).then(pl.lit(None, dtype=pl.String))
    for name, rule in cells:
        cond = pl.lit(True)
        for score, (lo, hi) in rule.items():
            cond = cond & pl.col(score).is_between(lo, hi)
        cell = cell.when(cond).then(pl.lit(name))
    return customers.with_columns(
        R=_quintile(pl.col(last).cast(pl.Int64)),
        F=_quintile(pl.col("orders")),
        M=_quintile(pl.col("revenue")),
    ).with_columns(rfm_cell=cell.otherwise(pl.lit("others")))


def segment_table(
    summary: pl.DataFrame,
    scores: pl.DataFrame | None = None,
    *,
    value_col: str = "revenue",
    tiers: Sequence[tuple[str, float]] = TIERS,
    top_share: float = TOP_SHARE,
    cells: Sequence[tuple[str, Mapping[str, tuple[int, int]]]] = RFM_CELLS,
) -> pl.DataFrame:
    """One row per customer: value tiers, RFM cell and model scores (what ``clv segments`` writes).

    Parameters
    ----------
    summary
        :func:`clv.rfm.rfm_summary` (or any frame with ``customer_id``, ``orders``,
        ``revenue``, ``last_purchase`` / ``last_order``).
    scores
        ``ClvModel.score`` output; ``None`` leaves out the forward view.
    value_col
        Historical value ranked for ``tier``: ``revenue`` or ``margin`` (if present).

    Returns
    -------
    pl.DataFrame
        Sorted by ``customer_id``: the summary's columns, ``rank``, ``top`` and ``tier``
        (historical value), ``R``, ``F``, ``M``, ``rfm_cell`` and, with scores,
        ``p_alive``, ``expected_purchases``, ``expected_order_value``, ``clv``, ``clv_rank``,
        ``clv_top`` and ``value_tier`` (the CLV tier; without scores ``value_tier`` is the
        historical tier). With scores no cell named as active holds a customer with P(alive)
        below :data:`ACTIVE_MIN_P_ALIVE` (they are ``at_risk``).
    """
    if not _increasing(summary["customer_id"]):  # a summary is sorted already
        summary = summary.sort("customer_id")
    table = value_tiers(summary, value_col=value_col, tiers=tiers, top_share=top_share)
    table = rfm_cells(table, cells=cells)
    if scores is None:
        return table.with_columns(value_tier=pl.col("tier"))
    keep = [c for c in SCORE_COLUMNS if c in scores.columns and c not in table.columns]
    if _same_ids(table["customer_id"], scores["customer_id"]):  # row i is row i: no join
        table = table.with_columns(scores.select(keep))
    else:
        table = table.join(
            scores.select("customer_id", *keep), on="customer_id", how="left", maintain_order="left"
        )
    table = table.with_columns(pl.col("clv").fill_null(0.0))
    table = value_tiers(table, value_col="clv", tiers=tiers, top_share=top_share, prefix="clv_")
    if "p_alive" in table.columns:
        gone = pl.col("rfm_cell").is_in(ACTIVE_CELLS) & (pl.col("p_alive") < ACTIVE_MIN_P_ALIVE)
        table = table.with_columns(
            rfm_cell=pl.when(gone).then(pl.lit("at_risk")).otherwise(pl.col("rfm_cell"))
        )
    return table.rename({"clv_tier": "value_tier"})
