"""Frames at the door: every public function that takes a table accepts a polars DataFrame or
LazyFrame or a pandas DataFrame, and works on a polars DataFrame from there on."""

from __future__ import annotations

from typing import Any

import polars as pl

from clv.errors import UsageError

Frame = pl.DataFrame | pl.LazyFrame | Any
"""What a public function accepts as a table (``Any``: a pandas DataFrame, not imported)."""

CANONICAL_COLUMNS = ("order_id", "channel", "product", "loyalty", "margin")
"""Optional transaction columns under clv's own names, as :func:`clv.read_transactions` makes."""


def is_pandas(frame: object) -> bool:
    """Whether ``frame`` is a pandas DataFrame (pandas is not imported to tell)."""
    return type(frame).__module__.startswith("pandas") and hasattr(frame, "columns")


def as_polars(frame: Frame, argument: str) -> pl.DataFrame:
    """``frame`` as a polars DataFrame: a LazyFrame is collected, a pandas DataFrame converted
    (its index dropped). Anything else is a :class:`UsageError` naming ``argument``."""
    if isinstance(frame, pl.DataFrame):
        return frame
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if is_pandas(frame):
        return pl.from_pandas(frame.rename(columns=str), include_index=False)
    raise UsageError(
        f"{argument}= must be a polars DataFrame or LazyFrame or a pandas DataFrame, "
        f"not {type(frame).__name__}"
    )


def read_columns(frame: pl.DataFrame) -> dict[str, str]:
    """The ``*_col`` keywords that read a frame already in clv's column names, so that
    :func:`clv.read_transactions` checks it and keeps its optional columns."""
    return {f"{c.removesuffix('_id')}_col": c for c in CANONICAL_COLUMNS if c in frame.columns}
