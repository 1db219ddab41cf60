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
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clv import __version__
from clv.cli.background import import_in_background
from clv.cli.options import (
    Parser,
    add_file,
    add_out,
    add_parameters,
    as_flags,
    given_parameters,
    report_parameters_help,
)
from clv.cli.spark import distributed, spark, write_table
from clv.errors import ClvError, ClvInfo, DataError, ModelError, UsageError

if TYPE_CHECKING:
    from clv.analysis.results import Analysis
    from clv.models.groups import GroupedClvModel
    from clv.models.model import ClvModel


def _analysis(
    args: argparse.Namespace,
    given: dict[str, Any],
    model: "ClvModel | GroupedClvModel | None" = None,
    *,
    models: bool = True,
) -> "Analysis":
    """The one pipeline on the command's file and options (lazy: each output computes only what
    it needs) with the options ``given`` (read once, :func:`_check_paths`). ``--model`` gives a
    fitted model, whose time unit is then the default. ``models``: the command fits or scores,
    so the model modules are imported meanwhile."""
    from clv.analysis.pipeline import analyze

    importing = import_in_background("clv.models.groups") if models else None

    keywords = dict(given)
    if "time_unit" not in keywords and model is not None:
        keywords["time_unit"] = model.time_unit
    with _about(args.file):
        analysis = analyze(args.file, model=model, **keywords)
        if importing is not None:  # the models come next: read and summarize meanwhile
            if keywords.get("engine") != "spark":  # Spark summarizes where the data lives
                _ = analysis.summary
            importing.join()
    return analysis


@contextmanager
def _about(file: object) -> Iterator[None]:
    """Name the data file in a data or model error raised after it was read."""
    try:
        yield
    except (DataError, ModelError) as e:
        if file is None or str(file) in str(e):
            raise
        raise type(e)(f"{file}: {e}") from None


def _summarize(args: argparse.Namespace, given: dict[str, Any]) -> None:
    if distributed(args, given):
        with _about(args.file):
            return _done(args.out, spark(args, given))
    from clv.data.write import write_frame

    analysis = _analysis(args, given, models=False)
    with _about(args.file):
        if given.get("engine") == "spark":
            written = write_table(analysis, "summary", args.out, overwrite=args.overwrite)
            if written is not None:
                return _done(args.out, f"{written:,} customers")
        summary = analysis.summary
    write_frame(summary, args.out, overwrite=args.overwrite)
    _done(args.out, f"{summary.height:,} customers")


def _fit(args: argparse.Namespace, given: dict[str, Any]) -> None:
    if distributed(args, given):
        with _about(args.file):
            return _done(args.out, spark(args, given))
    analysis = _analysis(args, given)
    with _about(args.file):
        model = analysis.model
    from clv.models.groups import GroupedClvModel

    model.save(args.out, overwrite=args.overwrite)
    if isinstance(model, GroupedClvModel):
        return _done(
            args.out, f"{len(model.groups)} {args.by} models and the pooled one{_pooled(model)}"
        )
    params = " ".join(f"{k}={v:.4g}" for k, v in model.purchase.items())
    gg = " ".join(f"{k}={v:.4g}" for k, v in model.gamma_gamma.items())
    _done(args.out, f"{model.spec.title} {params}; Gamma-Gamma {gg}")


def _pooled(model: Any) -> str:
    """``"; web uses the pooled model: why"`` for each group a grouped model scores with the
    pooled one (empty for a model without groups)."""
    groups = getattr(model, "pooled_groups", None) or {}
    return "".join(f"; {name} uses the pooled model: {why}" for name, why in groups.items())


def _scored(args: argparse.Namespace, given: dict[str, Any]) -> "Analysis":
    """The analysis with ``--model`` loaded (when given) instead of a fit."""
    model = None
    if getattr(args, "model", None):
        from clv.models.groups import load_model

        model = load_model(args.model)
        if getattr(model, "by", None) != getattr(args, "by", None):
            fitted = getattr(model, "by", None) or "(none)"
            raise UsageError(f"{args.model}: fitted with --by {fitted}; pass it or refit")
        unit = getattr(args, "time_unit", None)
        if unit not in (None, model.time_unit):
            raise UsageError(
                f"{args.model}: the model was fitted in time unit {model.time_unit}, not "
                f"{unit}; leave out --time-unit or refit with clv fit --time-unit {unit}"
            )
    return _analysis(args, given, model)


