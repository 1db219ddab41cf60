"""The five data shapes every matrix test runs on, each a file a user could hand to ``clv``.

- ``cdnow``: the embedded CDNOW sample (the paper's data, with its 0-dollar purchases);
- ``uci``: a UCI Online Retail export (Quantity x UnitPrice, ``(blank)`` ids, a refund that
  cancels a customer's only purchase, a house account with 160 purchase days);
- ``swedish``: ``;``, ``dd.mm.yyyy``, ``1 234,50 kr``, CRLF;
- ``shop``: channels, loyalty, margins, channel costs and the loyalty programme's costs;
- ``steady``: a no-dropout shop (everyone buys at their own fixed pace until the end);
- ``no_dropout``: 600 customers, each with 1 + Poisson(2) purchases spread evenly over 500
  days, nobody gone: one purchase rate explains it (a model's limit, issue 26's shop).

Each shape gives the report parameters (``data`` and the reading options as a user passes
them) and ``raw()``: the transactions read back from the same file with pandas alone
(``customer_id``, ``date``, ``amount`` and, when the shape has them, ``order_id``,
``channel``, ``loyalty``, ``margin``), the independent side of the recomputation tests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shop_exports

SHOP_COSTS = {"search": 20.0, "paid_social": 40.0, "referral": 10.0}
"""Acquisition cost per new customer of the ``shop`` shape's channels."""


@dataclass
class Shape:
    """A data shape: its report parameters and its raw transactions read with pandas."""

    name: str
    parameters: dict[str, Any]
    raw: Callable[[], pd.DataFrame]
    ids: Callable[[], list[str]] = field(default=lambda: [])

    @property
    def data(self) -> str | None:
        return self.parameters.get("data")


def _cdnow(folder: Path) -> Shape:
    from clv.data.datasets import _lifetimes_dir

    path = _lifetimes_dir() / "datasets" / "CDNOW_sample.txt"

    def raw() -> pd.DataFrame:
        frame = pd.read_csv(
            path,
            sep=r"\s+",
            header=None,
            names=["master", "customer_id", "day", "cds", "amount"],
            dtype={"customer_id": str, "day": str},
        )
        frame["date"] = pd.to_datetime(frame["day"], format="%Y%m%d")
        return frame[["customer_id", "date", "amount"]]

    return Shape("cdnow", {"purchase_model": "bgnbd"}, raw, lambda: sorted(set(raw().customer_id)))


def _uci(folder: Path) -> Shape:
    rows = shop_exports.purchases(300, seed=7)
    start = dt.datetime(2023, 1, 9, 10, 0)
    rows += [
        ("K999", start + dt.timedelta(days=4 * i), 1, shop_exports.Decimal("3.50"))
        for i in range(160)
    ]  # a house account: 160 purchase days
    path, options = shop_exports.uci_csv(folder / "uci.csv", rows)
    with path.open("a", encoding="utf-8") as f:  # a customer whose only purchase is refunded
        f.write('700001,22111,"MUG",2,3/4/2024 10:00,10.00,K998,France\n')
        f.write('C700001,22111,"MUG",-2,3/5/2024 11:00,10.00,K998,France\n')

    def raw() -> pd.DataFrame:
        frame = pd.read_csv(path, dtype={"CustomerID": str})
        frame = frame[frame.CustomerID != "(blank)"]
        frame["date"] = pd.to_datetime(frame.InvoiceDate, format="%m/%d/%Y %H:%M").dt.normalize()
        frame["amount"] = frame.Quantity * frame.UnitPrice
        frame = frame.rename(columns={"CustomerID": "customer_id"})[
            ["customer_id", "date", "amount"]
        ]
        return _net_refunds(frame)

    params = {
        "data": str(path),
        **options,
        "negative_amounts": "net",
        "currency": "GBP",
        "purchase_model": "mbgnbd",
        "gg_penalizer": 0.001,
    }
    return Shape("uci", params, raw, lambda: sorted(set(raw().customer_id)))


def _net_refunds(frame: pd.DataFrame) -> pd.DataFrame:
    """negative_amounts="net" by hand: each refund moves to the customer's latest purchase
    day on or before it (refunds with none are left out)."""
    refunds, purchases = frame[frame.amount < 0], frame[frame.amount >= 0]
    days = purchases[["customer_id", "date"]].drop_duplicates().sort_values("date")
    moved = pd.merge_asof(
        refunds.sort_values("date"),
        days.rename(columns={"date": "purchase_day"}),
        left_on="date",
        right_on="purchase_day",
        by="customer_id",
    ).dropna(subset=["purchase_day"])
    moved["date"] = moved.purchase_day
    return pd.concat([purchases, moved[frame.columns]], ignore_index=True)


