"""The options of the ``clv`` commands: one vocabulary shared with the library keywords and the
notebook parameters, and the translation of library keywords in messages into flags."""

import argparse
import re
import shlex
from collections.abc import Callable
from pathlib import Path
from typing import NoReturn

COLUMN_OPTIONS = {
    "customer_col": "customer_id",
    "date_col": "date",
    "amount_col": "amount",
    "quantity_col": None,
    "price_col": None,
    "order_col": None,
    "channel_col": None,
    "product_col": None,
    "loyalty_col": None,
    "margin_col": None,
}
"""The column-mapping options: the same names as the library keywords and notebook parameters."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line, not the usage block plus the error; an
    ``appendix`` adds text computed when help is shown (not when the parser is built)."""

    def __init__(self, *args, appendix: Callable[[], str] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.appendix = appendix

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def format_help(self) -> str:
        return super().format_help() + (self.appendix() if self.appendix else "")


def add_transactions(p: argparse.ArgumentParser, *, file_optional: bool = False) -> None:
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
    g.add_argument(
        "--date-format",
        metavar="FMT",
        help="strftime format, e.g. %%d/%%m/%%Y (default: detected from the values)",
    )
    g.add_argument("--separator", default=",", metavar="CHAR", help="CSV separator (default: ,)")
    g.add_argument("--decimal-comma", action="store_true", help="amounts written 12,50 or 1 234,50")
    g.add_argument(
        "--encoding",
        default="utf-8",
        metavar="NAME",
        help="text encoding of a CSV file, e.g. cp1250, cp1252, utf-16 (default: utf-8)",
    )
    g.add_argument(
        "--negative-amounts",
        choices=["error", "drop", "net"],
        default="error",
        help="what to do with refunds (default: error)",
    )
    g.add_argument(
        "--keep-placeholder-ids",
        action="store_true",
        help="keep rows whose customer id is a placeholder such as (blank) or guest",
    )
    for end, default in (("from", "1990-01-01"), ("to", "today")):
        g.add_argument(
            f"--allow-dates-{end}",
            metavar="DATE",
            help=f"widen the range of valid dates (default: {default})",
        )


READ_OPTIONS = (
    *COLUMN_OPTIONS,
    "date_format",
    "separator",
    "decimal_comma",
    "encoding",
    "negative_amounts",
    "keep_placeholder_ids",
    "allow_dates_from",
    "allow_dates_to",
)
"""Options of every command that reads transactions: ``read_transactions`` keywords."""


def add_period(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--observation-end", metavar="DATE", help="last day observed (default: last transaction)"
    )
    p.add_argument(
        "--time-unit",
        choices=["D", "W", "M"],
        help="days, weeks or months (default: W, or the unit of --model)",
    )


def add_out(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", type=Path, required=True, metavar="PATH", help=what)
    p.add_argument("--overwrite", action="store_true", help="replace PATH if it exists")


REPORT_OWN = {"file", "notebook", "config", "parameter", "out", "run", "command", "list"}


def report_parameters_help() -> str:
    from clv.report.parameters import parameters_help

    return parameters_help()


ANALYSIS_OPTIONS = (
    "observation_end",
    "time_unit",
    "penalizer",
    "gg_penalizer",
    "purchase_model",
    "horizon",
    "horizon_unit",
    "discount_rate_annual",
    "margin",
    "currency",
    "channel_costs",
    "by",
    "interval",
    "interval_method",
    "prediction_interval",
    "seed",
)
"""Options that are :func:`clv.analyze` keywords of the same name (when a command has them)."""


def as_flags(message: str) -> str:
    """Library keywords in a message as CLI flags: ``customer_col='X'`` -> ``--customer-col X``,
    ``observation_end=2024-01-01`` -> ``--observation-end 2024-01-01``, ``decimal_comma=True``
    -> ``--decimal-comma``, a bare ``observation_end=`` -> ``--observation-end``."""
    names = "|".join((*READ_OPTIONS, *ANALYSIS_OPTIONS))

    def flag(match: re.Match[str]) -> str:
        option = "--" + match[1].replace("_", "-")
        value = next((v for v in match.groups()[1:] if v is not None), "")
        if value in ("", "True"):
            return option
        return f"{option} {shlex.quote(value)}"

    message = message.replace("penalizer={'gamma_gamma': ...}", "gg_penalizer=")
    pattern = rf"\b({names})=(?:'([^']*)'|\"([^\"]*)\"|(True)\b|([^\s'\",;()]+))?"
    return re.sub(pattern, flag, message)


def add_penalizer(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument(
        "--purchase-model",
        choices=["bgnbd", "mbgnbd", "pareto_nbd", "auto"],
        default="bgnbd",
        help="purchase model (default: bgnbd, as lifetimes; auto picks the best on a holdout "
        "when there is one)",
    )
    g.add_argument(
        "--penalizer",
        type=float,
        default=0.0,
        metavar="X",
        help="L2 penalty on the purchase model's parameters, as in lifetimes (default: 0)",
    )
    g.add_argument(
        "--gg-penalizer",
        type=float,
        default=0.0,
        metavar="Y",
        help="L2 penalty on the Gamma-Gamma parameters (default: 0)",
    )


def add_horizon(p: argparse.ArgumentParser) -> None:
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
        "--discount-rate-annual",
        "--discount-rate",
        dest="discount_rate_annual",
        type=float,
        default=0.10,
        metavar="X",
        help="annual discount rate (default: 0.10)",
    )
    g.add_argument(
        "--margin",
        type=float,
        metavar="X",
        help="margin as a share of revenue: CLV on margin (default: on revenue); or --margin-col",
    )
    g.add_argument(
        "--currency", default="", metavar="TEXT", help="currency symbol or code for money figures"
    )


def add_channel_costs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--channel-costs",
        type=Path,
        metavar="FILE",
        help="acquisition cost per customer "
        "of each channel: .csv (channel,cost) or .json ({channel: cost})",
    )


def add_groups(p: argparse.ArgumentParser, *, intervals: bool) -> None:
    g = p.add_argument_group("groups and intervals")
    g.add_argument(
        "--by",
        choices=["channel", "loyalty"],
        help="a model per first-order channel or loyalty membership",
    )
    if intervals:
        g.add_argument(
            "--interval",
            type=float,
            metavar="P",
            help="add clv_low, clv_high, expected_purchases_low/high and p_top (e.g. 0.9): "
            "the uncertainty of the parameters only",
        )
        g.add_argument(
            "--prediction-interval",
            type=float,
            metavar="P",
            help="add clv_pred_low, clv_pred_high: the range of each customer's own value "
            "over the horizon with probability P (e.g. 0.9)",
        )
        g.add_argument(
            "--interval-method",
            choices=["normal", "bootstrap"],
            default="normal",
            help="parameter draws: asymptotic normal (default) or bootstrap over customers",
        )
        g.add_argument(
            "--seed", type=int, default=1, help="seed of the parameter draws (default: 1)"
        )
