"""`charge.dispute.created` and `charge.dispute.closed`: a charge's chargeback (or inquiry).

A dispute opens `needs_response` (a chargeback: the disputed amount is withdrawn from the
merchant) or `warning_needs_response` (an inquiry: nothing is withdrawn yet), and closes
`won`, `lost`, `warning_closed` (an inquiry that never became a chargeback) or `prevented`.
"""

from __future__ import annotations

from typing import Any, Final

from traaaction.stripe_payloads.envelope import DISPUTE_CLOSED, DISPUTE_CREATED, BuiltEvent, event
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

#: the statuses a dispute opens with, and those it closes with
OPEN_STATUSES: Final = (
    "needs_response",
    "warning_needs_response",
    "under_review",
    "warning_under_review",
)
CLOSED_STATUSES: Final = ("won", "lost", "warning_closed", "prevented")
#: 2026-02-04 02:40:00 UTC: when a dispute opens unless told
DISPUTE_CREATED_AT: Final = 1_770_172_800
#: seconds to answer a chargeback: about three weeks
_RESPONSE_WINDOW = 21 * 86_400


def _evidence() -> dict[str, Any]:
    """What the merchant submitted: nothing yet (Stripe sends every field, null)."""
    fields = (
        "access_activity_log",
        "billing_address",
        "cancellation_policy",
        "cancellation_policy_disclosure",
        "cancellation_rebuttal",
        "customer_communication",
        "customer_email_address",
        "customer_name",
        "customer_purchase_ip",
        "customer_signature",
        "duplicate_charge_documentation",
        "duplicate_charge_explanation",
        "duplicate_charge_id",
        "product_description",
        "receipt",
        "refund_policy",
        "refund_policy_disclosure",
        "refund_refusal_explanation",
        "service_date",
        "service_documentation",
        "shipping_address",
        "shipping_carrier",
        "shipping_date",
        "shipping_documentation",
        "shipping_tracking_number",
        "uncategorized_file",
        "uncategorized_text",
    )
    return dict.fromkeys(fields)


def _dispute(
    event_type: str,
    *,
    status: str,
    amount: int,
    currency: str,
    charge_id: Ref,
    payment_intent: Ref,
    dispute_id: str | Auto,
    event_id: str | Auto,
    created: int,
    opened_at: int | None,
    reason: str,
    api_version: str,
    livemode: bool,
) -> BuiltEvent:
    check_amount("amount", amount)
    check_currency(currency)
    dispute = own_id(dispute_id, "dispute", livemode=livemode)
    charge = resolve(charge_id, "charge")
    if charge is None:
        raise FixtureError("every dispute is of a charge (charge_id cannot be None)")
    intent = resolve(payment_intent, "payment_intent")
    opened = created if opened_at is None else opened_at
    inquiry = status.startswith("warning_")
    dispute_obj: dict[str, Any] = {
        "id": dispute,
        "object": "dispute",
        "amount": amount,
        "balance_transaction": None if inquiry else derived_id("txn", dispute, lead="3"),
        "balance_transactions": [],
        "charge": charge,
        "created": opened,
        "currency": currency,
        "evidence": _evidence(),
        "evidence_details": {
            "due_by": opened + _RESPONSE_WINDOW,
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": inquiry,
        "livemode": livemode,
        "metadata": {},
        "network_reason_code": "10.4",
        "payment_intent": intent,
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "inquiry" if inquiry else "chargeback",
                "network_reason_code": "10.4",
            },
            "type": "card",
        },
        "reason": reason,
        "status": status,
    }
    if is_basil(api_version):
        dispute_obj["enhanced_eligibility_types"] = []
        dispute_obj["evidence_details"]["enhanced_eligibility"] = {}
    ids = {"dispute": dispute, "charge": charge, "payment_intent": intent}
    return event(
        event_type,
        dispute_obj,
        created=created,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        ids=ids,
    )


def charge_dispute_created(
    *,
    status: str = "needs_response",
    amount: int = 10_000,
    currency: str = "usd",
    charge_id: Ref = AUTO,
    payment_intent: Ref = AUTO,
    dispute_id: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int = DISPUTE_CREATED_AT,
    reason: str = "fraudulent",
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A dispute of `amount` of a charge, opened `status` (a chargeback unless `warning_...`)."""
    if status not in OPEN_STATUSES:
        raise FixtureError(f"a dispute opens {' or '.join(OPEN_STATUSES)}, not {status!r}")
    return _dispute(
        DISPUTE_CREATED,
        status=status,
        amount=amount,
        currency=currency,
        charge_id=charge_id,
        payment_intent=payment_intent,
        dispute_id=dispute_id,
        event_id=event_id,
        created=created,
        opened_at=None,
        reason=reason,
        api_version=api_version,
        livemode=livemode,
    )


def charge_dispute_closed(
    *,
    status: str = "lost",
    amount: int = 10_000,
    currency: str = "usd",
    charge_id: Ref = AUTO,
    payment_intent: Ref = AUTO,
    dispute_id: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int = DISPUTE_CREATED_AT + 14 * 86_400,
    opened_at: int | None = DISPUTE_CREATED_AT,
    reason: str = "fraudulent",
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """The same dispute, closed `status` (give the dispute_id, charge_id and payment_intent
    of its charge.dispute.created)."""
    if status not in CLOSED_STATUSES:
        raise FixtureError(f"a dispute closes {', '.join(CLOSED_STATUSES)}, not {status!r}")
    return _dispute(
        DISPUTE_CLOSED,
        status=status,
        amount=amount,
        currency=currency,
        charge_id=charge_id,
        payment_intent=payment_intent,
        dispute_id=dispute_id,
        event_id=event_id,
        created=created,
        opened_at=opened_at,
        reason=reason,
        api_version=api_version,
        livemode=livemode,
    )
