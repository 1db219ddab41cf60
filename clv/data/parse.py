"""Read the text of a shop export: date formats, decimal commas, currency signs, flags.

Detection looks at a sample of distinct values (cheap); the full column is then parsed with
one polars expression, so reading stays as fast as a plain ISO file.
"""

import re
from dataclasses import dataclass

import polars as pl

from clv.errors import DataError

_ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?( ?(Z|[+-]\d{2}:?\d{2}))?)?$"
_TIME = r"( \d{1,2}:\d{2}(:\d{2})?)?$"
_FIELDS = {  # separator -> (pattern of the date part, candidate formats)
    "/": (r"^\d{1,2}/\d{1,2}/\d{4}" + _TIME, ("%m/%d/%Y", "%d/%m/%Y")),
    ".": (r"^\d{1,2}\.\d{1,2}\.\d{4}" + _TIME, ("%d.%m.%Y",)),
    "-": (r"^\d{1,2}-\d{1,2}-\d{4}" + _TIME, ("%d-%m-%Y",)),
}
_DAY_FORMATS = {f for _, formats in _FIELDS.values() for f in formats}
ISO = "ISO 8601"
"""The detected format of ISO dates and datetimes (the local date as written is kept)."""

_TRUE = ["true", "1", "yes", "y", "t", "ja", "j", "tak", "kyllä", "k", "так", "т"]
_FALSE = ["false", "0", "no", "n", "f", "", "nej", "nie", "ei", "ні", "н"]
"""Loyalty flags as written in English, Swedish (ja/nej), Polish (tak/nie), Finnish (kyllä/ei)
and Ukrainian (так/ні) exports, compared in lower case."""

_SPACES = "\u00a0\u202f\u2009"  # no-break, narrow no-break and thin spaces (thousands)
_COMMA_NUMBER = r"^[+-]?(\d{1,3}([ .]\d{3})+|\d+)(,\d+)?$"
CURRENCIES = r"(?i:[$€£¥₴]|kr\.?|zł|eur|usd|gbp|sek|nok|dkk|pln|uah|czk|huf|chf)"
"""Currency symbols and ISO codes stripped from amounts when every value carries the same one."""
_AFFIX = re.compile(
    rf"^\s*(?P<pre>{CURRENCIES})?\s*[-+\d.,\s{_SPACES}]+?\s*(?P<post>{CURRENCIES})?\s*$"
)


def detect_date_format(values: list[str], column: str, name: str) -> str | None:
    """The format of date text, from a sample of its distinct values (in file order).

    The first value picks the kind: :data:`ISO` for ISO dates and datetimes, else a strftime
    format of the date part (``"%d.%m.%Y"``; a time of day after a space is dropped) for
    ``m/d/Y``, ``d/m/Y``, ``d.m.Y`` and ``d-m-Y``; ``None`` when it fits none (the full read
    then names the first row that does not parse). The day/month order of ``a/b/Y`` is
    settled by a field above 12 among the values; when every field is 12 or less it is a
    :class:`DataError` listing both candidates.
    """
    texts = [v.strip() for v in values if v is not None and v.strip()]
    if not texts:
        return None
    if re.match(_ISO, texts[0]):
        return ISO
    for sep, (pattern, formats) in _FIELDS.items():
        if not re.match(pattern, texts[0]):
            continue
        if len(formats) == 1:
            return formats[0]
        fields = [t.split(sep) for t in texts if re.match(pattern, t)]
        first = max(int(f[0]) for f in fields)
        second = max(int(f[1]) for f in fields)
        if second <= 12 < first:
            return "%d/%m/%Y"
        if first <= 12 < second:
            return "%m/%d/%Y"
        if first <= 12 and second <= 12:
            raise DataError(
                f"{name}: column {column!r}: cannot tell day from month (every field is 12 or "
                f'less, e.g. {texts[0]!r}); pass date_format="%d/%m/%Y" or '
                'date_format="%m/%d/%Y"'
            )
        return None  # both fields go above 12: not one format
    return None


TIME_CODES = ("%H", "%M", "%S", "%I", "%p", "%z", "%T", "%R", "%f", "%.f")
"""strftime codes of a time of day or a UTC offset."""

