"""The loyalty review's monthly series in the runs folder, and its figure.

``loyalty_series.csv`` in the runs folder holds one row per reviewed month
(:mod:`clv.analysis.loyalty_series`): each loyalty review run adds its month once it has
succeeded (the notebook's last cell), so the series is the runs folder's record of the
programme, month after month, even when each month's export holds only recent orders.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from clv.analysis.loyalty_series import SCHEMA, add_month
from clv.data.write import atomic_output
from clv.report.runs import folder_lock
from clv.report.theme import PALETTE, money_label, new_axes, themed

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SERIES_FILE = "loyalty_series.csv"
"""The runs folder's monthly series of the loyalty review."""


def read_series(out_dir: str | os.PathLike[str]) -> pl.DataFrame | None:
    """The runs folder's series, or None when it has none (or it cannot be read)."""
    path = Path(out_dir) / SERIES_FILE
    if not path.is_file():
        return None
    try:
        return pl.read_csv(path, schema=SCHEMA)
    except (OSError, pl.exceptions.PolarsError):
        return None


def series_with(
    run_dir: str | os.PathLike[str] | None, row: dict[str, Any] | None
) -> pl.DataFrame | None:
    """The series of ``run_dir``'s runs folder with this run's ``row`` added (nothing is
    written; :func:`record_month` does). Run by hand (no ``run_dir``): this month alone.
    None without a row (no loyalty column)."""
    if row is None:
        return None
    earlier = read_series(Path(run_dir).parent) if run_dir is not None else None
    return add_month(earlier, row)


def record_month(run_dir: str | os.PathLike[str] | None, row: dict[str, Any] | None) -> None:
    """Add this run's ``row`` to the runs folder's series, under the folder's lock; a no-op
    when ``run_dir`` or ``row`` is None. The row names the run."""
    if run_dir is None or row is None:
        return
    out = Path(run_dir).parent
    with folder_lock(out):
        series = add_month(read_series(out), row | {"run": Path(run_dir).name})
        with atomic_output(out / SERIES_FILE, overwrite=True) as tmp:
            series.write_csv(tmp)


@themed
def series_figure(noise: pl.DataFrame, *, currency: str = "", ax: Axes | None = None) -> Figure:
    """Margin per active member and non-member, every reviewed month, with 95 % error bars;
    a month whose gap moved beyond noise from the month before is ringed.

    ``noise``: :func:`clv.analysis.loyalty_series.with_noise` of the series.
    """
    fig, ax = new_axes(ax)
    months = noise["month"].to_list()
    for i, (col, label) in enumerate(
        (("member_margin_per_active", "members"), ("non_member_margin_per_active", "non-members"))
    ):
        se = noise[f"{col}_se"].fill_null(0.0).to_numpy() * 1.96
        ax.errorbar(
            months,
            noise[col].to_numpy(),
            yerr=se,
            label=label,
            color=PALETTE[i],
            marker="o",
            capsize=3,
        )
    moved = noise.filter(pl.col("within_noise").not_())
    if moved.height:
        ax.scatter(
            moved["month"].to_list(),
            moved["member_margin_per_active"].to_numpy(),
            s=220,
            facecolors="none",
            edgecolors=PALETTE[1],
            linewidths=2,
            label="gap moved beyond noise",
        )
    ax.set_xlabel("reviewed month")
    ax.set_ylabel(f"margin per active customer {money_label(currency)}")
    ax.legend()
    fig.autofmt_xdate()
    ax.set_title(_verdict(noise))
    return fig


def _verdict(noise: pl.DataFrame) -> str:
    changes = noise["within_noise"].drop_nulls()
    if noise.height < 2:
        return "The first reviewed month: later runs add theirs"
    if changes.len() == 0:
        return f"{noise.height} reviewed months; no standard errors to judge the changes"
    return f"{int(changes.sum())} of {changes.len()} monthly changes of the gap within noise"
