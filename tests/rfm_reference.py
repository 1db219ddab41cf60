"""The calibration/holdout split as it was before it grouped on the summary's integer keys (a
summary of the calibration rows, sorted by id, joined by id with the holdout's totals): the
reference the keyed path must equal, bit for bit."""

import numpy as np
import polars as pl

from clv.data.period import DateLike, TimeUnit, as_date, resolve_period
from clv.data.rfm import _per_customer_keyed, _rfm_summary_keyed


def calibration_holdout(
    transactions: pl.DataFrame | pl.LazyFrame,
    *,
    calibration_end: DateLike,
    observation_end: DateLike | None = None,
    time_unit: TimeUnit = "W",
) -> pl.DataFrame:
    """:func:`clv.data.rfm.calibration_holdout`, by id."""
    cal_end = as_date(calibration_end, "calibration_end")
    period = resolve_period(
        transactions, observation_end=observation_end, time_unit=time_unit, calibration_end=cal_end
    )
    end = period.observation_end
    calibration = _rfm_summary_keyed(transactions, end=cal_end, time_unit=period.time_unit)[0]
    in_holdout = (pl.col("date") > cal_end) & (pl.col("date") <= end)
    holdout = _per_customer_keyed(transactions.lazy().filter(in_holdout))[0].select(
        "customer_id",
        frequency_holdout=pl.col("occasions"),
        monetary_value_holdout=pl.col("revenue") / pl.col("occasions"),
    )
    duration = (end - cal_end).days / period.unit_days
    return calibration.join(
        holdout, on="customer_id", how="left", maintain_order="left"
    ).with_columns(
        pl.col("frequency_holdout").fill_null(0),
        pl.col("monetary_value_holdout").fill_null(0.0),
        duration_holdout=pl.lit(duration),
    )


def bits(frame: pl.DataFrame) -> dict[str, list]:
    """Each column's values, the floats as their 64-bit patterns (so -0.0 != 0.0, NaN == NaN)."""
    return {
        name: col.to_numpy().view(np.uint64).tolist() if col.dtype == pl.Float64 else col.to_list()
        for name, col in frame.to_dict().items()
    }
