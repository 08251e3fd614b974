"""`charge.refund.updated`: a refund's status changed after it was made.

A refund is `pending` or `succeeded` when made (`charge.refunded` tells the charge's new
`amount_refunded`); it can still fail later (the card was closed: `failed`, with a
`failure_reason`) or be canceled before it went out (`canceled`). Either way the money is
back in the merchant's balance, and Stripe lowers the charge's `amount_refunded`.
"""

from __future__ import annotations

from typing import Any, Final

from traaaction.stripe_payloads.envelope import REFUND_UPDATED, BuiltEvent, event
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

#: what Stripe's Refund.status can be
REFUND_STATUSES: Final = ("pending", "requires_action", "succeeded", "failed", "canceled")
#: 2026-02-03 02:40:00 UTC: a day after the refund (charge.REFUND_CREATED)
REFUND_UPDATED_AT: Final = 1_770_086_400
#: seconds between the refund and its update, by default
_MADE_BEFORE = 86_400


def charge_refund_updated(
    *,
    status: str = "failed",
    amount: int = 10_000,
    currency: str = "usd",
    charge_id: Ref = AUTO,
    payment_intent: Ref = AUTO,
    refund_id: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int = REFUND_UPDATED_AT,
    refunded_at: int | None = None,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A refund of `amount` of a charge, now `status`. `refunded_at` is when it was made
    (default a day before `created`)."""
    if status not in REFUND_STATUSES:
        raise FixtureError(f"refund status {status!r}: {', '.join(REFUND_STATUSES)}")
    check_amount("amount", amount)
    check_currency(currency)
    refund = own_id(refund_id, "refund", livemode=livemode)
    charge = resolve(charge_id, "charge")
    intent = resolve(payment_intent, "payment_intent")
    failed = status == "failed"
    refund_obj: dict[str, Any] = {
        "id": refund,
        "object": "refund",
        "amount": amount,
        "balance_transaction": derived_id("txn", refund, lead="3"),
        "charge": charge,
        "created": created - _MADE_BEFORE if refunded_at is None else refunded_at,
        "currency": currency,
        "destination_details": {
            "card": {
                "reference": None if failed else derived_id("arn", refund, length=23, lead="7"),
                "reference_status": "unavailable" if failed else "available",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": {},
        "payment_intent": intent,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }
    if failed:
        refund_obj |= {
            "failure_balance_transaction": derived_id("txn", refund, "failure", lead="3"),
            "failure_reason": "expired_or_canceled_card",
        }
    if is_basil(api_version):
        refund_obj["presentment_details"] = None
    ids = {"refund": refund, "charge": charge, "payment_intent": intent}
    return event(
        REFUND_UPDATED,
        refund_obj,
        created=created,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        previous_attributes={"status": "succeeded" if status != "succeeded" else "pending"},
        ids=ids,
    )
