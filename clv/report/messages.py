"""The report's sentences, one template per message id: the only place their wording lives.

A template is a plain Python format string with named fields (``"{customers:,} of {of:,}"``),
filled from a finding's numbers. Fields named in :attr:`Message.money` are money figures and
are written with the run's currency (:func:`money_text`); every other field is formatted as
its format spec says, in the report locale's form (``:.0%`` a percentage, ``:,`` a count,
``:.1f`` a number with one decimal: :class:`LocaleFormatter`). Each template is a msgid of
the catalog (``N_``): :func:`text` puts it through gettext, so the sentence is written in the
report's language while the ids and numbers stay English.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from babel import numbers

from clv.report.i18n import ENGLISH, N_, ReportLocale


@dataclass(frozen=True)
class Message:
    """A sentence template and the names of its money fields."""

    template: str
    money: tuple[str, ...] = ()


def money_text(value: float | None, currency: str = "", locale: ReportLocale = ENGLISH) -> str:
    """A money figure with its currency as ``locale`` writes it (:meth:`ReportLocale.money`):
    ``"1 234 kr"``, ``"€1,234"``, ``"1,234"`` (figures under 100 with two decimals); ``n/a``
    when not a number."""
    if value is None or not math.isfinite(value):
        return locale.gettext("n/a")
    return locale.money(value, currency)


_SPEC = re.compile(r"(?P<sign>\+)?,?(?:\.(?P<decimals>\d+))?(?P<kind>[%fdg])?")


class LocaleFormatter(string.Formatter):
    """A :class:`string.Formatter` that writes numbers in a locale's form: the format spec
    of a field (``+.0%``, ``,``, ``,.1f``, ``.2f``, ``g``) chooses a percentage, a count or
    a number of decimals; text is put in as given."""

    def __init__(self, locale: ReportLocale) -> None:
        self.locale = locale

    def format_field(self, value: Any, format_spec: str) -> str:
        found = _SPEC.fullmatch(format_spec)
        if isinstance(value, (str, bool)) or value is None or not found:
            return format(value, format_spec)
        number = float(value)
        kind, decimals = found["kind"], int(found["decimals"] or 0)
        if kind == "%":
            text = self.locale.percent(number, decimals)
        elif kind == "g":
            digits = format(abs(number), f".{decimals or 6}g")
            if "e" in digits:  # 1.714e+04: the exponent form, with the locale's decimal sign
                sign = "-" if number < 0 else ""
                text = sign + digits.replace(".", numbers.get_decimal_symbol(self.locale.locale))
            else:
                text = self.locale.number(number, len(digits.partition(".")[2]))
        elif kind == "f":
            text = self.locale.number(number, decimals)
        elif float(number).is_integer():
            text = self.locale.integer(number)
        else:
            text = self.locale.number(number, 2)
        return "+" + text if found["sign"] and number > 0 else text


def horizon_text(words: str, locale: ReportLocale = ENGLISH) -> str:
    """The horizon's words (``"12 months"``, :attr:`Money.horizon_words`) in ``locale``'s
    language."""
    found = re.fullmatch(r"(\d+(?:\.\d+)?) (day|week|month)s?", words)
    if not found:
        return locale.gettext(words)
    value = float(found.group(1))
    count = locale.integer(value) if value.is_integer() else locale.number(value, 1)
    forms = {
        "day": locale.ngettext("{n} day", "{n} days", int(value)),
        "week": locale.ngettext("{n} week", "{n} weeks", int(value)),
        "month": locale.ngettext("{n} month", "{n} months", int(value)),
    }
    return forms[found.group(2)].format(n=count)


MESSAGES: dict[str, Message] = {
    # ---- money ---------------------------------------------------------------------------
    "money_revenue": Message(
        N_(
            "Every value is on revenue (no margin was given); predicted values cover the next "
            "{horizon}."
        )
    ),
    "money_margin_column": Message(
        N_(
            "Every value is on margin ({margin_rate:.0%} of revenue on average, from the margin "
            "column); predicted values cover the next {horizon}."
        )
    ),
    "money_margin_rate": Message(
        N_(
            "Every value is on margin ({margin_rate:.0%} of revenue, as given); predicted values "
            "cover the next {horizon}."
        )
    ),
    # ---- top customers -------------------------------------------------------------------
    "top_customers": Message(
        N_(
            "The top {top_share:.0%} by historical revenue are {customers:,} of {of:,} customers; "
            "they brought {value_share:.0%} of the revenue and hold {clv_share:.0%} of the "
            "predicted value of the next {horizon}."
        )
    ),
    "top_customers_no_clv": Message(
        N_(
            "The top {top_share:.0%} by historical revenue are {customers:,} of {of:,} customers; "
            "they brought {value_share:.0%} of the revenue."
        )
    ),
    "difference_share": Message(N_("{top:.0%} of top customers {what} vs {rest:.0%} of the rest.")),
    "difference_probability": Message(
        N_("Top customers' mean {what} is {top:.0%}, the rest's {rest:.0%}.")
    ),
    "difference_number": Message(
        N_("Top customers: {top:,.1f} {what} vs {rest:,.1f} for the rest.")
    ),
    # ---- middle tier ---------------------------------------------------------------------
    "middle_close": Message(
        N_(
            "{close:,} of the {middle:,} middle-tier customers (tiers by predicted value) are "
            "within {within:.0%} of the good tier (the top {good_share:.0%} by predicted value) "
            "and not already gone; what they lack most: {lacks}."
        )
    ),
    "middle_none_close": Message(
        N_(
            "None of the {middle:,} middle-tier customers (tiers by predicted value) is within "
            "{within:.0%} of the good tier (the top {good_share:.0%} by predicted value) and not "
            "already gone."
        )
    ),
    "middle_gone": Message(
        N_(
            "As close but already gone (probability of still being a customer below "
            "{lost_p_alive:.0%}), so left out of the middle-to-top list: {gone:,}."
        )
    ),
    # ---- returning -----------------------------------------------------------------------
    "returning_more": Message(
        N_(
            "Returning orders average {aov_returning}, first orders {aov_new}: returning "
            "customers spend more per order ({ratio:.2f} times)."
        ),
        money=("aov_returning", "aov_new"),
    ),
    "returning_less": Message(
        N_(
            "Returning orders average {aov_returning}, first orders {aov_new}: returning "
            "customers spend less per order ({ratio:.2f} times)."
        ),
        money=("aov_returning", "aov_new"),
    ),
    "returning_same": Message(
        N_(
            "Returning orders average {aov_returning}, first orders {aov_new}: about the same "
            "(within 5%)."
        ),
        money=("aov_returning", "aov_new"),
    ),
    "returning_none": Message(
        N_("No customer has a second order yet, so there is nothing to compare.")
    ),
    # ---- channels ------------------------------------------------------------------------
    "channels_none": Message(
        N_("One channel or no channel column: no channel comparison (map one with channel_col).")
    ),
    "channels_share_good": Message(
        N_(
            "{best} brings the largest share of good customers ({best_share:.0%} of its "
            "{best_customers:,} customers), {worst} the smallest ({worst_share:.0%} of "
            "{worst_customers:,})."
        )
    ),
    "channels_clv_cac": Message(
        N_(
            "CLV:CAC, the predicted value of a newly acquired customer over the acquisition cost: "
            "{best_cac_channel} is highest ({best_clv_cac:.1f}), {worst_cac_channel} lowest "
            "({worst_clv_cac:.1f}); above 1 a new customer pays back their cost within the "
            "{horizon}."
        )
    ),
    "channels_no_costs": Message(
        N_(
            "Give channel_costs to compare channels by CLV:CAC (a new customer's predicted value "
            "over the acquisition cost)."
        )
    ),
    # ---- loyalty -------------------------------------------------------------------------
    "loyalty_none": Message(N_("No loyalty column: no loyalty review (map one with loyalty_col).")),
    "loyalty_uncosted": Message(
        N_(
            "Give the programme's costs (member_discount_rate, cost_per_reward) to judge whether "
            "it pays; members' higher spend alone describes who joined, not what the programme "
            "earns."
        )
    ),
    "loyalty_pays": Message(
        N_(
            "Over {months:,} months members' extra margin was {extra_margin} against programme "
            "costs of {program_cost}: net {net} (90% interval {net_low} to {net_high}), more "
            "than it cost. Members chose to join, so this is a comparison, not the programme's "
            "effect."
        ),
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_costs_more": Message(
        N_(
            "Over {months:,} months members' extra margin was {extra_margin} against programme "
            "costs of {program_cost}: net {net} (90% interval {net_low} to {net_high}), less "
            "than it cost. Members chose to join, so this is a comparison, not the programme's "
            "effect."
        ),
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_unclear": Message(
        N_(
            "Over {months:,} months members' extra margin was {extra_margin} against programme "
            "costs of {program_cost}: net {net}, but the 90% interval ({net_low} to "
            "{net_high}) holds zero, so the data cannot tell whether it pays. Members chose to "
            "join, so this is a comparison, not the programme's effect."
        ),
        money=("extra_margin", "program_cost", "net", "net_low", "net_high"),
    ),
    "loyalty_noise": Message(
        N_(
            "The monthly net changed sign {sign_changes:,} times; {months_within_noise:,} of "
            "{months:,} months lie within the month-to-month noise (1.645 standard deviations "
            'of {net_sd} around the mean month), so one month\'s "pays off" says little.'
        ),
        money=("net_sd",),
    ),
    "loyalty_discount_in_margin": Message(
        N_(
            "The member discount ({discount_cost}) is taken to be already in the recorded margin "
            "and is not subtracted again (set margin_after_member_discount false if the margin "
            "is at list price)."
        ),
        money=("discount_cost",),
    ),
    "loyalty_month": Message(
        N_(
            "In {month}, {members_active:,} members bought (the month before: "
            "{members_active_before:,}); their average order was {member_aov}, non-members' "
            "{non_member_aov}."
        ),
        money=("member_aov", "non_member_aov"),
    ),
    "loyalty_month_noise": Message(
        N_(
            "This month's net, {net}, lies within the month-to-month noise: it says little on "
            "its own."
        ),
        money=("net",),
    ),
    "loyalty_month_signal": Message(
        N_("This month's net, {net}, lies outside the month-to-month noise: worth a look."),
        money=("net",),
    ),
    "loyalty_members": Message(
        N_(
            "{members:,} of {customers:,} customers are members; they place {member_orders:.1f} "
            "orders each against {non_member_orders:.1f} for non-members. Members chose to join: "
            "this describes who joined, not the programme's effect."
        )
    ),
    "loyalty_members_at_risk": Message(
        N_(
            "Members on the at-risk list: {members_at_risk:,}, with {members_value_at_stake} of "
            "predicted value at stake."
        ),
        money=("members_value_at_stake",),
    ),
    # ---- at risk -------------------------------------------------------------------------
    "at_risk_p_alive": Message(
        N_(
            "High-value customers who have probably stopped buying (value if they stay in the top "
            "{top_value_share:.0%}, probability of still being a customer between "
            "{lost_p_alive:.0%} and {max_p_alive:.0%}): {customers:,}; the expected loss is "
            "{value_at_stake} of the value predicted for the next {horizon}."
        ),
        money=("value_at_stake",),
    ),
    "at_risk_lost": Message(
        N_(
            "Customers with a high past revenue who are already gone (probability of still being "
            "a customer below {lost_p_alive:.0%}): {lost:,}, with {lost_revenue} of past revenue; "
            "they are listed apart, for a win-back."
        ),
        money=("lost_revenue",),
    ),
    "at_risk_recency_measured": Message(
        N_(
            "The model sees no dropout, so the at-risk list is by recency: high-value customers "
            "(value if they stay in the top {top_value_share:.0%}) silent for more than "
            "{overdue_gaps:g} of their own usual gaps between purchases: {customers:,}. In the "
            "holdout, only {bought_again:.0%} of the customers that overdue bought again; "
            "{value_at_stake} of the value predicted for the next {horizon} is at stake."
        ),
        money=("value_at_stake",),
    ),
    "at_risk_recency_none": Message(
        N_(
            "The model sees no dropout, so the at-risk list is by recency: no high-value customer "
            "has been silent for more than {overdue_gaps:g} of their own usual gaps between "
            "purchases."
        )
    ),
    "at_risk_p_alive_none": Message(
        N_(
            "No high-value customer has a probability of still being a customer between "
            "{lost_p_alive:.0%} and {max_p_alive:.0%}: nobody valuable is slipping away now."
        )
    ),
    "at_risk_recency_default": Message(
        N_(
            "The model sees no dropout, so the at-risk list is by recency: high-value customers "
            "(value if they stay in the top {top_value_share:.0%}) silent for more than "
            "{overdue_gaps:g} of their own usual gaps between purchases (a cut the holdout could "
            "not measure): {customers:,}; their value if they stay, {value_at_stake}, is at stake "
            "if they have left."
        ),
        money=("value_at_stake",),
    ),
    # ---- model health --------------------------------------------------------------------
    "health_ok": Message(
        N_(
            "The {model} model passed its checks: every parameter is determined by the data"
            "{holdout_words}."
        )
    ),
    "health_holdout_failed": Message(
        N_(
            "The holdout check failed: refitted on the earlier data, the model predicted "
            "{purchases_error:+.0%} purchases and {spend_error:+.0%} spend against what customers "
            "then did. Treat predicted values as rough."
        )
    ),
    "health_no_dropout_seen": Message(
        N_(
            "Nobody in the data appears to have stopped buying (the lowest probability of still "
            "being a customer is {lowest_p_alive:.0%}), so the at-risk list is by recency."
        )
    ),
    "health_no_dropout": Message(
        N_(
            "The model sees almost no dropout (the lowest probability of still being a customer "
            "is {lowest_p_alive:.0%}) although {one_time_share:.0%} of the customers never bought "
            "again: it may overstate how many are still customers."
        )
    ),
    "health_clv_exceeds_revenue": Message(
        N_(
            "The predicted value of the next {horizon} ({predicted_total}) exceeds the last "
            "year's value for as long ({last_year_value}): the model expects growth from "
            "today's customers alone; check the holdout before relying on it."
        ),
        money=("predicted_total", "last_year_value"),
    ),
    "health_uncertain": Message(
        N_(
            "Parameters of the model that the data determine poorly: {uncertain_parameters:,}; "
            "the scores use their best estimates."
        )
    ),
    # ---- data quality --------------------------------------------------------------------
    "quality_placeholders": Message(
        N_("Rows with a placeholder customer id (such as guest), left out: {placeholder_rows:,}.")
    ),
    "quality_duplicates": Message(
        N_("Rows repeating an earlier row exactly (kept): {duplicate_rows:,}.")
    ),
    "quality_house_accounts": Message(
        N_(
            "Customers who look like house accounts (far more orders than anyone else; kept): "
            "{house_accounts:,}."
        )
    ),
    "quality_partial_month": Message(
        N_("The first or last month is partial: monthly figures there are low.")
    ),
    "quality_refunded": Message(
        N_(
            "Customers with a net revenue of zero or below (free orders or full refunds): "
            "{refunded_customers:,}; they are scored but left out of the top, tier and at-risk "
            "lists."
        )
    ),
    "quality_zero_amounts": Message(N_("Rows with an amount of 0 (kept): {zero_amounts:,}.")),
}
"""Every first-page sentence, by message id."""

DIFFERENCE_WORDS = {
    "orders_per_customer": N_("orders per customer"),
    "aov": N_("average order value"),
    "tenure_days": N_("days from first to last order"),
    "days_between_orders": N_("days between orders"),
    "share_reordered_same_product": N_("re-ordered the same product"),
    "distinct_products": N_("distinct products bought"),
    "share_loyalty_members": N_("are loyalty members"),
    "p_alive": N_("probability of still being a customer"),
    "clv": N_("predicted value"),
}
"""What a profile metric is, in the sentences ``difference_*`` (msgids: the report shows
them in its language)."""


def difference_words(metric: str, locale: ReportLocale = ENGLISH) -> str:
    """What a profile metric is (:data:`DIFFERENCE_WORDS`; ``share_from_<channel>``: came
    through the channel), in ``locale``'s language; an unknown metric by its name."""
    what = DIFFERENCE_WORDS.get(metric)
    if what is not None:
        return locale.gettext(what)
    if metric.startswith("share_from_"):
        channel = metric.removeprefix("share_from_")
        return locale.gettext("came through {channel}").format(channel=channel)
    return metric


