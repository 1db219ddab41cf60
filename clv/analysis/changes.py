"""What changed between two runs of the customer-value report: frames and numbers only.

A run is reduced to a :class:`RunState` (its customer scores with their value tier, its
headline KPIs, its model document and its at-risk customers), so two runs read from their
folders and a run still in its notebook compare alike. :mod:`clv.report.since` words the
result; :mod:`clv.report.compare` reads run folders and writes ``changes.json``.

- **One basis**: every tier here is the tier by predicted CLV (``value_tier`` of
  ``scores.parquet``), and channel quality is the share of a channel's customers in the top
  tier by predicted CLV (``share_good_clv`` of ``kpis.json``), never the tiers by past revenue.
- **Tier migration**: customers counted by (tier in the previous run, tier now), with
  ``"new"`` (not in the previous run) and ``"gone"`` (in the previous run, absent from this
  run's data). Customers are matched by their id as text.
- **Within noise**: a change whose size is under 1.96 standard errors of the difference
  (the two runs' errors combined as if independent, which overstates the noise when the
  same customers are in both runs: a change called real is real).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from clv.errors import UsageError

NOISE_Z = 1.96
"""A change is within noise when ``|change| / standard error of the change`` is below this."""

KPI_KEYS = (
    "customers",
    "revenue",
    "repeat_customer_rate",
    "top_10pct_revenue_share",
    "predicted_clv_total",
)
"""The headline KPIs compared run to run."""

NEW, GONE = "new", "gone"

BASIS = "predicted CLV"
"""What ranks the tiers every count of a comparison uses (``value_tier``, ``share_good_clv``)."""


@dataclass(frozen=True)
class RunState:
    """What a run's comparison needs.

    ``scores``: one row per customer with ``customer_id``, ``value_tier`` (tier by predicted
    CLV), ``clv``, ``p_alive`` and ``orders`` (``scores.parquet``); ``kpis``: ``kpis.json``;
    ``model``:
    the model document (``model.json``, :meth:`clv.models.model.ClvModel.to_dict`) or None;
    ``at_risk``: ids of the at-risk list, as text.
    """

    scores: pl.DataFrame
    kpis: Mapping[str, Any]
    model: Mapping[str, Any] | None = None
    at_risk: frozenset[str] = field(default_factory=frozenset)


SCORES_FILE, AT_RISK_FILE = "scores.parquet", "at_risk.csv"
"""A run folder's customers and its at-risk list (:func:`clv.report.runs.save_run`)."""


def read_customers(folder: str | os.PathLike[str]) -> tuple[pl.DataFrame, frozenset[str]]:
    """A run folder's ``scores.parquet`` and the ids of its ``at_risk.csv`` (none without
    the file), as text; an unreadable file, or scores without ``customer_id`` and
    ``value_tier``, is a one-line :class:`UsageError`."""
    run = Path(folder)
    try:
        scores = pl.read_parquet(run / SCORES_FILE)
        at_risk: frozenset[str] = frozenset()
        if (run / AT_RISK_FILE).is_file():
            ids = pl.read_csv(run / AT_RISK_FILE, columns=["customer_id"], infer_schema=False)
            at_risk = frozenset(ids["customer_id"].drop_nulls().to_list())
    except (OSError, ValueError, pl.exceptions.PolarsError) as e:
        raise unreadable(run, e) from None
    check_scores(run, scores.columns)
    return scores, at_risk


def unreadable(run: Path, error: Exception) -> UsageError:
    """The one line for a run file that cannot be read."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return UsageError(f"{run}: a run file cannot be read ({text})")


def check_scores(run: Path, columns: Sequence[str]) -> None:
    """A run's scores hold ``customer_id`` and ``value_tier``, else a one-line error."""
    if "value_tier" not in columns or "customer_id" not in columns:
        raise UsageError(f"{run / SCORES_FILE}: no customer_id and value_tier columns")


def _tiers(state: RunState) -> pl.DataFrame:
    s = state.scores
    return s.select(
        pl.col("customer_id").cast(pl.String),
        pl.col("value_tier").cast(pl.String),
        *(pl.col(c).cast(pl.Float64) for c in ("clv", "p_alive") if c in s.columns),
        *(pl.col(c).cast(pl.Int64) for c in ("orders",) if c in s.columns),
    )


