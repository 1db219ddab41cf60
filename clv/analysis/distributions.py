"""The compact tables the report's figures of customers draw, and how each is finished.

Every figure of the summary or the scores reads a table bounded by bins or distinct values,
never a row per customer: the customers by repeat purchases and by age, the order statistics
of the summary's columns, the histograms of P(alive) and of CLV, and a seeded sample of
repeat buyers for the order-value scatter. Each is made in two steps: the per-customer
aggregation (here for polars; :mod:`clv.engines.spark_figures` for Spark), and the finishing
code below, shared by both engines, so both draw the same figure.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import polars as pl

from clv.analysis.risk import quantile_between, quantile_position

DESCRIBED = ("frequency", "recency", "T", "monetary_value", "orders", "revenue")
"""The summary columns :func:`describe` states, in order."""

NEAREST = {"p25": 0.25, "p75": 0.75, "p90": 0.9}
"""The quantiles :func:`describe` reads as :meth:`polars.Series.quantile` does by default
(``"nearest"``); the median is the linear one."""

P_ALIVE_BINS = 40
"""Equal bins of P(alive) from 0 to 1."""

CLV_BINS = 50
"""Equal bins of CLV, from the lowest value to the largest at or below the 99th percentile."""

CLV_TOP = 0.99
"""The CLV quantile beyond which customers are left out of the histogram (shown in words)."""

DescribedRow = tuple[str, *tuple[float | None, ...]]
"""A row of :func:`describe`: the column's name and its six numbers."""

SCATTER_POINTS = 20_000
"""Most points a scatter plot draws (a seeded sample beyond): the picture is the same and a
million points take seconds to draw."""

SAMPLE_PRIME = 2_147_483_477
"""The prime below 2**31 whose field the sample's permutation works in (``p % 3 == 2``, so
cubing is a permutation); every product stays below 2**62 in 64-bit integers."""

SAMPLE_SEED = (1_103_515_245, 12_345, 690_069_069, 1_013_904_223)
"""The constants of the sample's permutation (:func:`sample_key`)."""


def value_counts(frame: pl.DataFrame, *columns: str) -> pl.DataFrame:
    """``columns`` and ``customers``: how many rows hold each distinct combination of
    non-null values, sorted by the columns."""
    return (
        frame.select(columns)
        .drop_nulls()
        .group_by(columns)
        .agg(customers=pl.len().cast(pl.Int64))
        .sort(columns)
    )


def counts_of(counts: pl.DataFrame, column: str) -> pl.DataFrame:
    """:func:`value_counts` of ``column`` alone, from a :func:`value_counts` of it and more
    columns (``customers`` summed over the others)."""
    return counts.group_by(column).agg(pl.col("customers").sum()).sort(column)


def nearest_quantile(counts: pl.DataFrame, column: str, q: float) -> float | None:
    """:meth:`polars.Series.quantile` (``"nearest"``) of ``column`` from its
    :func:`value_counts` (each value ``customers`` times); None without values."""
    counts = counts_of(counts, column)
    n = int(counts["customers"].sum())
    if n == 0:
        return None
    index = nearest_position(n, q)
    cumulative = counts["customers"].cum_sum().to_numpy()
    return float(counts[column][int(np.searchsorted(cumulative, index, "right"))])


def nearest_position(n: int, q: float) -> int:
    """The 0-based index of the ``"nearest"`` ``q`` quantile of ``n`` sorted values (the
    position ``q (n - 1)`` rounded half up, as polars does)."""
    return math.floor(q * (n - 1) + 0.5)


def frequency_age_counts(summary: pl.DataFrame) -> pl.DataFrame:
    """Customers by repeat purchases and age: ``frequency``, ``T`` (model time units),
    ``customers``; what the purchase-count figures and the matrices' grid read (no more rows
    than distinct (frequency, recency, T) rows)."""
    return value_counts(summary, "frequency", "T")


def matrix_maxima(counts: pl.DataFrame) -> dict[str, int]:
    """The grid of the frequency/recency matrices: ``max_frequency``, the 99th percentile of
    frequency (at least 1), and ``max_recency``, the oldest customer's age ``T`` (model time
    units, whole), from :func:`frequency_age_counts`."""
    top = nearest_quantile(counts, "frequency", 0.99)
    oldest = float(counts["T"].max()) if counts.height else 0.0  # type: ignore[arg-type]
    return {"max_frequency": max(int(top or 1), 1), "max_recency": int(oldest)}


# ---- the summary statistics ----------------------------------------------------------------


def describe_positions(n: int) -> list[int]:
    """The 0-based positions, in sorted order, of the values :func:`describe_row` reads from
    a column of ``n`` values."""
    if n == 0:
        return []
    lower, _ = quantile_position(n, 0.5)
    middle = [lower, min(lower + 1, n - 1)]
    return sorted({*middle, *(nearest_position(n, q) for q in NEAREST.values()), n - 1})


