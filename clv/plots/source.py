"""What a plot draws from: the frame it is given, or the frame its ``*_frame`` function makes
of a fitted model (a grouped model's pooled one)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import polars as pl

if TYPE_CHECKING:
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def fitted(model: ClvModel | GroupedClvModel) -> ClvModel:
    """The model itself, or a grouped model's pooled one (fitted on every customer)."""
    return cast("ClvModel", getattr(model, "pooled", model))


def frame_of(
    model_or_frame: Any, make: Callable[..., pl.DataFrame], *args: Any, **kwargs: Any
) -> pl.DataFrame:
    """``model_or_frame`` if it is a frame (the report's way), else ``make(model, ...)``."""
    if isinstance(model_or_frame, pl.DataFrame):
        return model_or_frame
    return make(model_or_frame, *args, **kwargs)
