"""The report's sentences, one template per message id: the only place their wording lives.

A template is a plain Python format string with named fields (``"{customers:,} of {of:,}"``),
filled from a finding's numbers. Fields named in :attr:`Message.money` are money figures and
are written with the run's currency first (:func:`money_text`); every other field is
formatted by the template itself. Keeping every sentence here, keyed by an English id, lets
a translation put the templates through gettext without touching the analysis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Message:
    """A sentence template and the names of its money fields."""

    template: str
    money: tuple[str, ...] = ()


def money_text(value: float | None, currency: str = "") -> str:
    """A money figure with its currency: ``"$1,234"``, ``"1,234 EUR"``, ``"1,234"``.

    A currency of letters (a code such as ``EUR``) follows the number; a symbol precedes it.
    Figures under 100 keep two decimals.
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    number = f"{abs(value):,.2f}" if abs(value) < 100 else f"{abs(value):,.0f}"
    sign = "-" if value < 0 else ""
    if not currency:
        return sign + number
    if currency.isalpha():
        return f"{sign}{number} {currency}"
    return f"{sign}{currency}{number}"


MESSAGES: dict[str, Message] = {
    # ---- money ---------------------------------------------------------------------------
    "money_revenue": Message(
        "Every value is on revenue (no margin was given); predicted values cover the next "
        "{horizon}."
    ),
    "money_margin_column": Message(
        "Every value is on margin ({margin_rate:.0%} of revenue on average, from the margin "
        "column); predicted values cover the next {horizon}."
    ),
    "money_margin_rate": Message(
        "Every value is on margin ({margin_rate:.0%} of revenue, as given); predicted values "
        "cover the next {horizon}."
    ),
    # ---- top customers -------------------------------------------------------------------
    "top_customers": Message(
        "The top {top_share:.0%} by historical revenue are {customers:,} of {of:,} customers; "
        "they brought {value_share:.0%} of the revenue and hold {clv_share:.0%} of the "
        "predicted value of the next {horizon}."
    ),
    "top_customers_no_clv": Message(
        "The top {top_share:.0%} by historical revenue are {customers:,} of {of:,} customers; "
        "they brought {value_share:.0%} of the revenue."
    ),
    "difference_share": Message("{top:.0%} of top customers {what} vs {rest:.0%} of the rest."),
    "difference_probability": Message(
        "Top customers' mean {what} is {top:.0%}, the rest's {rest:.0%}."
    ),
    "difference_number": Message("Top customers: {top:,.1f} {what} vs {rest:,.1f} for the rest."),
    # ---- middle tier ---------------------------------------------------------------------
    "middle_close": Message(
        "{close:,} of the {middle:,} middle-tier customers (tiers by predicted value) are "
        "within {within:.0%} of the good tier (the top {good_share:.0%} by predicted value); "
        "what they lack most: {lacks}."
    ),
    "middle_none_close": Message(
        "None of the {middle:,} middle-tier customers (tiers by predicted value) is within "
        "{within:.0%} of the good tier (the top {good_share:.0%} by predicted value)."
    ),
    # ---- returning -----------------------------------------------------------------------
    "returning_more": Message(
        "Returning orders average {aov_returning}, first orders {aov_new}: returning "
        "customers spend more per order ({ratio:.2f} times).",
        money=("aov_returning", "aov_new"),
    ),
    "returning_less": Message(
        "Returning orders average {aov_returning}, first orders {aov_new}: returning "
        "customers spend less per order ({ratio:.2f} times).",
        money=("aov_returning", "aov_new"),
    ),
    "returning_same": Message(
        "Returning orders average {aov_returning}, first orders {aov_new}: about the same "
        "(within 5%).",
        money=("aov_returning", "aov_new"),
    ),
    "returning_none": Message(
        "No customer has a second order yet, so there is nothing to compare."
    ),
    # ---- channels ------------------------------------------------------------------------
    "channels_none": Message(
        "One channel or no channel column: no channel comparison (map one with channel_col)."
    ),
    "channels_share_good": Message(
        "{best} brings the largest share of good customers ({best_share:.0%} of its "
        "{best_customers:,} customers), {worst} the smallest ({worst_share:.0%} of "
        "{worst_customers:,})."
    ),
    "channels_clv_cac": Message(
        "CLV:CAC, the predicted value of a newly acquired customer over the acquisition cost: "
        "{best_cac_channel} is highest ({best_clv_cac:.1f}), {worst_cac_channel} lowest "
        "({worst_clv_cac:.1f}); above 1 a new customer pays back their cost within the "
        "{horizon}."
    ),
    "channels_no_costs": Message(
        "Give channel_costs to compare channels by CLV:CAC (a new customer's predicted value "
        "over the acquisition cost)."
    ),
    # ---- loyalty -------------------------------------------------------------------------
    "loyalty_none": Message("No loyalty column: no loyalty review (map one with loyalty_col)."),
    "loyalty_uncosted": Message(
        "Give the programme's costs (member_discount_rate, cost_per_reward) to judge whether "
        "it pays; members' higher spend alone describes who joined, not what the programme "
        "earns."
    ),
    "loyalty_pays": Message(
        "Over {months:,} months members' extra margin was {extra_margin} against programme "
        "costs of {program_cost}: net {net} (90% interval {net_low} to {net_high}), more "
        "than it cost. Members chose to join, so this is a comparison, not the programme's "
        "effect.",
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_costs_more": Message(
        "Over {months:,} months members' extra margin was {extra_margin} against programme "
        "costs of {program_cost}: net {net} (90% interval {net_low} to {net_high}), less "
        "than it cost. Members chose to join, so this is a comparison, not the programme's "
        "effect.",
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_unclear": Message(
        "Over {months:,} months members' extra margin was {extra_margin} against programme "
        "costs of {program_cost}: net {net}, but the 90% interval ({net_low} to "
        "{net_high}) holds zero, so the data cannot tell whether it pays. Members chose to "
        "join, so this is a comparison, not the programme's effect.",
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_noise": Message(
        "The monthly net changed sign {sign_changes:,} times; {months_within_noise:,} of "
        "{months:,} months lie within the month-to-month noise (1.645 standard deviations "
        'of {net_sd} around the mean month), so one month\'s "pays off" says little.',
        money=("net_sd",),
    ),
    "loyalty_discount_in_margin": Message(
        "The member discount ({discount_cost}) is taken to be already in the recorded margin "
        "and is not subtracted again (set margin_after_member_discount false if the margin "
        "is at list price).",
        money=("discount_cost",),
    ),
    "loyalty_month": Message(
        "In {month}, {members_active:,} members bought (the month before: "
        "{members_active_before:,}); their average order was {member_aov}, non-members' "
        "{non_member_aov}.",
        money=("member_aov", "non_member_aov"),
    ),
    "loyalty_month_noise": Message(
        "This month's net, {net}, lies within the month-to-month noise: it says little on its own.",
        money=("net",),
    ),
    "loyalty_month_signal": Message(
        "This month's net, {net}, lies outside the month-to-month noise: worth a look.",
        money=("net",),
    ),
    "loyalty_members": Message(
        "{members:,} of {customers:,} customers are members; they place {member_orders:.1f} "
        "orders each against {non_member_orders:.1f} for non-members. Members chose to join: "
        "this describes who joined, not the programme's effect."
    ),
    "loyalty_members_at_risk": Message(
        "Members on the at-risk list: {members_at_risk:,}, with {members_value_at_stake} of "
        "predicted value at stake.",
        money=("members_value_at_stake",),
    ),
    # ---- at risk -------------------------------------------------------------------------
    "at_risk_p_alive": Message(
        "High-value customers who have probably stopped buying (value if they stay in the top "
        "{top_value_share:.0%}, probability of still being a customer between "
        "{lost_p_alive:.0%} and {max_p_alive:.0%}): {customers:,}; the expected loss is "
        "{value_at_stake} of the value predicted for the next {horizon}.",
        money=("value_at_stake",),
    ),
    "at_risk_lost": Message(
        "Customers with a high past revenue who are already gone (probability of still being "
        "a customer below {lost_p_alive:.0%}): {lost:,}, with {lost_revenue} of past revenue; "
        "they are listed apart, for a win-back.",
        money=("lost_revenue",),
    ),
    "at_risk_recency_measured": Message(
        "The model sees no dropout, so the at-risk list is by recency: high-value customers "
        "(value if they stay in the top {top_value_share:.0%}) silent for more than "
        "{overdue_gaps:g} of their own usual gaps between purchases: {customers:,}. In the "
        "holdout, only {bought_again:.0%} of the customers that overdue bought again; "
        "{value_at_stake} of the value predicted for the next {horizon} is at stake.",
        money=("value_at_stake",),
    ),
    "at_risk_recency_none": Message(
        "The model sees no dropout, so the at-risk list is by recency: no high-value customer "
        "has been silent for more than {overdue_gaps:g} of their own usual gaps between "
        "purchases."
    ),
    "at_risk_p_alive_none": Message(
        "No high-value customer has a probability of still being a customer between "
        "{lost_p_alive:.0%} and {max_p_alive:.0%}: nobody valuable is slipping away now."
    ),
    "at_risk_recency_default": Message(
        "The model sees no dropout, so the at-risk list is by recency: high-value customers "
        "(value if they stay in the top {top_value_share:.0%}) silent for more than "
        "{overdue_gaps:g} of their own usual gaps between purchases (a cut the holdout could "
        "not measure): {customers:,}; their value if they stay, {value_at_stake}, is at stake "
        "if they have left.",
        money=("value_at_stake",),
    ),
    # ---- model health --------------------------------------------------------------------
    "health_ok": Message(
        "The {model} model passed its checks: every parameter is determined by the data"
        "{holdout_words}."
    ),
    "health_holdout_failed": Message(
        "The holdout check failed: refitted on the earlier data, the model predicted "
        "{purchases_error:+.0%} purchases and {spend_error:+.0%} spend against what customers "
        "then did. Treat predicted values as rough."
    ),
    "health_no_dropout_seen": Message(
        "Nobody in the data appears to have stopped buying (the lowest probability of still "
        "being a customer is {lowest_p_alive:.0%}), so the at-risk list is by recency."
    ),
    "health_no_dropout": Message(
        "The model sees almost no dropout (the lowest probability of still being a customer "
        "is {lowest_p_alive:.0%}) although {one_time_share:.0%} of the customers never bought "
        "again: it may overstate how many are still customers."
    ),
    "health_clv_exceeds_revenue": Message(
        "The predicted value of the next {horizon} ({predicted_total}) exceeds the last "
        "year's value for as long ({last_year_value}): the model expects growth from "
        "today's customers alone; check the holdout before relying on it.",
        money=("predicted_total", "last_year_value"),
    ),
    "health_uncertain": Message(
        "Parameters of the model that the data determine poorly: {uncertain_parameters:,}; "
        "the scores use their best estimates."
    ),
    # ---- data quality --------------------------------------------------------------------
    "quality_placeholders": Message(
        "Rows with a placeholder customer id (such as guest), left out: {placeholder_rows:,}."
    ),
    "quality_duplicates": Message(
        "Rows repeating an earlier row exactly (kept): {duplicate_rows:,}."
    ),
    "quality_house_accounts": Message(
        "Customers who look like house accounts (far more orders than anyone else; kept): "
        "{house_accounts:,}."
    ),
    "quality_partial_month": Message(
        "The first or last month is partial: monthly figures there are low."
    ),
    "quality_refunded": Message(
        "Customers with a net revenue of zero or below (free orders or full refunds): "
        "{refunded_customers:,}; they are scored but left out of the top, tier and at-risk "
        "lists."
    ),
    "quality_zero_amounts": Message("Rows with an amount of 0 (kept): {zero_amounts:,}."),
}
"""Every first-page sentence, by message id."""

