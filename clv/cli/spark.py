"""``--engine spark``: the same jobs on Apache Spark (:mod:`clv.engines.spark_jobs`), in the
session of ``--spark-master`` and ``--spark-conf``."""

import argparse
from pathlib import Path
from typing import Any, Literal

from clv.params import defaults

DISTRIBUTED = ("bgnbd", "mbgnbd", "pareto_nbd")
"""Purchase models ``summarize/fit/score --engine spark`` fit from Spark's distinct rows."""


def distributed(args: argparse.Namespace, given: dict[str, Any]) -> bool:
    """Whether ``summarize/fit/score --engine spark`` runs every step on Spark (``given``: the
    options given, read and checked once by the command): the models it fits from distinct
    rows, without ``--by``, a margin column or intervals (those run :func:`clv.analyze` with
    ``engine="spark"``: read and checked on Spark, then analysed on the driver)."""
    given = defaults() | given
    return (
        given["engine"] == "spark"
        and args.command in ("summarize", "fit", "score")
        and given["purchase_model"] in DISTRIBUTED
        and not given["by"]
        and not given["margin_col"]
        and given.get("interval") is None
    )


def spark(args: argparse.Namespace, given: dict[str, Any]) -> str:
    """Run the command on Spark with the options ``given``; returns what was written, in
    words."""
    given = defaults() | given
    from clv.analysis.pipeline import READ_KEYWORDS
    from clv.engines.spark_jobs import spark_job

    score = args.command == "score"
    read = {key: given[key] for key in READ_KEYWORDS}
    return spark_job(
        args.command,
        args.file,
        read=read,
        observation_end=given["observation_end"],
        time_unit=given["time_unit"] if "time_unit" in args else None,
        out=args.out,
        overwrite=args.overwrite,
        penalizer={"purchase": given["penalizer"], "gamma_gamma": given["gg_penalizer"]},
        purchase_model=given["purchase_model"],
        model_path=getattr(args, "model", None),
        score={
            "horizon": given["horizon"],
            "horizon_unit": given["horizon_unit"],
            "discount_rate_annual": given["discount_rate_annual"],
            "margin": 1.0 if given["margin"] is None else given["margin"],
        }
        if score
        else None,
        master=given["spark_master"],
        conf=given["spark_conf"],
    )


def write_table(
    analysis: Any, table: Literal["summary", "scores", "segments"], out: Path, *, overwrite: bool
) -> int | None:
    """Write the ``table`` of ``clv summarize``, ``score`` or ``segments`` with ``--engine
    spark`` from Spark (:func:`clv.engines.spark_jobs.write`: a Parquet folder from the
    workers, or one ``.csv``/``.parquet`` file streamed to the driver in batches) and return
    the number of customers; None when the analysis has no Spark version of it (then the
    command writes the analysis's polars table)."""
    from clv.engines.spark_analysis import SparkAnalysis
    from clv.engines.spark_jobs import write

    if not isinstance(analysis, SparkAnalysis):
        return None
    if table == "summary":
        return write(analysis.spark_summary, out, overwrite=overwrite)
    if not analysis.segments_on_spark:
        return None
    frame = analysis.spark_scores if table == "scores" else analysis.spark_segments
    return write(frame, out, overwrite=overwrite)
