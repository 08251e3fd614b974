"""Stripe webhook events as Stripe sends them, in both payload shapes, for the parser's tests.

Shaped on real events: the envelope (id evt_..., object "event", api_version, created,
livemode, pending_webhooks, request, type, data.object) and the objects' real field names,
including the many fields the parser ignores, so that the tests see payloads of real size.

Two stories, one per shape:
- before basil (api_version 2024-06-20), EUR in Germany: a one-off checkout with 19 % VAT; a
  renewal invoice of a subscription upgraded mid-cycle (two proration lines from the earlier
  period beside the subscription line); a partial refund of that invoice's charge; an
  immediate cancellation.
- from basil (2025-03-31.basil), USD in New York: a subscription checkout with sales tax; a
  renewal invoice with a one-off invoice item and the subscription line, its payment included;
  a full refund of a guest JPY payment; a cancellation at the end of the period.

Each function returns a fresh dict, which a test may mutate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PRE_BASIL = "2024-06-20"
BASIL = "2025-03-31.basil"

Payload = dict[str, Any]

# --- before basil: EUR, Germany -------------------------------------------------------------

#: 2026-01-15 10:00:05 UTC, the one-off checkout's event
PRE_CHECKOUT_CREATED = 1768471205
#: 2026-03-15 10:00:00 UTC, the renewed period's start; the upgrade was 2026-02-20 14:31:07
PRE_RENEWAL_START = 1773568800
PRE_UPGRADE_AT = 1771597867
PRE_PREVIOUS_START = 1771149600  # 2026-02-15 10:00:00
PRE_RENEWAL_END = 1776247200  # 2026-04-15 10:00:00
PRE_CANCELED_AT = 1777740310  # 2026-05-02 16:45:10

PRE_CUSTOMER = "cus_RkT3mZ8wQ1vXyA"
PRE_SUBSCRIPTION = "sub_1QdTz2LkdIwHu7ixMx9Yh3Ka"
PRE_INVOICE = "in_1QsHb7LkdIwHu7ixR2s3T4u5"
PRE_INVOICE_CHARGE = "ch_3QsIc8LkdIwHu7ix1AbCdEfG"
PRE_INVOICE_INTENT = "pi_3QsIc8LkdIwHu7ix1HiJkLmN"
PRE_CHECKOUT_INTENT = "pi_3QdTyzLkdIwHu7ix0Xy1Z2a3"
PRE_CLICK_ID = "clk_01JH8Q4W6ZK3V2B9N7M5X1C0DE"

_ADDRESS_DE = {
    "city": "Berlin",
    "country": "DE",
    "line1": "Torstraße 109",
    "line2": None,
    "postal_code": "10119",
    "state": None,
}


def checkout_completed_pre_basil() -> Payload:
    """A paid one-off checkout (mode payment): EUR 100.00 + 19.00 VAT."""
    return {
        "id": "evt_1QdTz3LkdIwHu7ixc0LW4yTb",
        "object": "event",
        "api_version": PRE_BASIL,
        "created": PRE_CHECKOUT_CREATED,
        "data": {
            "object": {
                "id": "cs_test_a1Vx3bQf0r9pZ2kLmN4oP6qR8sT0uVwXyZ1aB3cD5eF7gH9iJ",
                "object": "checkout.session",
                "adaptive_pricing": None,
                "after_expiration": None,
                "allow_promotion_codes": None,
                "amount_subtotal": 10000,
                "amount_total": 11900,
                "automatic_tax": {
                    "enabled": True,
                    "liability": {"type": "self"},
                    "status": "complete",
                },
                "billing_address_collection": "required",
                "cancel_url": "https://shop.example.de/cart",
                "client_reference_id": None,
                "client_secret": None,
                "consent": None,
                "consent_collection": None,
                "created": PRE_CHECKOUT_CREATED - 94,
                "currency": "eur",
                "currency_conversion": None,
                "custom_fields": [],
                "custom_text": {
                    "after_submit": None,
                    "shipping_address": None,
                    "submit": None,
                    "terms_of_service_acceptance": None,
                },
                "customer": PRE_CUSTOMER,
                "customer_creation": "always",
                "customer_details": {
                    "address": _ADDRESS_DE,
                    "email": "jana.schmidt@example.de",
                    "name": "Jana Schmidt",
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                "customer_email": None,
                "expires_at": PRE_CHECKOUT_CREATED - 94 + 86_400,
                "invoice": None,
                "invoice_creation": {
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
                },
                "livemode": False,
                "locale": "de",
                "metadata": {"tracClickId": PRE_CLICK_ID, "cart": "c_88213"},
                "mode": "payment",
                "payment_intent": PRE_CHECKOUT_INTENT,
                "payment_link": None,
                "payment_method_collection": "if_required",
                "payment_method_configuration_details": {
                    "id": "pmc_1PgXyZLkdIwHu7ixQ3rS4tU5",
                    "parent": None,
                },
                "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
                "payment_method_types": ["card", "sepa_debit", "giropay"],
                "payment_status": "paid",
                "phone_number_collection": {"enabled": False},
                "recovered_from": None,
                "saved_payment_method_options": None,
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_details": None,
                "shipping_options": [],
                "status": "complete",
                "submit_type": "pay",
                "subscription": None,
                "success_url": "https://shop.example.de/thanks?session_id={CHECKOUT_SESSION_ID}",
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 1900},
                "ui_mode": "hosted",
                "url": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 2,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }


def _pre_basil_line(
    line_id: str,
    *,
    amount: int,
    description: str,
    period: tuple[int, int],
    proration: bool,
    line_type: str,
    price: str,
    unit_amount: int,
) -> Payload:
    return {
        "id": line_id,
        "object": "line_item",
        "amount": amount,
        "amount_excluding_tax": amount,
        "currency": "eur",
        "description": description,
        "discount_amounts": [],
        "discountable": not proration,
        "discounts": [],
        "invoice": PRE_INVOICE,
        "invoice_item": "ii_1QsHb6LkdIwHu7ix" + line_id[-6:]
        if line_type == "invoiceitem"
        else None,
        "livemode": False,
        "metadata": {},
        "period": {"end": period[1], "start": period[0]},
        "plan": {
            "id": price,
            "object": "plan",
            "active": True,
            "amount": unit_amount,
            "currency": "eur",
            "interval": "month",
            "interval_count": 1,
            "product": "prod_QdTx9aBcDeFgHi",
            "usage_type": "licensed",
        },
        "price": {
            "id": price,
            "object": "price",
            "active": True,
            "billing_scheme": "per_unit",
            "currency": "eur",
            "product": "prod_QdTx9aBcDeFgHi",
            "recurring": {"interval": "month", "interval_count": 1, "usage_type": "licensed"},
            "tax_behavior": "exclusive",
            "type": "recurring",
            "unit_amount": unit_amount,
        },
        "proration": proration,
        "proration_details": {"credited_items": None},
        "quantity": 1,
        "subscription": PRE_SUBSCRIPTION,
        "subscription_item": "si_RkT4pQ2wE8rTyU",
        "tax_amounts": [
            {
                "amount": round(amount * 19 / 100),
                "inclusive": False,
                "tax_rate": "txr_1PgY0aLkdIwHu7ixVat19DE",
                "taxability_reason": "standard_rated",
                "taxable_amount": amount,
            }
        ],
        "tax_rates": [],
        "type": line_type,
        "unit_amount_excluding_tax": str(unit_amount),
    }


def invoice_paid_pre_basil() -> Payload:
    """The March renewal of a subscription upgraded from Basic (10/month) to Pro (30/month).

    The two proration lines cover the rest of the February period (from the upgrade); the
    subscription line covers March 15 to April 15, the period this invoice pays for.
    """
    previous = (PRE_UPGRADE_AT, PRE_RENEWAL_START)
    lines = [
        _pre_basil_line(
            "il_1QsHb6LkdIwHu7ixUnusd1",
            amount=-814,
            description="Unused time on Basic after 20 Feb 2026",
            period=previous,
            proration=True,
            line_type="invoiceitem",
            price="price_1PgXa1LkdIwHu7ixBasic",
            unit_amount=1000,
        ),
        _pre_basil_line(
            "il_1QsHb6LkdIwHu7ixRemng2",
            amount=2443,
            description="Remaining time on Pro after 20 Feb 2026",
            period=previous,
            proration=True,
            line_type="invoiceitem",
            price="price_1PgXa2LkdIwHu7ixPro00",
            unit_amount=3000,
        ),
        _pre_basil_line(
            "il_1QsHb7LkdIwHu7ixSubsc3",
            amount=3000,
            description="1 × Pro (at €30.00 / month)",  # noqa: RUF001 - as Stripe writes it
            period=(PRE_RENEWAL_START, PRE_RENEWAL_END),
            proration=False,
            line_type="subscription",
            price="price_1PgXa2LkdIwHu7ixPro00",
            unit_amount=3000,
        ),
    ]
    return {
        "id": "evt_1QsIc9LkdIwHu7ixpXq2Jd8V",
        "object": "event",
        "api_version": PRE_BASIL,
        "created": PRE_RENEWAL_START + 3733,
        "data": {
            "object": {
                "id": PRE_INVOICE,
                "object": "invoice",
                "account_country": "DE",
                "account_name": "Beispiel Software GmbH",
                "account_tax_ids": None,
                "amount_due": 5509,
                "amount_paid": 5509,
                "amount_remaining": 0,
                "amount_shipping": 0,
                "application": None,
                "application_fee_amount": None,
                "attempt_count": 1,
                "attempted": True,
                "auto_advance": False,
                "automatic_tax": {
                    "enabled": True,
                    "liability": {"type": "self"},
                    "status": "complete",
                },
                "billing_reason": "subscription_cycle",
                "charge": PRE_INVOICE_CHARGE,
                "collection_method": "charge_automatically",
                "created": PRE_RENEWAL_START,
                "currency": "eur",
                "custom_fields": None,
                "customer": PRE_CUSTOMER,
                "customer_address": _ADDRESS_DE,
                "customer_email": "jana.schmidt@example.de",
                "customer_name": "Jana Schmidt",
                "customer_phone": None,
                "customer_shipping": None,
                "customer_tax_exempt": "none",
                "customer_tax_ids": [],
                "default_payment_method": None,
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discount": None,
                "discounts": [],
                "due_date": None,
                "effective_at": PRE_RENEWAL_START + 3600,
                "ending_balance": 0,
                "footer": None,
                "from_invoice": None,
                "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1PgXWvLkdIwHu7ix/test_YWNjdF8x",
                "invoice_pdf": "https://pay.stripe.com/invoice/acct_1PgXWvLkdIwHu7ix/test_YWNjdF8x/pdf",
                "issuer": {"type": "self"},
                "last_finalization_error": None,
                "latest_revision": None,
                "lines": {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "total_count": len(lines),
                    "url": f"/v1/invoices/{PRE_INVOICE}/lines",
                },
                "livemode": False,
                "metadata": {},
                "next_payment_attempt": None,
                "number": "8F3C21A0-0003",
                "on_behalf_of": None,
                "paid": True,
                "paid_out_of_band": False,
                "payment_intent": PRE_INVOICE_INTENT,
                "payment_settings": {
                    "default_mandate": None,
                    "payment_method_options": None,
                    "payment_method_types": None,
                },
                "period_end": PRE_RENEWAL_START,
                "period_start": PRE_PREVIOUS_START,
                "post_payment_credit_notes_amount": 0,
                "pre_payment_credit_notes_amount": 0,
                "quote": None,
                "receipt_number": None,
                "rendering": None,
                "shipping_cost": None,
                "shipping_details": None,
                "starting_balance": 0,
                "statement_descriptor": None,
                "status": "paid",
                "status_transitions": {
                    "finalized_at": PRE_RENEWAL_START + 3600,
                    "marked_uncollectible_at": None,
                    "paid_at": PRE_RENEWAL_START + 3731,
                    "voided_at": None,
                },
                "subscription": PRE_SUBSCRIPTION,
                "subscription_details": {"metadata": {}},
                "subtotal": 4629,
                "subtotal_excluding_tax": 4629,
                "tax": 880,
                "test_clock": None,
                "total": 5509,
                "total_discount_amounts": [],
                "total_excluding_tax": 4629,
                "total_tax_amounts": [
                    {
                        "amount": 880,
                        "inclusive": False,
                        "tax_rate": "txr_1PgY0aLkdIwHu7ixVat19DE",
                        "taxability_reason": "standard_rated",
                        "taxable_amount": 4629,
                    }
                ],
                "transfer_data": None,
                "webhooks_delivered_at": PRE_RENEWAL_START + 2,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }


def charge_refunded_pre_basil() -> Payload:
    """A partial refund (EUR 20.00) of the March renewal's charge of EUR 55.09."""
    return {
        "id": "evt_3QsIc8LkdIwHu7ix1rEfNd01",
        "object": "event",
        "api_version": PRE_BASIL,
        "created": 1773825164,
        "data": {
            "object": {
                "id": PRE_INVOICE_CHARGE,
                "object": "charge",
                "amount": 5509,
                "amount_captured": 5509,
                "amount_refunded": 2000,
                "application": None,
                "application_fee": None,
                "application_fee_amount": None,
                "balance_transaction": "txn_3QsIc8LkdIwHu7ix1aQ2wS3e",
                "billing_details": {
                    "address": _ADDRESS_DE,
                    "email": "jana.schmidt@example.de",
                    "name": "Jana Schmidt",
                    "phone": None,
                },
                "calculated_statement_descriptor": "BEISPIEL SOFTWARE",
                "captured": True,
                "created": PRE_RENEWAL_START + 3731,
                "currency": "eur",
                "customer": PRE_CUSTOMER,
                "description": "Subscription update",
                "destination": None,
                "dispute": None,
                "disputed": False,
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "fraud_details": {},
                "invoice": PRE_INVOICE,
                "livemode": False,
                "metadata": {},
                "on_behalf_of": None,
                "order": None,
                "outcome": {
                    "network_status": "approved_by_network",
                    "reason": None,
                    "risk_level": "normal",
                    "risk_score": 21,
                    "seller_message": "Payment complete.",
                    "type": "authorized",
                },
                "paid": True,
                "payment_intent": PRE_INVOICE_INTENT,
                "payment_method": "pm_1QdTz1LkdIwHu7ixKj8Lm9No",
                "payment_method_details": {
                    "card": {
                        "brand": "visa",
                        "country": "DE",
                        "exp_month": 8,
                        "exp_year": 2029,
                        "funding": "credit",
                        "last4": "4242",
                        "network": "visa",
                    },
                    "type": "card",
                },
                "radar_options": {},
                "receipt_email": "jana.schmidt@example.de",
                "receipt_number": None,
                "receipt_url": "https://pay.stripe.com/receipts/invoices/CAcaFwoVYWNjdF8x",
                "refunded": False,
                "review": None,
                "shipping": None,
                "source": None,
                "source_transfer": None,
                "statement_descriptor": None,
                "statement_descriptor_suffix": None,
                "status": "succeeded",
                "transfer_data": None,
                "transfer_group": None,
            },
            "previous_attributes": {"amount_refunded": 0},
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Vb7Xk2Qw9Lm3Np", "idempotency_key": "b1d5f0c8-6a1e-4c2b-9f0e"},
        "type": "charge.refunded",
    }


def subscription_deleted_pre_basil() -> Payload:
    """An immediate cancellation: canceled_at and ended_at are the same second."""
    return {
        "id": "evt_1RBcD4LkdIwHu7ixZt5Ur6Wq",
        "object": "event",
        "api_version": PRE_BASIL,
        "created": PRE_CANCELED_AT + 2,
        "data": {
            "object": {
                "id": PRE_SUBSCRIPTION,
                "object": "subscription",
                "application": None,
                "application_fee_percent": None,
                "automatic_tax": {
                    "disabled_reason": None,
                    "enabled": True,
                    "liability": {"type": "self"},
                },
                "billing_cycle_anchor": 1768471200,
                "billing_cycle_anchor_config": None,
                "billing_thresholds": None,
                "cancel_at": None,
                "cancel_at_period_end": False,
                "canceled_at": PRE_CANCELED_AT,
                "cancellation_details": {
                    "comment": None,
                    "feedback": "too_expensive",
                    "reason": "cancellation_requested",
                },
                "collection_method": "charge_automatically",
                "created": 1768471200,
                "currency": "eur",
                "current_period_end": PRE_RENEWAL_END + 30 * 86_400,
                "current_period_start": PRE_RENEWAL_END,
                "customer": PRE_CUSTOMER,
                "days_until_due": None,
                "default_payment_method": "pm_1QdTz1LkdIwHu7ixKj8Lm9No",
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discount": None,
                "discounts": [],
                "ended_at": PRE_CANCELED_AT,
                "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": "si_RkT4pQ2wE8rTyU",
                            "object": "subscription_item",
                            "created": PRE_UPGRADE_AT,
                            "metadata": {},
                            "price": {"id": "price_1PgXa2LkdIwHu7ixPro00", "object": "price"},
                            "quantity": 1,
                            "subscription": PRE_SUBSCRIPTION,
                            "tax_rates": [],
                        }
                    ],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={PRE_SUBSCRIPTION}",
                },
                "latest_invoice": "in_1RAbC1LkdIwHu7ixMay0001",
                "livemode": False,
                "metadata": {},
                "next_pending_invoice_item_invoice": None,
                "on_behalf_of": None,
                "pause_collection": None,
                "payment_settings": {
                    "payment_method_options": None,
                    "payment_method_types": None,
                    "save_default_payment_method": "off",
                },
                "pending_invoice_item_interval": None,
                "pending_setup_intent": None,
                "pending_update": None,
                "quantity": 1,
                "schedule": None,
                "start_date": 1768471200,
                "status": "canceled",
                "test_clock": None,
                "transfer_data": None,
                "trial_end": None,
                "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
                "trial_start": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Qm2Rt5Yu8Io1Pa", "idempotency_key": "6f0e9d2c-2b7a-4e1f-8c3d"},
        "type": "customer.subscription.deleted",
    }


