"""Compact builders of Stripe event bodies, in either payload shape, for pipeline tests."""

from __future__ import annotations

import itertools
import json
from typing import Any

BASIL = "2025-03-31.basil"
PRE_BASIL = "2024-06-20"
_ids = itertools.count(1)


def _event(event_type: str, obj: dict[str, Any], *, created: int, livemode: bool, api: str) -> str:
    return json.dumps(
        {
            "id": f"evt_{next(_ids):08d}",
            "object": "event",
            "api_version": api,
            "created": created,
            "livemode": livemode,
            "type": event_type,
            "data": {"object": obj},
            "request": {"id": None, "idempotency_key": None},
        }
    )


def checkout(
    *,
    session: str,
    click: str | None,
    mode: str = "payment",
    amount_total: int | None = 10_000,
    tax: int = 0,
    currency: str = "usd",
    payment_status: str = "paid",
    subscription: str | None = None,
    payment_intent: str | None = None,
    customer: str | None = "cus_1",
    created: int = 1_768_471_205,
    livemode: bool = False,
) -> str:
    metadata = {"tracClickId": click} if click is not None else {}
    return _event(
        "checkout.session.completed",
        {
            "id": session,
            "object": "checkout.session",
            "mode": mode,
            "status": "complete",
            "payment_status": payment_status,
            "amount_total": amount_total,
            "amount_subtotal": amount_total,
            "currency": currency if mode != "setup" else None,
            "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": tax},
            "customer": customer,
            "subscription": subscription,
            "payment_intent": payment_intent,
            "invoice": None,
            "metadata": metadata,
            "client_reference_id": None,
            "livemode": livemode,
        },
        created=created,
        livemode=livemode,
        api=BASIL,
    )


def invoice(
    *,
    invoice_id: str,
    subscription: str,
    period_start: int,
    amount_paid: int = 10_000,
    total: int | None = None,
    total_excluding_tax: int | None = None,
    billing_reason: str = "subscription_cycle",
    payment_intent: str | None = None,
    currency: str = "usd",
    api: str = PRE_BASIL,
    created: int | None = None,
    livemode: bool = False,
) -> str:
    total = amount_paid if total is None else total
    obj: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "billing_reason": billing_reason,
        "amount_paid": amount_paid,
        "amount_due": total,
        "total": total,
        "total_excluding_tax": total if total_excluding_tax is None else total_excluding_tax,
        "currency": currency,
        "customer": "cus_1",
        "period_start": period_start - 30 * 86_400,
        "period_end": period_start,
        "livemode": livemode,
    }
    if api == PRE_BASIL:
        obj |= {
            "subscription": subscription,
            "payment_intent": payment_intent,
            "charge": None,
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_{invoice_id}",
                        "object": "line_item",
                        "type": "subscription",
                        "proration": False,
                        "amount": total,
                        "period": {"start": period_start, "end": period_start + 30 * 86_400},
                    }
                ],
                "has_more": False,
            },
        }
    else:
        obj |= {
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription, "metadata": {}},
            },
            "lines": {
                "object": "list",
                "data": [
                    {
                        "id": f"il_{invoice_id}",
                        "object": "line_item",
                        "amount": total,
                        "parent": {
                            "type": "subscription_item_details",
                            "subscription_item_details": {
                                "subscription": subscription,
                                "proration": False,
                            },
                        },
                        "period": {"start": period_start, "end": period_start + 30 * 86_400},
                    }
                ],
                "has_more": False,
            },
        }
        if payment_intent is not None:
            obj["payments"] = {
                "object": "list",
                "data": [{"payment": {"type": "payment_intent", "payment_intent": payment_intent}}],
            }
    return _event(
        "invoice.paid", obj, created=created or period_start + 3600, livemode=livemode, api=api
    )


def refund(
    *,
    charge: str,
    payment_intent: str | None,
    amount: int,
    amount_refunded: int,
    currency: str = "usd",
    created: int = 1_770_000_000,
    livemode: bool = False,
) -> str:
    return _event(
        "charge.refunded",
        {
            "id": charge,
            "object": "charge",
            "amount": amount,
            "amount_refunded": amount_refunded,
            "refunded": amount_refunded >= amount,
            "currency": currency,
            "customer": "cus_1",
            "payment_intent": payment_intent,
            "livemode": livemode,
        },
        created=created,
        livemode=livemode,
        api=BASIL,
    )


def deletion(
    *, subscription: str, ended_at: int | None, created: int = 1_780_000_000, livemode: bool = False
) -> str:
    return _event(
        "customer.subscription.deleted",
        {
            "id": subscription,
            "object": "subscription",
            "customer": "cus_1",
            "status": "canceled",
            "canceled_at": ended_at,
            "ended_at": ended_at,
            "livemode": livemode,
        },
        created=created,
        livemode=livemode,
        api=BASIL,
    )


def delivery(body: str, *, workspace_id: str, endpoint_id: str = "ep_test") -> dict[str, Any]:
    """The actor kwargs the ingress would queue for this body."""
    parsed = json.loads(body)
    return {
        "endpoint_id": endpoint_id,
        "workspace_id": workspace_id,
        "event_id": parsed["id"],
        "event_type": parsed["type"],
        "livemode": parsed["livemode"],
        "api_version": parsed["api_version"],
        "received_at": 0,
        "body": body,
    }
