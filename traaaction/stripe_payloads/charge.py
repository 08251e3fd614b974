"""`charge.refunded`: a charge refunded in part or in full.

`amount_refunded` is cumulative over every refund of the charge, and `refunded` is true only
once all of it is; each event tells the total so far, and `previous_attributes` what it was.
Basil removed the charge's `invoice`: a refund is then matched by its payment intent.
"""

from __future__ import annotations

from typing import Any, Final

from traaaction.stripe_payloads.envelope import CHARGE_REFUNDED, BuiltEvent, event
from traaaction.stripe_payloads.ids import (
    AUTO,
    DEFAULT_API_VERSION,
    Auto,
    FixtureError,
    Ref,
    check_amount,
    check_currency,
    derived_id,
    is_basil,
    own_id,
    resolve,
)
from traaaction.stripe_payloads.parties import (
    DEFAULT_SHOP,
    JENNY_ROSEN,
    VISA,
    Buyer,
    Card,
    Shop,
    billing_details,
)

#: 2026-02-02 02:40:00 UTC: when a refund happens unless told (after CHECKOUT_CREATED)
REFUND_CREATED: Final = 1_770_000_000
#: seconds between the payment and its refund, by default
_PAID_BEFORE = 3_600


def charge_refunded(
    *,
    payment_intent: Ref = AUTO,
    amount: int = 10_000,
    amount_refunded: int | None = None,
    refunded_before: int = 0,
    currency: str = "usd",
    customer: Ref = AUTO,
    invoice: str | None = None,
    charge_id: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int = REFUND_CREATED,
    paid_at: int | None = None,
    description: str | None = None,
    buyer: Buyer = JENNY_ROSEN,
    card: Card = VISA,
    shop: Shop = DEFAULT_SHOP,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A refunded charge of `amount` (the payment: a checkout's `amount_total`, an invoice's
    `amount_paid`). `amount_refunded` is cumulative over every refund of the charge (default:
    all of it); `refunded_before` what the earlier refunds came to. `invoice` (before basil
    only) is the invoice the charge paid, None for a sale's. `paid_at` is when the charge
    was made (default an hour before `created`)."""
    refunded = amount if amount_refunded is None else amount_refunded
    check_amount("amount", amount)
    check_amount("amount refunded", refunded)
    if refunded > amount:
        raise FixtureError(f"amount refunded {refunded} is more than the charge's {amount}")
    if not 0 <= refunded_before <= refunded:
        raise FixtureError(
            f"refunded before {refunded_before} is not between 0 and amount refunded {refunded}"
        )
    check_currency(currency)
    basil = is_basil(api_version)
    if basil and invoice is not None:
        raise FixtureError("basil removed charge.invoice (a refund is matched by payment intent)")
    intent = resolve(payment_intent, "payment_intent")
    customer_id = resolve(customer, "customer")
    charge = own_id(charge_id, "charge")
    charge_obj: dict[str, Any] = {
        "id": charge,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": derived_id("txn", charge, lead="3"),
        "billing_details": billing_details(buyer, basil=basil),
        "calculated_statement_descriptor": shop.descriptor,
        "captured": True,
        "created": created - _PAID_BEFORE if paid_at is None else paid_at,
        "currency": currency,
        "customer": customer_id,
        "description": description,
        "destination": None,
        "dispute": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": livemode,
        "metadata": {},
        "on_behalf_of": None,
        "outcome": _outcome(basil),
        "paid": True,
        "payment_intent": intent,
        "payment_method": derived_id("pm", customer_id or charge),
        "payment_method_details": card.json(buyer.address.country),
        "radar_options": {},
        "receipt_email": buyer.email if customer_id else None,
        "receipt_number": None,
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge}",
        "refunded": refunded == amount,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }
    if basil:
        charge_obj["presentment_details"] = None
    else:
        charge_obj |= {"invoice": invoice, "order": None}
    before: dict[str, Any] = {"amount_refunded": refunded_before}
    if refunded == amount:
        before["refunded"] = False
    ids = {"charge": charge, "payment_intent": intent, "customer": customer_id}
    return event(
        CHARGE_REFUNDED,
        charge_obj,
        created=created,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        previous_attributes=before,
        ids=ids,
    )


def _outcome(basil: bool) -> dict[str, Any]:
    """The card network's answer: approved (recent versions add the advice codes)."""
    outcome: dict[str, Any] = {
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 21,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }
    if basil:
        outcome |= dict.fromkeys(("advice_code", "network_advice_code", "network_decline_code"))
    return outcome
