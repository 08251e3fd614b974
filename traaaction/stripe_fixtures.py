"""Realistic Stripe events of the four handled types, for `traaaction send-test-event`.

Each builder returns the event as Stripe would POST it (a snapshot event, `object: "event"`)
in the payload shape of the API version asked for: before `2025-03-31.basil`, or from it on
(basil moved an invoice's subscription to `parent.subscription_details`, its payment intent to
`payments`, its line details to `parent` and `pricing`, a subscription's period to its items,
and removed a charge's `invoice`). Fields the service does not read are there too, so the
payloads look like what Stripe sends; amounts are integers in the currency's minor unit.

Every id not given is random in Stripe's format (evt_..., cs_test_..., pi_..., sub_..., in_...,
ch_..., cus_...), so that an event never collides with one sent before; `BuiltEvent.ids` names
the ids a later event can refer to (an invoice of the checkout's subscription, a refund of its
payment intent). Events are always test mode (`livemode: false`) unless asked otherwise.

One liberty: a basil invoice carries its `payments` list, which Stripe includes in webhooks
only on request, so that a refund of the invoice's payment intent can be matched without a
Stripe API key.
"""

from __future__ import annotations

import json
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.months import add_months

#: the first API version with the basil payload shape
BASIL = "2025-03-31.basil"
#: a recent version with the earlier shape
PRE_BASIL = "2024-06-20"
DEFAULT_API_VERSION = BASIL

CHECKOUT_COMPLETED = "checkout.session.completed"
INVOICE_PAID = "invoice.paid"
CHARGE_REFUNDED = "charge.refunded"
SUBSCRIPTION_DELETED = "customer.subscription.deleted"
EVENT_TYPES = (CHECKOUT_COMPLETED, INVOICE_PAID, CHARGE_REFUNDED, SUBSCRIPTION_DELETED)

BILLING_REASONS = ("subscription_cycle", "subscription_create", "subscription_update", "manual")

_API_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})(\.[a-z]+)?")
_CURRENCY = re.compile(r"[a-z]{3}")
_ALPHANUMERIC = string.ascii_letters + string.digits
#: the largest amount Stripe accepts is 8 digits for most currencies; this leaves room
MAX_AMOUNT = 10**12
_DAY = 86_400
_CUSTOMER = {"email": "jenny.rosen@example.com", "name": "Jenny Rosen"}


class FixtureError(ValueError):
    """A value no real Stripe event would carry (a tax above the total, say)."""


@dataclass(frozen=True, slots=True)
class BuiltEvent:
    """One event: its JSON value and the ids a later event can refer to."""

    body: dict[str, Any]
    #: role -> id: "event", "customer", "checkout_session", "payment_intent", ...
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        value: str = self.body["id"]
        return value

    @property
    def type(self) -> str:
        value: str = self.body["type"]
        return value

    def encode(self) -> bytes:
        """The raw body, as Stripe sends it (pretty-printed JSON); sign exactly these bytes."""
        return json.dumps(self.body, indent=2).encode()


# --- values -----------------------------------------------------------------------------------


def stripe_id(prefix: str, length: int = 24, *, lead: str = "1") -> str:
    """A random id in Stripe's format: `evt_1Qb4...` (prefix, a leading digit, alphanumerics)."""
    tail = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length - len(lead)))
    return f"{prefix}_{lead}{tail}"


def new_checkout_session_id() -> str:
    return stripe_id("cs_test", 58, lead="a1")


def new_customer_id() -> str:
    return stripe_id("cus", 14, lead="")


def new_event_id() -> str:
    return stripe_id("evt")


def new_payment_intent_id() -> str:
    return stripe_id("pi", lead="3")


def new_subscription_id() -> str:
    return stripe_id("sub")


def new_invoice_id() -> str:
    return stripe_id("in")


def new_charge_id() -> str:
    return stripe_id("ch", lead="3")


def check_api_version(value: str) -> str:
    """`2025-03-31.basil`, `2024-06-20`: a date and an optional release name."""
    match = _API_VERSION.fullmatch(value)
    if match is None:
        raise FixtureError(
            f"API version {value!r} is not like {BASIL!r} or {PRE_BASIL!r} (a date, and the "
            "release name from 2024-09-30.acacia on)"
        )
    try:
        datetime.strptime(match.group(1), "%Y-%m-%d")
    except ValueError:
        raise FixtureError(f"API version {value!r}: {match.group(1)} is not a date") from None
    return value


def is_basil(api_version: str) -> bool:
    """Whether an API version has the basil payload shape (2025-03-31 or later)."""
    return check_api_version(api_version)[:10] >= BASIL[:10]


