"""Map a file's columns onto clv's canonical names; say which are missing and what is close."""

import difflib
import re

REQUIRED = {"customer_col": "customer_id", "date_col": "date", "amount_col": "amount"}
"""Keyword of each required column → its canonical name (and default)."""

OPTIONAL = {
    "order_col": "order_id",
    "channel_col": "channel",
    "product_col": "product",
    "loyalty_col": "loyalty",
    "margin_col": "margin",
}
"""Keyword of each optional column → its canonical name."""

_ALIASES = {  # words in a column name that suggest the canonical column
    "customer_id": ("customer", "client", "kund", "klient", "email", "user"),
    "date": ("date", "datum", "data", "created", "time", "day"),
    "amount": ("amount", "total", "revenue", "sales", "belopp", "kwota", "summa", "value"),
    "quantity": ("quantity", "qty", "antal", "ilosc", "ilość", "menge", "units"),
    "price": ("price", "pris", "cena", "preis"),
}


def missing_message(name: str, missing: list[tuple[str, str]], found: list[str]) -> str:
    """One line naming every missing column, the closest existing name and the keyword."""
    parts = []
    keyword = {c: k for k, c in (REQUIRED | OPTIONAL).items()} | {
        "quantity": "quantity_col",
        "price": "price_col",
    }
    for canonical, col in missing:
        near = closest(canonical, col, found)
        if near is not None:
            parts.append(f"no column {col!r} (closest: {near!r}: {keyword[canonical]}={near!r})")
        else:
            parts.append(f"no column {col!r} (map yours with {keyword[canonical]}=)")
    hint = ""
    quantity, price = closest("quantity", "", found), closest("price", "", found)
    if any(c == "amount" for c, _ in missing) and quantity and price:
        hint = (
            f"; no amount column, but quantity_col={quantity!r} price_col={price!r} give amount "
            "= quantity x price"
        )
    if len(found) == 1 and (delimiter := next((s for s in ";\t|" if s in found[0]), None)):
        hint += f"; the header looks like one field: pass separator={delimiter!r}"
    return f"{name}: {', '.join(parts)}; columns found: {', '.join(found) or 'none'}{hint}"


def closest(canonical: str, given: str, found: list[str]) -> str | None:
    """The found column most like ``given`` (difflib), else one containing a known word."""

    def plain(s: str) -> str:
        return re.sub(r"[\W_]+", "", s.lower())

    by_plain = {plain(f): f for f in found}
    near = difflib.get_close_matches(plain(given), list(by_plain), n=1, cutoff=0.75)
    if given and near:
        return by_plain[near[0]]
    for word in _ALIASES.get(canonical, ()):
        for f in found:
            if word in plain(f):
                return f
    return None
