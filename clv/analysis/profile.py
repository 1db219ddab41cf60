"""Who stands out: how concentrated value is (Lorenz, Gini), what distinguishes the top
customers and who in the middle tier is closest to the top (who is at risk:
:mod:`clv.analysis.risk`).

Definitions as in :mod:`clv.analysis.segments`.
"""

import math
from dataclasses import dataclass
from typing import cast

import numpy as np
import polars as pl

from clv.analysis.risk import gone
from clv.analysis.segments import TIERS


def _fmt(value: float | None, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "share":
        return f"{100 * value:.0f} %"
    return f"{value:,.1f}" if abs(value) < 1000 else f"{value:,.0f}"


PROFILE_METRICS: tuple[tuple[str, str, str, str], ...] = (
    # (metric, expression source column, aggregation, kind)
    ("orders_per_customer", "orders", "mean", "number"),
    ("aov", "aov", "mean", "number"),
    ("tenure_days", "tenure_days", "mean", "number"),
    ("days_between_orders", "days_between_orders", "mean", "number"),
    ("share_reordered_same_product", "reordered_product", "mean", "share"),
    ("distinct_products", "distinct_products", "mean", "number"),
    ("share_loyalty_members", "loyalty", "mean", "share"),
    ("p_alive", "p_alive", "mean", "share"),
    ("clv", "clv", "mean", "number"),
)
"""Profile rows of :func:`top_profile`: metric name, customer column, mean, how to print it."""

_WORDS = {
    "orders_per_customer": "orders per customer",
    "aov": "average order value",
    "tenure_days": "days from first to last order",
    "days_between_orders": "days between orders",
    "share_reordered_same_product": "re-ordered the same product",
    "distinct_products": "distinct products bought",
    "share_loyalty_members": "are loyalty members",
    "p_alive": "probability of being still active",
    "clv": "predicted CLV",
}


def _log_odds(share: float, n: float) -> float:
    """log((k + 0.5) / (n - k + 0.5)) for ``k = share * n`` yes out of ``n``."""

    k = share * n
    return math.log((k + 0.5) / (n - k + 0.5))


def top_profile(
    customers: pl.DataFrame,
    *,
    top_col: str = "top",
    flag: int = 3,
) -> pl.DataFrame:
    """What distinguishes the top customers: each metric for the top vs the rest.

    Parameters
    ----------
    customers
        :func:`customer_table` joined with a boolean ``top_col`` (from :func:`value_tiers`)
        and, optionally, model scores (``p_alive``, ``clv``). Metrics whose column is
        absent are left out; one ``share_from_<channel>`` row per channel when ``channel``
        is present.
    flag
        Most metrics flagged as the biggest differences (never one without a difference
        that shows, or without a value). Differences are compared as
        log effect sizes: for a share (``kind == "share"``, incl. mean ``p_alive``) the
        absolute log odds ratio of top vs rest, ``|logit(top) - logit(rest)|``, with 0.5
        added to the counts of yes and no in each group (Haldane-Anscombe, so 0 % or 100 %
        stays finite); for any other metric ``|log(top / rest)|``. A log odds ratio is the
        log ratio of the odds, and equals the log ratio of the shares for rare shares, so
        99 % vs 49 % (log odds ratio 4.6) ranks above 2 % vs 1 % (0.7), unlike the log ratio
        of the shares (0.7 for both). Values that print the same (100 % vs 100 %: with
        different group sizes the corrected log odds still differ) count as no difference.

    Returns
    -------
    pl.DataFrame
        ``metric``, ``top``, ``rest``, ``ratio`` (top / rest), ``biggest`` (bool) and
        ``note``, e.g. ``"95 % of top customers re-ordered the same product vs 31 % of the
        rest"``, and ``kind``: ``share``, ``probability`` (a mean P(alive)) or ``number``.
    """

    return profile_of(profile_stats(customers, top_col=top_col), top_col=top_col, flag=flag)


def profile_stats(customers: pl.DataFrame, *, top_col: str = "top") -> pl.DataFrame:
    """The numbers :func:`profile_of` reads: two rows, ``top_col`` True and False, each with
    the mean of every :data:`PROFILE_METRICS` column ``customers`` has (named by its metric),
    ``share_from_<channel>`` per channel (sorted) when ``channel`` is present, and ``_n``
    (customers, as a float)."""
    metrics = [m for m in PROFILE_METRICS if m[1] in customers.columns]
    exprs = [pl.col(col).cast(pl.Float64).mean().alias(name) for name, col, _, _ in metrics]
    if "channel" in customers.columns:
        for channel in sorted(customers["channel"].drop_nulls().unique().to_list()):
            name = f"{CHANNEL_SHARE}{channel}"
            exprs.append((pl.col("channel") == channel).cast(pl.Float64).mean().alias(name))
    exprs.append(pl.len().cast(pl.Float64).alias("_n"))
    return customers.group_by(top_col).agg(exprs)


CHANNEL_SHARE = "share_from_"
"""The prefix of a channel's metric in :func:`profile_stats` (``share_from_<channel>``)."""


def profile_of(stats: pl.DataFrame, *, top_col: str = "top", flag: int = 3) -> pl.DataFrame:
    """:func:`top_profile` from its numbers (:func:`profile_stats`, of either engine)."""
    kinds = {name: kind for name, _, _, kind in PROFILE_METRICS if name in stats.columns}
    words = dict(_WORDS)
    for name in stats.columns:
        if name.startswith(CHANNEL_SHARE):
            kinds[name] = "share"
            words[name] = f"came through {name.removeprefix(CHANNEL_SHARE)}"
    top_row = stats.filter(pl.col(top_col)).drop(top_col)
    rest_row = stats.filter(~pl.col(top_col)).drop(top_col)
    rows = []
    for name in kinds:
        top = top_row[name][0] if top_row.height else None
        rest = rest_row[name][0] if rest_row.height else None
        ratio = top / rest if top is not None and rest not in (None, 0) else None
        kind = kinds[name]
        shown = "probability" if name == "p_alive" else kind  # a mean probability, no share
        if shown == "probability":
            note = (
                f"top customers' mean {words[name]}: {_fmt(top, kind)} vs {_fmt(rest, kind)} "
                "for the rest"
            )
        elif kind == "share":
            note = f"{_fmt(top, kind)} of top customers {words[name]}"
            note += f" vs {_fmt(rest, kind)} of the rest"
        else:
            note = (
                f"top customers: {_fmt(top, kind)} {words[name]} vs {_fmt(rest, kind)} for the rest"
            )
        size = -1.0  # unknown: ranked last
        if _fmt(top, kind) == _fmt(rest, kind):  # no difference the note can show
            size = 0.0
        elif kind == "share" and top is not None and rest is not None:
            size = abs(_log_odds(top, top_row["_n"][0]) - _log_odds(rest, rest_row["_n"][0]))
        elif ratio is not None and ratio > 0:
            size = abs(math.log(ratio))
        rows.append((name, top, rest, ratio, size, note, shown))
    frame = pl.DataFrame(
        rows,
        schema={
            "metric": pl.String,
            "top": pl.Float64,
            "rest": pl.Float64,
            "ratio": pl.Float64,
            "_size": pl.Float64,
            "note": pl.String,
            "kind": pl.String,
        },
        orient="row",
    )
    biggest = frame.filter(pl.col("_size") > 0).sort("_size", descending=True).head(flag)["metric"]
    return frame.with_columns(biggest=pl.col("metric").is_in(biggest.implode())).select(
        "metric", "top", "rest", "ratio", "biggest", "note", "kind"
    )


LACKS = ("second_order", "higher_aov", "recent_order")
"""What a middle-tier customer can lack against the good tier: a second order (one order so
far), a higher average order value (below the good tier's median), a recent order (P(alive)
below the good tier's median)."""


def middle_to_top(
    segments: pl.DataFrame, *, n: int | None = 100, leave_out_gone: bool = True
) -> pl.DataFrame:
    """Middle-tier customers closest to the good tier by predicted CLV, and what they lack.

    Parameters
    ----------
    segments
        :func:`segment_table` with scores (``value_tier``, ``clv``, ``orders``, ``revenue``,
        ``p_alive``).
    n
        Number of candidates (``None``: all of the middle tier).
    leave_out_gone
        Leave out the customers already gone (P(alive) below
        :data:`clv.analysis.risk.LOST_P_ALIVE`, the win-back list's cut): a customer who has
        probably left is not close to the top, whatever their predicted CLV. False keeps the
        whole middle tier.

    Returns
    -------
    pl.DataFrame
        Sorted by ``clv`` descending: ``customer_id``, ``clv``, ``clv_gap`` (the lowest
        good-tier CLV minus the customer's), ``orders``, ``aov``, ``p_alive``, ``good_aov``
        (the good tier's median order value, currency units) and ``lacks``: the codes of
        :data:`LACKS` the customer lacks, in that order (``["second_order", "higher_aov"]``).
        Middle and good tiers are the first two names of :data:`TIERS` order (good, middle).
    """
    candidates = (
        segments.filter(pl.col("value_tier") == TIERS[1][0])
        .sort(["clv", "customer_id"], descending=[True, False])
        .select(
            "customer_id",
            "clv",
            "orders",
            "revenue",
            "p_alive"
            if "p_alive" in segments.columns
            else pl.lit(None, pl.Float64).alias("p_alive"),
        )
    )
    candidates = middle_candidates(candidates, good_tier(segments))
    if leave_out_gone:
        candidates = candidates.filter(~gone())
    return candidates if n is None else candidates.head(n)


MIDDLE_TO_TOP_SHOWN = 15
"""How many middle-to-top candidates the report shows."""


@dataclass(frozen=True)
class GoodTier:
    """What :func:`middle_to_top` compares the middle tier with: the good tier's lowest
    predicted CLV (``threshold``), its median order value (``aov``, currency) and its median
    P(alive) (``p_alive``); each None when the good tier is empty (or has no P(alive))."""

    threshold: float | None
    aov: float | None
    p_alive: float | None


def good_tier(segments: pl.DataFrame) -> GoodTier:
    """The :class:`GoodTier` of :func:`segment_table` with scores (``value_tier`` first of
    :data:`TIERS`, whatever the customer's revenue)."""
    good = segments.filter(pl.col("value_tier") == TIERS[0][0])
    if not good.height:
        return GoodTier(None, None, None)
    alive = good["p_alive"].median() if "p_alive" in good.columns else None
    return GoodTier(
        threshold=cast(float | None, good["clv"].min()),
        aov=cast(float, (good["revenue"] / good["orders"]).median()),
        p_alive=cast(float | None, alive),
    )


def middle_candidates(middle: pl.DataFrame, good: GoodTier) -> pl.DataFrame:
    """:func:`middle_to_top`'s columns of middle-tier customers in the order given
    (``customer_id``, ``clv``, ``orders``, ``revenue``, ``p_alive``), against ``good``."""
    lacks = [pl.when(pl.col("orders") < 2).then(pl.lit(LACKS[0]))]
    if good.aov is not None:
        lacks.append(pl.when(pl.col("aov") < good.aov).then(pl.lit(LACKS[1])))
    if good.p_alive is not None:
        lacks.append(pl.when(pl.col("p_alive") < good.p_alive).then(pl.lit(LACKS[2])))
    return middle.with_columns(aov=pl.col("revenue") / pl.col("orders")).select(
        "customer_id",
        "clv",
        clv_gap=pl.lit(good.threshold, dtype=pl.Float64) - pl.col("clv"),
        orders="orders",
        aov="aov",
        p_alive=pl.col("p_alive").cast(pl.Float64),
        good_aov=pl.lit(good.aov, dtype=pl.Float64),
        lacks=pl.concat_list(lacks).list.drop_nulls(),
    )


LORENZ_POINTS = 101
"""The points of a Lorenz curve the report draws (every percent of the customers)."""


def lorenz_curve(values: pl.Series, *, points: int | None = LORENZ_POINTS) -> pl.DataFrame:
    """Lorenz curve: share of value held by the lowest-value share of customers.

    Negative values count as 0.

    Parameters
    ----------
    values
        One value per customer (revenue, margin or CLV).
    points
        Number of evenly spaced customer shares from 0 to 1 at which the curve is given
        (each at the nearest whole number of customers); ``None``: every customer.

    Returns
    -------
    pl.DataFrame
        ``customer_share`` and ``value_share``, both from 0 to 1, non-decreasing.
    """

    x = np.sort(np.clip(values.drop_nulls().cast(pl.Float64).to_numpy(), 0.0, None))
    n = x.size
    cumulative = np.concatenate([[0.0], np.cumsum(x)])
    k = lorenz_positions(n, points=points)
    return lorenz_of(n, k, cumulative[k], cumulative[-1])


def lorenz_positions(n: int, *, points: int | None = LORENZ_POINTS) -> np.ndarray:
    """The numbers of customers at which :func:`lorenz_curve` gives the curve: ``points``
    evenly spaced shares of ``n`` customers, each rounded to a whole number (0 .. n, no
    repeats); ``None``: every number."""
    k = np.arange(n + 1) if points is None else np.unique(np.rint(np.linspace(0, n, points)))
    return k.astype(np.int64)


def lorenz_of(n: int, k: np.ndarray, held: np.ndarray, total: float) -> pl.DataFrame:
    """:func:`lorenz_curve` from its sums: ``held[j]``, the value (clipped at 0) of the
    ``k[j]`` lowest-value of the ``n`` customers (:func:`lorenz_positions`), and ``total``,
    all of it."""
    share = held / total if total > 0 else k / max(n, 1)
    return pl.DataFrame({"customer_share": k / max(n, 1), "value_share": np.minimum(share, 1.0)})


def gini(values: pl.Series) -> float:
    """Gini coefficient of non-negative values (negatives count as 0), in [0, 1 - 1/n].

    ``G = sum_i (2 i - n - 1) x_(i) / (n sum x)`` with ``x`` sorted ascending, ``i = 1..n``:
    0 when everyone has the same value, ``1 - 1/n`` when one customer has it all.
    """

    x = np.sort(np.clip(values.drop_nulls().cast(pl.Float64).to_numpy(), 0.0, None))
    n, total = x.size, float(x.sum())
    i = np.arange(1, n + 1)
    return gini_of(n, total, float(np.sum((2 * i - n - 1) * x)) if n else 0.0)


def gini_of(n: int, total: float, weighted: float) -> float:
    """:func:`gini` from its sums over the ``n`` values clipped at 0: their ``total`` and
    ``weighted`` = ``sum_i (2 i - n - 1) x_(i)`` (ascending ``i``)."""
    if n == 0 or total <= 0:
        return 0.0
    return float(min(max(weighted / (n * total), 0.0), 1.0))
