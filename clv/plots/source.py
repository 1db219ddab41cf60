"""What a plot draws from: the frame it is given, or the frame its ``*_frame`` function makes
of a fitted model (a grouped model's pooled one)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import polars as pl

from clv.errors import UsageError

if TYPE_CHECKING:
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def fitted(model: ClvModel | GroupedClvModel) -> ClvModel:
    """The model itself, or a grouped model's pooled one (fitted on every customer)."""
    return cast("ClvModel", getattr(model, "pooled", model))


def frame_of(
    model_or_frame: Any, make: Callable[..., pl.DataFrame], *args: Any, **kwargs: Any
) -> pl.DataFrame:
    """``model_or_frame`` if it is a frame (the report's way), else ``make(model, ...)``;
    ``UsageError`` naming the data ``make`` needs when it is not given with a model."""
    if isinstance(model_or_frame, pl.DataFrame):
        return model_or_frame
    params = list(inspect.signature(make).parameters.values())[1:]
    given = {**dict(zip((p.name for p in params), args, strict=False)), **kwargs}
    required = [p.name for p in params if p.default is inspect.Parameter.empty]
    missing = [n for n in required if given.get(n) is None]
    if missing:
        needs = " and ".join(f"{m}=" for m in missing)
        raise UsageError(
            f"{make.__name__.removesuffix('_frame')}: pass {needs} with the model "
            "(or pass the frame instead of the model)"
        )
    return make(model_or_frame, *args, **kwargs)
