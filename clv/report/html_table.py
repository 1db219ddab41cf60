"""A frame as an HTML table: escaped cells, formatted numbers; each cell carries its column's
header (``data-label``) so a narrow screen shows the rows as cards."""

from __future__ import annotations

import hashlib
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from clv.report.headers import header, key_columns_first

REF_HEX = 16
"""Hex digits of a masked reference: 64 bits, so 10 M customers collide with probability
~3e-6 (10 digits, 40 bits, collide at 10 M almost surely)."""


def mask_ids(ids: pl.Series | Sequence[str], salt: str) -> pl.Series:
    """Salted SHA-256 of each customer id, shortened: ``"c-3f9a0c1b2d4e5f60"``.

    The same in every run that uses the same salt (``clv report`` keeps one per runs folder,
    :func:`clv.report.compare.runs_salt`), so a customer can be followed month to month.
    """
    salt_b = salt.encode()
    values = [
        None if v is None else "c-" + hashlib.sha256(salt_b + str(v).encode()).hexdigest()[:REF_HEX]
        for v in ids
    ]
    return pl.Series("customer_id", values, dtype=pl.String)


def table_html(
    frame: pl.DataFrame,
    *,
    caption: str | None = None,
    max_rows: int = 25,
    formats: Mapping[str, str] | None = None,
    id_salt: str | None = None,
) -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows), inside a scrolling div,
    with :func:`header` names and the :data:`KEY_COLUMNS` first.

    ``id_salt`` masks the ``customer_id`` column (see :func:`mask_ids`); ``formats`` maps a
    column to a format such as ``"{:.1%}"``; shares (:func:`is_share`) are percentages, other
    floats get 2 decimals and thousands commas.
    """
    formats = dict(formats or {})
    shown = key_columns_first(frame.head(max_rows))
    if id_salt is not None and "customer_id" in shown.columns:
        shown = shown.with_columns(mask_ids(shown["customer_id"], id_salt))
    e = html.escape
    numeric = {c for c, t in shown.schema.items() if t.is_numeric()}
    head = "".join(
        f'<th class="{"num" if c in numeric else "text"}">{e(header(c))}</th>'
        for c in shown.columns
    )
    labels = {c: e(header(c), quote=True) for c in shown.columns}
    shares = {c for c in numeric if is_share(c)}
    body = []
    for row in shown.iter_rows():
        cells = []
        for c, v in zip(shown.columns, row, strict=True):
            cls = "num" if c in numeric else "text"
            fmt = formats.get(c, "{:.1%}" if c in shares else None)
            text = e(_cell(v, fmt))
            cells.append(f'<td class="{cls}" data-label="{labels[c]}">{text}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if frame.height > max_rows:
        more = f'<p class="clv-more">first {max_rows:,} of {frame.height:,} rows</p>'
    cap = f"<caption>{e(caption)}</caption>" if caption else ""
    return (
        f'<div class="clv-table-wrap"><table>{cap}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>{more}</div>"
    )


SHARE_COLUMNS = ("p_alive", "retention", "lapse_rate", "bought_again")
"""Columns holding a share (0-1) besides those ending in ``share`` or ``rate``: shown as
percentages, as the text around the tables writes them (48.3%, never 0.483)."""


def is_share(column: str) -> bool:
    """Whether a column holds a share of 0-1 that the report shows as a percentage:
    :data:`SHARE_COLUMNS`, ``share_*``, ``*_share`` and ``*_rate`` (``mean_`` ignored)."""
    name = column.removeprefix("mean_")
    return name in SHARE_COLUMNS or name.startswith("share_") or name.endswith(("_share", "_rate"))


def _cell(value: Any, fmt: str | None) -> str:
    if value is None:
        return ""
    if fmt is not None:
        try:
            return fmt.format(value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
