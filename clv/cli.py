"""clv: customer-value analytics from a transactions file (RFM, BG/NBD, CLV, KPIs, reports).

The ``clv`` command parses options, calls the library and writes the result.

Exit codes: 0 success, 1 a problem with the data or the model, 2 a usage error.
"""

import argparse
import signal
import sys
import traceback
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from clv import __version__
from clv.errors import ClvError, DataError, ModelError, UsageError

COLUMN_OPTIONS = {
    "customer_col": "customer_id",
    "date_col": "date",
    "amount_col": "amount",
    "order_col": None,
    "channel_col": None,
    "product_col": None,
    "loyalty_col": None,
    "margin_col": None,
}
"""The column-mapping options: the same names as the library keywords and notebook parameters."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block plus the error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _add_transactions(p: argparse.ArgumentParser, *, file_optional: bool = False) -> None:
    """The transactions file and how to read it (shared by every command that reads one)."""
    if file_optional:
        p.add_argument(
            "file", nargs="?", type=Path, help="transactions file (default: CDNOW sample)"
        )
    else:
        p.add_argument("file", type=Path, help="transactions file: .csv, .parquet or .ndjson")
    g = p.add_argument_group("columns and parsing")
    for key, default in COLUMN_OPTIONS.items():
        what = key.removesuffix("_col")
        g.add_argument(
            "--" + key.replace("_", "-"),
            default=default,
            metavar="NAME",
            help=f"column holding the {what}" + (f" (default: {default})" if default else ""),
        )
    g.add_argument("--date-format", metavar="FMT", help="strftime format, e.g. %%d/%%m/%%Y")
    g.add_argument("--separator", default=",", metavar="CHAR", help="CSV separator (default: ,)")
    g.add_argument(
        "--negative-amounts",
        choices=["error", "drop", "net"],
        default="error",
        help="what to do with refunds (default: error)",
    )


def _add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--observation-end", metavar="DATE", help="last day observed (default: last transaction)"
    )
    p.add_argument(
        "--time-unit",
        choices=["D", "W", "M"],
        help="days, weeks or months (default: W, or the unit of --model)",
    )


def _add_out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help=what)
    p.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")


def _read(args: argparse.Namespace):
    from clv.data.io import read_transactions

    return read_transactions(
        args.file,
        **{key: getattr(args, key) for key in COLUMN_OPTIONS},
        date_format=args.date_format,
        separator=args.separator,
        negative_amounts=args.negative_amounts,
    )


def _summarize(args: argparse.Namespace) -> None:
    from clv.data.write import write_frame

    if args.engine == "spark":
        return _spark(args)
    summary = _summary(args, _read(args), args.time_unit or "W")
    write_frame(summary, args.out, overwrite=args.overwrite)
    _done(args.out, f"{summary.height:,} customers")


def _summary(args: argparse.Namespace, transactions, time_unit: str):
    from clv.data.rfm import rfm_summary

    with _about(args.file):
        return rfm_summary(transactions, observation_end=args.observation_end, time_unit=time_unit)


@contextmanager
def _about(file: object) -> Iterator[None]:
    """Name the data file in a data or model error raised after it was read."""
    try:
        yield
    except (DataError, ModelError) as e:
        if file is None or str(file) in str(e):
            raise
        raise type(e)(f"{file}: {e}") from None


def _fit(args: argparse.Namespace) -> None:
    from clv.models.fitting import fit

    if args.engine == "spark":
        return _spark(args)
    summary = _summary(args, _read(args), args.time_unit or "W")
    with _about(args.file):
        model = fit(summary, penalizer=args.penalizer)
    model.save(args.out, overwrite=args.overwrite)
    bg, gg = model.bgnbd, model.gamma_gamma
    _done(
        args.out,
        f"BG/NBD r={bg['r']:.4g} alpha={bg['alpha']:.4g} a={bg['a']:.4g} b={bg['b']:.4g}; "
        f"Gamma-Gamma p={gg['p']:.4g} q={gg['q']:.4g} v={gg['v']:.4g}",
    )


def _scores(args: argparse.Namespace, transactions, model=None):
    """Fit (or load ``--model``) and score every customer over the horizon."""
    from clv.models.fitting import fit
    from clv.models.model import ClvModel

    if model is None and getattr(args, "model", None):
        model = ClvModel.load(args.model)
        if args.time_unit not in (None, model.time_unit):
            raise UsageError(
                f"{args.model}: the model was fitted in time unit {model.time_unit}, not "
                f"{args.time_unit}; leave out --time-unit or refit with clv fit --time-unit "
                f"{args.time_unit}"
            )
    unit = model.time_unit if model is not None else args.time_unit or "W"
    summary = _summary(args, transactions, unit)
    if args.margin_col and args.margin is not None:
        raise UsageError("give --margin or --margin-col, not both")
    margin = 1.0 if args.margin is None else args.margin
    if args.margin_col:  # the shop's margin rate over the observed period, from the column
        observed = transactions.filter(transactions["date"] <= summary["observation_end"][0])
        revenue = observed["amount"].sum()
        if revenue <= 0:
            raise DataError(
                f"{args.file}: revenue is {revenue} up to the observation end, so "
                f"column {args.margin_col!r} gives no margin rate; pass --margin"
            )
        margin = observed["margin"].sum() / revenue
    with _about(args.file):
        if model is None:
            model = fit(summary, penalizer=args.penalizer)
        scores = model.score(
            summary,
            horizon=args.horizon,
            horizon_unit=args.horizon_unit,
            discount_rate_annual=args.discount_rate,
            margin=margin,
        )
    return summary, scores


def _score(args: argparse.Namespace) -> None:
    from clv.data.write import write_frame

    if args.engine == "spark":
        return _spark(args)
    _, scores = _scores(args, _read(args))
    write_frame(scores, args.out, overwrite=args.overwrite)
    _done(args.out, f"{scores.height:,} customers, total CLV {scores['clv'].sum():,.2f}")


def _kpis(args: argparse.Namespace) -> None:
    from clv.analysis.kpis import headline_kpis
    from clv.data.io import read_channel_costs
    from clv.data.write import write_json

    costs = read_channel_costs(args.channel_costs) if args.channel_costs else None
    transactions = _read(args)
    _, scores = _scores(args, transactions)
    kpis = headline_kpis(
        transactions, scores, observation_end=args.observation_end, channel_costs=costs
    )
    write_json(args.out, kpis, overwrite=args.overwrite)
    _done(args.out, f"{kpis['customers']:,} customers, {kpis['orders']:,} orders")


def _segments(args: argparse.Namespace) -> None:
    from clv.analysis.segments import segment_table
    from clv.data.write import write_frame

    summary, scores = _scores(args, _read(args))
    segments = segment_table(summary, scores)
    write_frame(segments, args.out, overwrite=args.overwrite)
    _done(args.out, f"{segments.height:,} customers")


def _report(args: argparse.Namespace) -> None:
    from clv.report.parameters import notebook_path, parse_assignments
    from clv.report.runner import run_report

    parameters = parse_assignments(args.parameter)
    folder = run_report(
        args.file,
        notebook=args.notebook,
        parameters=parameters,
        out_dir=args.out,
        config=args.config,
        progress=sys.stderr.isatty(),
    )
    print(folder / f"{notebook_path(args.notebook).stem}.html")


def _add_engine(p: argparse.ArgumentParser) -> None:
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


_SPARK_READ = (
    "customer_col",
    "date_col",
    "amount_col",
    "order_col",
    "date_format",
    "separator",
    "negative_amounts",
)


def _spark(args: argparse.Namespace) -> None:
    """``--engine spark``: the same job on Apache Spark (:mod:`clv.engines.spark_jobs`)."""
    if getattr(args, "margin_col", None):
        raise UsageError("--margin-col is not supported with --engine spark; pass --margin")
    from clv.engines.spark_jobs import spark_job
    from clv.engines.spark_session import parse_conf

    score = args.command == "score"
    what = spark_job(
        args.command,
        args.file,
        read={key: getattr(args, key) for key in _SPARK_READ},
        observation_end=args.observation_end,
        time_unit=args.time_unit,
        out=args.out,
        overwrite=args.overwrite,
        penalizer=getattr(args, "penalizer", 0.0),
        model_path=getattr(args, "model", None),
        score={
            "horizon": args.horizon,
            "horizon_unit": args.horizon_unit,
            "discount_rate_annual": args.discount_rate,
            "margin": 1.0 if args.margin is None else args.margin,
        }
        if score
        else None,
        master=args.spark_master,
        conf=parse_conf(args.spark_conf),
    )
    _done(args.out, what)


def _done(path: Path, what: str) -> None:
    print(f"wrote {path} ({what})", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The ``clv`` argument parser with one sub-command per job."""
    parser = _Parser(prog="clv", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"clv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = commands.add_parser("summarize", help="one RFM row per customer (.csv or .parquet)")
    _add_transactions(p)
    _add_period(p)
    _add_out(p, "summary file: .csv or .parquet")
    _add_engine(p)
    p.set_defaults(run=_summarize)

    p = commands.add_parser("fit", help="fit BG/NBD and Gamma-Gamma, save the model as JSON")
    _add_transactions(p)
    _add_period(p)
    _add_penalizer(p)
    _add_out(p, "model file (.json)")
    _add_engine(p)
    p.set_defaults(run=_fit)

    p = commands.add_parser("score", help="P(alive), expected purchases, order value and CLV")
    _add_transactions(p)
    p.add_argument(
        "--model", type=Path, metavar="FILE", help="model from clv fit (default: fit now)"
    )
    _add_period(p)
    _add_penalizer(p)
    _add_horizon(p)
    _add_out(p, "scores file: .csv or .parquet")
    _add_engine(p)
    p.set_defaults(run=_score)

    p = commands.add_parser("kpis", help="headline KPIs, channels and loyalty as JSON")
    _add_transactions(p)
    _add_period(p)
    _add_penalizer(p)
    _add_horizon(p)
    p.add_argument(
        "--channel-costs",
        type=Path,
        metavar="FILE",
        help="acquisition cost per customer "
        "of each channel: .csv (channel,cost) or .json ({channel: cost})",
    )
    _add_out(p, "KPI file (.json)")
    p.set_defaults(run=_kpis)

    p = commands.add_parser("segments", help="one row per customer: tier, RFM cell and scores")
    _add_transactions(p)
    _add_period(p)
    _add_penalizer(p)
    _add_horizon(p)
    _add_out(p, "segments file: .csv or .parquet")
    p.set_defaults(run=_segments)

    p = commands.add_parser("report", help="run a report notebook and export shareable HTML")
    p.add_argument("file", nargs="?", type=Path, help="transactions file (default: CDNOW sample)")
    p.add_argument("--notebook", default="customer_value", help="customer_value or loyalty_review")
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML file of report parameters")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a report parameter (repeatable); names as in --config",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="folder of report runs (default: reports)",
    )
    p.set_defaults(run=_report)
    return parser


