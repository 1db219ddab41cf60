"""How a report looks: the tables, cards and figures a notebook shows, and the HTML export.

:class:`Display` is what a notebook calls to show a frame, a figure, a note or headline cards;
every data value is escaped and customer ids are masked (:func:`mask_ids`). :func:`export_html`
turns an executed notebook into one self-contained HTML file with the ``clv_report`` template
and a table of contents built from the markdown headings.

Named ``render`` rather than ``html``: it does not shadow the standard library's :mod:`html`.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from clv import __version__
from clv.data.exclusions import customer_ids, is_id_file
from clv.data.write import atomic_output
from clv.plots.theme import report_sizes, smallest_text_px
from clv.report.html_table import mask_ids as mask_ids  # re-exported for the notebooks
from clv.report.html_table import table_html
from clv.report.i18n import N_, ReportLocale, report_locale, translate_markdown
from clv.report.notes import diagnostic_text
from clv.report.png import figure_png, figure_title

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
"""nbconvert template folders shipped with clv (``clv_report``)."""

MISSING = {
    "channel": N_(
        "No channel column: this section is left out. Map one with channel_col "
        "(clv report -p channel_col=NAME) to compare acquisition channels."
    ),
    "loyalty": N_(
        "No loyalty column: this section is left out. Map one with loyalty_col "
        "(clv report -p loyalty_col=NAME) to review the loyalty program."
    ),
    "holdout": N_("No holdout check: calibration_end is none."),
}
"""The note shown instead of a section whose optional column is absent (English msgids;
:class:`Display` shows them in the report's language)."""

TITLES = (N_("Customer value report"), N_("Loyalty programme review"))
"""The notebooks' default titles (``clv.params``), translated when a report keeps them."""


PHONE_MEDIA = "screen and (max-width: 800px)"
"""Where a report shows the phone drawing of its figures: below 800 px the desktop drawing
(1040 px) would show its smallest text under 11 px (``report.css`` agrees)."""


def utc_now() -> str:
    """The current UTC time as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --------------------------------------------------------------------------- text


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name  # no machine paths in a report
    return str(value)


_SECRET = re.compile(r"secret|password|token|credential|key|sas|auth", re.IGNORECASE)
"""Spark settings whose values a shared report never shows (``fs.s3a.secret.key``)."""


def _setting(key: str, value: Any) -> str:
    """A Spark setting's value as a report shows it: secrets hidden, paths by file name."""
    return "(hidden)" if _SECRET.search(key) else _text(value)


# --------------------------------------------------------------------------- HTML export


def headings(markdown: str) -> list[tuple[int, str]]:
    """``(level, text)`` of the ATX headings of a markdown cell (outside code fences)."""
    out: list[tuple[int, str]] = []
    fenced = False
    for line in markdown.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if fenced or not line.startswith("#"):
            continue
        hashes = len(line) - len(line.lstrip("#"))
        text = line[hashes:].strip().rstrip("#").strip()
        if 1 <= hashes <= 6 and text:
            out.append((hashes, text))
    return out


def _anchor(text: str) -> str:
    """The id nbconvert gives a markdown heading (rendered by nbconvert itself to be exact)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    found = re.search(r'id="([^"]*)"', markdown2html_mistune(f"## {text}"))
    return html.unescape(found.group(1)) if found else text.replace(" ", "-")


@functools.cache
def html_exporter() -> Any:
    """The report's nbconvert ``HTMLExporter``, made once per process, its template compiled
    (importing nbconvert and compiling take ~0.4 s)."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        template_name="clv_report",
        extra_template_basedirs=[str(TEMPLATE_DIR)],
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    _ = exporter.template
    return exporter


_SECTION = re.compile(r'<h2 id="([^"]+)" class="clv-section">(.*?)</h2>')
"""A section heading a cell's HTML output shows (a heading made of data, such as the date of
the previous run): listed in the table of contents like a markdown heading."""


def _toc_entries(cell: Any) -> list[dict[str, Any]]:
    """The table-of-contents entries of a cell: its level-2 and level-3 markdown headings, or
    the section headings of its HTML outputs."""
    if cell.cell_type == "markdown":
        return [
            {"level": level, "text": text, "anchor": _anchor(text)}
            for level, text in headings(cell.source)
            if level in (2, 3)
        ]
    out = []
    for output in cell.get("outputs", []):
        markup = output.get("data", {}).get("text/html", "")
        for anchor, text in _SECTION.findall("".join(markup)):
            out.append({"level": 2, "text": html.unescape(text), "anchor": html.unescape(anchor)})
    return out


def export_html(
    notebook_file: str | os.PathLike[str],
    html_file: str | os.PathLike[str],
    *,
    title: str | None = None,
    manifest: Mapping[str, Any] | None = None,
    language: str = "en",
) -> Path:
    """Export an executed notebook to one self-contained HTML file, atomically.

    No code and no prompts; figures are inline base64 PNG; nothing is loaded from the
    network (the ``clv_report`` template has no scripts and a Content-Security-Policy that
    only allows inline images and styles). Cells tagged ``remove-from-report`` are dropped.
    A table of contents lists the level-2 and level-3 headings. ``language``: the markdown
    cells, the title, the header and the footer in that language, ``<html lang>`` set.
    """
    import nbformat
    from nbconvert.preprocessors import TagRemovePreprocessor

    notebook_file, html_file = Path(notebook_file), Path(html_file)
    nb = nbformat.read(notebook_file, as_version=4)
    manifest = manifest or {}
    remove = TagRemovePreprocessor(
        remove_cell_tags={"remove-from-report", "injected-parameters", "parameters"}
    )
    nb, _ = remove.preprocess(nb, {})
    locale = report_locale(language)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = translate_markdown(cell.source, locale)
    toc = [entry for cell in nb.cells for entry in _toc_entries(cell)]
    title = locale.gettext(title or notebook_file.stem.replace("_", " ").capitalize())
    data_name = data_words((manifest.get("input") or {}).get("name") or "-", locale)
    started = manifest.get("started_at") or utc_now()
    _ = locale.gettext
    resources = {
        "metadata": {"name": title},
        "clv": {
            "title": title,
            "lang": language,
            "version": __version__,
            "toc": toc,
            "toc_title": _("Contents"),
            "subtitle": _("Data: {data} · run {started} (UTC)").format(
                data=data_name, started=locale.timestamp(started)
            ),
            "footer": _(
                "Made with clv {version} · run {run}. Customer ids are masked; the run "
                "folder's CSV and Parquet files hold the real ids."
            ).format(version=__version__, run=manifest.get("run", "-")),
        },
    }
    body, _ = html_exporter().from_notebook_node(nb, resources=resources)
    with atomic_output(html_file, overwrite=True) as tmp:
        tmp.write_text(body, encoding="utf-8")
    return html_file


# --------------------------------------------------------------------------- notebook display


EMBEDDED_DATA = {
    "cdnow": N_("CDNOW sample (embedded)"),
    "synthetic_shop": N_("synthetic shop (clv.datasets.synthetic_shop)"),
}
"""The embedded data sets as a run's manifest names its input (in English)."""


def data_words(name: str, locale: ReportLocale) -> str:
    """A run's input as the report names it: an embedded data set in the report's language,
    a file by its name."""
    return locale.gettext(name) if name in EMBEDDED_DATA.values() else name


def _png_size(png: bytes) -> tuple[int, int]:
    """Width and height of a PNG in pixels (its IHDR header)."""
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


class Display:
    """What a report notebook shows: tables, figures, notes and headline cards, all escaped.

    Holds a notebook's state: whether to mask customer ids and the salt, the report's
    ``language`` and ``currency`` (as given: an ISO code or a symbol; figures show the
    locale's symbol). ``show = Display(mask_ids=True, id_salt=None, language="sv")``, then,
    for example, ``show.table(scores.head(10), caption=_("Top customers"))`` with
    ``_ = show.gettext``. A caption, note or text that is a message of the catalog is shown
    in the report's language; numbers in tables in the locale's format.
    """

    def __init__(
        self,
        *,
        mask_ids: bool = True,
        id_salt: str | None = None,
        language: str = "en",
        currency: str = "",
    ) -> None:
        self.mask_ids = mask_ids
        self.id_salt = id_salt or secrets.token_hex(16)
        self.locale: ReportLocale = report_locale(language)
        self.currency = currency

    def gettext(self, message: str) -> str:
        """``message`` (a message of the catalog) in the report's language: the notebooks'
        ``_``."""
        return self.locale.gettext(message)

    @property
    def salt(self) -> str | None:
        """The salt that masks customer ids, None when ids are shown as they are."""
        return self.id_salt if self.mask_ids else None

    def html(self, markup: str) -> None:
        """Show HTML that clv built (every data value in it already escaped)."""
        from IPython.display import HTML, display

        display(HTML(markup))

    def table(
        self,
        frame: pl.DataFrame | None,
        *,
        caption: str | None = None,
        max_rows: int = 25,
        formats: Mapping[str, str] | None = None,
        missing: str | None = None,
        rows: int | None = None,
    ) -> None:
        """Show a frame as an HTML table (ids masked, values escaped, numbers formatted).

        ``frame`` None (a section whose column is absent) shows the ``missing`` note instead;
        ``rows``: the whole table's rows when ``frame`` is its head.
        """
        if frame is None:
            if missing:
                self.note(missing)
            return
        self.html(
            table_html(
                frame,
                caption=self.gettext(caption) if caption else caption,
                max_rows=max_rows,
                formats=formats,
                id_salt=self.id_salt if self.mask_ids else None,
                locale=self.locale,
                rows=rows,
            )
        )

    def figure(self, fig: Any, *, caption: str | None = None, alt: str | None = None) -> None:
        """Show a matplotlib Figure as an inline PNG that fills the column, the ``caption``
        under it.

        ``alt`` defaults to the caption, else the figure's title. The figure is drawn twice
        (:func:`clv.plots.theme.report_sizes`): wide for a desktop (and print), and narrow
        for a phone, where its smallest text stays 11 px across the column; a
        ``<picture>`` lets the browser pick (:data:`PHONE_MEDIA`). Titles and axis labels
        wrap to the room they have (:func:`figure_png`). The image records the size of its
        smallest text (``data-min-font-px``, pixels at its natural size). The figure is
        closed once drawn (a pyplot figure would otherwise be shown a second time under the
        cell).
        """
        import base64

        import matplotlib.pyplot as plt

        alt = alt or caption or figure_title(fig)
        smallest = smallest_text_px(fig)
        desktop, phone = report_sizes(fig)
        images = []
        for size in (desktop, phone):  # wide first: labels wrapped for it wrap again if need be
            fig.set_size_inches(*size)
            png = figure_png(fig)
            width, height = _png_size(png)
            over = width - size[0] * fig.dpi  # text past the edges (a long bar label) widens it
            if size is phone and over > 1:  # narrower by that, to show its text at 11 px still
                fig.set_size_inches(max(size[0] - over / fig.dpi, size[0] / 2), size[1])
                png = figure_png(fig)
                width, height = _png_size(png)
            images.append((base64.b64encode(png).decode("ascii"), width, height))
        plt.close(fig)
        (wide, width, height), (narrow, phone_width, phone_height) = images
        caption = self.gettext(caption) if caption else caption
        below = f'<p class="clv-caption">{html.escape(caption)}</p>' if caption else ""
        self.html(
            f'<div class="clv-figure"><picture><source media="{PHONE_MEDIA}" '
            f'srcset="data:image/png;base64,{narrow}" width="{phone_width}" '
            f'height="{phone_height}"><img src="data:image/png;base64,{wide}" '
            f'alt="{html.escape(alt)}" width="{width}" height="{height}" '
            f'data-min-font-px="{smallest:.2f}"></picture>{below}</div>'
        )

    def plot(
        self,
        figure: Any,
        *frames: Any,
        caption: str | None = None,
        missing: str | None = None,
        **options: Any,
    ) -> None:
        """Draw ``figure(*frames, **options)`` (a :mod:`clv.plots` function) and show it with
        its caption: ``caption``, else :func:`clv.report.captions.caption` of the first frame.

        A figure that takes a ``currency`` gets the locale's symbol of the report's currency;
        its words and ticks are put in the report's language (:func:`localize_figure`).
        When a frame is None or empty (a section whose column is absent), shows the
        ``missing`` note instead of failing.
        """
        import inspect

        from clv.report import captions
        from clv.report.figure_locale import localize_figure

        if any(f is None or (isinstance(f, pl.DataFrame) and f.height == 0) for f in frames):
            if missing:
                self.note(missing)
            return
        symbol = self.locale.currency_symbol(self.currency) if self.currency else ""
        if "currency" in inspect.signature(figure).parameters and symbol:
            options.setdefault("currency", symbol)
        ax = figure(*frames, **options)
        fig = ax.get_figure(root=True)
        localize_figure(fig, self.locale, currency=symbol)
        text = (
            caption
            if caption is not None
            else captions.caption(figure, frames[0], locale=self.locale)
        )
        self.figure(fig, caption=text)

    def holdout(self, check: Mapping[str, Any] | None) -> None:
        """Show :func:`clv.analysis.validation.holdout_check` (a note when there is none)."""
        from clv.plots import calibration_purchases_vs_holdout, cumulative_transactions

        if check is None:
            self.note(MISSING["holdout"])
            return
        _, loc = self.gettext, self.locale
        end = loc.date(str(check["calibration_end"]))
        self.text(
            loc.ngettext(
                "Calibration: up to {end}; holdout: the {days} day after it. The model is "
                "refitted on the calibration period only, then its predictions are compared "
                "with what customers did next.",
                "Calibration: up to {end}; holdout: the {days} days after it. The model is "
                "refitted on the calibration period only, then its predictions are compared "
                "with what customers did next.",
                int(check["holdout_days"]),
            ).format(end=end, days=loc.integer(check["holdout_days"]))
        )
        if check.get("error"):
            self.note(
                _(
                    "The model could not be refitted on the calibration period: {error}. "
                    "The rest of the report is unaffected; for a holdout check try a later "
                    "calibration_end than {end} (more calibration data)."
                ).format(error=check["error"], end=end)
            )
            return
        title = check["model"].spec.title
        self.table(
            check["parameters"],
            caption=_("{model} fitted on the calibration period").format(model=title),
            formats={"estimate": "{:.4g}", "standard_error": "{:.4g}"},
        )
        self.plot(calibration_purchases_vs_holdout, check["by_frequency"])
        self.plot(cumulative_transactions, check["tracking"])
        self.table(check["metrics"], caption=_("Holdout errors"))
        self.text(
            _(
                "Errors, named once: total error = (predicted - actual) / actual over all "
                "customers (the tracking figure's last day counts calibration purchases too); "
                "mean absolute gap = the customer-weighted mean of |predicted - actual| per "
                "purchase-count group over the actual total; MAE and RMSE are per customer."
            )
        )

    def model_health(self, diagnostics: Iterable[Mapping[str, Any]]) -> None:
        """Show ``model.diagnostics`` as the Model health box (a line when all is well), each
        written from its code and values (:func:`clv.report.notes.diagnostic_text`)."""
        items = [diagnostic_text(d, locale=self.locale) for d in diagnostics]
        if not items:
            items = [self.gettext("No warning: every parameter is determined by the data.")]
        lis = "".join(f"<li>{html.escape(i)}</li>" for i in items)
        head = html.escape(self.gettext("Model health"))
        self.html(f'<div class="clv-health"><strong>{head}</strong><ul>{lis}</ul></div>')

    def note(self, text: str) -> None:
        """Show a short note (e.g. why a section is empty)."""
        self.html(f'<p class="clv-note">{html.escape(self.gettext(text))}</p>')

    def text(self, text: str) -> None:
        """Show a paragraph of plain text."""
        self.html(f"<p>{html.escape(self.gettext(text))}</p>")

    def bullets(self, items: Iterable[str]) -> None:
        """Show findings as a bullet list."""
        lis = "".join(f"<li>{html.escape(self.gettext(str(i)))}</li>" for i in items)
        self.html(f'<ul class="clv-findings">{lis}</ul>' if lis else "")

    def cards(self, values: Mapping[str, str]) -> None:
        """Show headline numbers as cards: label -> formatted value."""
        cards = "".join(
            f'<div class="clv-kpi"><div class="value">{html.escape(str(v))}</div>'
            f'<div class="label">{html.escape(str(k))}</div></div>'
            for k, v in values.items()
        )
        self.html(f'<div class="clv-headline">{cards}</div>')

    def params(self, values: Mapping[str, Any]) -> None:
        """Show the run's parameters as a two-column table.

        Pass :func:`clv.report.run_parameters`, which leaves out the ones clv report injects.
        The embedded data set's parameters are left out when a file (``data``) was read.
        """
        embedded = ("dataset", "synthetic_customers")  # say nothing when a file was read
        shown = {k: v for k, v in values.items() if values.get("data") is None or k not in embedded}
        spark = ("spark_master", "spark_conf")  # shown when set, on Spark
        if shown.get("engine") != "spark":
            shown = {k: v for k, v in shown.items() if k not in spark}
        shown = {k: v for k, v in shown.items() if k not in spark or v is not None}
        if shown.get("spark_conf"):
            shown["spark_conf"] = ", ".join(
                f"{k}={_setting(k, v)}" for k, v in shown["spark_conf"].items()
            )
        ids = shown.get("exclude_customers")
        if ids and not is_id_file(ids) and self.salt is not None:  # ids are masked
            shown["exclude_customers"] = ", ".join(mask_ids(customer_ids(ids), self.salt))
        rows = [
            {"parameter": k, "value": self.gettext(_text(v)) if k == "title" else _text(v)}
            for k, v in shown.items()
        ]
        self.table(
            pl.DataFrame(rows, schema={"parameter": pl.String, "value": pl.String}),
            caption=N_("Parameters"),
            max_rows=200,
        )
