"""A seeded shop whose acquisition channels follow known BG/NBD + Gamma-Gamma parameters.

Made to check per-channel models: existing customers with a holdout year, and a cohort of
new customers followed for a year from their first order.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from clv.data.rfm import DateLike, as_date
from clv.errors import UsageError

SIMULATED_CHANNELS: dict[str, dict[str, float]] = {
    "referral": {"r": 2.0, "alpha": 10.0, "a": 1.2, "b": 14.0, "p": 6.0, "q": 4.0, "v": 20.0},
    "search": {"r": 1.0, "alpha": 10.0, "a": 1.2, "b": 5.0, "p": 5.0, "q": 4.0, "v": 15.0},
    "paid_social": {"r": 0.5, "alpha": 12.0, "a": 2.0, "b": 3.0, "p": 4.0, "q": 5.0, "v": 25.0},
}
"""True parameters per channel (alpha in weeks; v in currency). Referral customers buy
often (mean rate r/alpha = 0.2 a week) and rarely drop out (E[p] = a/(a+b) = 0.08 after each
repeat order); paid-social customers buy rarely (0.04 a week) and leave soon (0.4)."""

REPEAT_CHANNEL = ("email", 0.3)
"""Share of repeat orders that come through another channel than the acquisition one."""


def simulate_purchases(
    params: dict[str, float], acquired_days: np.ndarray, until_day: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Orders of customers acquired on ``acquired_days`` (whole days) up to ``until_day``.

    The BG/NBD story (Fader, Hardie & Lee 2005a, section 2): a first order on the acquisition
    day, then repeat orders as a Poisson process of rate ``lambda ~ Gamma(r, rate=alpha)`` per
    week, the customer dropping out after each repeat order with ``p ~ Beta(a, b)``. Each
    order's amount is ``Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)`` per customer
    (Fader, Hardie & Lee 2005b). Returns the customer index, day and amount of every order.
    """
    n = acquired_days.size
    lam = rng.gamma(params["r"], 1.0 / params["alpha"], n) / 7.0  # per day
    drop = rng.beta(params["a"], params["b"], n)
    nu = rng.gamma(params["q"], 1.0 / params["v"], n)
    who, days = [np.arange(n)], [acquired_days.astype(float)]
    t = acquired_days.astype(float)
    alive = np.arange(n)
    while alive.size:
        t[alive] += rng.exponential(1.0 / lam[alive])
        alive = alive[t[alive] <= until_day]
        who.append(alive)
        days.append(t[alive].copy())
        alive = alive[rng.random(alive.size) >= drop[alive]]
    customer = np.concatenate(who)
    amount = rng.gamma(params["p"], 1.0, customer.size) / nu[customer]
    return customer, np.floor(np.concatenate(days)).astype(np.int64), np.round(amount, 2)


def channel_shop(
    customers_per_channel: int,
    *,
    seed: int,
    start: DateLike = "2022-01-01",
    observation_end: DateLike = "2023-12-31",
    holdout_days: int = 365,
    new_customers_per_channel: int = 0,
    channels: dict[str, dict[str, float]] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Transactions of a shop whose channels differ, and the first-year spend of new customers.

    Parameters
    ----------
    customers_per_channel
        Existing customers per channel, acquired on days drawn uniformly from ``start`` to
        ``observation_end``; their orders run to ``holdout_days`` after ``observation_end``.
    seed
        Seed of the numpy generator.
    new_customers_per_channel
        Customers acquired per channel on the day after ``observation_end``, followed for
        365 days.
    channels
        True parameters per channel (default :data:`SIMULATED_CHANNELS`).

    Returns
    -------
    tuple[pl.DataFrame, pl.DataFrame]
        Transactions (``customer_id``, ``date``, ``amount``, ``channel``: the acquisition
        channel, or ``email`` on a share :data:`REPEAT_CHANNEL` of the orders on later days
        than the first), and one row per new customer: ``channel``, ``first_year_spend`` (currency,
        first order included).
    """
    if customers_per_channel < 1:
        raise UsageError(f"customers_per_channel must be at least 1, not {customers_per_channel}")
    channels = SIMULATED_CHANNELS if channels is None else channels
    rng = np.random.default_rng(seed)
    first, end = as_date(start, "start"), as_date(observation_end, "observation end")
    span = (end - first).days + 1
    frames, new = [], []
    for k, (name, params) in enumerate(channels.items()):
        acquired = rng.integers(0, span, customers_per_channel)
        who, day, amount = simulate_purchases(params, acquired, span - 1 + holdout_days, rng)
        later = day > acquired[who]  # a repeat order on a later day than the first
        other = later & (rng.random(who.size) < REPEAT_CHANNEL[1])
        frames.append(
            pl.DataFrame(
                {
                    "customer_id": [f"{name[0].upper()}{k}-{i:07d}" for i in who],
                    "date": [first + dt.timedelta(days=int(d)) for d in day],
                    "amount": amount,
                    "channel": np.where(other, REPEAT_CHANNEL[0], name),
                }
            )
        )
        if new_customers_per_channel:
            n = new_customers_per_channel
            who, _, amount = simulate_purchases(params, np.zeros(n, np.int64), 364, rng)
            spend = np.bincount(who, weights=amount, minlength=n)
            new.append(pl.DataFrame({"channel": [name] * n, "first_year_spend": spend}))
    transactions = pl.concat(frames).sort("date", "customer_id")
    schema = {"channel": pl.String, "first_year_spend": pl.Float64}
    return transactions, pl.concat(new) if new else pl.DataFrame(schema=schema)
