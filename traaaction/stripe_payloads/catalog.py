"""What is sold: prices (and the plans of older payloads) and the taxes charged on them.

Invoice lines and subscription items embed the same price, so they are made here once; a
subscription's item, price and product ids are derived from its id, so that its invoices and
its deletion name the same ones.
"""

from __future__ import annotations

from typing import Any

from traaaction.stripe_payloads.ids import derived_id


def price(
    price_id: str,
    *,
    product: str,
    unit_amount: int,
    currency: str,
    livemode: bool,
    recurring: bool = True,
) -> dict[str, Any]:
    """A Price: monthly when `recurring`, else a one-off (an invoice item's)."""
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "currency": currency,
        "livemode": livemode,
        "metadata": {},
        "nickname": None,
        "product": product,
        "recurring": (
            {"interval": "month", "interval_count": 1, "usage_type": "licensed"}
            if recurring
            else None
        ),
        "tax_behavior": "exclusive",
        "type": "recurring" if recurring else "one_time",
        "unit_amount": unit_amount,
        "unit_amount_decimal": str(unit_amount),
    }


def plan(
    price_id: str, *, product: str, unit_amount: int, currency: str, livemode: bool
) -> dict[str, Any]:
    """The Plan that lines carried beside their Price before basil (the same id)."""
    return {
        "id": price_id,
        "object": "plan",
        "active": True,
        "amount": unit_amount,
        "currency": currency,
        "interval": "month",
        "interval_count": 1,
        "livemode": livemode,
        "product": product,
        "usage_type": "licensed",
    }


def share(tax: int, amount: int, subtotal: int) -> int:
    """The part of an invoice's `tax` that falls on a line of `amount` (in proportion)."""
    return round(tax * amount / subtotal) if subtotal else 0


def taxes(tax: int, taxable: int, tax_rate: str, *, basil: bool) -> list[dict[str, Any]]:
    """The tax entries of a line or an invoice: basil's `taxes` and `total_taxes`, or the
    earlier `tax_amounts` and `total_tax_amounts`; none when there is no tax."""
    if not tax:
        return []
    if basil:
        entry = {
            "amount": tax,
            "tax_behavior": "exclusive",
            "tax_rate_details": {"tax_rate": tax_rate},
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
            "type": "tax_rate_details",
        }
    else:
        entry = {
            "amount": tax,
            "inclusive": False,
            "tax_rate": tax_rate,
            "taxability_reason": "standard_rated",
            "taxable_amount": taxable,
        }
    return [entry]


def automatic_tax(tax: int) -> dict[str, Any]:
    """Whether Stripe Tax computed the tax: when there is one, here."""
    if not tax:
        return {"enabled": False, "liability": None, "status": None}
    return {"enabled": True, "liability": {"type": "self"}, "status": "complete"}


def subscription_item(subscription: str) -> str:
    """The subscription's (one) item: the same id in its invoices and its deletion."""
    return derived_id("si", subscription, length=14, lead="")


def plan_price(subscription: str) -> str:
    """The subscription's price: the same id in its invoices and its deletion."""
    return derived_id("price", "plan", subscription)


def plan_product(seed: str) -> str:
    return derived_id("prod", seed, length=14, lead="")
