"""How a payload travels: signed, as Stripe POSTs it, and queued, as the ingress hands it on.

The signature is ingress.signature's own (`t=...,v1=...`), so that a payload signed here is
verified by the same code that verifies Stripe's.
"""

from __future__ import annotations

import json
from typing import Any, Final

from ingress.signature import sign
from workers.contract import Delivery

#: the User-Agent of Stripe's webhook deliveries
STRIPE_USER_AGENT: Final = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


def stripe_headers(secret: str, body: bytes, timestamp: int) -> list[tuple[str, str]]:
    """The headers of a delivery, as Stripe sends them, signed with `secret` at `timestamp`."""
    return [
        ("User-Agent", STRIPE_USER_AGENT),
        ("Accept", "*/*; q=0.5, application/xml"),
        ("Cache-Control", "no-cache"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Stripe-Signature", sign(secret, body, timestamp)),
        ("Content-Length", str(len(body))),
    ]


def delivery(body: str, *, workspace_id: str, endpoint_id: str = "ep_test") -> dict[str, Any]:
    """The actor kwargs the ingress would queue for this body (workers.contract's format).

    Read with json, as a worker reads the body: a test's hostile text that the ingress'
    orjson would refuse (a lone surrogate) still makes a delivery."""
    parsed = json.loads(body)
    return Delivery(
        endpoint_id=endpoint_id,
        workspace_id=workspace_id,
        event_id=parsed["id"],
        event_type=parsed["type"],
        livemode=parsed["livemode"],
        body=body,
        api_version=parsed["api_version"],
        received_at=0,
    ).kwargs()
