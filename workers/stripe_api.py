"""The one question the workers ask Stripe: which invoice did this payment intent pay?

Basil invoices often come without their payments; a refund then names only its payment
intent. With the workspace's API key, Stripe's invoice payments say which invoice it paid.
Transient failures (timeouts, 5xx, rate limits) raise StripeUnavailable so the event is
retried; a key Stripe refuses is reported and treated as no answer (nothing to retry).

Stripe Connect: an event of a connected account (its envelope's `account`) is about that
account's objects, so the question is asked on it: the `Stripe-Account` header names it, and
the platform's key answers for it. Without the header Stripe would look among the platform's
own invoices and find none.
"""

from __future__ import annotations

import stripe

from config.logs import get_logger

log = get_logger(__name__)

#: seconds for one request; the worker holds a transaction open meanwhile
TIMEOUT = 5.0


class StripeUnavailable(Exception):
    """Raised when Stripe's API could not answer now (retry later)."""


def invoice_of_payment_intent(
    api_key: str, payment_intent_id: str, *, api_base: str, account: str | None = None
) -> str | None:
    """The invoice the payment intent paid, or None; `account`: the Connect account the event
    came from (sent as Stripe-Account), None for the platform's own."""
    client = stripe.StripeClient(
        api_key,
        stripe_account=account,
        base_addresses={"api": api_base},
        max_network_retries=0,
        http_client=stripe.RequestsClient(timeout=TIMEOUT),
    )
    try:
        payments = client.v1.invoice_payments.list(
            params={
                "payment": {"type": "payment_intent", "payment_intent": payment_intent_id},
                "limit": 1,
            }
        )
    except (stripe.RateLimitError, stripe.APIConnectionError) as exc:
        raise StripeUnavailable(type(exc).__name__) from exc
    except (stripe.AuthenticationError, stripe.PermissionError) as exc:
        log.error("stripe_api.key_refused", error=type(exc).__name__)
        return None
    except stripe.APIError as exc:
        raise StripeUnavailable(type(exc).__name__) from exc
    for payment in payments.data:
        invoice = payment.invoice
        return invoice if isinstance(invoice, str) else invoice.id
    return None