# --- from basil: USD, New York ----------------------------------------------------------------

#: 2025-11-03 08:20:31 UTC, the subscription checkout's event; the subscription began a second
#: earlier, which is the billing cycle anchor (the 3rd of each month, 08:20:30)
BASIL_CHECKOUT_CREATED = 1762158031
BASIL_ANCHOR = 1762158030
BASIL_PREVIOUS_START = 1764750030  # 2025-12-03 08:20:30
BASIL_RENEWAL_START = 1767428430  # 2026-01-03 08:20:30
BASIL_RENEWAL_END = 1770106830  # 2026-02-03 08:20:30
BASIL_INVOICE_ITEM_AT = 1766232000  # 2025-12-20 12:00:00, a one-off onboarding call
BASIL_CANCEL_REQUESTED = 1768028755  # 2026-01-10 07:05:55

BASIL_CUSTOMER = "cus_TLm8nB4vC2xZqW"
BASIL_SUBSCRIPTION = "sub_1SPbQyHd8s9WqZ3k7Rt2Vx1L"
BASIL_FIRST_INVOICE = "in_1SPbQyHd8s9WqZ3kFirst001"
BASIL_INVOICE = "in_1SlKm2Hd8s9WqZ3kRenew002"
BASIL_INVOICE_INTENT = "pi_3SlLn4Hd8s9WqZ3k0aB1cD2e"
BASIL_CLICK_ID = "clk_01K93D7SPX5H2QG4R8T6W0YZAB"
BASIL_GUEST_CHARGE = "ch_3SmAb1Hd8s9WqZ3k1GuEsT7y"
BASIL_GUEST_INTENT = "pi_3SmAb1Hd8s9WqZ3k1QwErTyU"

