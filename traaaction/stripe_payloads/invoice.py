"""`invoice.paid`: a paid subscription invoice, in the shape of the API version asked for.

Basil (2025-03-31) moved the invoice's subscription to `parent.subscription_details`, its
payment intent to `payments.data[].payment` (and removed `charge`, `paid` and `tax`), and
gave each line a `parent` (subscription item or invoice item, with its `proration`) and
`pricing` instead of `type`, `proration`, `plan` and `price`.

One liberty: a basil invoice paid through a payment intent carries its `payments` list,
which Stripe includes in webhooks only on request, so that a refund of that payment intent
can be matched without a Stripe API key (pass payment_intent=None for the default payload).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from domain.months import add_months
from traaaction.stripe_payloads.catalog import automatic_tax, plan_product, taxes
from traaaction.stripe_payloads.envelope import INVOICE_PAID, BuiltEvent, event
from traaaction.stripe_payloads.ids import (
    AUTO,
    DEFAULT_API_VERSION,
    Auto,
    FixtureError,
    Ref,
    check_amount,
    check_currency,
    check_part,
    derived_id,
    is_basil,
    own_id,
    resolve,
)
from traaaction.stripe_payloads.invoice_lines import Line, LineContext, line_json
from traaaction.stripe_payloads.parties import (
    DEFAULT_SHOP,
    JENNY_ROSEN,
    Buyer,
    Shop,
    invoice_customer,
)

BILLING_REASONS: Final = (
    "subscription_cycle",
    "subscription_create",
    "subscription_update",
    "manual",
)
#: seconds from drafting a renewal invoice (at the period's start) to finalizing and paying it
_FINALIZED_AFTER = 3_600


def _number(customer: str | None, invoice_id: str) -> str:
    """An invoice number: the customer's prefix (hex, as Stripe makes it) and a sequence."""
    prefix = hashlib.sha256((customer or invoice_id).encode()).hexdigest()[:8].upper()
    return f"{prefix}-0001"


def invoice_paid(
    *,
    subscription: Ref = AUTO,
    amount: int = 10_000,
    tax: int = 0,
    amount_paid: int | None = None,
    currency: str = "usd",
    billing_reason: str = "subscription_cycle",
    service_start: int,
    lines: Sequence[Line] | None = None,
    customer: Ref = AUTO,
    payment_intent: Ref = AUTO,
    charge: Ref = AUTO,
    invoice_id: str | Auto = AUTO,
    product: str | Auto = AUTO,
    tax_rate: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int | None = None,
    buyer: Buyer = JENNY_ROSEN,
    shop: Shop = DEFAULT_SHOP,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
    subscription_metadata: Mapping[str, str] | None = None,
    promotion_code: str | None = None,
) -> BuiltEvent:
    """A paid invoice for the month starting at `service_start`.

    `subscription_metadata` is the subscription's metadata as Stripe copies it onto the
    invoice (basil: parent.subscription_details.metadata; before: subscription_details
    .metadata). `promotion_code` is the promotion code of the invoice's discount: before
    basil in the expanded `discount` object; from basil on, webhooks list only the
    Discount's id in `discounts`, so the code does not appear in the payload at all.

    `amount` is `total`, tax included; `tax` the difference to `total_excluding_tax`;
    `amount_paid` is `amount` unless the customer's credit balance paid part of it. `lines`
    add up to the amount before tax; by default one subscription line for the month from
    `service_start`. For a renewal the invoice's own period is the month before
    (`period_end` = `service_start`); for the first invoice both are `service_start`.
    `created` (the event's time, when it was paid) is an hour after `service_start` unless
    told. `charge` (before basil only) is a new one if there is a payment intent.
    """
    if billing_reason not in BILLING_REASONS:
        raise FixtureError(
            f"billing reason {billing_reason!r}: one of {', '.join(BILLING_REASONS)}"
        )
    check_amount("amount", amount)
    check_part("tax", tax, amount)
    paid = amount if amount_paid is None else amount_paid
    check_part("amount paid", paid, amount)
    check_currency(currency)
    basil = is_basil(api_version)
    if basil and isinstance(charge, str):
        raise FixtureError("basil removed invoice.charge (its payment is in payments)")
    subscription_id = resolve(subscription, "subscription")
    customer_id = resolve(customer, "customer")
    intent = resolve(payment_intent, "payment_intent")
    charge_id = None if basil or intent is None else resolve(charge, "charge")
    invoice = own_id(invoice_id, "invoice")
    net = amount - tax
    if lines is None:
        lines = [Line(net, (service_start, add_months(service_start, 1)))]
    if sum(spec.amount for spec in lines) != net:
        raise FixtureError(
            f"the lines add up to {sum(spec.amount for spec in lines)}, not to the amount "
            f"before tax {net}"
        )
    product_id = product if product is not AUTO else plan_product(subscription_id or invoice)
    rate = tax_rate if tax_rate is not AUTO else derived_id("txr", product_id)
    ctx = LineContext(
        invoice, subscription_id, currency, product_id, tax, net, rate, livemode, basil
    )
    at = service_start + _FINALIZED_AFTER if created is None else created
    drafted = min(service_start, at)
    finalized = min(drafted + _FINALIZED_AFTER, at)
    first = billing_reason == "subscription_create"
    obj: dict[str, Any] = {
        "id": invoice,
        "object": "invoice",
        **invoice_customer(buyer),
        "account_country": shop.country,
        "account_name": shop.name,
        "account_tax_ids": None,
        "amount_due": paid,
        "amount_paid": paid,
        "amount_remaining": 0,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": False,
        "automatic_tax": automatic_tax(tax),
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": drafted,
        "currency": currency,
        "custom_fields": None,
        "customer": customer_id,
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": finalized,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_test/{invoice}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_test/{invoice}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line_json(spec, n, ctx) for n, spec in enumerate(lines)],
            "has_more": False,
            "total_count": len(lines),
            "url": f"/v1/invoices/{invoice}/lines",
        },
        "livemode": livemode,
        "metadata": {},
        "next_payment_attempt": None,
        "number": _number(customer_id, invoice),
        "on_behalf_of": None,
        "payment_settings": dict.fromkeys(
            ("default_mandate", "payment_method_options", "payment_method_types")
        ),
        "period_end": service_start,
        "period_start": service_start if first else add_months(service_start, -1),
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        # a credit balance that paid part of the total is used up
        "starting_balance": paid - amount,
        "statement_descriptor": None,
        "status": "paid",
        "status_transitions": {
            "finalized_at": finalized,
            "marked_uncollectible_at": None,
            "paid_at": at,
            "voided_at": None,
        },
        "subtotal": net,
        "subtotal_excluding_tax": net,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": net,
        "webhooks_delivered_at": min(drafted + 2, at),
    }
    if basil:
        obj |= _basil_fields(obj, ctx, intent, at)
    else:
        obj |= _earlier_fields(ctx, intent, charge_id)
    _discount_and_metadata(obj, subscription_metadata, promotion_code, basil=basil)
    ids = {
        "invoice": invoice,
        "subscription": subscription_id,
        "customer": customer_id,
        "payment_intent": intent,
        "charge": charge_id,
    }
    return event(
        INVOICE_PAID,
        obj,
        created=at,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        ids=ids,
    )