_OFFSET = r"\s*(?:[+-]\d{2}:?\d{2}|Z)$"  # a UTC offset at the end, as %z writes or reads it


def has_time_codes(date_format: str) -> bool:
    """Whether ``date_format`` reads a time of day or a UTC offset besides the date."""
    return any(code in date_format for code in TIME_CODES)


def local_dates(text: pl.Expr, date_format: str) -> pl.Expr:
    """The local date as written of datetimes in ``date_format`` (time codes ``%H %M %S %I
    %p``, and ``%z`` at the end: the UTC offset is read past, not converted to UTC, so 23:30
    -05:00 on 31 January stays 31 January)."""
    if date_format.rstrip().endswith("%z"):
        text = text.str.replace(_OFFSET, "")
        date_format = date_format.rstrip().removesuffix("%z").rstrip()
    return text.str.to_datetime(date_format, strict=False).dt.date()


def date_expr(column: str, dtype: pl.DataType, date_format: str | None) -> pl.Expr:
    """Parse column ``column`` into ``date`` with a format from :func:`detect_date_format`
    or the user's strftime ``date_format`` (null where a value does not parse)."""
    col = pl.col(column)
    if dtype == pl.Date:
        return col
    if isinstance(dtype, pl.Datetime):
        return col.dt.date()
    text = col.cast(pl.String).str.strip_chars()
    if date_format is None:
        return pl.lit(None, pl.Date)
    if date_format == ISO:  # the first 10 characters: the local date as written
        return pl.when(text.str.contains(_ISO)).then(
            text.str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
        )
    if has_time_codes(date_format):
        return local_dates(text, date_format)
    if date_format in _DAY_FORMATS:  # an optional time of day after a space is dropped
        return text.str.split(" ").list.first().str.to_date(date_format, strict=False)
    return text.str.to_date(date_format, strict=False)


@dataclass(frozen=True)
class NumberFormat:
    """How the amount-like columns are written: a decimal comma, a currency to strip."""

    decimal_comma: bool = False
    currency: str | None = None


def detect_currency(values: list[str]) -> str | None:
    """The currency symbol or code every sampled value carries (``"kr"``, ``"€"``), or None."""
    found = set()
    for value in values:
        if value is None or not value.strip():
            continue
        match = _AFFIX.match(value)
        if match is None:
            return None
        found.add(match["pre"] or match["post"])
    return found.pop() if len(found) == 1 and None not in found else None


def number_expr(column: str, dtype: pl.DataType, fmt: NumberFormat) -> pl.Expr:
    """Parse column ``column`` as a float (null where a value is not a number).

    With ``fmt.decimal_comma``, ``12,50``, ``1 234,50`` (space or no-break space between
    thousands) and ``1.234,50`` read as 1234.5; a value with a decimal point then does not
    parse. ``fmt.currency`` is stripped from either end of every value.
    """
    col = pl.col(column)
    if dtype != pl.String:
        return col.cast(pl.Float64, strict=False)
    text = col.str.strip_chars()
    if fmt.currency is not None:
        currency = re.escape(fmt.currency)
        text = text.str.replace(rf"(?i)^{currency}\s*|\s*{currency}$", "").str.strip_chars()
    if fmt.decimal_comma:
        text = text.str.replace_all(f"[{_SPACES}]", " ")
        text = pl.when(text.str.contains(_COMMA_NUMBER)).then(
            text.str.replace_all(r"[ .]", "").str.replace(",", ".", literal=True)
        )
    return text.cast(pl.Float64, strict=False)


def flag_expr(column: str, dtype: pl.DataType) -> pl.Expr:
    """Parse a loyalty flag: true/false, 1/0, yes/no, y/n, t/f, ja/nej, tak/nie, kyllä/ei,
    так/ні (null otherwise; blank is false)."""
    col = pl.col(column)
    if dtype == pl.Boolean:
        return col.fill_null(False)
    text = col.cast(pl.String).str.strip_chars().str.to_lowercase().fill_null("")
    return pl.when(text.is_in(_TRUE)).then(True).when(text.is_in(_FALSE)).then(False)