def matched(previous: RunState, current: RunState) -> pl.DataFrame:
    """Every customer of either run: ``customer_id``, ``previous_value_tier`` (``"new"`` if
    absent before), ``value_tier`` (``"gone"`` if absent now; both tiers by predicted CLV),
    ``previous_clv``, ``clv``, ``previous_p_alive``, ``p_alive``, ``orders`` (this run's; null
    where absent) and ``at_risk`` (on this run's list)."""
    before = _tiers(previous).drop("orders", strict=False)
    before = before.rename(
        {"value_tier": "previous_value_tier", "clv": "previous_clv", "p_alive": "previous_p_alive"},
        strict=False,
    )
    now = _tiers(current)
    both = before.join(now, on="customer_id", how="full", coalesce=True)
    for col in ("clv", "p_alive", "previous_clv", "previous_p_alive"):
        if col not in both.columns:
            both = both.with_columns(pl.lit(None, dtype=pl.Float64).alias(col))
    if "orders" not in both.columns:
        both = both.with_columns(pl.lit(None, dtype=pl.Int64).alias("orders"))
    return both.with_columns(
        pl.col("previous_value_tier").fill_null(NEW),
        pl.col("value_tier").fill_null(GONE),
        pl.col("customer_id").is_in(sorted(current.at_risk)).alias("at_risk"),
    ).sort("customer_id")


def tier_migration(
    previous: RunState, current: RunState, *, tiers: Sequence[str]
) -> dict[str, dict[str, int]]:
    """Customers by previous tier and tier now: ``{from_tier: {to_tier: customers}}``.

    Rows are ``tiers`` then ``"new"``; columns ``tiers`` then ``"gone"`` (a new customer
    cannot be gone). Every cell is present, zeros included; tiers met in the data but not in
    ``tiers`` are added after them.
    """
    return migration_table(migration_counts(matched(previous, current)), tiers=tiers)


def migration_counts(both: pl.DataFrame) -> dict[tuple[str, str], int]:
    """The customers of :func:`matched` counted by (tier before, tier now)."""
    counts = both.group_by("previous_value_tier", "value_tier").len()
    return {(a, b): int(n) for a, b, n in counts.iter_rows()}


def migration_table(
    counts: Mapping[tuple[str, str], int], *, tiers: Sequence[str]
) -> dict[str, dict[str, int]]:
    """:func:`tier_migration` of the customers counted by (tier before, tier now)."""
    seen = {t for pair in counts for t in pair if t not in (NEW, GONE)}
    order = list(tiers) + sorted(t for t in seen if t not in tiers)
    return {
        a: {b: counts.get((a, b), 0) for b in [*order, GONE] if not (a == NEW and b == GONE)}
        for a in [*order, NEW]
    }


def kpi_changes(previous: Mapping[str, Any], current: Mapping[str, Any]) -> dict[str, dict]:
    """Each headline KPI (:data:`KPI_KEYS`) with ``previous``, ``current``, ``change`` and
    ``relative_change`` (change / previous; None when previous is 0 or a value is missing)."""
    out: dict[str, dict] = {}
    for key in KPI_KEYS:
        a, b = previous.get(key), current.get(key)
        change = b - a if a is not None and b is not None else None
        relative = change / a if change is not None and a else None
        out[key] = {"previous": a, "current": b, "change": change, "relative_change": relative}
    return out


def slipped_top(previous: RunState, current: RunState, *, top_tier: str) -> pl.DataFrame:
    """Customers of the previous run's ``top_tier`` (by predicted CLV) who left it (to a lower
    tier, or gone) or are on this run's at-risk list; largest previous predicted CLV first.

    Columns: those of :func:`matched` and ``clv_change`` (now - before, null when gone).
    """
    both = matched(previous, current)
    was_top, is_top = pl.col("previous_value_tier") == top_tier, pl.col("value_tier") == top_tier
    out = both.filter(was_top & (~is_top | pl.col("at_risk")))
    return out.with_columns((pl.col("clv") - pl.col("previous_clv")).alias("clv_change")).sort(
        ["previous_clv", "customer_id"], descending=[True, False], nulls_last=True
    )


def new_top(previous: RunState, current: RunState, *, top_tier: str) -> pl.DataFrame:
    """Customers in ``top_tier`` (by predicted CLV) now who were not before (a lower tier, or
    new); largest predicted CLV first. Columns: those of :func:`matched` (``orders``: a
    one-time buyer's predicted value rests on one order) and ``clv_change``."""
    both = matched(previous, current)
    is_top, was_top = pl.col("value_tier") == top_tier, pl.col("previous_value_tier") == top_tier
    out = both.filter(is_top & ~was_top)
    return out.with_columns((pl.col("clv") - pl.col("previous_clv")).alias("clv_change")).sort(
        ["clv", "customer_id"], descending=[True, False], nulls_last=True
    )


