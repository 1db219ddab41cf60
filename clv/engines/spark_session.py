"""The Spark session of the Spark engine: the active one (a cluster), else a local one.

Importing this module imports pyspark; without the ``spark`` extra it raises the one-line
:class:`~clv.errors.UsageError` that says how to install it. Nothing of the one-machine path
imports it.
"""

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from clv.errors import UsageError

try:  # every module of the Spark engine imports pyspark from here
    from pyspark.errors import AnalysisException, PySparkRuntimeError
    from pyspark.sql import Column, DataFrame, Row, SparkSession, Window
    from pyspark.sql import functions as sf
    from pyspark.sql import types as st
except ImportError:
    raise UsageError(
        "the Spark engine needs pyspark: pip install 'clv[spark]' (and a Java 17+ runtime)"
    ) from None

__all__ = [
    "LEGACY_CHARSETS",
    "AnalysisException",
    "Column",
    "DataFrame",
    "Row",
    "SparkSession",
    "Window",
    "sf",
    "spark_session",
    "st",
]

LEGACY_CHARSETS = "spark.sql.legacy.javaCharsets"
"""The setting that lets Spark's CSV reader decode Java's code pages (cp1250, cp1252, ...)."""

LOCAL_DEFAULTS = {
    "spark.sql.session.timeZone": "UTC",
    LEGACY_CHARSETS: "true",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "4",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": "2g",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
"""Settings of a local session (each overridable): UTC, so that timestamps keep the calendar
day written in the data (read in another zone, a timestamp can shift a day); a few shuffle
partitions, not 200 (each costs a task: 2-8 suit one machine); no web UI; Java's code pages
for CSV files in cp1250 or cp1252."""


LOG_CONFIG = Path(__file__).with_name("log4j2.properties")
"""Spark's logging in a local session: errors only, without stack traces (clv prints one line)."""
_QUIET = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"


def spark_session(
    *, master: str | None = None, conf: Mapping[str, str] | None = None
) -> SparkSession:
    """The active SparkSession, or a new local one.

    Parameters
    ----------
    master
        ``None`` uses the active session when there is one (``spark-submit``, a notebook on a
        cluster), else starts ``local[*]``; a URL (``local[2]``, ``spark://host:7077``,
        ``yarn``) starts a session there.
    conf
        Spark settings, over :data:`LOCAL_DEFAULTS` for a local session and applied to the
        active session's SQL settings otherwise.

    Starting a local session costs 7-9 s. The workers run this interpreter
    (``PYSPARK_PYTHON``), and a local session binds to 127.0.0.1 (``SPARK_LOCAL_IP``) unless
    those are set.
    """
    conf = dict(conf or {})
    active = SparkSession.getActiveSession()
    if active is not None and master is None:
        for key, value in conf.items():
            active.conf.set(key, value)
        return active
    master = master or "local[*]"
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    builder = SparkSession.builder.master(master).appName("clv")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        conf = LOCAL_DEFAULTS | {"spark.driver.extraJavaOptions": _QUIET} | conf
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except PySparkRuntimeError as e:
        if "JAVA" not in str(e).upper():
            raise
        raise UsageError(
            "Spark could not start Java: install a Java 17+ runtime (Debian: apt-get install "
            "default-jre-headless) or set JAVA_HOME"
        ) from None
    if master.startswith("local"):
        session.sparkContext.setLogLevel("ERROR")
    return session
