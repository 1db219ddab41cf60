"""Per-group models: one purchase model and one Gamma-Gamma per channel (or loyalty group).

A group with fewer than :data:`MIN_GROUP_CUSTOMERS` customers or
:data:`MIN_GROUP_REPEAT_BUYERS` repeat buyers, or whose fit does not converge, is scored by
the pooled model (fitted on every customer), and the model says which groups are and why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np
import polars as pl

from clv.data.frames import Frame, as_polars
from clv.data.rfm import TimeUnit
from clv.errors import DataError, ModelError, UsageError
from clv.models.cashflows import MONTH_DAYS, MoneyOptions, cash_flow_grid
from clv.models.diagnostics import warn as warn_diagnostics
from clv.models.draws import DRAWS, IntervalMethod
from clv.models.intervals import interval_scores
from clv.models.model import ClvModel
from clv.models.threads import run_all

MIN_GROUP_CUSTOMERS = 200
"""Fewest customers for a group's own model (BG/NBD has four parameters to estimate)."""

MIN_GROUP_REPEAT_BUYERS = 50
"""Fewest repeat buyers for a group's own model (Gamma-Gamma is fitted on them alone)."""


def _missing(by: str) -> DataError:
    return DataError(
        f"summary: no {by!r} column to group customers by; add it with "
        f"clv.with_customer_group(summary, transactions, by={by!r})"
    )


_SCORE_INPUTS = ("customer_id", "frequency", "recency", "T", "monetary_value", "time_unit")
"""The columns :meth:`ClvModel.score` reads (each group's rows are gathered from them only)."""


class _Money(MoneyOptions):
    discount_rate_monthly: float | None


