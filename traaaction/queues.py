"""The contract between the ingress and the workers: queues, actor names, message format.

The ingress writes Dramatiq messages straight into Redis (no actor code imported); the workers
declare their actors with the same names. Change a name here only with a migration plan for
messages already queued.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import orjson

#: the Redis key prefix of every queue and of the ingress' own keys
NAMESPACE = "traaaction"


@dataclass(frozen=True, slots=True)
class Route:
    queue_name: str
    actor_name: str


#: the four handled Stripe event types; anything else is answered 200 and logged as ignored
ROUTES: dict[str, Route] = {
    "checkout.session.completed": Route("checkout_session_completed", "checkout_session_completed"),
    "invoice.paid": Route("invoice_paid", "invoice_paid"),
    "charge.refunded": Route("charge_refunded", "charge_refunded"),
    "customer.subscription.deleted": Route(
        "customer_subscription_deleted", "customer_subscription_deleted"
    ),
}

#: a Redis stream of event-log records the ingress cannot write to PostgreSQL itself
#: (duplicate, ignored, rejected); the log writer drains it in batches
EVENT_LOG_STREAM = f"{NAMESPACE}:eventlog"
#: entries; approximate cap of that stream if the log writer is down (about 300 B each)
EVENT_LOG_MAXLEN = 500_000
#: a Redis stream of dead-lettered deliveries, each with its message and raw body, moved to
#: PostgreSQL's dead_letters by the log writer. Never trimmed: an entry leaves it only once
#: its row is committed (dead letters are rare; losing one would lose an event).
DEAD_LETTER_STREAM = f"{NAMESPACE}:deadletters"
#: a Redis stream of log-writer entries it could not read, or whose rows PostgreSQL refused:
#: kept as they were (never trimmed) for an operator, instead of blocking the others
QUARANTINE_STREAM = f"{NAMESPACE}:quarantine"
#: a Redis key: when a scheduler last finished a tick (Unix seconds), for the metrics
SCHEDULER_LAST_TICK = f"{NAMESPACE}:scheduler:last_tick"
#: seconds; how long an accepted (endpoint, event id) is remembered by the ingress. Stripe
#: retries for 3 days; a day more covers clock skew and slow retries. Later resends are caught
#: by the workers' record of applied events in PostgreSQL.
IDEMPOTENCY_TTL = 4 * 24 * 3600


def idempotency_key(endpoint_id: str, event_id: str) -> str:
    return f"{NAMESPACE}:seen:{endpoint_id}:{event_id}"


def queue_key(queue_name: str) -> str:
    """The Redis list Dramatiq's Redis broker consumes for this queue."""
    return f"{NAMESPACE}:{queue_name}"


def _two_uuid4() -> tuple[str, str]:
    """Two random (version 4) UUIDs, as `str(uuid.uuid4())` writes them, from one read of the
    OS's random source: a third of the cost of two uuid4() calls, on the ingress' hot path."""
    raw = bytearray(os.urandom(32))
    for at in (0, 16):
        raw[at + 6] = (raw[at + 6] & 0x0F) | 0x40  # version 4
        raw[at + 8] = (raw[at + 8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return (
        f"{h[0:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}",
        f"{h[32:40]}-{h[40:44]}-{h[44:48]}-{h[48:52]}-{h[52:64]}",
    )


def encode_message(route: Route, kwargs: dict[str, Any], *, timestamp_ms: int) -> tuple[str, bytes]:
    """A Dramatiq message (Message.asdict() as JSON) and its Redis message id.

    Dramatiq's own JSON encoder produces the same structure; orjson is used because the raw
    body (several KB) travels inside it and this runs on the ingress' hot path.
    """
    redis_message_id, message_id = _two_uuid4()
    message = {
        "queue_name": route.queue_name,
        "actor_name": route.actor_name,
        "args": [],
        "kwargs": kwargs,
        "options": {"redis_message_id": redis_message_id},
        "message_id": message_id,
        "message_timestamp": timestamp_ms,
    }
    return redis_message_id, orjson.dumps(message)