def check_currency(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise FixtureError(f"currency {value!r} is not a lower-case three-letter code (usd)")
    return value


def _check_amount(name: str, value: int) -> int:
    if not 0 <= value <= MAX_AMOUNT:
        raise FixtureError(f"{name} {value} is not between 0 and {MAX_AMOUNT}")
    return value


def _ordered(obj: dict[str, Any]) -> dict[str, Any]:
    """Keys as Stripe orders them: id and object first, then alphabetically."""
    head = {k: obj[k] for k in ("id", "object") if k in obj}
    return head | {k: obj[k] for k in sorted(obj) if k not in head}


def _event(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str | None,
    created: int,
    api_version: str,
    livemode: bool,
) -> dict[str, Any]:
    return {
        "id": event_id or new_event_id(),
        "object": "event",
        "api_version": check_api_version(api_version),
        "created": created,
        "data": {"object": _ordered(obj)},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def _price(price_id: str, amount: int, currency: str, livemode: bool) -> dict[str, Any]:
    return {
        "id": price_id,
        "object": "price",
        "active": True,
        "billing_scheme": "per_unit",
        "currency": currency,
        "livemode": livemode,
        "product": stripe_id("prod", 14, lead=""),
        "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
        "type": "recurring",
        "unit_amount": amount,
        "unit_amount_decimal": str(amount),
    }


# --- the builders -----------------------------------------------------------------------------


def checkout_session_completed(
    *,
    mode: str = "payment",
    amount: int = 10_000,
    tax: int = 0,
    currency: str = "usd",
    click_id: str | None = None,
    customer: str | None = None,
    payment_intent: str | None = None,
    subscription: str | None = None,
    invoice: str | None = None,
    session_id: str | None = None,
    event_id: str | None = None,
    created: int,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A paid Checkout Session: `mode` payment (a one-off sale, with its payment intent) or
    subscription (the first payment of a subscription, with the subscription and its first
    invoice). `amount` is `amount_total`, tax included; `tax` is `total_details.amount_tax`.
    `click_id` goes in `metadata.tracClickId` (absent when None)."""
    if mode not in ("payment", "subscription"):
        raise FixtureError(f"mode {mode!r}: payment or subscription")
    _check_amount("amount", amount)
    _check_amount("tax", tax)
    if tax > amount:
        raise FixtureError(f"tax {tax} is more than the amount {amount} it is part of")
    check_currency(currency)
    session_id = session_id or new_checkout_session_id()
    customer = customer or new_customer_id()
    ids = {"checkout_session": session_id, "customer": customer}
    if mode == "payment":
        if subscription is not None or invoice is not None:
            raise FixtureError("a checkout in payment mode has no subscription or invoice")
        payment_intent = payment_intent or new_payment_intent_id()
        ids["payment_intent"] = payment_intent
    else:
        if payment_intent is not None:
            raise FixtureError(
                "a checkout in subscription mode has no payment intent (its invoice has)"
            )
        subscription = subscription or new_subscription_id()
        invoice = invoice or new_invoice_id()
        ids |= {"subscription": subscription, "invoice": invoice}
    opened = created - 95  # the customer spent a minute and a half on the payment page
    session: dict[str, Any] = {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount - tax,
        "amount_total": amount,
        "automatic_tax": {"enabled": tax > 0, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://shop.example.com/cancel",
        "client_reference_id": None,
        "consent": None,
        "created": opened,
        "currency": currency,
        "custom_fields": [],
        "customer": customer,
        "customer_creation": "always" if mode == "subscription" else "if_required",
        "customer_details": {
            "address": {"country": "US", "postal_code": "94103"},
            **_CUSTOMER,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "expires_at": opened + _DAY,
        "invoice": invoice,
        "livemode": livemode,
        "locale": None,
        "metadata": {"tracClickId": click_id} if click_id is not None else {},
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "status": "complete",
        "submit_type": None,
        "subscription": subscription,
        "success_url": "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": tax},
        "ui_mode": "hosted",
        "url": None,
    }
    body = _event(
        CHECKOUT_COMPLETED,
        session,
        event_id=event_id,
        created=created,
        api_version=api_version,
        livemode=livemode,
    )
    return BuiltEvent(body, {"event": body["id"], **ids})


def invoice_paid(
    *,
    subscription: str | None = None,
    amount: int = 10_000,
    tax: int = 0,
    currency: str = "usd",
    billing_reason: str = "subscription_cycle",
    service_start: int,
    customer: str | None = None,
    payment_intent: str | None = None,
    invoice_id: str | None = None,
    event_id: str | None = None,
    created: int,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A paid subscription invoice for the month starting at `service_start` (its line's
    `period.start`). `amount` is `amount_paid` and `total`, tax included; `tax` is the
    difference to `total_excluding_tax`. For a renewal the invoice's own period is the month
    before (`period_end` = `service_start`); for the first invoice both are `service_start`."""
    if billing_reason not in BILLING_REASONS:
        raise FixtureError(
            f"billing reason {billing_reason!r}: one of {', '.join(BILLING_REASONS)}"
        )
    _check_amount("amount", amount)
    _check_amount("tax", tax)
    if tax > amount:
        raise FixtureError(f"tax {tax} is more than the amount {amount} it is part of")
    check_currency(currency)
    basil = is_basil(api_version)
    subscription = subscription or new_subscription_id()
    customer = customer or new_customer_id()
    payment_intent = payment_intent or new_payment_intent_id()
    invoice_id = invoice_id or new_invoice_id()
    ids = {
        "invoice": invoice_id,
        "subscription": subscription,
        "customer": customer,
        "payment_intent": payment_intent,
    }
    first = billing_reason == "subscription_create"
    period_start = service_start if first else add_months(service_start, -1)
    service_end = add_months(service_start, 1)
    net = amount - tax
    item = stripe_id("si", 14, lead="")
    price = _price(stripe_id("price"), net, currency, livemode)
    line: dict[str, Any] = {
        "id": stripe_id("il"),
        "object": "line_item",
        "amount": net,
        "currency": currency,
        "description": f"1 x Traaaction test plan (at {net} {currency} / month)",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "livemode": livemode,
        "metadata": {},
        "period": {"start": service_start, "end": service_end},
        "quantity": 1,
    }
    # basil's line and invoice `taxes`; before basil, `tax_amounts` and `total_tax_amounts`
    taxes = [{"amount": tax, "tax_behavior": "exclusive", "taxable_amount": net,
              "type": "tax_rate_details"}] if tax else []  # fmt: skip
    tax_amounts = [{"amount": tax, "inclusive": False, "taxable_amount": net}] if tax else []
    invoice: dict[str, Any] = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "Traaaction test shop",
        "amount_due": amount,
        "amount_paid": amount,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": {"enabled": tax > 0, "liability": None, "status": None},
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": created,
        "currency": currency,
        "customer": customer,
        "customer_email": _CUSTOMER["email"],
        "customer_name": _CUSTOMER["name"],
        "default_payment_method": None,
        "description": None,
        "discounts": [],
        "due_date": None,
        "ending_balance": 0,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_test/{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_test/{invoice_id}/pdf",
        "livemode": livemode,
        "metadata": {},
        "number": f"TRAC{secrets.randbelow(10**8):08d}-0001",
        "period_end": service_start,
        "period_start": period_start,
        "starting_balance": 0,
        "status": "paid",
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": created,
            "voided_at": None,
        },
        "subtotal": net,
        "subtotal_excluding_tax": net,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": net,
        "webhooks_delivered_at": None,
    }
    if basil:
        line |= {
            "invoice": invoice_id,
            "parent": {
                "type": "subscription_item_details",
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": subscription,
                    "subscription_item": item,
                },
            },
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": str(net),
            },
            "taxes": taxes,
        }
        invoice |= {
            "amount_overpaid": 0,
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {"metadata": {}, "subscription": subscription},
            },
            "payments": {
                "object": "list",
                "data": [
                    {
                        "id": stripe_id("inpay"),
                        "object": "invoice_payment",
                        "amount_paid": amount,
                        "amount_requested": amount,
                        "created": created,
                        "currency": currency,
                        "invoice": invoice_id,
                        "is_default": True,
                        "livemode": livemode,
                        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
                        "status": "paid",
                        "status_transitions": {"canceled_at": None, "paid_at": created},
                    }
                ],
                "has_more": False,
                "url": "/v1/invoice_payments",
            },
            "total_pretax_credit_amounts": [],
            "total_taxes": taxes,
        }
    else:
        charge = new_charge_id()
        ids["charge"] = charge
        line |= {
            "invoice_item": None,
            "plan": None,
            "price": price,
            "proration": False,
            "proration_details": {"credited_items": None},
            "subscription": subscription,
            "subscription_item": item,
            "tax_amounts": tax_amounts,
            "type": "subscription",
        }
        invoice |= {
            "charge": charge,
            "paid": True,
            "paid_out_of_band": False,
            "payment_intent": payment_intent,
            "subscription": subscription,
            "subscription_details": {"metadata": {}},
            "tax": tax or None,
            "total_tax_amounts": tax_amounts,
        }
    invoice["lines"] = {
        "object": "list",
        "data": [line],
        "has_more": False,
        "total_count": 1,
        "url": f"/v1/invoices/{invoice_id}/lines",
    }
    body = _event(
        INVOICE_PAID,
        invoice,
        event_id=event_id,
        created=created,
        api_version=api_version,
        livemode=livemode,
    )
    return BuiltEvent(body, {"event": body["id"], **ids})


