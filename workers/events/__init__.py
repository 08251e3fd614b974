"""One module per handled Stripe event type: everything specific to it lives there.

Each module defines an `EventModule` (workers/events/base.py) and exports it as `MODULE`;
this registry lists them, and the actors (workers/actors) and the frame (workers/pipeline)
take every type from here. docs/architecture.md has the checklist for adding one.
"""

from __future__ import annotations

from collections.abc import Mapping

from workers.contract import HANDLED_TYPES
from workers.events import (
    charge_dispute_closed,
    charge_dispute_created,
    charge_refund_updated,
    charge_refunded,
    checkout_session_async_payment_failed,
    checkout_session_async_payment_succeeded,
    checkout_session_completed,
    customer_subscription_deleted,
    invoice_paid,
)
from workers.events.base import Handler

#: event type -> its module, in the contract's order
MODULES: Mapping[str, Handler] = {
    module.event_type: module
    for module in (
        checkout_session_completed.MODULE,
        invoice_paid.MODULE,
        charge_refunded.MODULE,
        customer_subscription_deleted.MODULE,
        checkout_session_async_payment_succeeded.MODULE,
        checkout_session_async_payment_failed.MODULE,
        charge_refund_updated.MODULE,
        charge_dispute_created.MODULE,
        charge_dispute_closed.MODULE,
    )
}

if tuple(MODULES) != HANDLED_TYPES:
    # The ingress routes by the contract's list, the workers by this one: they must agree.
    raise ImportError(
        f"workers/events declares {sorted(MODULES)}, workers.contract.HANDLED_TYPES "
        f"{sorted(HANDLED_TYPES)}: add the type to both (docs/architecture.md)"
    )
