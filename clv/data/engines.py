"""``engine="spark"``: the one place where a lower layer reaches the Spark engine.

:func:`clv.data.rfm.rfm_summary`, :func:`clv.data.rfm.calibration_holdout` and
:func:`clv.models.fitting.fit` take ``engine="spark"`` and hand their Spark DataFrame to
:mod:`clv.engines.spark`. It is imported here on first use, so the one-machine path never
imports pyspark; the architecture test allows this single upward import.
"""

from types import ModuleType
from typing import Literal

from clv.errors import UsageError

DataEngine = Literal["polars", "spark"]


def spark_engine(engine: str) -> ModuleType:
    """:mod:`clv.engines.spark` for ``engine="spark"`` (a one-line error without pyspark)."""
    if engine != "spark":
        raise UsageError(f"engine must be 'polars' or 'spark', not {engine!r}")
    import clv.engines.spark

    return clv.engines.spark
