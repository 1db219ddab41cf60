"""The three purchase models behind one interface: BG/NBD, MBG/NBD and Pareto/NBD.

Each is scored the same way. ``numerator(params, t, x, T)`` (which depends on the
frequency and age only, so it is evaluated once per distinct pair) divided by
``denominator(params, x, t_x, T)`` (``1 / P(alive)``) is the expected number of purchases
in the next ``t``; ``p_alive``, ``probability_at_least`` and the new-customer
``expected_new`` complete the set.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal

from clv.errors import UsageError
from clv.models import bgnbd, mbgnbd, nbd, pareto_nbd

PurchaseModelName = Literal["bgnbd", "mbgnbd", "pareto_nbd"]


@dataclass(frozen=True)
class PurchaseModel:
    """One purchase model's parameters and formulas (functions of a parameter dict)."""

    name: str
    title: str
    params: tuple[str, ...]
    fit: Callable
    p_alive: Callable
    numerator: Callable
    denominator: Callable
    expected_new: Callable
    probability_at_least: Callable
    probability_of_purchases: Callable
    """A new customer's P(X(t) = n)."""
    dropout: str
    """The parameter that goes to its boundary when nobody is seen to drop out."""


PURCHASE_MODELS: dict[str, PurchaseModel] = {
    "bgnbd": PurchaseModel(
        "bgnbd",
        "BG/NBD",
        bgnbd.BGNBD_PARAMS,
        bgnbd.fit_bgnbd_fast,
        bgnbd.p_alive,
        bgnbd.conditional_numerator,
        bgnbd.conditional_denominator,
        bgnbd.expected_purchases_new_customer,
        bgnbd.probability_at_least,
        bgnbd.probability_of_purchases,
        "a",
    ),
    "mbgnbd": PurchaseModel(
        "mbgnbd",
        "MBG/NBD",
        mbgnbd.MBGNBD_PARAMS,
        mbgnbd.fit_mbgnbd_fast,
        mbgnbd.p_alive,
        mbgnbd.conditional_numerator,
        mbgnbd.conditional_denominator,
        mbgnbd.expected_purchases_new_customer,
        mbgnbd.probability_at_least,
        mbgnbd.probability_of_purchases,
        "a",
    ),
    "pareto_nbd": PurchaseModel(
        "pareto_nbd",
        "Pareto/NBD",
        pareto_nbd.PARETO_NBD_PARAMS,
        pareto_nbd.fit_pareto_nbd_fast,
        pareto_nbd.p_alive,
        pareto_nbd.conditional_numerator,
        pareto_nbd.conditional_denominator,
        pareto_nbd.expected_purchases_new_customer,
        pareto_nbd.probability_at_least,
        pareto_nbd.probability_of_purchases,
        "s",
    ),
}
"""BG/NBD (Fader, Hardie & Lee 2005a), MBG/NBD (Batislam, Denizel & Filiztekin 2007),
Pareto/NBD (Schmittlein, Morrison & Colombo 1987)."""


def _one_rate(name: str, title: str, shift: int) -> PurchaseModel:
    """BG/NBD's (``shift = 0``) or MBG/NBD's (``1``) one-rate limit, dropout kept
    (:func:`clv.models.bgnbd.fit_poisson_dropout`)."""
    return PurchaseModel(
        name,
        f"{title} with one purchase rate",
        bgnbd.POISSON_DROPOUT_PARAMS,
        partial(bgnbd.fit_poisson_dropout, shift=shift),
        partial(bgnbd.poisson_dropout_p_alive, shift=shift),
        partial(bgnbd.poisson_dropout_numerator, shift=shift),
        partial(bgnbd.poisson_dropout_denominator, shift=shift),
        partial(bgnbd.poisson_dropout_expected_new, shift=shift),
        partial(bgnbd.poisson_dropout_probability_at_least, shift=shift),
        partial(bgnbd.poisson_dropout_probability_of_purchases, shift=shift),
        "a",
    )


PARETO_ONE_RATE = PurchaseModel(
    "pareto_nbd_poisson",
    "Pareto/NBD with one purchase rate",
    pareto_nbd.ONE_RATE_PARAMS,
    pareto_nbd.fit_one_rate,
    pareto_nbd.one_rate_p_alive,
    pareto_nbd.one_rate_numerator,
    pareto_nbd.one_rate_denominator,
    pareto_nbd.one_rate_expected_new,
    pareto_nbd.one_rate_probability_at_least,
    pareto_nbd.one_rate_probability_of_purchases,
    "s",
)
"""Pareto/NBD's one-rate limit, its dropout kept (:func:`clv.models.pareto_nbd.fit_one_rate`)."""


_NO_DROPOUT: dict[str, PurchaseModel] = {
    "poisson_no_dropout": PurchaseModel(
        "poisson_no_dropout",
        "Poisson (one purchase rate, no dropout)",
        nbd.POISSON_PARAMS,
        nbd.fit_poisson,
        nbd.p_alive,
        nbd.poisson_numerator,
        nbd.denominator,
        nbd.poisson_expected_new,
        nbd.poisson_probability_at_least,
        nbd.poisson_probability_of_purchases,
        "",
    ),
    "no_dropout": PurchaseModel(
        "no_dropout",
        "NBD (no dropout)",
        nbd.NBD_PARAMS,
        nbd.fit_nbd,
        nbd.p_alive,
        nbd.nbd_numerator,
        nbd.denominator,
        nbd.nbd_expected_new,
        nbd.nbd_probability_at_least,
        nbd.nbd_probability_of_purchases,
        "",
    ),
}

PURCHASE_LIMITS: dict[str, dict[str, PurchaseModel]] = {
    "bgnbd": _NO_DROPOUT | {"poisson": _one_rate("bgnbd_poisson", "BG/NBD", 0)},
    "mbgnbd": _NO_DROPOUT | {"poisson": _one_rate("mbgnbd_poisson", "MBG/NBD", 1)},
    "pareto_nbd": _NO_DROPOUT | {"poisson": PARETO_ONE_RATE},
}
"""Each purchase model's limits, simplest first (the order in which :mod:`clv.models.limits`
tests them): one purchase rate and nobody dropping out (Poisson) and nobody dropping out (the
NBD), shared by the three models (:mod:`clv.models.nbd`); one purchase rate with the dropout
kept (``poisson``: BG/NBD's and MBG/NBD's dropout after a purchase, Pareto/NBD's gamma-mixed
exponential lifetimes)."""


def purchase_model(name: str) -> PurchaseModel:
    """The purchase model called ``name``; ``UsageError`` naming the choices otherwise."""
    try:
        return PURCHASE_MODELS[name]
    except (KeyError, TypeError):
        raise UsageError(
            f"purchase_model={name!r} is not one of {', '.join(PURCHASE_MODELS)} or 'auto'"
        ) from None


def limit_model(model: str, limit: str) -> PurchaseModel:
    """The limit ``limit`` of the purchase model ``model`` (:data:`PURCHASE_LIMITS`)."""
    return PURCHASE_LIMITS[model][limit]
