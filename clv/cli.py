"""The ``clv`` command: parse options, call the library, write the result.

Exit codes: 0 success, 1 a problem with the data or the model, 2 a usage error.
"""

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from clv import __version__
from clv.errors import ClvError

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
        default="W",
        help="days, weeks or months (default: W)",
    )


def _add_out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help=what)
    p.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")


def _read(args: argparse.Namespace):
    from clv.io import read_transactions

    return read_transactions(
        args.file,
        **{key: getattr(args, key) for key in COLUMN_OPTIONS},
        date_format=args.date_format,
        separator=args.separator,
        negative_amounts=args.negative_amounts,
    )


def _summarize(args: argparse.Namespace) -> None:
    from clv.io import write_frame
    from clv.rfm import rfm_summary

    summary = rfm_summary(
        _read(args), observation_end=args.observation_end, time_unit=args.time_unit
    )
    write_frame(summary, args.out, overwrite=args.overwrite)
    _done(args.out, f"{summary.height:,} customers")


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
    p.set_defaults(run=_summarize)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``clv`` command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], None] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        run(args)
    except ClvError as e:
        print(f"clv {args.command}: error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print(f"clv {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