def describe_row(column: str, n: int, mean: float | None, at: Mapping[int, float]) -> DescribedRow:
    """One row of :func:`describe` from the column's count, its mean and its sorted values
    at :func:`describe_positions` (``at``: position -> value)."""
    if n == 0:
        return (column, None, None, None, None, None, None)
    lower, fraction = quantile_position(n, 0.5)
    median = quantile_between([at[lower], at[min(lower + 1, n - 1)]], fraction)
    p25, p75, p90 = (at[nearest_position(n, q)] for q in NEAREST.values())
    return (column, mean, p25, median, p75, p90, at[n - 1])


def describe_table(rows: Sequence[DescribedRow]) -> pl.DataFrame:
    """The rows of :func:`describe_row` as the table: ``column``, ``mean``, ``p25``,
    ``median``, ``p75``, ``p90``, ``max`` (the column's units)."""
    schema = {"column": pl.String} | {
        c: pl.Float64 for c in ("mean", "p25", "median", "p75", "p90", "max")
    }
    return pl.DataFrame(list(rows), schema=schema, orient="row")


def describe(summary: pl.DataFrame) -> pl.DataFrame:
    """Mean, quartiles, 90th percentile and max of the RFM summary's numeric columns
    (:data:`DESCRIBED` that it has): the median linear, the other quantiles the nearest
    value, as :meth:`polars.Series.quantile` gives them."""
    rows = []
    for c in (c for c in DESCRIBED if c in summary.columns):
        s = summary[c].cast(pl.Float64).drop_nulls()
        values = s.sort().to_numpy()
        at = {i: float(values[i]) for i in describe_positions(len(values))}
        rows.append(describe_row(c, len(values), s.mean(), at))  # type: ignore[arg-type]
    return describe_table(rows)


# ---- P(alive) and CLV --------------------------------------------------------------------


def p_alive_histogram(counts: pl.DataFrame) -> pl.DataFrame:
    """Customers by P(alive) in :data:`P_ALIVE_BINS` equal bins from 0 to 1 (the last bin
    includes 1), from :func:`value_counts` of ``p_alive``: ``low``, ``high``, ``customers``."""
    p = counts["p_alive"].cast(pl.Float64).to_numpy()
    weights = counts["customers"].cast(pl.Float64).to_numpy()
    customers, edges = np.histogram(p, bins=P_ALIVE_BINS, range=(0.0, 1.0), weights=weights)
    return pl.DataFrame(
        {"low": edges[:-1], "high": edges[1:], "customers": customers.round().astype(np.int64)}
    )


