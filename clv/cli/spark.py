"""``--engine spark``: the same jobs on Apache Spark (:mod:`clv.engines.spark_jobs`)."""

import argparse

from clv.cli.options import given_parameters
from clv.errors import UsageError
from clv.params import defaults

SPARK_READ = (
    "customer_col",
    "date_col",
    "amount_col",
    "order_col",
    "date_format",
    "separator",
    "negative_amounts",
)
"""The reading options the Spark engine supports (the rest are refused with one line)."""


def add_engine(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("engine")
    g.add_argument(
        "--engine",
        choices=["polars", "spark"],
        default="polars",
        help="polars (this machine, default) or spark (Apache Spark: needs clv[spark])",
    )
    g.add_argument(
        "--spark-master",
        metavar="URL",
        help="Spark master, e.g. local[4] or yarn (default: the active session, else local[*])",
    )
    g.add_argument(
        "--spark-conf",
        action="append",
        metavar="KEY=VALUE",
        help="a Spark setting, e.g. spark.sql.shuffle.partitions=64 (repeat for more)",
    )


def spark(args: argparse.Namespace) -> str:
    """Run the command on Spark; returns what was written, in words."""
    given = defaults() | given_parameters(args)
    if given["margin_col"]:
        raise UsageError("--margin-col is not supported with --engine spark; pass --margin")
    if given["purchase_model"] != "bgnbd" or given["by"]:
        raise UsageError("--engine spark fits BG/NBD without --by; leave those options out")
    from clv.engines.spark_jobs import spark_job
    from clv.engines.spark_session import parse_conf

    score = args.command == "score"
    return spark_job(
        args.command,
        args.file,
        read={key: given[key] for key in SPARK_READ},
        observation_end=given["observation_end"],
        time_unit=given["time_unit"] if "time_unit" in args else None,
        out=args.out,
        overwrite=args.overwrite,
        penalizer=given["penalizer"],
        model_path=getattr(args, "model", None),
        score={
            "horizon": given["horizon"],
            "horizon_unit": given["horizon_unit"],
            "discount_rate_annual": given["discount_rate_annual"],
            "margin": 1.0 if given["margin"] is None else given["margin"],
        }
        if score
        else None,
        master=args.spark_master,
        conf=parse_conf(args.spark_conf),
    )