def _add_penalizer(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--penalizer",
        type=float,
        default=0.0,
        metavar="X",
        help="L2 penalty on the model parameters, as in lifetimes (default: 0)",
    )


def _add_horizon(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("horizon and money")
    g.add_argument(
        "--horizon", type=float, default=12, metavar="N", help="CLV horizon (default: 12)"
    )
    g.add_argument(
        "--horizon-unit",
        choices=["D", "W", "M"],
        default="M",
        help="unit of --horizon (default: M)",
    )
    g.add_argument(
        "--discount-rate",
        type=float,
        default=0.10,
        metavar="X",
        help="annual discount rate (default: 0.10)",
    )
    g.add_argument(
        "--margin",
        type=float,
        metavar="X",
        help="margin rate applied to revenue (default: 1.0); or --margin-col, not both",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``clv`` command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], None] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    prefix = f"clv {args.command}"
    try:
        with _one_line_warnings(prefix), _terminate_as_interrupt():
            _check_out(args)
            run(args)
    except ClvError as e:
        print(f"{prefix}: error: {' '.join(str(e).split())}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # a bug in clv, not a problem with the data: keep the traceback
        print(
            f"{prefix}: internal error ({type(e).__name__}); this is a bug in clv, please report "
            "it with the command you ran and the traceback below",
            file=sys.stderr,
        )
        traceback.print_exc()
        return 1
    return 0


def _check_out(args: argparse.Namespace) -> None:
    """Refuse an existing output file before any work (atomic_output checks again at the end)."""
    out = getattr(args, "out", None)
    if out is None or not hasattr(args, "overwrite"):
        return
    if out.exists() and not args.overwrite:
        raise UsageError(f"{out}: already exists; pass --overwrite to replace it")
    if not out.parent.is_dir():
        raise UsageError(f"{out.parent}: no such folder for the output {out.name}")


@contextmanager
def _one_line_warnings(prefix: str) -> Iterator[None]:
    """Show each distinct warning once, as one line: ``clv fit: warning: ...``."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            print(f"{prefix}: warning: {text}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a killed scheduled run) like Ctrl-C, so a report run is marked failed."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, interrupt)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
