"""Realistic shop exports built from one set of purchases, plus the same data in ISO form.

Each writer returns the path and the ``read_transactions`` keywords a user passes for it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np

Purchase = tuple[str, dt.datetime, int, Decimal]  # customer, when, quantity, unit price


def purchases(n_customers: int = 300, *, seed: int = 7) -> list[Purchase]:
    """Repeat buyers over 2023-2024; prices with cents, a few above 1,000 (thousands)."""
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 1, 2)
    rows = []
    for i in range(n_customers):
        level = rng.gamma(20.0, 3.0) * (25 if i % 60 == 0 else 1)  # a few orders above 1,000
        for _ in range(int(rng.integers(1, 6))):
            when = start + dt.timedelta(minutes=int(rng.integers(0, 60 * 24 * 700)))
            price = Decimal(int(level * rng.gamma(10.0, 0.1) * 100) + 1) / 100
            rows.append((f"K{i:03d}", when, int(rng.integers(1, 4)), price))
    return rows


def amount(p: Purchase) -> Decimal:
    """Quantity x price in exact decimals, to the cent (the independent computation)."""
    return (p[2] * p[3]).quantize(Decimal("0.01"))


def iso_csv(path: Path, rows: list[Purchase], ids: Callable[[str], str] = str) -> Path:
    """The same purchases as ``customer_id,date,amount`` with ISO dates (ids mapped by ``ids``)."""
    lines = ["customer_id,date,amount"]
    lines += [f"{ids(r[0])},{r[1].date().isoformat()},{amount(r)}" for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def comma(value: Decimal, thousands: str = "\u00a0") -> str:
    """``1234.50`` -> ``1 234,50`` (a no-break space between thousands)."""
    whole, cents = f"{value:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:], *groups]
    return thousands.join([whole, *groups]) + "," + cents


def uci_csv(path: Path, rows: list[Purchase], *, blank_rows: int = 25) -> tuple[Path, dict]:
    """UCI Online Retail: InvoiceDate ``12/1/2010 8:26``, Quantity x UnitPrice, ``(blank)``."""
    lines = ["InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"]
    for n, (c, w, q, p) in enumerate(rows):
        when = f"{w.month}/{w.day}/{w.year} {w.hour}:{w.minute:02d}"
        lines.append(f'{536365 + n},85123A,"LANTERN, WHITE",{q},{when},{p},{c},United Kingdom')
    for n in range(blank_rows):
        lines.append(f"{600000 + n},22423,CAKESTAND,1,12/{n % 28 + 1}/2023 9:00,12.75,(blank),EIRE")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = {
        "customer_col": "CustomerID",
        "date_col": "InvoiceDate",
        "quantity_col": "Quantity",
        "price_col": "UnitPrice",
    }
    return path, options


def swedish_csv(path: Path, rows: list[Purchase]) -> tuple[Path, dict]:
    """``;``, ``dd.mm.yyyy``, ``1 234,50 kr``, header ``Kund;Köpdatum;Belopp``, CRLF lines."""
    lines = ["Kund;Köpdatum;Belopp"]
    lines += [f"{r[0]};{r[1]:%d.%m.%Y};{comma(amount(r))} kr" for r in rows]
    path.write_bytes(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8"))
    options = {"customer_col": "Kund", "date_col": "Köpdatum", "amount_col": "Belopp"}
    return path, options | {"separator": ";", "decimal_comma": True}


def polish_csv(path: Path, rows: list[Purchase]) -> tuple[Path, dict]:
    """cp1250: header ``Klient;Data zakupu;Kwota``, ``d-m-Y``, ``1.234,50 zł``, ids with ł."""
    lines = ["Klient;Data zakupu;Kwota"]
    lines += [f"{polish_id(r[0])};{r[1]:%d-%m-%Y};{comma(amount(r), '.')} zł" for r in rows]
    path.write_bytes(("\n".join(lines) + "\n").encode("cp1250"))
    options = {"customer_col": "Klient", "date_col": "Data zakupu", "amount_col": "Kwota"}
    return path, options | {"separator": ";", "decimal_comma": True, "encoding": "cp1250"}


def shopify_csv(path: Path, rows: list[Purchase], *, guests: int = 10) -> tuple[Path, dict]:
    """Name, Email, Created at ``2024-03-05 14:22:11 +0100``, Total, Source; guests: no email."""
    lines = ["Name,Email,Created at,Total,Source"]
    for n, r in enumerate(rows):
        lines.append(
            f"#{1001 + n},{shopify_id(r[0])},{r[1]:%Y-%m-%d %H:%M:%S} +0100,{amount(r)},web"
        )
    for n in range(guests):
        lines.append(f"#{9001 + n},,2024-03-05 14:22:11 +0100,19.90,pos")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    options = {"customer_col": "Email", "date_col": "Created at", "amount_col": "Total"}
    return path, options | {"order_col": "Name"}


def polish_id(customer: str) -> str:
    return customer.replace("K", "Ł")


def shopify_id(customer: str) -> str:
    return f"{customer.lower()}@example.se"
