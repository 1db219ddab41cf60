"""The report in its reader's language: the gettext catalog of a language and the locale's
number, money, percent and date formats (Babel).

One ``.po`` file per language holds the report's words (``locales/<lang>/LC_MESSAGES/clv.po``,
kept with ``make messages``: ``pybabel extract`` then ``pybabel update``). A catalog is compiled
when a report first asks for its language (``babel.messages.mofile.write_mo`` into memory), so a
fresh clone, an editable install and a wheel read the same ``.po`` files and no compiled file
can be stale. English is the catalogs' source language: its messages are the msgids.

>>> sv = report_locale("sv")
>>> sv.money(1234.5, "kr")
'1\\xa0234,50\\xa0kr'
"""

from __future__ import annotations

import datetime as dt
import functools
import gettext
import io
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from babel import Locale, numbers
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from clv.errors import UsageError

LANGUAGES = {"en": "en_GB", "sv": "sv_SE", "pl": "pl_PL", "uk": "uk_UA", "fi": "fi_FI"}
"""The report's languages and the Babel locale of each (CLDR number, money and date formats)."""

LOCALE_DIR = Path(__file__).resolve().parent / "locales"
"""``<lang>/LC_MESSAGES/clv.po`` per language, and the extracted template ``clv.pot``."""

DOMAIN = "clv"


def N_(message: str) -> str:  # noqa: N802 (gettext's name for a no-op marker)
    """Mark an English text for the catalog where no locale is at hand (a constant); the
    report translates it when it shows it (:meth:`ReportLocale.gettext`)."""
    return message


@dataclass(frozen=True)
class ReportLocale:
    """A report language: its translations and the locale's formats.

    ``language`` is a key of :data:`LANGUAGES`; ``locale`` the Babel locale; ``translations``
    the compiled catalog (English: none, the msgids are English).
    """

    language: str
    locale: Locale
    translations: gettext.NullTranslations

    # ----------------------------------------------------------------------- words

    def gettext(self, message: str) -> str:
        """``message`` (an English msgid) in the report's language; itself when untranslated
        (an empty text stays empty: gettext would give the catalog's header)."""
        return self.translations.gettext(message) if message else message

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form for ``n`` (Polish and Ukrainian have three, the catalog's
        ``Plural-Forms`` picks one)."""
        return self.translations.ngettext(singular, plural, n)

    def figure_text(self, text: str) -> str:
        """A figure's drawn text in the report's language: the whole text when it is a
        message, else its words and a trailing unit in brackets each (``"margin (kr)"``)."""
        if not text:
            return text
        whole = self.gettext(text)
        if whole != text or self.language == "en":
            return whole
        found = re.fullmatch(r"(.*?)\s*\(([^()]*)\)", text, flags=re.S)
        if not found:
            return text
        stem, unit = found.groups()
        return f"{self.gettext(stem)} ({self.gettext(unit)})" if stem else text

    # ----------------------------------------------------------------------- numbers

    def number(self, value: float, decimals: int = 2) -> str:
        """A number with the locale's separators and ``decimals`` decimals: ``1 234,50``."""
        if not math.isfinite(value):
            return "-"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return numbers.format_decimal(value, format=pattern, locale=self.locale)

    def integer(self, value: int | float) -> str:
        """A count with the locale's group separator: ``12 984``."""
        return self.number(float(value), 0)

    def percent(self, share: float, decimals: int = 0) -> str:
        """A share (0-1) as the locale writes a percentage: ``25 %`` (sv), ``25%`` (en)."""
        if not math.isfinite(share):
            return "-"
        pattern = self.locale.percent_formats[None].pattern
        if decimals:
            pattern = re.sub(r"0(?![0#,.])", "0." + "0" * decimals, pattern, count=1)
        return numbers.format_percent(share, format=pattern, locale=self.locale)

    def currency_code(self, currency: str) -> str | None:
        """The ISO code of ``currency``: a code (``SEK``), or a symbol this locale gives to
        exactly one currency (``kr`` in Swedish); None for other text."""
        text = currency.strip()
        if text.upper() in _currency_codes():
            return text.upper()
        codes = [c for c, s in self.locale.currency_symbols.items() if s == text]
        return codes[0] if len(codes) == 1 else None

    def currency_symbol(self, currency: str) -> str:
        """The symbol this locale writes for ``currency`` (``SEK`` -> ``kr`` in Swedish);
        text that is no currency stays as given."""
        code = self.currency_code(currency)
        return numbers.get_currency_symbol(code, self.locale) if code else currency.strip()

    def money(self, value: float | None, currency: str = "") -> str:
        """A money figure as the locale writes it: ``1 234,50 kr``, ``1 234 zł`` (figures of
        100 or more without decimals); without a currency, the number alone."""
        if value is None or not math.isfinite(value):
            return "-"
        decimals = 2 if abs(value) < 100 else 0
        if not currency.strip():
            return self.number(value, decimals)
        pattern = self.locale.currency_formats["standard"].pattern.split(";")[0]
        pattern = re.sub(r"0\.0+", "0" + ("." + "0" * decimals if decimals else ""), pattern)
        code = self.currency_code(currency)
        return numbers.format_currency(
            value,
            code or currency.strip(),
            format=pattern,
            locale=self.locale,
            currency_digits=False,
        )

    def value(self, v: Any) -> str:
        """Any table or text value: floats to 3 decimals under 10, else 2; counts grouped;
        booleans as yes/no; None empty."""
        if v is None:
            return ""
        if isinstance(v, bool):
            return self.gettext("yes") if v else self.gettext("no")
        if isinstance(v, float):
            return self.number(v, 3 if abs(v) < 10 else 2)
        if isinstance(v, int):
            return self.integer(v)
        if isinstance(v, dt.date):
            return self.date(v)
        return str(v)

    # ----------------------------------------------------------------------- dates

    def date(self, day: dt.date | str) -> str:
        """A day as the locale writes it: ``5 mars 2024`` (sv), ``5.3.2024`` (fi)."""
        if isinstance(day, str):
            day = dt.date.fromisoformat(day[:10])
        return format_date(day, "medium", locale=self.locale)

    def timestamp(self, iso: str) -> str:
        """A UTC time ``YYYY-MM-DDTHH:MM:SSZ`` as the locale writes a date and time (in UTC);
        other text as given."""
        try:
            moment = dt.datetime.fromisoformat(iso.replace("Z", "+00:00"))
        except ValueError:
            return iso
        return format_datetime(moment, "medium", tzinfo=dt.UTC, locale=self.locale)

    def month(self, day: dt.date) -> str:
        """A month as the locale writes it: ``mars 2024``."""
        return format_skeleton("yMMM", day, locale=self.locale)

    def month_abbr(self, day: dt.date) -> str:
        """A month's short name alone (``mars``), for a date axis."""
        return format_skeleton("MMM", day, locale=self.locale)


