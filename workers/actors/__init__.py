"""One Dramatiq actor per handled Stripe event type, one module each.

Importing this package declares them on the broker installed by workers.main.
"""

from workers.actors.charge_refunded import charge_refunded
from workers.actors.checkout_session_completed import checkout_session_completed
from workers.actors.customer_subscription_deleted import customer_subscription_deleted
from workers.actors.invoice_paid import invoice_paid

__all__ = [
    "charge_refunded",
    "checkout_session_completed",
    "customer_subscription_deleted",
    "invoice_paid",
]