_ADDRESS_NY = {
    "city": "Brooklyn",
    "country": "US",
    "line1": "55 Water St",
    "line2": "Apt 4B",
    "postal_code": "11201",
    "state": "NY",
}


def checkout_completed_basil() -> Payload:
    """A paid subscription checkout (mode subscription): USD 20.00 + 1.78 sales tax."""
    return {
        "id": "evt_1SPbR0Hd8s9WqZ3kQy4pL0Xs",
        "object": "event",
        "api_version": BASIL,
        "context": None,
        "created": BASIL_CHECKOUT_CREATED,
        "data": {
            "object": {
                "id": "cs_test_b1Qw2Er3Ty4Ui5Op6As7Df8Gh9Jk0Lz1Xc2Vb3Nm4Qw5Er6Ty",
                "object": "checkout.session",
                "adaptive_pricing": {"enabled": False},
                "after_expiration": None,
                "allow_promotion_codes": True,
                "amount_subtotal": 2000,
                "amount_total": 2178,
                "automatic_tax": {
                    "enabled": True,
                    "liability": {"type": "self"},
                    "provider": "stripe",
                    "status": "complete",
                },
                "billing_address_collection": None,
                "cancel_url": "https://app.example.com/pricing",
                "client_reference_id": "user_4821",
                "client_secret": None,
                "collected_information": {"shipping_details": None},
                "consent": None,
                "consent_collection": None,
                "created": BASIL_CHECKOUT_CREATED - 203,
                "currency": "usd",
                "currency_conversion": None,
                "custom_fields": [],
                "custom_text": {
                    "after_submit": None,
                    "shipping_address": None,
                    "submit": None,
                    "terms_of_service_acceptance": None,
                },
                "customer": BASIL_CUSTOMER,
                "customer_creation": "always",
                "customer_details": {
                    "address": _ADDRESS_NY,
                    "email": "sam.okafor@example.com",
                    "name": "Sam Okafor",
                    "phone": None,
                    "tax_exempt": "none",
                    "tax_ids": [],
                },
                "customer_email": None,
                "discounts": [],
                "expires_at": BASIL_CHECKOUT_CREATED - 203 + 86_400,
                "invoice": BASIL_FIRST_INVOICE,
                "invoice_creation": None,
                "livemode": False,
                "locale": None,
                "metadata": {"tracClickId": BASIL_CLICK_ID},
                "mode": "subscription",
                "origin_context": None,
                "payment_intent": None,
                "payment_link": None,
                "payment_method_collection": "always",
                "payment_method_configuration_details": None,
                "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
                "payment_method_types": ["card", "link"],
                "payment_status": "paid",
                "permissions": None,
                "phone_number_collection": {"enabled": False},
                "presentment_details": {"presentment_amount": 2178, "presentment_currency": "usd"},
                "recovered_from": None,
                "saved_payment_method_options": {
                    "allow_redisplay_filters": ["always"],
                    "payment_method_remove": "disabled",
                    "payment_method_save": None,
                },
                "setup_intent": None,
                "shipping_address_collection": None,
                "shipping_cost": None,
                "shipping_options": [],
                "status": "complete",
                "submit_type": None,
                "subscription": BASIL_SUBSCRIPTION,
                "success_url": "https://app.example.com/welcome",
                "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 178},
                "ui_mode": "hosted",
                "url": None,
                "wallet_options": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 2,
        "request": {"id": None, "idempotency_key": None},
        "type": "checkout.session.completed",
    }


def _basil_line(
    line_id: str,
    *,
    amount: int,
    description: str,
    period: tuple[int, int],
    parent: Payload,
    price: str,
) -> Payload:
    return {
        "id": line_id,
        "object": "line_item",
        "amount": amount,
        "currency": "usd",
        "description": description,
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": BASIL_INVOICE,
        "livemode": False,
        "metadata": {},
        "parent": parent,
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price, "product": "prod_TLm7aSdFgHjKlZ"},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "quantity": 1,
        "taxes": [
            {
                "amount": round(amount * 8.875 / 100),
                "tax_behavior": "exclusive",
                "tax_rate_details": {"tax_rate": "txr_1SPbPxHd8s9WqZ3kNyc8875"},
                "taxability_reason": "standard_rated",
                "taxable_amount": amount,
                "type": "tax_rate_details",
            }
        ],
    }


def invoice_paid_basil() -> Payload:
    """The January renewal: the subscription line and a one-off onboarding call (USD 50.00).

    The invoice item's period is the day it was added, before the renewed period starts.
    """
    lines = [
        _basil_line(
            "il_1SlKm1Hd8s9WqZ3kOnbrd01",
            amount=5000,
            description="Onboarding call",
            period=(BASIL_INVOICE_ITEM_AT, BASIL_INVOICE_ITEM_AT),
            parent={
                "invoice_item_details": {
                    "invoice_item": "ii_1ShZx9Hd8s9WqZ3kOnbrd0",
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": BASIL_SUBSCRIPTION,
                },
                "subscription_item_details": None,
                "type": "invoice_item_details",
            },
            price="price_1ShZx8Hd8s9WqZ3kOnbrd0",
        ),
        _basil_line(
            "il_1SlKm2Hd8s9WqZ3kSubsc02",
            amount=2000,
            description="1 × Team (at $20.00 / month)",  # noqa: RUF001 - as Stripe writes it
            period=(BASIL_RENEWAL_START, BASIL_RENEWAL_END),
            parent={
                "invoice_item_details": None,
                "subscription_item_details": {
                    "invoice_item": None,
                    "proration": False,
                    "proration_details": {"credited_items": None},
                    "subscription": BASIL_SUBSCRIPTION,
                    "subscription_item": "si_TLm9cV3bN5mQwE",
                },
                "type": "subscription_item_details",
            },
            price="price_1SPbPwHd8s9WqZ3kTeam20",
        ),
    ]
    paid_at = BASIL_RENEWAL_START + 3670
    return {
        "id": "evt_1SlLn5Hd8s9WqZ3kJx2Cv7Bn",
        "object": "event",
        "api_version": BASIL,
        "context": None,
        "created": paid_at,
        "data": {
            "object": {
                "id": BASIL_INVOICE,
                "object": "invoice",
                "account_country": "US",
                "account_name": "Example Apps Inc.",
                "account_tax_ids": None,
                "amount_due": 7621,
                "amount_overpaid": 0,
                "amount_paid": 7621,
                "amount_remaining": 0,
                "amount_shipping": 0,
                "application": None,
                "attempt_count": 1,
                "attempted": True,
                "auto_advance": False,
                "automatic_tax": {
                    "disabled_reason": None,
                    "enabled": True,
                    "liability": {"type": "self"},
                    "provider": "stripe",
                    "status": "complete",
                },
                "automatically_finalizes_at": None,
                "billing_reason": "subscription_cycle",
                "collection_method": "charge_automatically",
                "confirmation_secret": None,
                "created": BASIL_RENEWAL_START,
                "currency": "usd",
                "custom_fields": None,
                "customer": BASIL_CUSTOMER,
                "customer_address": _ADDRESS_NY,
                "customer_email": "sam.okafor@example.com",
                "customer_name": "Sam Okafor",
                "customer_phone": None,
                "customer_shipping": None,
                "customer_tax_exempt": "none",
                "customer_tax_ids": [],
                "default_payment_method": None,
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "due_date": None,
                "effective_at": BASIL_RENEWAL_START + 3600,
                "ending_balance": 0,
                "footer": None,
                "from_invoice": None,
                "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1SPbOvHd8s9WqZ3k/test_YWNjdF8y",
                "invoice_pdf": "https://pay.stripe.com/invoice/acct_1SPbOvHd8s9WqZ3k/test_YWNjdF8y/pdf",
                "issuer": {"type": "self"},
                "last_finalization_error": None,
                "latest_revision": None,
                "lines": {
                    "object": "list",
                    "data": lines,
                    "has_more": False,
                    "total_count": len(lines),
                    "url": f"/v1/invoices/{BASIL_INVOICE}/lines",
                },
                "livemode": False,
                "metadata": {},
                "next_payment_attempt": None,
                "number": "E4A7B2C9-0003",
                "on_behalf_of": None,
                "parent": {
                    "quote_details": None,
                    "subscription_details": {
                        "metadata": {},
                        "subscription": BASIL_SUBSCRIPTION,
                    },
                    "type": "subscription_details",
                },
                "payment_settings": {
                    "default_mandate": None,
                    "payment_method_options": None,
                    "payment_method_types": None,
                },
                "payments": {
                    "object": "list",
                    "data": [
                        {
                            "id": "inpay_1SlLn4Hd8s9WqZ3kP4y5Mn6B",
                            "object": "invoice_payment",
                            "amount_paid": 7621,
                            "amount_requested": 7621,
                            "created": BASIL_RENEWAL_START + 3600,
                            "currency": "usd",
                            "invoice": BASIL_INVOICE,
                            "is_default": True,
                            "livemode": False,
                            "payment": {
                                "payment_intent": BASIL_INVOICE_INTENT,
                                "type": "payment_intent",
                            },
                            "status": "paid",
                            "status_transitions": {"canceled_at": None, "paid_at": paid_at},
                        }
                    ],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/invoice_payments?invoice={BASIL_INVOICE}",
                },
                "period_end": BASIL_RENEWAL_START,
                "period_start": BASIL_PREVIOUS_START,
                "post_payment_credit_notes_amount": 0,
                "pre_payment_credit_notes_amount": 0,
                "receipt_number": None,
                "rendering": None,
                "shipping_cost": None,
                "shipping_details": None,
                "starting_balance": 0,
                "statement_descriptor": None,
                "status": "paid",
                "status_transitions": {
                    "finalized_at": BASIL_RENEWAL_START + 3600,
                    "marked_uncollectible_at": None,
                    "paid_at": paid_at,
                    "voided_at": None,
                },
                "subtotal": 7000,
                "subtotal_excluding_tax": 7000,
                "test_clock": None,
                "total": 7621,
                "total_discount_amounts": [],
                "total_excluding_tax": 7000,
                "total_pretax_credit_amounts": [],
                "total_taxes": [
                    {
                        "amount": 621,
                        "tax_behavior": "exclusive",
                        "tax_rate_details": {"tax_rate": "txr_1SPbPxHd8s9WqZ3kNyc8875"},
                        "taxability_reason": "standard_rated",
                        "taxable_amount": 7000,
                        "type": "tax_rate_details",
                    }
                ],
                "webhooks_delivered_at": BASIL_RENEWAL_START + 2,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "invoice.paid",
    }


def charge_refunded_basil() -> Payload:
    """A full refund of a guest's one-off JPY 3000 payment (no customer; basil has no invoice)."""
    return {
        "id": "evt_3SmAb1Hd8s9WqZ3k1rFnD002",
        "object": "event",
        "api_version": BASIL,
        "context": None,
        "created": 1769629203,
        "data": {
            "object": {
                "id": BASIL_GUEST_CHARGE,
                "object": "charge",
                "amount": 3000,
                "amount_captured": 3000,
                "amount_refunded": 3000,
                "application": None,
                "application_fee": None,
                "application_fee_amount": None,
                "balance_transaction": "txn_3SmAb1Hd8s9WqZ3k1Tx9Yu8I",
                "billing_details": {
                    "address": {
                        "city": None,
                        "country": "JP",
                        "line1": None,
                        "line2": None,
                        "postal_code": "150-0001",
                        "state": None,
                    },
                    "email": "yuki.tanaka@example.jp",
                    "name": "田中 由紀",
                    "phone": None,
                    "tax_id": None,
                },
                "calculated_statement_descriptor": "EXAMPLE APPS",
                "captured": True,
                "created": 1769000000,
                "currency": "jpy",
                "customer": None,
                "description": None,
                "destination": None,
                "dispute": None,
                "disputed": False,
                "failure_balance_transaction": None,
                "failure_code": None,
                "failure_message": None,
                "fraud_details": {},
                "livemode": False,
                "metadata": {},
                "on_behalf_of": None,
                "outcome": {
                    "advice_code": None,
                    "network_advice_code": None,
                    "network_decline_code": None,
                    "network_status": "approved_by_network",
                    "reason": None,
                    "risk_level": "normal",
                    "risk_score": 8,
                    "seller_message": "Payment complete.",
                    "type": "authorized",
                },
                "paid": True,
                "payment_intent": BASIL_GUEST_INTENT,
                "payment_method": "pm_1SmAb0Hd8s9WqZ3kGuEsTpM1",
                "payment_method_details": {
                    "card": {
                        "brand": "jcb",
                        "country": "JP",
                        "exp_month": 3,
                        "exp_year": 2030,
                        "funding": "credit",
                        "last4": "0000",
                        "network": "jcb",
                    },
                    "type": "card",
                },
                "presentment_details": None,
                "radar_options": {},
                "receipt_email": None,
                "receipt_number": None,
                "receipt_url": "https://pay.stripe.com/receipts/payment/CAcaFwoVYWNjdF8y",
                "refunded": True,
                "review": None,
                "shipping": None,
                "source": None,
                "source_transfer": None,
                "statement_descriptor": None,
                "statement_descriptor_suffix": None,
                "status": "succeeded",
                "transfer_data": None,
                "transfer_group": None,
            },
            "previous_attributes": {"amount_refunded": 0, "refunded": False},
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": "req_Zx8Cv7Bn6Mq5Wa", "idempotency_key": "c7e1a9f2-5d3b-4a8e-b6f0"},
        "type": "charge.refunded",
    }


def subscription_deleted_basil() -> Payload:
    """A cancellation asked for on January 10, effective at the end of the period (Feb 3)."""
    return {
        "id": "evt_1SvNp0Hd8s9WqZ3kEnD3d0Xq",
        "object": "event",
        "api_version": BASIL,
        "context": None,
        "created": BASIL_RENEWAL_END + 1,
        "data": {
            "object": {
                "id": BASIL_SUBSCRIPTION,
                "object": "subscription",
                "application": None,
                "application_fee_percent": None,
                "automatic_tax": {
                    "disabled_reason": None,
                    "enabled": True,
                    "liability": {"type": "self"},
                },
                "billing_cycle_anchor": BASIL_ANCHOR,
                "billing_cycle_anchor_config": None,
                "billing_mode": {"type": "classic"},
                "billing_thresholds": None,
                "cancel_at": BASIL_RENEWAL_END,
                "cancel_at_period_end": True,
                "canceled_at": BASIL_CANCEL_REQUESTED,
                "cancellation_details": {
                    "comment": None,
                    "feedback": None,
                    "reason": "cancellation_requested",
                },
                "collection_method": "charge_automatically",
                "created": BASIL_ANCHOR,
                "currency": "usd",
                "customer": BASIL_CUSTOMER,
                "days_until_due": None,
                "default_payment_method": "pm_1SPbQxHd8s9WqZ3kCaRd4242",
                "default_source": None,
                "default_tax_rates": [],
                "description": None,
                "discounts": [],
                "ended_at": BASIL_RENEWAL_END,
                "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
                "items": {
                    "object": "list",
                    "data": [
                        {
                            "id": "si_TLm9cV3bN5mQwE",
                            "object": "subscription_item",
                            "created": BASIL_ANCHOR,
                            "current_period_end": BASIL_RENEWAL_END,
                            "current_period_start": BASIL_RENEWAL_START,
                            "metadata": {},
                            "price": {"id": "price_1SPbPwHd8s9WqZ3kTeam20", "object": "price"},
                            "quantity": 1,
                            "subscription": BASIL_SUBSCRIPTION,
                            "tax_rates": [],
                        }
                    ],
                    "has_more": False,
                    "total_count": 1,
                    "url": f"/v1/subscription_items?subscription={BASIL_SUBSCRIPTION}",
                },
                "latest_invoice": BASIL_INVOICE,
                "livemode": False,
                "metadata": {},
                "next_pending_invoice_item_invoice": None,
                "on_behalf_of": None,
                "pause_collection": None,
                "payment_settings": {
                    "payment_method_options": None,
                    "payment_method_types": None,
                    "save_default_payment_method": "on_subscription",
                },
                "pending_invoice_item_interval": None,
                "pending_setup_intent": None,
                "pending_update": None,
                "schedule": None,
                "start_date": BASIL_ANCHOR,
                "status": "canceled",
                "test_clock": None,
                "transfer_data": None,
                "trial_end": None,
                "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
                "trial_start": None,
            }
        },
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": "customer.subscription.deleted",
    }


#: every fixture, by a name for test ids
ALL: dict[str, Callable[[], Payload]] = {
    "checkout_pre_basil": checkout_completed_pre_basil,
    "checkout_basil": checkout_completed_basil,
    "invoice_pre_basil": invoice_paid_pre_basil,
    "invoice_basil": invoice_paid_basil,
    "charge_pre_basil": charge_refunded_pre_basil,
    "charge_basil": charge_refunded_basil,
    "subscription_pre_basil": subscription_deleted_pre_basil,
    "subscription_basil": subscription_deleted_basil,
}