@functools.cache
def _currency_codes() -> frozenset[str]:
    return frozenset(numbers.list_currencies())


def catalog_path(language: str) -> Path:
    """The ``.po`` file of ``language``."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def report_locale(language: str = "en") -> ReportLocale:
    """The :class:`ReportLocale` of ``language`` (``en``, ``sv``, ``pl``, ``uk``, ``fi``).

    Raises :class:`~clv.errors.UsageError` naming the five for any other language.
    """
    if language not in LANGUAGES:
        raise UsageError(f"language={language!r}: expected one of {', '.join(LANGUAGES)}")
    locale = Locale.parse(LANGUAGES[language])
    translations: gettext.NullTranslations = gettext.NullTranslations()
    if language != "en":
        with catalog_path(language).open("rb") as f:
            catalog = read_po(f, locale=locale, domain=DOMAIN)
        mo = io.BytesIO()
        write_mo(mo, catalog)
        mo.seek(0)
        translations = Translations(mo, domain=DOMAIN)
    return ReportLocale(language, locale, translations)


ENGLISH = report_locale("en")
"""The report's source language: the default wherever no locale is given."""


# --------------------------------------------------------------------------- extraction


def extract_notebook(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, Any, Any, list[str]]]:
    """A Babel extractor of a notebook (``babel.cfg``: ``[notebook: ...]``): each heading and
    paragraph of a markdown cell the report shows, as :func:`markdown_blocks` splits it, and
    the messages of its code cells (``_("...")``, as Babel's Python extractor finds them),
    with the cell's number as their line."""
    import json

    from babel.messages.extract import extract_python

    notebook = json.load(fileobj)
    for number, cell in enumerate(notebook["cells"], start=1):
        source = "".join(cell["source"])
        if "remove-from-report" in cell.get("metadata", {}).get("tags", []):
            continue
        if cell["cell_type"] == "markdown":
            for _prefix, text in markdown_blocks(source):
                yield number, "", text, []
        elif cell["cell_type"] == "code":
            code = io.BytesIO(source.encode("utf-8"))
            for _line, funcname, message, comments in extract_python(
                code, keywords, comment_tags, options
            ):
                yield number, funcname, message, list(comments or [])


def markdown_blocks(markdown: str) -> list[tuple[str, str]]:
    """A markdown cell as ``(prefix, text)`` blocks: a heading's ``"## "`` and its words, or
    ``""`` and a paragraph with its lines joined by spaces (the msgids of the catalog)."""
    blocks: list[tuple[str, str]] = []
    for para in re.split(r"\n\s*\n", markdown.strip()):
        lines = para.strip().splitlines()
        while lines and lines[0].startswith("#"):
            head = lines.pop(0)
            hashes = len(head) - len(head.lstrip("#"))
            blocks.append((head[:hashes] + " ", head[hashes:].strip()))
        if lines:
            blocks.append(("", " ".join(line.strip() for line in lines)))
    return blocks


def translate_markdown(markdown: str, locale: ReportLocale) -> str:
    """A markdown cell in the report's language, block by block (:func:`markdown_blocks`)."""
    if locale.language == "en":
        return markdown
    return "\n\n".join(prefix + locale.gettext(text) for prefix, text in markdown_blocks(markdown))