def _discount_and_metadata(
    obj: dict[str, Any],
    metadata: Mapping[str, str] | None,
    promotion_code: str | None,
    *,
    basil: bool,
) -> None:
    if metadata:
        if basil and obj.get("parent") is not None:
            obj["parent"]["subscription_details"]["metadata"] = dict(metadata)
        elif not basil:
            obj["subscription_details"] = {"metadata": dict(metadata)}
    if promotion_code is None:
        return
    discount_id = derived_id("di", obj["id"], promotion_code)
    obj["discounts"] = [discount_id]
    if not basil:
        obj["discount"] = {
            "id": discount_id,
            "object": "discount",
            "coupon": {"id": derived_id("coupon", promotion_code, length=8), "object": "coupon"},
            "customer": obj["customer"],
            "invoice": None,
            "promotion_code": promotion_code,
            "subscription": obj.get("subscription"),
        }


def _basil_fields(
    obj: dict[str, Any], ctx: LineContext, intent: str | None, at: int
) -> dict[str, Any]:
    """The fields basil added: the parent, the payments (when paid by a payment intent)."""
    fields: dict[str, Any] = {
        "amount_overpaid": 0,
        "automatically_finalizes_at": None,
        "confirmation_secret": None,
        "parent": {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": ctx.subscription},
        }
        if ctx.subscription is not None
        else None,
        "total_pretax_credit_amounts": [],
        "total_taxes": taxes(ctx.tax, ctx.subtotal, ctx.tax_rate, basil=True),
    }
    fields["automatic_tax"] = obj["automatic_tax"] | {"disabled_reason": None, "provider": "stripe"}
    if intent is not None:
        payment = {
            "id": derived_id("inpay", ctx.invoice_id, intent),
            "object": "invoice_payment",
            "amount_paid": obj["amount_paid"],
            "amount_requested": obj["amount_paid"],
            "created": obj["status_transitions"]["finalized_at"],
            "currency": ctx.currency,
            "invoice": ctx.invoice_id,
            "is_default": True,
            "livemode": ctx.livemode,
            "payment": {"type": "payment_intent", "payment_intent": intent},
            "status": "paid",
            "status_transitions": {"canceled_at": None, "paid_at": at},
        }
        fields["payments"] = {
            "object": "list",
            "data": [payment],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoice_payments?invoice={ctx.invoice_id}",
        }
    return fields


def _earlier_fields(ctx: LineContext, intent: str | None, charge: str | None) -> dict[str, Any]:
    """The fields basil removed or moved: subscription, payment intent, charge, tax."""
    return {
        "application_fee_amount": None,
        "charge": charge,
        "discount": None,
        "paid": True,
        "paid_out_of_band": False,
        "payment_intent": intent,
        "quote": None,
        "subscription": ctx.subscription,
        "subscription_details": {"metadata": {}},
        "tax": ctx.tax or None,
        "total_tax_amounts": taxes(ctx.tax, ctx.subtotal, ctx.tax_rate, basil=False),
        "transfer_data": None,
    }