def channel_changes(
    previous: Mapping[str, Mapping[str, Any]] | None,
    current: Mapping[str, Mapping[str, Any]] | None,
) -> pl.DataFrame | None:
    """Channel quality before and now: each channel's customers, ``share_good_clv`` (share of
    its customers in the top tier by predicted CLV, the tiers of :func:`tier_migration`) and
    ``mean_clv``, the change of ``share_good_clv`` in percentage points and whether it is
    within noise (binomial standard errors of the two shares).

    ``previous``/``current``: the ``channels`` of ``kpis.json``. None when either has none, or
    has no ``share_good_clv`` (a run of clv before 0.3.0: its channels were ranked by past
    revenue only, a basis the rest of the comparison does not use).
    """
    if not previous or not current:
        return None
    for channels in (previous, current):
        if any("share_good_clv" not in (row or {}) for row in channels.values()):
            return None
    rows = []
    for name in sorted(set(previous) | set(current)):
        a, b = previous.get(name) or {}, current.get(name) or {}
        pa, pb = a.get("share_good_clv"), b.get("share_good_clv")
        na, nb = a.get("customers"), b.get("customers")
        change = within = z = None
        if pa is not None and pb is not None:
            change = pb - pa
            se = math.sqrt(_binomial_var(pa, na) + _binomial_var(pb, nb))
            z = change / se if se > 0 else None
            within = abs(z) < NOISE_Z if z is not None else change == 0
        rows.append(
            {
                "channel": name,
                "previous_customers": na,
                "customers": nb,
                "previous_share_good_clv": pa,
                "share_good_clv": pb,
                "share_good_clv_change": change,
                "z": z,
                "within_noise": within,
                "previous_mean_clv": a.get("mean_clv"),
                "mean_clv": b.get("mean_clv"),
            }
        )
    return pl.DataFrame(rows, infer_schema_length=None)


def _binomial_var(p: float, n: Any) -> float:
    return p * (1 - p) / n if isinstance(n, int | float) and n > 0 else 0.0


def parameter_drift(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any] | None
) -> list[dict[str, Any]]:
    """How far each model parameter moved, in standard errors of the change.

    Each sub-model (the purchase model, ``gamma_gamma``) gives one record per parameter:
    ``model``, ``parameter``, ``previous``, ``current``, ``change``, ``z`` (change over the
    two standard errors combined), ``within_noise`` and ``form``: ``"fitted"`` (both runs
    fitted it in full), ``"limit"`` (at its limit in both), ``"limit to fitted"`` or
    ``"fitted to limit"`` (a switch between a limit of the model and the full model; no
    ``z``). A change of purchase model gives one record with ``form`` ``"model changed"``
    and the two names in ``previous``/``current``. Empty without both documents.
    """
    if not previous or not current:
        return []
    out: list[dict[str, Any]] = []
    before, now = previous.get("purchase_model"), current.get("purchase_model")
    subs = ["gamma_gamma"]
    if before == now:
        subs.insert(0, str(now))
    else:
        out.append(
            {
                "model": "purchase",
                "parameter": None,
                "previous": before,
                "current": now,
                "change": None,
                "z": None,
                "within_noise": None,
                "form": "model changed",
            }
        )
    for sub in subs:
        a, b = previous.get(sub) or {}, current.get(sub) or {}
        edges_a = set((previous.get("at_boundary") or {}).get(sub) or [])
        edges_b = set((current.get("at_boundary") or {}).get(sub) or [])
        se_a = (previous.get("standard_errors") or {}).get(sub) or {}
        se_b = (current.get("standard_errors") or {}).get(sub) or {}
        for name in a:
            if name not in b:
                continue
            x, y = float(a[name]), float(b[name])
            form = {
                (False, False): "fitted",
                (True, True): "limit",
                (True, False): "limit to fitted",
                (False, True): "fitted to limit",
            }[(name in edges_a, name in edges_b)]
            z = within = None
            if form == "fitted":
                se = math.sqrt(_square(se_a.get(name)) + _square(se_b.get(name)))
                if math.isfinite(se) and se > 0:
                    z = (y - x) / se
                    within = abs(z) < NOISE_Z
            out.append(
                {
                    "model": sub,
                    "parameter": name,
                    "previous": x,
                    "current": y,
                    "change": y - x,
                    "z": z,
                    "within_noise": within,
                    "form": form,
                }
            )
    return out


def _square(se: Any) -> float:
    return float(se) ** 2 if isinstance(se, int | float) else math.nan


def at_risk_changes(previous: RunState, current: RunState) -> dict[str, int]:
    """The at-risk list then and now: ``previous`` and ``current`` (customers on each run's
    list) and ``still`` (on both)."""
    return {
        "previous": len(previous.at_risk),
        "current": len(current.at_risk),
        "still": len(previous.at_risk & current.at_risk),
    }


