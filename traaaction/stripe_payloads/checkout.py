"""`checkout.session.completed`: a Checkout Session, paid (or set up).

The session is the same in both payload shapes but for a few fields that basil renamed or
added (`collected_information` replaced `shipping_details`; `presentment_details` holds the
customer's currency under Adaptive Pricing).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from traaaction.stripe_payloads.catalog import automatic_tax
from traaaction.stripe_payloads.envelope import (
    ASYNC_PAYMENT_FAILED,
    ASYNC_PAYMENT_SUCCEEDED,
    CHECKOUT_COMPLETED,
    BuiltEvent,
    event,
)
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
from traaaction.stripe_payloads.parties import JENNY_ROSEN, Buyer, customer_details

#: 2026-01-15 10:00:05 UTC: when a checkout happens unless told (fixed, so that a payload
#: built twice differs only in its random ids)
CHECKOUT_CREATED: Final = 1_768_471_205
#: seconds the buyer spent on the payment page, by default
_ON_THE_PAGE = 95
#: seconds a session stays open
_DAY = 86_400
MODES: Final = ("payment", "subscription", "setup")


def _ids(
    mode: str, payment_intent: Ref, subscription: Ref, invoice: Ref
) -> tuple[str | None, str | None, str | None]:
    """The session's payment intent, subscription and invoice: which a mode has."""
    if mode == "subscription":
        if isinstance(payment_intent, str):
            raise FixtureError(
                "a checkout in subscription mode has no payment intent (its invoice has)"
            )
        return None, resolve(subscription, "subscription"), resolve(invoice, "invoice")
    if isinstance(subscription, str) or isinstance(invoice, str):
        raise FixtureError(f"a checkout in {mode} mode has no subscription or invoice")
    if mode == "setup":
        if isinstance(payment_intent, str):
            raise FixtureError("a checkout in setup mode has no payment intent")
        return None, None, None
    return resolve(payment_intent, "payment_intent"), None, None


def _amounts(mode: str, amount: int | None, tax: int, currency: str) -> dict[str, Any]:
    """The money fields: none in setup mode, where nothing is charged."""
    if mode == "setup":
        if amount is not None or tax:
            raise FixtureError("a checkout in setup mode has no amount (pass amount=None)")
        return dict.fromkeys(("amount_subtotal", "amount_total", "currency", "total_details"))
    if amount is None:
        raise FixtureError(f"a checkout in {mode} mode has an amount")
    check_amount("amount", amount)
    check_part("tax", tax, amount)
    return {
        "amount_subtotal": amount - tax,
        "amount_total": amount,
        "currency": check_currency(currency),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": tax},
    }