def charge_refunded(
    *,
    payment_intent: str | None = None,
    amount: int = 10_000,
    amount_refunded: int | None = None,
    currency: str = "usd",
    customer: str | None = None,
    charge_id: str | None = None,
    event_id: str | None = None,
    created: int,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A refunded charge of `amount` (the payment: a checkout's `amount_total`, an invoice's
    `amount_paid`); `amount_refunded` is cumulative over every refund of the charge (default:
    all of it)."""
    refunded = amount if amount_refunded is None else amount_refunded
    _check_amount("amount", amount)
    _check_amount("amount refunded", refunded)
    if refunded > amount:
        raise FixtureError(f"amount refunded {refunded} is more than the charge's {amount}")
    check_currency(currency)
    payment_intent = payment_intent or new_payment_intent_id()
    customer = customer or new_customer_id()
    charge_id = charge_id or new_charge_id()
    charge: dict[str, Any] = {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": refunded,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": stripe_id("txn", lead="3"),
        "billing_details": {
            "address": {"country": "US", "postal_code": "94103"},
            **_CUSTOMER,
            "phone": None,
        },
        "calculated_statement_descriptor": "TRAAACTION TEST",
        "captured": True,
        "created": created - 3_600,
        "currency": currency,
        "customer": customer,
        "description": None,
        "disputed": False,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": livemode,
        "metadata": {},
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method": stripe_id("pm", lead="R"),
        "payment_method_details": {
            "type": "card",
            "card": {
                "brand": "visa",
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "last4": "4242",
            },
        },
        "receipt_url": f"https://pay.stripe.com/receipts/payment/{charge_id}",
        "refunded": refunded == amount,
        "status": "succeeded",
    }
    if not is_basil(api_version):
        charge["invoice"] = None  # basil removed it; a refund is matched by payment intent
    body = _event(
        CHARGE_REFUNDED,
        charge,
        event_id=event_id,
        created=created,
        api_version=api_version,
        livemode=livemode,
    )
    ids = {"event": body["id"], "charge": charge_id, "payment_intent": payment_intent,
           "customer": customer}  # fmt: skip
    return BuiltEvent(body, ids)


def customer_subscription_deleted(
    *,
    subscription: str | None = None,
    customer: str | None = None,
    amount: int = 10_000,
    currency: str = "usd",
    ended_at: int | None = None,
    event_id: str | None = None,
    created: int,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A subscription canceled at once (`ended_at` and `canceled_at`, default `created`)."""
    _check_amount("amount", amount)
    check_currency(currency)
    subscription = subscription or new_subscription_id()
    customer = customer or new_customer_id()
    ended = created if ended_at is None else ended_at
    period_start = add_months(ended, -1)
    period = {"current_period_start": period_start, "current_period_end": ended}
    item: dict[str, Any] = {
        "id": stripe_id("si", 14, lead=""),
        "object": "subscription_item",
        "created": period_start,
        "metadata": {},
        "price": _price(stripe_id("price"), amount, currency, livemode),
        "quantity": 1,
        "subscription": subscription,
    }
    obj: dict[str, Any] = {
        "id": subscription,
        "object": "subscription",
        "application": None,
        "billing_cycle_anchor": period_start,
        "cancel_at": None,
        "cancel_at_period_end": False,
        "canceled_at": ended,
        "cancellation_details": {
            "comment": None,
            "feedback": None,
            "reason": "cancellation_requested",
        },
        "collection_method": "charge_automatically",
        "created": period_start,
        "currency": currency,
        "customer": customer,
        "ended_at": ended,
        "latest_invoice": new_invoice_id(),
        "livemode": livemode,
        "metadata": {},
        "start_date": period_start,
        "status": "canceled",
    }
    if is_basil(api_version):
        item |= period  # basil moved the current period to the items
    else:
        obj |= period
    obj["items"] = {
        "object": "list",
        "data": [item],
        "has_more": False,
        "total_count": 1,
        "url": f"/v1/subscription_items?subscription={subscription}",
    }
    body = _event(
        SUBSCRIPTION_DELETED,
        obj,
        event_id=event_id,
        created=created,
        api_version=api_version,
        livemode=livemode,
    )
    return BuiltEvent(
        body, {"event": body["id"], "subscription": subscription, "customer": customer}
    )
