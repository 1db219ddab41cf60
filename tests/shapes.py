"""The data shapes every test matrix of the suite runs on, made in one place.

Each shape is transactions in clv's own column names plus the options that map them, so a
matrix can hand it to ``clv.analyze``, to ``clv report`` as a CSV, or to a notebook:

- ``cdnow``: the CDNOW sample (2,357 customers; BG/NBD's published data);
- ``shop``: a synthetic shop with channels, loyalty, products and margins, plus channel costs;
- ``no_dropout``: 600 customers, each with 1 + Poisson(2) purchases spread evenly over
  500 days, nobody gone (one purchase rate explains it: a model's limit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl


@dataclass(frozen=True)
class Shape:
    """Transactions and the analysis options that read them (columns, costs)."""

    name: str
    transactions: pl.DataFrame
    options: dict[str, Any] = field(default_factory=dict)

    def csv(self, folder: Path) -> Path:
        """The transactions as a CSV file in ``folder`` (written once)."""
        path = folder / f"{self.name}.csv"
        if not path.exists():
            self.transactions.write_csv(path)
        return path


def cdnow() -> Shape:
    from clv.data.datasets import cdnow

    return Shape("cdnow", cdnow())


def shop(customers: int = 2_000) -> Shape:
    """Channels, loyalty, products, margins and the channels' acquisition costs."""
    from clv.data.datasets import synthetic_shop

    tx, _ = synthetic_shop(customers, seed=3)
    channels = sorted(tx["channel"].unique().to_list())
    costs = {c: 10.0 + 5 * i for i, c in enumerate(channels)}
    options = {
        "order_col": "order_id",
        "channel_col": "channel",
        "product_col": "product",
        "loyalty_col": "loyalty",
        "margin_col": "margin",
        "channel_costs": costs,
        "member_discount_rate": 0.05,
        "cost_per_reward": 2.0,
    }
    return Shape("shop", tx, options)


def no_dropout(customers: int = 600, seed: int = 7) -> Shape:
    """Each customer buys 1 + Poisson(2) times, evenly spread over 500 days to 2025-05-14."""
    rng = np.random.default_rng(seed)
    end = dt.date(2025, 5, 14)
    rows = []
    for i in range(customers):
        n = 1 + int(rng.poisson(2))
        first = int(rng.integers(0, 100))
        days = np.linspace(first, 499, n + 1)[:-1].round().astype(int) if n > 1 else [first]
        amount = float(rng.uniform(20, 60))
        for d in sorted(set(int(x) for x in days)):
            rows.append((f"n{i}", end - dt.timedelta(days=499 - d), round(amount, 2)))
    frame = pl.DataFrame(rows, schema=["customer_id", "date", "amount"], orient="row")
    return Shape("no_dropout", frame, {"observation_end": end.isoformat()})


SHAPES = {"cdnow": cdnow, "shop": shop, "no_dropout": no_dropout}
"""Every shape by name."""
