"""Adaptive Pricing: a Checkout Session's amounts in the merchant's currency, and what the
customer was shown in theirs.

Stripe's Adaptive Pricing lets a customer pay in their own currency. Two shapes, by the
session's creation date (not by API version: a basil or earlier endpoint receives both):

- created before 2025-03-31: `currency`, `amount_total` and `total_details.amount_tax` are
  the CUSTOMER's; the merchant's are in `currency_conversion` (`source_currency`,
  `amount_total`, `amount_subtotal`, `fx_rate`). API 2025-09-30.clover removed that field, so
  a clover payload of such a session carries the customer's amounts only (below).
- created later: `currency` and the amounts are the MERCHANT's; the customer's are in
  `presentment_details` (`presentment_amount`, `presentment_currency`).

`currency_conversion` gives no tax: the tax is the session's, in the customer's currency. It
is converted with the ratio of the two totals, exact integers in minor units, rather than
with `fx_rate` (a rounded decimal string): merchant tax = round_half_up(tax * merchant_total
/ customer_total), so tax-free shares are the same in both currencies
(docs/commissions.md, "Money").
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.json_fields import Fields
from domain.money import converted_part


@dataclass(frozen=True, slots=True)
class SaleAmounts:
    """A session's amounts: the sale's in the merchant's currency, and the customer's."""

    #: the merchant's total (None in setup mode)
    amount_total: int | None
    #: the merchant's tax (0 when none)
    amount_tax: int
    #: the merchant's currency (None in setup mode)
    currency: str | None
    #: what the customer paid, in their currency, when Adaptive Pricing converted it
    presentment_amount: int | None = None
    presentment_currency: str | None = None


def sale_amounts(session: Fields, amount_tax: int) -> SaleAmounts:
    """The merchant's amount_total, tax and currency, and the customer's, of a Checkout Session
    whose `total_details.amount_tax` is `amount_tax` (0 when absent).

    `currency_conversion` (when present and not null) wins over `presentment_details`: it
    says the session's own amounts are the customer's. Without either, or with a presentment
    in the merchant's own currency (basil payloads carry one on every session), the customer
    paid in the merchant's currency and there is no presentment to keep.
    """
    amount_total = session.optional_integer("amount_total", minimum=0)
    currency = session.optional_currency("currency")
    conversion = session.optional_child("currency_conversion")
    if conversion is not None:
        merchant_total = conversion.integer("amount_total", minimum=0)
        merchant = SaleAmounts(
            amount_total=merchant_total,
            amount_tax=converted_part(amount_tax, amount_total or 0, merchant_total),
            currency=conversion.currency("source_currency"),
        )
        return _presented(merchant, amount_total, currency)
    merchant = SaleAmounts(amount_total, amount_tax, currency)
    presentment = session.optional_child("presentment_details")
    if presentment is None:
        return merchant
    return _presented(
        merchant,
        presentment.integer("presentment_amount", minimum=0),
        presentment.currency("presentment_currency"),
    )


def _presented(merchant: SaleAmounts, amount: int | None, currency: str | None) -> SaleAmounts:
    """The merchant's amounts, and the customer's when they are another currency's."""
    if amount is None or currency is None or currency == merchant.currency:
        return merchant
    return SaleAmounts(
        merchant.amount_total, merchant.amount_tax, merchant.currency, amount, currency
    )
