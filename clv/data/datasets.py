"""Embedded data sets: CDNOW (read from the lifetimes package's files) and a synthetic shop."""

import datetime as dt
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import polars as pl

from clv.errors import UsageError

_EPOCH = dt.date(1970, 1, 1)

CDNOW_CALIBRATION_END = "1997-09-30"
"""End of the 39-week calibration period used by Fader, Hardie & Lee (2005)."""


def _lifetimes_dir() -> Path:
    """The installed lifetimes package, found without importing it (that takes seconds)."""
    spec = find_spec("lifetimes")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("lifetimes is not installed; pip install lifetimes==0.11.3")
    return Path(spec.origin).parent


def cdnow(sample: bool = True) -> pl.DataFrame:
    """CDNOW transactions, 1997-01-01 to 1998-06-30, as a transactions frame.

    Parameters
    ----------
    sample
        ``True``: the 1/10 sample of 2,357 customers used in the BG/NBD paper, with the
        sample's customer ids ``"0001"`` to ``"2357"``. ``False``: all 23,570 customers,
        ids ``"00001"`` to ``"23570"``.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (str), ``date`` (date), ``amount`` (US dollars), ``quantity`` (CDs).
        Customer-days are not merged; the master file has purchases of 0 dollars.
    """
    name = "CDNOW_sample.txt" if sample else "CDNOW_master.txt"
    text = (_lifetimes_dir() / "datasets" / name).read_text()
    lines = [line.split() for line in text.splitlines()]
    if not sample:
        lines = lines[1:]  # the master file has a header line
    id_at = 1 if sample else 0  # the sample file starts with the master id, then its own
    return pl.DataFrame(
        {
            "customer_id": [f[id_at] for f in lines],
            "date": [f[-3] for f in lines],
            "quantity": [f[-2] for f in lines],
            "amount": [f[-1] for f in lines],
        }
    ).select(
        "customer_id",
        pl.col("date").str.to_date("%Y%m%d"),
        pl.col("amount").cast(pl.Float64),
        pl.col("quantity").cast(pl.Int64),
    )


SYNTHETIC_PARAMS: dict[str, Any] = {
    "bgnbd": {"r": 0.75, "alpha": 10.0, "a": 0.8, "b": 2.5},
    "gamma_gamma": {"p": 6.0, "q": 4.0, "v": 30.0},
    "channels": {
        # share of new customers; multipliers on the purchase rate (lambda), on b (a larger b
        # means a smaller dropout probability p) and on spend per order.
        "referral": {"share": 0.2, "rate": 1.5, "retention": 1.6, "spend": 1.2},
        "search": {"share": 0.5, "rate": 1.0, "retention": 1.0, "spend": 1.0},
        "paid_social": {"share": 0.3, "rate": 0.6, "retention": 0.6, "spend": 0.85},
    },
    "loyalty": {"share": 0.25, "rate": 1.6, "retention": 1.3, "spend": 1.15},
    "repeat_channels": {"same": 0.5, "email": 0.3, "direct": 0.2},
    "first_order_spend": 0.85,
    "n_products": 40,
    "product_zipf": 1.1,
    "margin_rate": (0.15, 0.55),
}
"""Default parameters of :func:`synthetic_shop` (time unit: weeks; money: currency units).

``bgnbd`` and ``gamma_gamma`` are the parameters of the base segment (search, non-member);
see :func:`synthetic_shop` for how the channel and loyalty multipliers act on them.
"""