@dataclass
class GroupedClvModel:
    """A :class:`ClvModel` per value of the column ``by``, the pooled model alongside.

    ``groups`` holds the groups with a model of their own; ``pooled_groups`` maps each other
    group to the reason it is scored by ``pooled``.
    """

    by: str
    pooled: ClvModel
    groups: dict[str, ClvModel]
    pooled_groups: dict[str, str]

    @property
    def time_unit(self) -> TimeUnit:
        return self.pooled.time_unit

    @property
    def purchase_model(self) -> str:
        """The purchase model of every group (chosen on the whole shop with ``"auto"``)."""
        return self.pooled.purchase_model

    @property
    def spec(self) -> Any:
        """The purchase model's spec (every group's: the same model)."""
        return self.pooled.spec

    @property
    def comparison(self) -> Any:
        """The purchase models' comparison on the whole shop (``"auto"``), else None."""
        return self.pooled.comparison

    @property
    def diagnostics(self) -> list[dict[str, Any]]:
        """The pooled model's diagnostics, then each group's (its name first), then one per
        group scored by the pooled model, saying why."""
        out = list(self.pooled.diagnostics)
        for name, model in self.groups.items():
            out += [
                d
                | {
                    "message": f"{self.by} {name}: {d['message']}",
                    "values": {**d.get("values", {}), "by": self.by, "group": name},
                }
                for d in model.diagnostics
            ]
        out += [
            {
                "code": "pooled_group",
                "message": f"{self.by} {name} uses the pooled model: {why}",
                "values": {"by": self.by, "group": name},
            }
            for name, why in self.pooled_groups.items()
        ]
        return out

    def _repr_html_(self) -> str:
        from clv.models.explore import grouped_html

        return grouped_html(self)

    def model_of(self, group: str) -> ClvModel:
        """The group's model, or the pooled one (for a small or unseen group)."""
        return self.groups.get(group, self.pooled)

    def probability_at_least(
        self, summary: pl.DataFrame, *, t: float, k: int = 1, time_unit: TimeUnit | None = None
    ) -> np.ndarray:
        """P(at least ``k`` purchases in the next ``t`` model time units) per row, each row by
        its group's model (``summary`` carries the column ``by``)."""
        out = np.empty(summary.height)
        groups = summary[self.by].cast(pl.String)
        for name in groups.unique().to_list():
            rows = (groups == name).to_numpy()
            model = self.model_of(name)
            out[rows] = model.probability_at_least(
                summary.filter(rows), t=t, k=k, time_unit=time_unit
            )
        return out

    def score(
        self,
        summary: Frame,
        *,
        horizon: float,
        horizon_unit: TimeUnit = "M",
        discount_rate_annual: float = 0.10,
        margin: float = 1.0,
        month_days: float = MONTH_DAYS,
        discount_rate_monthly: float | None = None,
        time_unit: TimeUnit | None = None,
        interval: float | None = None,
        interval_method: IntervalMethod = "normal",
        draws: int = DRAWS,
        seed: int = 1,
        prediction_interval: float | None = None,
    ) -> pl.DataFrame:
        """:meth:`ClvModel.score` of each customer by their group's model, in the order of
        ``summary``, with the group column after ``customer_id``; intervals drawn per model."""
        summary = as_polars(summary, "summary")
        if self.by not in summary.columns:
            raise _missing(self.by)
        money: _Money = {
            "horizon": horizon,
            "horizon_unit": horizon_unit,
            "discount_rate_annual": discount_rate_annual,
            "month_days": month_days,
            "discount_rate_monthly": discount_rate_monthly,
        }
        grid = cash_flow_grid(model_unit=self.time_unit, **money)
        if summary.height == 0:
            raise DataError("summary: no customers")
        group = summary[self.by].cast(pl.String)
        inputs = summary.select(c for c in summary.columns if c in _SCORE_INPUTS)
        base, computed = list[str](), dict[str, np.ndarray]()
        for name in group.unique(maintain_order=True).to_list():
            mask = group.is_null() if name is None else group == name
            rows = np.flatnonzero(mask.to_numpy())
            scorer = self.pooled if name is None else self.model_of(name)
            part = scorer.score(
                inputs[rows],
                margin=margin,
                time_unit=time_unit,
                prediction_interval=prediction_interval,
                seed=seed,
                **money,
            )
            base = [c for c in part.columns if c in inputs.columns]
            for column in part.columns[len(base) :]:  # put back in the rows of ``summary``
                values = part[column].to_numpy()
                computed.setdefault(column, np.empty(summary.height))[rows] = values
        scores = summary.select(base).with_columns(pl.Series(k, v) for k, v in computed.items())
        if interval is not None:
            scores = interval_scores(
                self.pooled,
                summary,
                scores,
                grid=grid,
                interval=interval,
                method=interval_method,
                draws=draws,
                seed=seed,
                by=self.by,
                group_models=self.groups,
            )[0]
        at = 1 if "customer_id" in scores.columns else 0
        return scores.insert_column(at, summary[self.by].cast(pl.String))

    # ---- persistence ----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The pooled model's document plus ``by`` and ``groups``: ``{name: model}`` for the
        groups with their own model, ``{name: {"uses_pooled": reason}}`` for the others."""
        groups: dict[str, Any] = {name: m.to_dict() for name, m in self.groups.items()}
        groups |= {name: {"uses_pooled": why} for name, why in self.pooled_groups.items()}
        return self.pooled.to_dict() | {"by": self.by, "groups": groups}

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False) -> Path:
        """Write one model.json, atomically; an existing file is kept unless ``overwrite``."""
        from clv.data.write import atomic_output

        path = Path(path)
        with atomic_output(path, overwrite=overwrite) as tmp:
            tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path


def load_model(path: str | os.PathLike[str]) -> ClvModel | GroupedClvModel:
    """A model file written by ``save``: a :class:`GroupedClvModel` when it has ``groups``."""
    pooled = ClvModel.load(path)
    doc = json.loads(Path(path).read_text())
    if "groups" not in doc:
        return pooled
    groups, pooled_groups = {}, {}
    if not isinstance(doc["groups"], dict) or not isinstance(doc.get("by"), str):
        raise ModelError(f"{path}: keys 'by' and 'groups' must be a name and an object")
    for name, block in doc["groups"].items():
        if isinstance(block, dict) and "uses_pooled" in block:
            pooled_groups[name] = str(block["uses_pooled"])
        elif isinstance(block, dict):
            groups[name] = ClvModel.from_dict(block, source=f"{path}: group {name!r}")
        else:
            raise ModelError(f"{path}: group {name!r} must be an object; refit with clv fit --by")
    return GroupedClvModel(doc["by"], pooled, groups, pooled_groups)


def fit_by_group(
    summary: pl.DataFrame,
    *,
    by: str,
    fit_one: Callable[..., ClvModel],
    pooled: ClvModel | None = None,
) -> GroupedClvModel:
    """Fit ``fit_one`` on all of ``summary`` (pooled) and on each value of the column ``by``.

    Groups below :data:`MIN_GROUP_CUSTOMERS` customers or :data:`MIN_GROUP_REPEAT_BUYERS`
    repeat buyers, and groups whose fit raises ``ModelError``, use the pooled model.
    ``pooled``: ``fit_one(summary)`` when the caller has it already (not refitted). Each
    group's fit gets ``group="<by> '<value>'"`` (the pooled one ``"every <by> pooled"``),
    which its warnings start with. The fits run on threads, so ``fit_one`` must not warn
    (:func:`~clv.models.fitting.fit` with ``_warn=False``): each model's diagnostics are
    warned here, the pooled model's first, then the groups' in sorted order.
    """
    if by not in summary.columns:
        raise _missing(by)
    if summary[by].null_count():
        row = int(np.flatnonzero(summary[by].is_null().to_numpy())[0])
        raise DataError(f"summary row {row}: no {by}; fill it (e.g. 'unknown') before fitting")
    if pooled is not None and pooled.n_customers != summary.height:
        raise UsageError(
            f"pooled= was fitted on {pooled.n_customers:,} customers, the summary has "
            f"{summary.height:,}; pass the model fitted on this summary, or none"
        )
    key = pl.col(by).cast(pl.String)
    counts = (
        summary.group_by(key).agg(pl.len(), (pl.col("frequency") > 0).sum()).sort(by).iter_rows()
    )
    sizes = {str(name): (int(n), int(repeat)) for name, n, repeat in counts}
    return fit_groups(
        sizes,
        by=by,
        fit_group=lambda name, group: fit_one(summary.filter(key == name), group=group),
        fit_pooled=lambda group: fit_one(summary, group=group),
        pooled=pooled,
    )


def fit_groups(
    sizes: Mapping[str, tuple[int, int]],
    *,
    by: str,
    fit_group: Callable[[str, str], ClvModel],
    fit_pooled: Callable[[str], ClvModel],
    pooled: ClvModel | None = None,
) -> GroupedClvModel:
    """:func:`fit_by_group` from each group's size: ``sizes`` maps each group to its
    customers and repeat buyers; ``fit_group(name, group)`` fits the group ``name`` and
    ``fit_pooled(group)`` every customer (``group``: the words its warnings start with),
    neither warning; ``pooled``: the pooled model when the caller has it. The entry point
    of engines that hold the customers elsewhere (Spark: each group's distinct rows)."""
    names = sorted(sizes)

    def fit_one_group(name: str) -> ClvModel | ModelError | str:
        """The group's model, why its fit failed, or why it is too small for one."""
        customers, repeat = sizes[name]
        if customers < MIN_GROUP_CUSTOMERS or repeat < MIN_GROUP_REPEAT_BUYERS:
            return (
                f"{customers:,} customers and {repeat:,} repeat buyers (a model of its own "
                f"needs {MIN_GROUP_CUSTOMERS} and {MIN_GROUP_REPEAT_BUYERS})"
            )
        try:
            return fit_group(name, f"{by} {name!r}")
        except ModelError as e:
            return e

    # the fits are independent and spend their time in NumPy and SciPy, which release the
    # GIL: on threads they share the cores (warnings from threads would come in any order)
    every = f"every {by} pooled"
    tasks: list[Callable[[], ClvModel | ModelError | str]] = [
        partial(fit_one_group, n) for n in names
    ]
    first, *results = run_all([lambda: pooled if pooled is not None else fit_pooled(every), *tasks])
    model = cast(ClvModel, first)  # the pooled fit raises rather than return its error
    if pooled is None:
        warn_diagnostics(model.diagnostics, group=every)
    groups, pooled_groups = {}, {}
    for name, result in zip(names, results, strict=True):
        if isinstance(result, ClvModel):
            warn_diagnostics(result.diagnostics, group=f"{by} {name!r}")
            groups[name] = result
        elif isinstance(result, ModelError):
            pooled_groups[name] = f"its fit failed: {result}"
        else:
            pooled_groups[name] = result
    return GroupedClvModel(by, model, groups, pooled_groups)