def as_p_alive_histogram(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` if it is a :func:`p_alive_histogram`, else that of its ``p_alive`` column."""
    if "p_alive" not in frame.columns:
        return frame
    return p_alive_histogram(value_counts(frame, "p_alive"))


def clv_positions(n: int) -> list[int]:
    """The 0-based positions, in sorted order, of the values :func:`clv_cut` reads from
    ``n`` CLVs: around the median and around the :data:`CLV_TOP` quantile."""
    if n == 0:
        return []
    positions = set()
    for q in (0.5, CLV_TOP):
        lower, _ = quantile_position(n, q)
        positions |= {lower, min(lower + 1, n - 1)}
    return sorted(positions)


def clv_cut(n: int, at: Mapping[int, float]) -> tuple[float, float, float]:
    """The median, the :data:`CLV_TOP` quantile (linear) and the largest value at or below
    it, from the sorted values at :func:`clv_positions` (``at``: position -> value)."""

    def around(q: float) -> tuple[float, float, float]:
        lower, fraction = quantile_position(n, q)
        below, above = at[lower], at[min(lower + 1, n - 1)]
        return below, above, float(quantile_between([below, above], fraction))  # type: ignore[arg-type]

    median = around(0.5)[2]
    below, above, top = around(CLV_TOP)
    return median, top, above if above <= top else below


def clv_edges(lowest: float, highest: float) -> np.ndarray:
    """The :data:`CLV_BINS` + 1 edges from ``lowest`` to ``highest`` (currency), as
    :func:`numpy.histogram` makes them (half a unit either side of a single value)."""
    if lowest == highest:
        lowest, highest = lowest - 0.5, highest + 0.5
    return np.linspace(lowest, highest, CLV_BINS + 1)


def clv_histogram_table(
    edges: np.ndarray, customers: np.ndarray, *, median: float, mean: float
) -> pl.DataFrame:
    """The CLV histogram: ``low``, ``high`` (currency), ``customers`` of each bin, and the
    ``median`` and ``mean`` CLV of all customers (the same on every row)."""
    return pl.DataFrame(
        {
            "low": edges[:-1],
            "high": edges[1:],
            "customers": np.asarray(customers, dtype=np.int64),
            "median": median,
            "mean": mean,
        }
    )


def clv_histogram(scores: pl.DataFrame, *, column: str = "clv") -> pl.DataFrame:
    """Customers by predicted CLV (``column``) in :data:`CLV_BINS` equal bins up to the
    :data:`CLV_TOP` quantile, with the median and mean of everyone
    (:func:`clv_histogram_table`; no rows without values)."""
    v = np.sort(scores[column].drop_nulls().cast(pl.Float64).to_numpy())
    n = len(v)
    if n == 0:
        return clv_histogram_table(np.zeros(1), np.zeros(0), median=math.nan, mean=math.nan)
    median, top, highest = clv_cut(n, {i: float(v[i]) for i in clv_positions(n)})
    edges = clv_edges(float(v[0]), highest)
    customers, _ = np.histogram(v[v <= top], edges)
    mean = float(scores[column].drop_nulls().cast(pl.Float64).mean())  # type: ignore[arg-type]
    return clv_histogram_table(edges, customers, median=median, mean=mean)


def as_clv_histogram(frame: pl.DataFrame, *, column: str = "clv") -> pl.DataFrame:
    """``frame`` if it is a :func:`clv_histogram`, else that of its ``column``."""
    return frame if "customers" in frame.columns else clv_histogram(frame, column=column)


# ---- the order-value scatter ---------------------------------------------------------------


def sample_key(index: pl.Expr) -> pl.Expr:
    """A seeded permutation of the integers ``0 .. SAMPLE_PRIME - 1``: an affine map, a cube
    and an affine map modulo :data:`SAMPLE_PRIME`, in 64-bit integers (Spark computes the
    same, :func:`clv.engines.spark_figures.sample_key`). The sample is the repeat buyers with
    the smallest keys."""
    a, b, c, d = SAMPLE_SEED
    p = SAMPLE_PRIME
    y = (index.cast(pl.Int64) * a + b) % p
    cube = ((y * y) % p) * y % p
    return (cube * c + d) % p


def sample_index(summary: pl.DataFrame) -> pl.Series:
    """Each customer's index for :func:`sample_key`, the same on every engine: the rank by
    revenue (1 = highest, ties by ``customer_id``, as :func:`clv.analysis.segments.value_tiers`
    ranks); a summary without those columns, its row number (from 1)."""
    rank = np.arange(1, summary.height + 1, dtype=np.int64)
    if "customer_id" in summary.columns and "revenue" in summary.columns:
        order = summary.select(
            pl.int_range(pl.len()).sort_by(["revenue", "customer_id"], descending=[True, False])
        ).to_series()
        rank[order.to_numpy()] = np.arange(1, summary.height + 1, dtype=np.int64)
    return pl.Series("_index", rank)


def order_value_sample(summary: pl.DataFrame, *, points: int = SCATTER_POINTS) -> pl.DataFrame:
    """The repeat buyers' frequency and mean order value for the Gamma-Gamma scatter: at most
    ``points`` of them (the smallest :func:`sample_key`; all when there are fewer), by
    ``customer_id`` (by index without it), with ``correlation``
    (:func:`order_value_correlation` of all repeat buyers) and ``repeat_buyers`` (their
    number) on every row."""
    keyed = summary.with_columns(_key=sample_key(pl.lit(sample_index(summary))))
    repeat = keyed.filter(pl.col("frequency") > 0)
    shown = repeat.sort("_key").head(points)
    if "customer_id" not in shown.columns:
        shown = shown.sort("_key")
    return order_value_table(
        shown, correlation=order_value_correlation(summary), repeat_buyers=repeat.height
    )


def order_value_table(
    points: pl.DataFrame, *, correlation: float, repeat_buyers: int
) -> pl.DataFrame:
    """The scatter's frame: ``frequency`` (int64), ``monetary_value`` (currency) of the
    points shown, by ``customer_id`` when they have one, ``correlation`` and
    ``repeat_buyers`` on every row."""
    if "customer_id" in points.columns:
        points = points.sort("customer_id")
    return points.select(
        pl.col("frequency").cast(pl.Int64),
        pl.col("monetary_value").cast(pl.Float64),
        correlation=pl.lit(correlation, dtype=pl.Float64),
        repeat_buyers=pl.lit(repeat_buyers, dtype=pl.Int64),
    )


def as_order_value_sample(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` if it is an :func:`order_value_sample`, else that of a summary."""
    return frame if "repeat_buyers" in frame.columns else order_value_sample(frame)


def correlation_of(n: int, varies: bool, r: float | None) -> float:
    """The order-value correlation of ``n`` repeat buyers from a Pearson ``r``: NaN when
    there are fewer than three, or frequency or order value does not vary (``varies``)."""
    if n > 2 and varies and r is not None and math.isfinite(r):
        return float(r)
    return math.nan


def order_value_correlation(summary: pl.DataFrame) -> float:
    """Pearson correlation of frequency and mean order value over repeat buyers (NaN when
    there are too few, or either does not vary)."""
    rep = summary.filter(pl.col("frequency") > 0)
    f = rep["frequency"].to_numpy().astype(float)
    m = rep["monetary_value"].to_numpy().astype(float)
    varies = len(f) > 0 and f.min() < f.max() and m.min() < m.max()
    r = float(np.corrcoef(f, m)[0, 1]) if len(f) > 2 and varies else None
    return correlation_of(len(f), bool(varies), r)