def _merge_params(params: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults updated by ``params``, one level deep for the dict-valued entries."""
    import copy

    merged = copy.deepcopy(SYNTHETIC_PARAMS)
    for key, value in (params or {}).items():
        if key not in merged:
            raise UsageError(
                f"synthetic_shop: unknown parameter {key!r}; use one of {sorted(merged)}"
            )
        if key in ("bgnbd", "gamma_gamma", "loyalty") and isinstance(value, dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def synthetic_shop(
    n_customers: int,
    *,
    seed: int,
    start: str = "2023-01-01",
    end: str = "2024-12-31",
    params: dict[str, object] | None = None,
    heterogeneous: bool = True,
) -> tuple[pl.DataFrame, dict[str, object]]:
    """A seeded synthetic shop drawn from known BG/NBD and Gamma-Gamma parameters.

    Every customer is acquired on a day drawn uniformly from ``start`` to ``end`` (their first
    order) and then follows the BG/NBD story of Fader, Hardie & Lee (2005), time in weeks:
    repeat purchases arrive as a Poisson process with rate ``lambda ~ Gamma(r, rate=alpha)``
    and after each repeat purchase the customer drops out with probability
    ``p ~ Beta(a, b)``. The number of repeat purchases seen by the end is therefore
    ``min(J, N)`` with ``J ~ Geometric(p)`` on 1, 2, ... and ``N ~ Poisson(lambda * T)``; their
    times are the first order statistics of ``N`` uniforms on ``[0, T)``, drawn through
    exponential spacings (exact, vectorised). Times are rounded to the nearest day, so a
    repeat purchase falls on the same day as another one now and then (rarely).
    Each order's amount follows Gamma-Gamma (Fader, Hardie & Lee 2005b "RFM and CLV"):
    ``amount ~ Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)`` per customer, rounded to
    cents (at least 0.01); the first order is scaled by ``first_order_spend`` (new customers
    spend less, which the Gamma-Gamma model never sees since it uses repeat orders only).

    Channels and loyalty (``heterogeneous=True``): a customer of acquisition channel ``c``
    who is (or is not) a loyalty member gets ``lambda * rate_c * rate_m``, ``b * retention_c
    * retention_m`` and ``nu / (spend_c * spend_m)``. Since gamma and beta families are
    closed under these operations, every segment (channel x membership) is itself an exact
    BG/NBD with ``(r, alpha / (rate_c rate_m), a, b retention_c retention_m)`` and an exact
    Gamma-Gamma with ``(p, q, v spend_c spend_m)``; the whole shop is a mixture of them.
    Quality order by default: referral (more purchases, less dropout, higher spend) >
    search (the base) > paid_social; members buy more often, stay longer and spend more.
    With ``heterogeneous=False`` channel and membership are still drawn (same shares) but
    have no effect: every customer follows the base parameters, so a BG/NBD fit on the
    whole shop recovers ``true_params["bgnbd"]`` and ``true_params["gamma_gamma"]``.

    Products: ``n_products`` products with Zipf popularity and a margin rate each (uniform in
    ``margin_rate``). A customer's first order is a product drawn by popularity (their
    favourite); each repeat order re-orders the favourite with probability
    ``0.1 + 0.8 * u``, where ``u`` is the customer's percentile of expected value
    ``lambda * E[amount]``, else a product drawn by popularity. So top customers tend to
    re-order the same product. ``margin = round(amount * margin_rate(product), 2)``.
    Repeat orders come through the acquisition channel with probability
    ``repeat_channels["same"]``, otherwise through the other named channels (e.g. email).

    Parameters
    ----------
    n_customers
        Number of customers (all of them buy at least once in the period).
    seed
        Seed of the numpy random generator: the same seed gives the same frame.
    start, end
        First and last day of the period (ISO dates, inclusive).
    params
        Overrides of :data:`SYNTHETIC_PARAMS` (``bgnbd`` / ``gamma_gamma`` / ``loyalty`` are
        merged key by key, other entries replaced).
    heterogeneous
        Whether channel and loyalty multipliers act (see above).

    Returns
    -------
    tuple[pl.DataFrame, dict]
        Transactions sorted by date and customer: ``customer_id`` (``"C0000001"``...),
        ``date``, ``amount``, ``order_id`` (``"O00000001"``..., one per row), ``channel``,
        ``product`` (``"P001"``...), ``loyalty`` (member flag, constant per customer),
        ``margin``. And the true parameters: the merged ``params`` plus ``time_unit`` ("W"),
        ``heterogeneous``, ``start``, ``end``, ``n_customers`` and ``segments``:
        ``{"<channel>|member" or "<channel>|non_member": {"r", "alpha", "a", "b", "p", "q",
        "v", "customers"}}`` with the exact parameters each segment was drawn from.

    Examples
    --------
    >>> shop, truth = synthetic_shop(1_000, seed=1)
    >>> truth["bgnbd"]["r"]
    0.75
    """
    import numpy as np

    if n_customers < 1:
        raise UsageError(f"synthetic_shop: n_customers must be at least 1, not {n_customers}")
    prm = _merge_params(params)
    bg, gg = prm["bgnbd"], prm["gamma_gamma"]
    channels: dict[str, dict[str, float]] = prm["channels"]
    loyalty: dict[str, float] = prm["loyalty"]
    start_day, end_day = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
    n_days = (end_day - start_day).days + 1
    if n_days < 1:
        raise UsageError(f"synthetic_shop: end {end} is before start {start}")
    rng = np.random.default_rng(seed)
    n = n_customers

    # customers: acquisition day, channel, membership, multipliers
    acq = rng.integers(0, n_days, size=n)
    names = list(channels)
    shares = np.array([channels[c]["share"] for c in names], dtype=float)
    chan = rng.choice(len(names), size=n, p=shares / shares.sum())
    member = rng.random(n) < loyalty["share"]

    def mult(key: str) -> np.ndarray:
        if not heterogeneous:
            return np.ones(n)
        by_channel = np.array([channels[c][key] for c in names])[chan]
        return by_channel * np.where(member, loyalty[key], 1.0)

    rate_m, ret_m, spend_m = mult("rate"), mult("retention"), mult("spend")
    lam = rng.gamma(bg["r"], 1.0 / bg["alpha"], size=n) * rate_m
    p_drop = rng.beta(bg["a"], bg["b"] * ret_m)
    nu = rng.gamma(gg["q"], 1.0 / gg["v"], size=n) / spend_m

    # repeat purchases: x = min(J, N), times = first x order statistics of N uniforms on [0, T)
    T = (n_days - 1 - acq) / 7.0  # weeks from first order to the last day
    n_poisson = rng.poisson(lam * T)
    j_alive = rng.geometric(np.clip(p_drop, 1e-12, 1.0))
    x = np.minimum(j_alive, n_poisson)
    total = int(x.sum())
    owner = np.repeat(np.arange(n), x)
    offsets = np.cumsum(x) - x  # index of each customer's first repeat in the flat arrays
    spacing = rng.standard_exponential(total)
    csum = np.cumsum(spacing)
    before = np.concatenate([[0.0], csum])[offsets]  # cumulative sum before each customer
    partial = csum - np.repeat(before, x)  # S_1..S_x within each customer
    s_x = np.zeros(n)
    has = x > 0
    s_x[has] = partial[(offsets + x - 1)[has]]
    rest = np.where(n_poisson > x, rng.standard_gamma(np.maximum(n_poisson - x, 1) + 1.0), 0.0)
    rest = np.where(n_poisson > x, rest, rng.standard_exponential(n))  # S_{N+1} - S_x
    t_repeat = T[owner] * partial / (s_x + rest)[owner]
    day_repeat = np.minimum(acq[owner] + np.rint(t_repeat * 7.0).astype(np.int64), n_days - 1)

    # rows: first orders then repeats
    cust = np.concatenate([np.arange(n), owner])
    day = np.concatenate([acq, day_repeat])
    is_first = np.concatenate([np.ones(n, bool), np.zeros(total, bool)])
    amount = rng.gamma(gg["p"], 1.0, size=n + total) / nu[cust]
    amount = np.where(is_first, amount * prm["first_order_spend"], amount)
    amount = np.maximum(np.round(amount, 2), 0.01)

    # products: favourite by popularity, re-ordered more by high expected-value customers
    n_products = int(prm["n_products"])
    popularity = 1.0 / np.arange(1, n_products + 1) ** float(prm["product_zipf"])
    popularity /= popularity.sum()
    favourite = rng.choice(n_products, size=n, p=popularity)
    value = lam * gg["p"] / nu
    percentile = np.empty(n)
    percentile[np.argsort(value, kind="stable")] = (np.arange(n) + 0.5) / n
    same = rng.random(n + total) < 0.1 + 0.8 * percentile[cust]
    product = np.where(
        is_first | same, favourite[cust], rng.choice(n_products, size=n + total, p=popularity)
    )
    lo, hi = prm["margin_rate"]
    margin_rate = rng.uniform(lo, hi, size=n_products)
    margin = np.round(amount * margin_rate[product], 2)

    # channel of each row: acquisition channel for first orders, a mix for repeats
    repeat_names = [c for c in prm["repeat_channels"] if c != "same"]
    all_names = names + [c for c in repeat_names if c not in names]
    rc = prm["repeat_channels"]
    probs = np.array([rc["same"], *(rc[c] for c in repeat_names)], dtype=float)
    pick = rng.choice(len(probs), size=n + total, p=probs / probs.sum())
    other = np.array([all_names.index(c) for c in repeat_names], dtype=np.int64)
    row_channel = np.where(
        is_first | (pick == 0), chan[cust], other[np.maximum(pick - 1, 0)] if len(other) else 0
    )

    width = max(7, len(str(n)))
    customer_ids = "C" + pl.Series(np.arange(1, n + 1) + 10**width).cast(pl.String).str.slice(1)
    product_ids = "P" + pl.Series(np.arange(1, n_products + 1) + 1000).cast(pl.String).str.slice(1)
    rows = pl.DataFrame(
        {
            "key": day.astype(np.int64) * n + cust,  # date, then customer
            "cust": cust.astype(np.int32),
            "day": day.astype(np.int32),
            "amount": amount,
            "channel": row_channel.astype(np.int32),
            "product": product.astype(np.int32),
            "margin": margin,
        }
    ).sort("key")
    row_cust = rows["cust"].to_numpy()
    row_numbers = pl.Series(np.arange(1, n + total + 1) + 10 ** (width + 1)).cast(pl.String)
    frame = pl.DataFrame(
        {
            "customer_id": customer_ids.gather(row_cust),
            "date": (rows["day"] + (start_day - _EPOCH).days).cast(pl.Date),
            "amount": rows["amount"],
            "order_id": "O" + row_numbers.str.slice(1),
            "channel": pl.Series(all_names, dtype=pl.String).gather(rows["channel"]),
            "product": product_ids.gather(rows["product"]),
            "loyalty": member[row_cust],
            "margin": rows["margin"],
        }
    )

    segments: dict[str, dict[str, float]] = {}
    for ci, c in enumerate(names):
        for is_member, label in ((True, "member"), (False, "non_member")):
            ch, lo_m = channels[c], loyalty
            on = heterogeneous
            rate = (ch["rate"] * (lo_m["rate"] if is_member else 1.0)) if on else 1.0
            ret = (ch["retention"] * (lo_m["retention"] if is_member else 1.0)) if on else 1.0
            spend = (ch["spend"] * (lo_m["spend"] if is_member else 1.0)) if on else 1.0
            segments[f"{c}|{label}"] = {
                "r": bg["r"],
                "alpha": bg["alpha"] / rate,
                "a": bg["a"],
                "b": bg["b"] * ret,
                "p": gg["p"],
                "q": gg["q"],
                "v": gg["v"] * spend,
                "customers": int(np.sum((chan == ci) & (member == is_member))),
            }
    truth = {
        **prm,
        "time_unit": "W",
        "heterogeneous": heterogeneous,
        "start": start,
        "end": end,
        "n_customers": n,
        "seed": seed,
        "segments": segments,
    }
    return frame, truth