def text(
    message_id: str,
    numbers: Mapping[str, Any],
    *,
    currency: str = "",
    locale: ReportLocale = ENGLISH,
) -> str:
    """The sentence of ``message_id`` in ``locale``'s language with ``numbers`` filled in
    in the locale's form (money fields with ``currency``)."""
    message = MESSAGES[message_id]
    values = dict(numbers)
    for name in message.money:
        values[name] = money_text(values.get(name), currency, locale)
    return LocaleFormatter(locale).format(locale.gettext(message.template), **values)


def record(
    message_id: str,
    numbers: Mapping[str, Any],
    *,
    basis: Mapping[str, Any],
    table: str,
    topic: str,
    section: str = "",
    words: Mapping[str, Any] | None = None,
    locale: ReportLocale = ENGLISH,
) -> dict[str, Any]:
    """A finding record: ``{"id", "numbers", "basis", "table", "text", "topic",
    "section"}``; ``text`` is the sentence as written, in ``locale``'s language (``topic``
    stays the English msgid, the page shows it translated). ``words``: values the sentence
    shows that are not numbers (a channel's name, the horizon in words), already in the
    report's language."""
    values = {**numbers, **(words or {})}
    return {
        "id": message_id,
        "numbers": dict(numbers),
        "basis": dict(basis),
        "table": table,
        "text": text(message_id, values, currency=str(basis.get("currency", "")), locale=locale),
        "topic": topic,
        "section": section,
    }