def _score(args: argparse.Namespace, given: dict[str, Any]) -> None:
    if distributed(args, given):
        with _about(args.file):
            return _done(args.out, spark(args, given))
    from clv.data.write import write_frame

    analysis = _scored(args, given)
    with _about(args.file):
        if given.get("engine") == "spark":
            written = write_table(analysis, "scores", args.out, overwrite=args.overwrite)
            if written is not None:
                return _done(args.out, f"{written:,} customers{_pooled(analysis.model)}")
        scores = analysis.scores
    write_frame(scores, args.out, overwrite=args.overwrite)
    total = f"{scores.height:,} customers, total CLV {scores['clv'].sum():,.2f}"
    _done(args.out, total + _pooled(analysis.model))


def _kpis(args: argparse.Namespace, given: dict[str, Any]) -> None:
    from clv.data.write import write_json

    analysis = _scored(args, given)
    with _about(args.file):
        kpis = analysis.kpis
    write_json(args.out, kpis, overwrite=args.overwrite)
    _done(args.out, f"{kpis['customers']:,} customers, {kpis['orders']:,} orders")


def _segments(args: argparse.Namespace, given: dict[str, Any]) -> None:
    from clv.data.write import write_frame

    analysis = _scored(args, given)
    with _about(args.file):
        if given.get("engine") == "spark":
            written = write_table(analysis, "segments", args.out, overwrite=args.overwrite)
            if written is not None:
                return _done(args.out, f"{written:,} customers")
        segments = analysis.segments
    write_frame(segments, args.out, overwrite=args.overwrite)
    _done(args.out, f"{segments.height:,} customers")


def _report(args: argparse.Namespace, given: dict[str, Any]) -> None:
    from clv.report.parameters import notebook_path, parse_assignments
    from clv.report.runner import run_report

    if args.list:
        from clv.report.index import recover, runs_text, write_index

        if args.out.is_dir():  # killed runs marked, their hidden files cleaned, index rebuilt
            with suppress(OSError):  # a folder we may only read is still listed
                recover(args.out)
                write_index(args.out)
        print("\n".join(runs_text(args.out)) or f"no runs in {args.out}")
        return
    with _report_check(args):
        parameters: dict[str, object] = dict(parse_assignments(args.parameter))
        for key, value in given.items():
            if key in parameters:
                raise UsageError(f"{key} given twice: as an option and with -p; give it once")
            parameters[key] = value
    folder = run_report(
        args.file,
        notebook=args.notebook,
        parameters=parameters,
        out_dir=args.out,
        config=args.config,
        progress=sys.stderr.isatty(),
        pdf=args.pdf,
    )
    print(folder / f"{notebook_path(args.notebook).stem}.html")


def _compare(args: argparse.Namespace, given: dict[str, Any]) -> None:  # no spec options
    import json

    from clv.data.write import _jsonable, write_json
    from clv.report.compare import compare_runs, summary_lines

    doc = compare_runs(args.run_a, args.run_b)
    if args.out is not None:
        write_json(args.out, doc, overwrite=args.overwrite)
        _done(args.out, f"what changed since {doc['previous_run']}")
    if args.json:
        print(json.dumps(_jsonable(doc), indent=2, allow_nan=False))
    else:
        print("\n".join(summary_lines(doc)))


