"""`customer.subscription.deleted`: a subscription that has ended.

`canceled_at` is when the cancellation was asked for, `ended_at` when it took effect: the
same second for an immediate cancellation, the period's end for one at the period's end.
Basil moved the current period from the subscription to its items.
"""

from __future__ import annotations

from typing import Any, Final

from domain.months import add_months
from traaaction.stripe_payloads.catalog import plan_price, plan_product, price, subscription_item
from traaaction.stripe_payloads.envelope import SUBSCRIPTION_DELETED, BuiltEvent, event
from traaaction.stripe_payloads.ids import (
    AUTO,
    DEFAULT_API_VERSION,
    Auto,
    Instant,
    Ref,
    check_amount,
    check_currency,
    derived_id,
    is_basil,
    own_id,
    resolve,
)

#: 2026-05-28 20:26:40 UTC: when a subscription ends unless told (after REFUND_CREATED)
DELETION_CREATED: Final = 1_780_000_000


def customer_subscription_deleted(
    *,
    subscription: str | Auto = AUTO,
    customer: Ref = AUTO,
    amount: int = 10_000,
    currency: str = "usd",
    ended_at: Instant = AUTO,
    canceled_at: Instant = AUTO,
    at_period_end: bool = False,
    period: tuple[int, int] | None = None,
    started_at: int | None = None,
    feedback: str | None = None,
    latest_invoice: Ref = AUTO,
    event_id: str | Auto = AUTO,
    created: int = DELETION_CREATED,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
) -> BuiltEvent:
    """A canceled subscription of `amount` a month.

    `ended_at` is `created` unless told, `canceled_at` is `ended_at` (None for either: null,
    as a hostile test may want). `at_period_end`: the cancellation was asked for earlier and
    took effect at the period's end (`cancel_at`). `period` is the current period (default:
    the month up to `ended_at`); `started_at` when the subscription began (default: the
    period's start). `feedback` is what the customer said when canceling.
    """
    check_amount("amount", amount)
    check_currency(currency)
    sub = own_id(subscription, "subscription")
    customer_id = resolve(customer, "customer")
    ended = created if ended_at is AUTO else ended_at
    canceled = ended if canceled_at is AUTO else canceled_at
    end = ended if ended is not None else created
    current = period if period is not None else (add_months(end, -1), end)
    started = current[0] if started_at is None else started_at
    product = plan_product(sub)
    item: dict[str, Any] = {
        "id": subscription_item(sub),
        "object": "subscription_item",
        "created": started,
        "metadata": {},
        "price": price(
            plan_price(sub),
            product=product,
            unit_amount=amount,
            currency=currency,
            livemode=livemode,
        ),
        "quantity": 1,
        "subscription": sub,
        "tax_rates": [],
    }
    obj: dict[str, Any] = {
        "id": sub,
        "object": "subscription",
        "application": None,
        "application_fee_percent": None,
        "automatic_tax": {"disabled_reason": None, "enabled": False, "liability": None},
        "billing_cycle_anchor": started,
        "billing_cycle_anchor_config": None,
        "billing_thresholds": None,
        "cancel_at": ended if at_period_end else None,
        "cancel_at_period_end": at_period_end,
        "canceled_at": canceled,
        "cancellation_details": {
            "comment": None,
            "feedback": feedback,
            "reason": "cancellation_requested",
        },
        "collection_method": "charge_automatically",
        "created": started,
        "currency": currency,
        "customer": customer_id,
        "days_until_due": None,
        "default_payment_method": derived_id("pm", customer_id or sub),
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "ended_at": ended,
        "invoice_settings": {"account_tax_ids": None, "issuer": {"type": "self"}},
        "latest_invoice": resolve(latest_invoice, "invoice"),
        "livemode": livemode,
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
        "schedule": None,
        "start_date": started,
        "status": "canceled",
        "test_clock": None,
        "transfer_data": None,
        "trial_end": None,
        "trial_settings": {"end_behavior": {"missing_payment_method": "create_invoice"}},
        "trial_start": None,
    }
    periods = {"current_period_start": current[0], "current_period_end": current[1]}
    if is_basil(api_version):
        item |= periods  # basil moved the current period to the items
        obj["billing_mode"] = {"type": "classic"}
    else:
        obj |= periods | {"discount": None, "quantity": 1}
    obj["items"] = {
        "object": "list",
        "data": [item],
        "has_more": False,
        "total_count": 1,
        "url": f"/v1/subscription_items?subscription={sub}",
    }
    return event(
        SUBSCRIPTION_DELETED,
        obj,
        created=created,
        event_id=event_id,
        api_version=api_version,
        livemode=livemode,
        ids={"subscription": sub, "customer": customer_id},
    )