def _swedish(folder: Path) -> Shape:
    path, options = shop_exports.swedish_csv(
        folder / "svenska.csv", shop_exports.purchases(300, seed=7)
    )

    def raw() -> pd.DataFrame:
        frame = pd.read_csv(path, sep=";", dtype=str).dropna()
        amount = frame.Belopp.str.replace(" kr", "").str.replace("\u00a0", "").str.replace(",", ".")
        return pd.DataFrame(
            {
                "customer_id": frame.Kund,
                "date": pd.to_datetime(frame["Köpdatum"], format="%d.%m.%Y"),
                "amount": amount.astype(float),
            }
        )

    params = {"data": str(path), **options, "currency": "kr"}
    return Shape("swedish", params, raw, lambda: sorted(set(raw().customer_id)))


def _shop(folder: Path) -> Shape:
    from clv.data.datasets import synthetic_shop

    path = folder / "shop.csv"
    synthetic_shop(1_200, seed=5)[0].write_csv(path)

    def raw() -> pd.DataFrame:
        frame = pd.read_csv(path, dtype={"customer_id": str, "order_id": str})
        frame["date"] = pd.to_datetime(frame.date)
        return frame

    params = {
        "data": str(path),
        "order_col": "order_id",
        "channel_col": "channel",
        "loyalty_col": "loyalty",
        "margin_col": "margin",
        "product_col": "product",
        "channel_costs": SHOP_COSTS,
        "member_discount_rate": 0.05,
        "cost_per_reward": 4.0,
        "currency": "EUR",
    }
    return Shape("shop", params, raw, lambda: sorted(set(raw().customer_id)))


def steady_transactions() -> pd.DataFrame:
    """600 customers buying every 20-59 days (a fixed gap each) from 2024 until 2025-05-14."""
    rng = np.random.default_rng(1)
    start = dt.date(2024, 1, 1)
    rows = []
    for i in range(600):
        first, gap = int(rng.integers(0, 100)), int(rng.integers(20, 60))
        rows += [
            (f"s{i:03d}", start + dt.timedelta(days=d), round(float(rng.uniform(10, 50)), 2))
            for d in range(first, 500, gap)
        ]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


STEADY_EXCLUDED = ["s007", "9404"]
"""The steady shop's customers left out on request: one it holds, one it does not."""


def _steady(folder: Path) -> Shape:
    path = folder / "steady.csv"
    steady_transactions().to_csv(path, index=False)

    def every_row() -> pd.DataFrame:
        frame = pd.read_csv(path, dtype={"customer_id": str})
        frame["date"] = pd.to_datetime(frame.date)
        return frame

    def raw() -> pd.DataFrame:  # without the customers left out on request
        frame = every_row()
        return frame[~frame.customer_id.isin(STEADY_EXCLUDED)]

    params = {
        "data": str(path),
        "observation_end": "2025-05-14",
        "gg_penalizer": 0.001,
        "exclude_customers": STEADY_EXCLUDED,
    }
    ids = lambda: sorted(set(every_row().customer_id) | set(STEADY_EXCLUDED))  # noqa: E731
    return Shape("steady", params, raw, ids)


def no_dropout_transactions(customers: int = 600, seed: int = 7) -> pd.DataFrame:
    """Each customer buys 1 + Poisson(2) times, evenly spread over 500 days to 2025-05-14."""
    rng = np.random.default_rng(seed)
    end = dt.date(2025, 5, 14)
    rows = []
    for i in range(customers):
        n = 1 + int(rng.poisson(2))
        first = int(rng.integers(0, 100))
        days = sorted({int(d) for d in np.linspace(first, 499, n + 1)[:-1].round()})
        amount = round(float(rng.uniform(20, 60)), 2)
        rows += [(f"n{i:03d}", end - dt.timedelta(days=499 - d), amount) for d in days]
    return pd.DataFrame(rows, columns=["customer_id", "date", "amount"])


def _no_dropout(folder: Path) -> Shape:
    path = folder / "no_dropout.csv"
    no_dropout_transactions().to_csv(path, index=False)

    def raw() -> pd.DataFrame:
        frame = pd.read_csv(path, dtype={"customer_id": str})
        frame["date"] = pd.to_datetime(frame.date)
        return frame

    params = {"data": str(path), "observation_end": "2025-05-14"}
    return Shape("no_dropout", params, raw, lambda: sorted(set(raw().customer_id)))


MAKERS = {
    "cdnow": _cdnow,
    "uci": _uci,
    "swedish": _swedish,
    "shop": _shop,
    "steady": _steady,
    "no_dropout": _no_dropout,
}
"""Each shape by name."""

NAMES = tuple(MAKERS)


def make(name: str, folder: Path) -> Shape:
    """The shape ``name``, its file written in ``folder``."""
    return MAKERS[name](folder)