def _done(path: Path, what: str) -> None:
    print(f"wrote {path} ({what})", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    """The ``clv`` argument parser with one sub-command per job."""
    parser = Parser(prog="clv", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"clv {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)

    p = commands.add_parser("summarize", help="one RFM row per customer (.csv or .parquet)")
    add_file(p)
    add_parameters(p, "summarize")
    add_out(p, "summary file: .csv or .parquet")
    p.set_defaults(run=_summarize)

    p = commands.add_parser("fit", help="fit a purchase model and Gamma-Gamma, save as JSON")
    add_file(p)
    add_parameters(p, "fit")
    add_out(p, "model file (.json)")
    p.set_defaults(run=_fit)

    p = commands.add_parser("score", help="P(alive), expected purchases, order value and CLV")
    add_file(p)
    p.add_argument(
        "--model", type=Path, metavar="FILE", help="model from clv fit (default: fit now)"
    )
    add_parameters(p, "score")
    add_out(p, "scores file: .csv or .parquet")
    p.set_defaults(run=_score)

    p = commands.add_parser("kpis", help="headline KPIs, channels and loyalty as JSON")
    add_file(p)
    add_parameters(p, "kpis")
    add_out(p, "KPI file (.json)")
    p.set_defaults(run=_kpis)

    p = commands.add_parser("segments", help="one row per customer: tier, RFM cell and scores")
    add_file(p)
    add_parameters(p, "segments")
    add_out(p, "segments file: .csv or .parquet")
    p.set_defaults(run=_segments)

    p = commands.add_parser(
        "report",
        help="run a report notebook and export shareable HTML",
        appendix=report_parameters_help,
    )
    add_file(p, optional=True)
    add_parameters(p, "report")
    p.add_argument(
        "--notebook",
        default="customer_value",
        help="customer_value, loyalty_review or the path of an .ipynb file",
    )
    p.add_argument("--config", type=Path, metavar="FILE", help="TOML file of report parameters")
    p.add_argument(
        "-p",
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any report parameter below (repeatable); names as in --config",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("reports"),
        metavar="DIR",
        help="folder of report runs (default: reports)",
    )
    p.add_argument("--list", action="store_true", help="list the runs in --out and their status")
    p.add_argument(
        "--pdf",
        action="store_true",
        help="also write <notebook>.pdf (A4) beside the HTML, printed by headless Chromium",
    )
    p.set_defaults(run=_report)

    p = commands.add_parser(
        "compare", help="what changed between two report runs (the report's Since section)"
    )
    p.add_argument("run_a", type=Path, metavar="RUN_A", help="the earlier run folder")
    p.add_argument("run_b", type=Path, metavar="RUN_B", help="the later run folder")
    p.add_argument("--out", type=Path, metavar="FILE", help="also write changes.json here")
    p.add_argument("--overwrite", action="store_true", help="replace --out if it exists")
    p.add_argument(
        "--json",
        action="store_true",
        help="print changes.json to stdout instead of the short summary (for scripts)",
    )
    p.set_defaults(run=_compare)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``clv`` command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace, dict[str, Any]], None] | None = getattr(args, "run", None)
    if run is None:
        parser.print_help(sys.stderr)
        return 2
    prefix = f"clv {args.command}"
    try:
        with _one_line_warnings(prefix), _terminate_as_interrupt():
            given = _check_paths(args)
            run(args, given)
    except ClvError as e:
        print(f"{prefix}: error: {as_flags(' '.join(str(e).split()))}", file=sys.stderr)
        return e.exit_code
    except OSError as e:  # the machine, not clv: a full or read-only disk, no permission
        from clv.data.write import storage_error

        error = storage_error(e.filename or "-", e, doing="used")
        print(f"{prefix}: error: {error}", file=sys.stderr)
        return 1
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


def _check_paths(args: argparse.Namespace) -> dict[str, Any]:
    """Usage errors before any work: an output that is an input, exists or has no folder; an
    input file option that is a folder; the options' values (:func:`clv.params.validate`).
    Returns the options given, read and checked once (a ``--channel-costs`` file read here):
    every step of the command takes them from here."""
    from clv.data.exclusions import is_id_file
    from clv.data.write import check_output

    inputs = {k: getattr(args, k, None) for k in ("file", "model", "config", "channel_costs")}
    inputs = {k: Path(v) for k, v in inputs.items() if v is not None and not str(v).startswith("{")}
    if is_id_file(getattr(args, "exclude_customers", None)):
        inputs["exclude_customers"] = Path(args.exclude_customers)
    for key, path in inputs.items():
        if key != "file" and path is not None and path.is_dir():
            raise UsageError(f"{path}: is a folder; --{key.replace('_', '-')} takes a file")
    if args.command == "report":  # pairs are checked with -p, --config and the notebook's
        if args.out.exists() and not args.out.is_dir():
            raise UsageError(f"{args.out}: is a file; the runs folder (--out) must be a folder")
        if args.list:
            return {}
        with _report_check(args):
            return given_parameters(args, pairs=False)
    given = given_parameters(args)
    if getattr(args, "out", None) is not None:
        check_output(args.out, inputs=inputs.values(), overwrite=args.overwrite)
    return given


@contextmanager
def _report_check(args: argparse.Namespace) -> Iterator[None]:
    """A report whose parameters fail their check: the failure is in the runs' history."""
    try:
        yield
    except UsageError as e:
        from clv.report.index import record_failed_check

        record_failed_check(args.out, Path(args.notebook).stem, str(e), data=args.file)
        raise


@contextmanager
def _one_line_warnings(prefix: str) -> Iterator[None]:
    """Show each distinct warning once, as one line: ``clv fit: warning: ...``."""
    seen: set[str] = set()

    def show(message, category, filename, lineno, file=None, line=None) -> None:
        text = " ".join(str(message).split())
        if text not in seen:
            seen.add(text)
            kind = "info" if issubclass(category, ClvInfo) else "warning"
            print(f"{prefix}: {kind}: {as_flags(text)}", file=sys.stderr, flush=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM (a killed scheduled run) and SIGHUP (a closed terminal) like Ctrl-C, so a
    report run ends with the status ``interrupted``."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    try:
        previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
