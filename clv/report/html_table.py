"""A frame as an HTML table: escaped cells, formatted numbers; each cell carries its column's
header (``data-label``) so a narrow screen shows the rows as cards."""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from clv.report.headers import ROW_WORDS, header, key_columns_first
from clv.report.i18n import ENGLISH, N_, ReportLocale
from clv.report.messages import LocaleFormatter

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
    locale: ReportLocale = ENGLISH,
    rows: int | None = None,
) -> str:
    """An escaped HTML table of ``frame`` (first ``max_rows`` rows), its caption above a
    scrolling box that shades the side where more of the table is, with :func:`header` names
    and the :data:`KEY_COLUMNS` first.

    ``id_salt`` masks the ``customer_id`` column (see :func:`mask_ids`); ``formats`` maps a
    column to a format such as ``"{:.1%}"`` (written in ``locale``'s form); shares
    (:func:`is_share`) are percentages; other values are written as ``locale`` writes them
    (:meth:`ReportLocale.value`), headers and yes/no in its language. ``rows``: the rows of
    the whole table when ``frame`` is its head (a list kept where the data lives).
    """
    formats = dict(formats or {})
    rows = frame.height if rows is None else rows
    shown = key_columns_first(frame.head(max_rows))
    if id_salt is not None and "customer_id" in shown.columns:
        shown = shown.with_columns(mask_ids(shown["customer_id"], id_salt))
    e = html.escape
    numeric = {c for c, t in shown.schema.items() if t.is_numeric()}
    head = "".join(
        f'<th class="{"num" if c in numeric else "text"}">{e(locale.gettext(header(c)))}</th>'
        for c in shown.columns
    )
    labels = {c: e(locale.gettext(header(c)), quote=True) for c in shown.columns}
    shares = {c for c in numeric if is_share(c)}
    label = next((c for c in shown.columns if c in LABEL_COLUMNS), None)
    body = []
    for row in shown.iter_rows():
        cells = []
        named = dict(zip(shown.columns, row, strict=True))
        row_label = named.get(label) if label else None
        share_row = isinstance(row_label, str) and is_share(row_label)
        for c, v in named.items():
            cls = "num" if c in numeric else "text"
            as_share = c in shares or (share_row and isinstance(v, float) and not _is_ratio(c))
            fmt = formats.get(c, "{:.1%}" if as_share else None)
            text = _cell(v, fmt, locale)
            if c in LABEL_COLUMNS and isinstance(v, str):
                text = _label(text, locale)
            elif c == "parameter" and isinstance(v, str) and not re.fullmatch(r"\w+", v):
                text = _label(text, locale)  # "log-likelihood"; names stay as typed
            elif c in MONTH_COLUMNS and isinstance(v, dt.date):
                text = locale.month(v)
            elif c == "rfm_cell" and v in RFM_CELL_WORDS:
                text = locale.gettext(RFM_CELL_WORDS[v])
            cells.append(f'<td class="{cls}" data-label="{labels[c]}">{e(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    more = ""
    if rows > shown.height:
        more = locale.gettext("first {shown} of {rows} rows").format(
            shown=locale.integer(shown.height), rows=locale.integer(rows)
        )
        more = f'<p class="clv-more">{e(more)}</p>'
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return (  # the caption outside the scrolling box: it wraps to the column, never cut
        f'<figure class="clv-table-wrap">{cap}<div class="clv-scroll"><table>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table></div>{more}"
        "</figure>"
    )


def _label(text: str, locale: ReportLocale) -> str:
    """A row label in ``locale``'s language: a message, or a column name (``tenure_days``)
    spelled as a header (:func:`header`) and translated."""
    if text in ROW_WORDS:
        return locale.gettext(ROW_WORDS[text])
    if locale.gettext(text) != text:
        return locale.gettext(text)
    channel = re.fullmatch(r"share_from_(.+)", text)
    if channel:
        return locale.gettext("share from {channel}").format(channel=channel.group(1))
    if locale.language == "en" and not re.fullmatch(r"\w+", text):
        return text
    return locale.gettext(header(text))


SHARE_COLUMNS = ("p_alive", "retention", "lapse_rate", "bought_again")
"""Columns holding a share (0-1) besides those ending in ``share``, ``rate`` or
``retention``: shown as percentages, as the text around the tables writes them (48.3%, never
0.483). A table of rows (a label column of :data:`LABEL_COLUMNS` and its values) shows a
row whose label is a share the same way."""


def is_share(column: str) -> bool:
    """Whether a column (or a row label: ``repeat customer rate``) holds a share of 0-1 that
    the report shows as a percentage: :data:`SHARE_COLUMNS`, ``share_*``, ``*_share``,
    ``*_rate``, ``*_retention`` and ``*_rate_annual`` (``mean_`` ignored)."""
    name = column.replace(" ", "_").removeprefix("mean_")
    return (
        name in SHARE_COLUMNS
        or name.startswith("share_")
        or name.endswith(("_share", "_rate", "_retention", "_rate_annual"))
    )


def _is_ratio(column: str) -> bool:
    """A column of ratios (``ratio``, ``simple_over_model``): never a share, in any row."""
    return column == "ratio" or column.endswith("_ratio")


def _cell(value: Any, fmt: str | None, locale: ReportLocale) -> str:
    if value is None:
        return ""
    if fmt is not None:
        try:
            return LocaleFormatter(locale).format(fmt, value)
        except (ValueError, TypeError):
            return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return locale.number(value, 2)
    if isinstance(value, str):
        return locale.gettext(value) if value in CELL_WORDS else value
    return locale.value(value)


CELL_WORDS = frozenset(
    (
        *(N_("yes"), N_("no"), N_("none")),
        *(
            N_("good"),
            N_("middle"),
            N_("low"),
            N_("bad"),
            N_("members"),
            N_("non-members"),
            N_("non_members"),
        ),
    )
)
"""Words of the analysis' tables shown in the report's language (other text is data)."""

RFM_CELL_WORDS = {
    "champions": N_("champions"),
    "loyal": N_("loyal"),
    "cant_lose": N_("can't lose"),
    "at_risk": N_("at risk"),
    "potential_loyalists": N_("potential loyalists"),
    "new_customers": N_("new customers"),
    "promising": N_("promising"),
    "hibernating": N_("hibernating"),
    "others": N_("others"),
}
"""The RFM cells of :data:`clv.analysis.segments.RFM_CELLS` in words."""

MONTH_COLUMNS = frozenset({"month", "cohort"})
"""Columns of dates that stand for a month: shown as the locale names a month (``mars 2024``)."""

LABEL_COLUMNS = frozenset({"item", "metric", "measure", "quantity", "period", "column"})
"""Columns whose text labels a row (``rows read``, ``this month``): shown in the report's
language when the catalog has the label (:data:`clv.report.headers.TABLE_WORDS`). A
``parameter`` column is not one: parameter names (``date_format``, ``alpha``) are written as
the user types them, in every language; its other rows (``log-likelihood``) are labels."""
