"""A synthetic customer base drawn from a fitted model, as lifetimes' ``generate_data`` does.

Each customer makes a first purchase on ``start`` and is observed for ``periods`` model time
units. Purchases follow the purchase model's story: a Poisson process of rate
``lambda ~ Gamma(r, rate=alpha)`` per time unit, ended by dropout, which differs by model:

- BG/NBD (Fader, Hardie & Lee 2005a, section 2): after each repeat purchase the customer
  drops out with probability ``p ~ Beta(a, b)``;
- MBG/NBD (Batislam, Denizel & Filiztekin 2007): also right after the first purchase;
- Pareto/NBD (Schmittlein, Morrison & Colombo 1987): the lifetime is exponential with rate
  ``mu ~ Gamma(s, rate=beta)``.

Each order's amount is ``Gamma(p, rate=nu)`` with ``nu ~ Gamma(q, rate=v)`` per customer
(Gamma-Gamma, Fader, Hardie & Lee 2005b).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from clv.data.rfm import TIME_UNIT_DAYS, DateLike, as_date
from clv.errors import ModelError, UsageError
from clv.models.fitted import Fitted


def simulate_transactions(
    model: Fitted,
    n_customers: int,
    periods: float,
    *,
    seed: int = 0,
    start: DateLike = "2020-01-01",
) -> pl.DataFrame:
    """Transactions of ``n_customers`` new customers drawn from ``model``.

    Parameters
    ----------
    n_customers
        Customers to draw (at least 1).
    periods
        How long each customer is observed from their first purchase, in the model's time
        unit (``model.time_unit``): the summary of the result at ``start + periods`` has
        ``T = periods`` for everyone.
    seed
        Seed of the draws: the same seed gives the same frame.
    start
        Day of every customer's first purchase.

    Returns
    -------
    pl.DataFrame
        ``customer_id`` (``"1"``, ``"2"``, ...), ``date`` (purchase times rounded down to
        whole days) and ``amount`` (currency), one row per purchase, by customer and date.
    """
    if isinstance(n_customers, bool) or not isinstance(n_customers, int) or n_customers < 1:
        raise UsageError(f"n_customers must be a whole number >= 1, not {n_customers!r}")
    if not (isinstance(periods, int | float) and 0 < periods < float("inf")):
        raise UsageError(f"periods must be a positive number of {model.time_unit}, not {periods!r}")
    if model.purchase_model in model.limits:
        raise ModelError(
            f"simulate draws from the full purchase model; this {model.spec.title} was fitted "
            f"at its {model.limits[model.purchase_model]} limit"
        )
    rng = np.random.default_rng(seed)
    params = model.purchase
    rate = rng.gamma(params["r"], 1 / params["alpha"], n_customers)
    if model.purchase_model == "pareto_nbd":
        who, when = _pareto_purchases(rate, params, periods, rng)
    else:
        drop = rng.beta(params["a"], params["b"], n_customers)
        first_drop = model.purchase_model == "mbgnbd"
        who, when = _geometric_purchases(rate, drop, periods, rng, drop_at_first=first_drop)
    who = np.concatenate([np.arange(n_customers), who])  # the first purchases, at time 0
    when = np.concatenate([np.zeros(n_customers), when])
    amount = _order_values(model, who, n_customers, rng)
    days = np.floor(when * TIME_UNIT_DAYS[model.time_unit]).astype(np.int64)
    first = as_date(start, "start")
    return (
        pl.DataFrame({"customer": who + 1, "day": days, "amount": amount})
        .sort("customer", "day", maintain_order=True)
        .select(
            customer_id=pl.col("customer").cast(pl.String),
            date=pl.lit(first, dtype=pl.Date) + pl.duration(days=pl.col("day")),
            amount="amount",
        )
    )


def _order_values(
    model: Fitted, who: np.ndarray, n_customers: int, rng: np.random.Generator
) -> np.ndarray:
    """Each purchase's value: Gamma(p, nu) with each customer's nu ~ Gamma(q, v); at the
    equal-spend limit one nu for everyone; at the steady-spend limit every order of a customer
    is worth their own value, inverse gamma (q, theta) across customers."""
    gg = model.gamma_gamma
    limit = model.limits.get("gamma_gamma")
    if limit == "steady_spend":
        return (gg["theta"] / rng.gamma(gg["q"], 1.0, n_customers))[who]
    if limit == "equal_spend":
        return rng.gamma(gg["p"], 1 / gg["nu"], who.size)
    nu = rng.gamma(gg["q"], 1 / gg["v"], n_customers)
    return rng.gamma(gg["p"], 1 / nu[who])


def _geometric_purchases(
    rate: np.ndarray,
    drop: np.ndarray,
    periods: float,
    rng: np.random.Generator,
    *,
    drop_at_first: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases (customer, time) of BG/NBD (dropout after each repeat purchase, with
    probability ``drop``) or MBG/NBD (``drop_at_first``: also after the first purchase)."""
    active = np.arange(rate.size)
    if drop_at_first:
        active = active[rng.random(active.size) >= drop]
    clock = np.zeros(rate.size)
    who, when = [], []
    with np.errstate(divide="ignore"):  # a rate of 0 never buys again
        while active.size:
            clock[active] += rng.standard_exponential(active.size) / rate[active]
            active = active[clock[active] < periods]
            who.append(active)
            when.append(clock[active])
            active = active[rng.random(active.size) >= drop[active]]
    return np.concatenate(who), np.concatenate(when)


def _pareto_purchases(
    rate: np.ndarray, params: dict[str, float], periods: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases (customer, time) of Pareto/NBD: Poisson with ``rate`` over the part of
    ``periods`` before an exponential lifetime of rate ``mu ~ Gamma(s, rate=beta)``."""
    mu = rng.gamma(params["s"], 1 / params["beta"], rate.size)
    with np.errstate(divide="ignore"):  # a dropout rate of 0 lives forever
        alive_for = np.minimum(rng.standard_exponential(rate.size) / mu, periods)
    counts = rng.poisson(rate * alive_for)
    who = np.repeat(np.arange(rate.size), counts)
    return who, rng.uniform(0.0, 1.0, who.size) * alive_for[who]