DIFFERENCE_WORDS = {
    "orders_per_customer": "orders per customer",
    "aov": "average order value",
    "tenure_days": "days from first to last order",
    "days_between_orders": "days between orders",
    "share_reordered_same_product": "re-ordered the same product",
    "distinct_products": "distinct products bought",
    "share_loyalty_members": "are loyalty members",
    "p_alive": "probability of still being a customer",
    "clv": "predicted value",
}
"""What a profile metric is, in the sentences ``difference_*``."""


def text(message_id: str, numbers: Mapping[str, Any], *, currency: str = "") -> str:
    """The sentence of ``message_id`` with ``numbers`` filled in (money fields with
    ``currency``)."""
    message = MESSAGES[message_id]
    values = dict(numbers)
    for name in message.money:
        values[name] = money_text(values.get(name), currency)
    return message.template.format(**values)


def record(
    message_id: str,
    numbers: Mapping[str, Any],
    *,
    basis: Mapping[str, Any],
    table: str,
    topic: str,
    section: str = "",
    words: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A finding record: ``{"id", "numbers", "basis", "table", "text", "topic",
    "section"}``; ``text`` is the sentence as written. ``words``: values the sentence shows
    that are not numbers (a channel's name, the horizon in words)."""
    values = {**numbers, **(words or {})}
    return {
        "id": message_id,
        "numbers": dict(numbers),
        "basis": dict(basis),
        "table": table,
        "text": text(message_id, values, currency=str(basis.get("currency", ""))),
        "topic": topic,
        "section": section,
    }