def checkout_session_completed(
    *,
    mode: str = "payment",
    payment_status: str | Auto = AUTO,
    amount: int | None = 10_000,
    tax: int = 0,
    currency: str = "usd",
    click_id: str | None = None,
    metadata: Mapping[str, str] | None = None,
    client_reference_id: str | None = None,
    customer: Ref = AUTO,
    payment_intent: Ref = AUTO,
    subscription: Ref = AUTO,
    invoice: Ref = AUTO,
    session_id: str | Auto = AUTO,
    event_id: str | Auto = AUTO,
    created: int = CHECKOUT_CREATED,
    opened_at: int | None = None,
    buyer: Buyer = JENNY_ROSEN,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
    event_type: str = CHECKOUT_COMPLETED,
    promotion_code: str | None = None,
) -> BuiltEvent:
    """A completed Checkout Session (`event_type`: or its delayed payment's outcome, which
    carries the same object: `checkout_session_async_payment`).

    `mode` payment is a one-off sale, with its payment intent; subscription the first
    payment of a subscription, with the subscription and its first invoice; setup saves a
    card and charges nothing (`amount` must be None). `amount` is `amount_total`, tax
    included; `tax` is `total_details.amount_tax`. `payment_status` is "paid" unless told
    ("no_payment_required" in setup mode). `click_id` goes in `metadata.tracClickId` (absent
    when None), beside `metadata`. `opened_at` is when the buyer opened the page (default
    95 s before `created`). `promotion_code` (a `promo_` id) is the discount the customer
    entered, in `discounts`.
    """
    if mode not in MODES:
        raise FixtureError(f"mode {mode!r}: {', '.join(MODES)}")
    money = _amounts(mode, amount, tax, currency)
    intent, subscription_id, invoice_id = _ids(mode, payment_intent, subscription, invoice)
    session = own_id(session_id, "checkout_session", livemode=livemode)
    customer_id = resolve(customer, "customer")
    if payment_status is AUTO:
        payment_status = "no_payment_required" if mode == "setup" else "paid"
    opened = created - _ON_THE_PAGE if opened_at is None else opened_at
    basil = is_basil(api_version)
    session_obj: dict[str, Any] = {
        "id": session,
        "object": "checkout.session",
        **money,
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "automatic_tax": automatic_tax(tax),
        "billing_address_collection": None,
        "cancel_url": "https://shop.example.com/cancel",
        "client_reference_id": client_reference_id,
        "client_secret": None,
        "consent": None,
        "consent_collection": None,
        "created": opened,
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": dict.fromkeys(
            ("after_submit", "shipping_address", "submit", "terms_of_service_acceptance")
        ),
        "customer": customer_id,
        "customer_creation": "if_required" if mode == "payment" else "always",
        "customer_details": customer_details(buyer),
        "customer_email": None,
        "discounts": (
            [
                {
                    "coupon": derived_id("coupon", promotion_code, length=8),
                    "promotion_code": promotion_code,
                }
            ]
            if promotion_code is not None
            else []
        ),
        "expires_at": opened + _DAY,
        "invoice": invoice_id,
        # a one-off payment can make an invoice (off by default); a subscription has its own
        "invoice_creation": _invoice_creation() if mode == "payment" else None,
        "livemode": livemode,
        "locale": None,
        "metadata": _metadata(click_id, metadata),
        "mode": mode,
        "payment_intent": intent,
        "payment_link": None,
        "payment_method_collection": "if_required" if mode == "payment" else "always",
        "payment_method_configuration_details": {
            "id": derived_id("pmc", "configuration", customer_id or session),
            "parent": None,
        },
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card", "link"],
        "payment_status": payment_status,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": derived_id("seti", session) if mode == "setup" else None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": "pay" if mode == "payment" else None,
        "subscription": subscription_id,
        "success_url": "https://shop.example.com/success?session_id={CHECKOUT_SESSION_ID}",
        "ui_mode": "hosted",
        "url": None,
    }
    if basil:
        session_obj |= {
            "collected_information": {"shipping_details": None},
            "origin_context": None,
            "permissions": None,
            "presentment_details": (
                {"presentment_amount": amount, "presentment_currency": currency}
                if mode != "setup"
                else None
            ),
            "saved_payment_method_options": {
                "allow_redisplay_filters": ["always"],
                "payment_method_remove": "disabled",
                "payment_method_save": None,
            },
            "wallet_options": None,
        }
    else:
        session_obj["shipping_details"] = None  # basil moved it to collected_information
    ids = {
        "checkout_session": session,
        "customer": customer_id,
        "payment_intent": intent,
        "subscription": subscription_id,
        "invoice": invoice_id,
    }
    return event(
        event_type,
        session_obj,
        created=created,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        ids=ids,
    )


def checkout_session_async_payment(*, succeeded: bool, **session: Any) -> BuiltEvent:
    """checkout.session.async_payment_succeeded (the session now `paid`) or _failed (still
    `unpaid`): the session of a delayed payment method, as checkout_session_completed builds
    it from the same arguments (give the same session_id, customer, ... as its completion)."""
    return checkout_session_completed(
        event_type=ASYNC_PAYMENT_SUCCEEDED if succeeded else ASYNC_PAYMENT_FAILED,
        payment_status="paid" if succeeded else "unpaid",
        **session,
    )


def _metadata(click_id: str | None, metadata: Mapping[str, str] | None) -> dict[str, str]:
    """The session's metadata: the shop's own keys, and the click in tracClickId if any."""
    found = dict(metadata or {})
    if click_id is not None:
        found["tracClickId"] = click_id
    return found


def _invoice_creation() -> dict[str, Any]:
    return {
        "enabled": False,
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": None,
            "metadata": {},
            "rendering_options": None,
        },
    }
