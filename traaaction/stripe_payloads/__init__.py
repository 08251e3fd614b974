"""Stripe webhook events as Stripe sends them: the one builder of the project's payloads.

`traaaction send-test-event` sends them, the tests feed them to the parser and the pipeline,
the benchmarks load the ingress with them, and `stories` keeps the parser's fixed fixtures.
One builder, so that all of them agree on what Stripe sends, in both payload shapes: before
`2025-03-31.basil` and from it on (basil moved an invoice's subscription to
`parent.subscription_details`, its payment intent to `payments`, its line details to
`parent` and `pricing`, a subscription's period to its items, and removed a charge's
`invoice`). Fields the service does not read are there too, so that payloads have the size
and the noise of real ones; amounts are integers in the currency's minor unit.

Each builder returns a BuiltEvent (the JSON value, its raw text, and the ids a later event
can refer to). Ids not given are random in Stripe's format (AUTO); None writes null. The
builders refuse what no real Stripe event carries (FixtureError); BuiltEvent.patched makes
such payloads on purpose, for tests of what the pipeline survives.
"""

from __future__ import annotations

from traaaction.stripe_payloads.charge import REFUND_CREATED, charge_refunded
from traaaction.stripe_payloads.checkout import (
    CHECKOUT_CREATED,
    MODES,
    checkout_session_async_payment,
    checkout_session_completed,
)
from traaaction.stripe_payloads.delivery import STRIPE_USER_AGENT, delivery, stripe_headers
from traaaction.stripe_payloads.dispute import (
    CLOSED_STATUSES as DISPUTE_CLOSED_STATUSES,
)
from traaaction.stripe_payloads.dispute import (
    OPEN_STATUSES as DISPUTE_OPEN_STATUSES,
)
from traaaction.stripe_payloads.dispute import charge_dispute_closed, charge_dispute_created
from traaaction.stripe_payloads.envelope import (
    ASYNC_PAYMENT_FAILED,
    ASYNC_PAYMENT_SUCCEEDED,
    CHARGE_REFUNDED,
    CHECKOUT_COMPLETED,
    DISPUTE_CLOSED,
    DISPUTE_CREATED,
    EVENT_TYPES,
    INVOICE_PAID,
    REFUND_UPDATED,
    SUBSCRIPTION_DELETED,
    BuiltEvent,
    Payload,
    event,
)
from traaaction.stripe_payloads.ids import (
    AUTO,
    BASIL,
    DEFAULT_API_VERSION,
    MAX_AMOUNT,
    PRE_BASIL,
    Auto,
    FixtureError,
    check_api_version,
    check_currency,
    is_basil,
    new_id,
    stripe_id,
)
from traaaction.stripe_payloads.invoice import BILLING_REASONS, invoice_paid
from traaaction.stripe_payloads.invoice_lines import Line, LineKind
from traaaction.stripe_payloads.parties import Address, Buyer, Card, Shop
from traaaction.stripe_payloads.refund import (
    REFUND_STATUSES,
    REFUND_UPDATED_AT,
    charge_refund_updated,
)
from traaaction.stripe_payloads.subscription import (
    DELETION_CREATED,
    customer_subscription_deleted,
)

__all__ = [
    "ASYNC_PAYMENT_FAILED",
    "ASYNC_PAYMENT_SUCCEEDED",
    "AUTO",
    "BASIL",
    "BILLING_REASONS",
    "CHARGE_REFUNDED",
    "CHECKOUT_COMPLETED",
    "CHECKOUT_CREATED",
    "DEFAULT_API_VERSION",
    "DELETION_CREATED",
    "DISPUTE_CLOSED",
    "DISPUTE_CLOSED_STATUSES",
    "DISPUTE_CREATED",
    "DISPUTE_OPEN_STATUSES",
    "EVENT_TYPES",
    "INVOICE_PAID",
    "MAX_AMOUNT",
    "MODES",
    "PRE_BASIL",
    "REFUND_CREATED",
    "REFUND_STATUSES",
    "REFUND_UPDATED",
    "REFUND_UPDATED_AT",
    "STRIPE_USER_AGENT",
    "SUBSCRIPTION_DELETED",
    "Address",
    "Auto",
    "BuiltEvent",
    "Buyer",
    "Card",
    "FixtureError",
    "Line",
    "LineKind",
    "Payload",
    "Shop",
    "charge_dispute_closed",
    "charge_dispute_created",
    "charge_refund_updated",
    "charge_refunded",
    "check_api_version",
    "check_currency",
    "checkout_session_async_payment",
    "checkout_session_completed",
    "customer_subscription_deleted",
    "delivery",
    "event",
    "invoice_paid",
    "is_basil",
    "new_id",
    "stripe_headers",
    "stripe_id",
]