LIST_ROWS = 100
"""The customers of ``slipped_top`` and ``new_top`` a comparison keeps (the largest first);
their counts (:class:`CustomerChanges`) cover every customer."""


@dataclass(frozen=True)
class CustomerChanges:
    """The customers of two runs compared, in a few rows and numbers (what ``changes.json``
    holds of them; :func:`customer_changes`, or an engine's own).

    ``migration``: customers by (tier before, tier now) (:func:`migration_counts`);
    ``slipped_top``/``new_top``: the first :data:`LIST_ROWS` rows of :func:`slipped_top` and
    :func:`new_top`; ``slipped_counts``: ``slipped``, ``left_tier`` and ``at_risk_in_tier``
    (slipped customers who left the top tier, and who stayed in it but are at risk);
    ``new_top_counts``: ``new_top``, ``new_customers`` (new in the data) and
    ``bought_once``; ``at_risk``: :func:`at_risk_changes`.
    """

    migration: Mapping[tuple[str, str], int]
    slipped_top: pl.DataFrame
    slipped_counts: Mapping[str, int]
    new_top: pl.DataFrame
    new_top_counts: Mapping[str, int]
    at_risk: Mapping[str, int]


def slipped_counts(slipped: pl.DataFrame, *, top_tier: str) -> dict[str, int]:
    """``slipped``, ``left_tier`` and ``at_risk_in_tier`` of the rows of :func:`slipped_top`."""
    left = int((slipped["value_tier"] != top_tier).sum())
    return {"slipped": slipped.height, "left_tier": left, "at_risk_in_tier": slipped.height - left}


def new_top_counts(new: pl.DataFrame) -> dict[str, int]:
    """``new_top``, ``new_customers`` and ``bought_once`` of the rows of :func:`new_top`."""
    fresh = int((new["previous_value_tier"] == NEW).sum())
    once = int((new["orders"] == 1).sum())
    return {"new_top": new.height, "new_customers": fresh, "bought_once": once}


def customer_changes(previous: RunState, current: RunState, *, top_tier: str) -> CustomerChanges:
    """:class:`CustomerChanges` of two runs' customers (:func:`matched`)."""
    slipped = slipped_top(previous, current, top_tier=top_tier)
    new = new_top(previous, current, top_tier=top_tier)
    return CustomerChanges(
        migration=migration_counts(matched(previous, current)),
        slipped_top=slipped.head(LIST_ROWS),
        slipped_counts=slipped_counts(slipped, top_tier=top_tier),
        new_top=new.head(LIST_ROWS),
        new_top_counts=new_top_counts(new),
        at_risk=at_risk_changes(previous, current),
    )


def changes(previous: RunState, current: RunState, *, tiers: Sequence[str]) -> dict[str, Any]:
    """:func:`document` of two runs (:func:`customer_changes`). ``tiers``: the value tiers
    from the top down."""
    return document(
        previous.kpis,
        current.kpis,
        customer_changes(previous, current, top_tier=tiers[0]),
        previous_model=previous.model,
        current_model=current.model,
        tiers=tiers,
    )


def document(
    previous_kpis: Mapping[str, Any],
    current_kpis: Mapping[str, Any],
    customers: CustomerChanges,
    *,
    previous_model: Mapping[str, Any] | None,
    current_model: Mapping[str, Any] | None,
    tiers: Sequence[str],
) -> dict[str, Any]:
    """Everything that changed, as plain values (``changes.json`` without its run names):
    ``basis`` (:data:`BASIS`: what ranks every tier below), ``tier_migration``,
    ``kpi_changes``, ``slipped_top`` and ``new_top`` (the first :data:`LIST_ROWS` rows of
    :func:`slipped_top` and :func:`new_top`) with ``slipped_top_counts`` and
    ``new_top_counts`` (all of them), ``channel_changes`` (rows or None), ``at_risk``
    (:func:`at_risk_changes`) and ``parameter_drift``. ``tiers``: the value tiers from the
    top down."""
    channels = channel_changes(previous_kpis.get("channels"), current_kpis.get("channels"))
    return {
        "basis": BASIS,
        "tier_migration": migration_table(customers.migration, tiers=tiers),
        "kpi_changes": kpi_changes(previous_kpis, current_kpis),
        "slipped_top": customers.slipped_top.to_dicts(),
        "slipped_top_counts": dict(customers.slipped_counts),
        "new_top": customers.new_top.to_dicts(),
        "new_top_counts": dict(customers.new_top_counts),
        "channel_changes": None if channels is None else channels.to_dicts(),
        "at_risk": dict(customers.at_risk),
        "parameter_drift": parameter_drift(previous_model, current_model),
    }
