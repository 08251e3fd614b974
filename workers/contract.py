"""The contract between the ingress and the workers: queues, actor names, the message.

Owned by the workers and imported by whoever queues for them (the ingress, replay,
reconcile): a `Delivery` is what a verified Stripe event becomes on its way to an actor, and
`Delivery.message` / `Delivery.from_kwargs` are the only places its wire format is written
or read. The ingress writes Dramatiq messages straight into Redis (no actor code imported);
the workers declare their actors with the same names. Change a name or a field here only with
a migration plan for messages already queued.

Imports nothing of the project but the named failures: the ingress imports it on its hot path.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from workers.failures import MalformedDelivery

#: the Redis key prefix of every queue and of the ingress' own keys
NAMESPACE = "traaaction"


@dataclass(frozen=True, slots=True)
class Route:
    queue_name: str
    actor_name: str


#: the handled Stripe event types, one module each in workers/events/ (which checks, when
#: imported, that it declares exactly these); anything else is answered 200 and logged ignored
HANDLED_TYPES: tuple[str, ...] = (
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
    "customer.subscription.deleted",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "charge.refund.updated",
    "charge.dispute.created",
    "charge.dispute.closed",
)


def route_name(event_type: str) -> str:
    """The queue and actor name of a type: its dots as underscores."""
    return event_type.replace(".", "_")


ROUTES: dict[str, Route] = {
    event_type: Route(route_name(event_type), route_name(event_type))
    for event_type in HANDLED_TYPES
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


@dataclass(frozen=True, slots=True)
class Replay:
    """How a delivery came back: from the dead letters, or by `events replay`.

    On the wire: {"dead_letter_id": ...} or {"force": true}.
    """

    #: the dead letter this replays: closed as replayed in the replay's own transaction
    dead_letter_id: str | None = None
    #: run the event even though it was applied before (after fixing a click, say): its
    #: business keys keep what it already did from being done twice
    force: bool = False

    @classmethod
    def from_wire(cls, raw: object) -> Replay | None:
        if not isinstance(raw, Mapping):
            return None
        dead_letter_id = raw.get("dead_letter_id")
        return cls(
            dead_letter_id=str(dead_letter_id) if dead_letter_id else None,
            force=raw.get("force") is True,
        )

    def wire(self) -> dict[str, Any]:
        if self.dead_letter_id is not None:
            return {"dead_letter_id": self.dead_letter_id}
        return {"force": self.force}

    def detail(self) -> dict[str, Any]:
        """What the event-log row of a replayed delivery says of it."""
        if self.dead_letter_id is not None:
            return {"replay_of": self.dead_letter_id}
        return {"replay": "forced" if self.force else "event"}


def _text(kwargs: Mapping[str, object], name: str) -> str:
    value = kwargs.get(name)
    if not isinstance(value, str) or not value:
        raise MalformedDelivery(f"delivery field {name!r}: expected a non-empty string")
    return value


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified Stripe event for one endpoint, as the workers receive it."""

    endpoint_id: str
    workspace_id: str
    event_id: str
    event_type: str
    livemode: bool
    #: the body exactly as Stripe sent it (valid UTF-8: the ingress parsed it)
    body: str
    api_version: str | None = None
    #: Unix milliseconds when the ingress accepted it (None: replayed or reconciled late)
    received_at: int | None = None
    replay: Replay | None = None

    @property
    def route(self) -> Route:
        return ROUTES[self.event_type]

    def kwargs(self) -> dict[str, Any]:
        """The actor's keyword arguments: the message's wire format."""
        kwargs: dict[str, Any] = {
            "endpoint_id": self.endpoint_id,
            "workspace_id": self.workspace_id,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "livemode": self.livemode,
            "api_version": self.api_version,
            "received_at": self.received_at,
            "body": self.body,
        }
        if self.replay is not None:
            kwargs["replay"] = self.replay.wire()
        return kwargs

    def message(self, *, timestamp_ms: int) -> tuple[str, bytes]:
        """The Dramatiq message that carries it, and its Redis message id."""
        return encode_message(self.route, self.kwargs(), timestamp_ms=timestamp_ms)

    @classmethod
    def from_kwargs(cls, kwargs: Mapping[str, object]) -> Delivery:
        """Read a message's kwargs back; MalformedDelivery names the first bad field."""
        event_type = _text(kwargs, "event_type")
        if event_type not in ROUTES:
            raise MalformedDelivery(f"delivery field 'event_type': {event_type!r} is not handled")
        livemode = kwargs.get("livemode")
        if not isinstance(livemode, bool):
            raise MalformedDelivery("delivery field 'livemode': expected true or false")
        api_version = kwargs.get("api_version")
        received_at = kwargs.get("received_at")
        if isinstance(received_at, bool) or not isinstance(received_at, int | None):
            raise MalformedDelivery("delivery field 'received_at': expected an integer or null")
        body = kwargs.get("body")
        if not isinstance(body, str):
            raise MalformedDelivery("delivery field 'body': expected a string")
        return cls(
            endpoint_id=_text(kwargs, "endpoint_id"),
            workspace_id=_text(kwargs, "workspace_id"),
            event_id=_text(kwargs, "event_id"),
            event_type=event_type,
            livemode=livemode,
            body=body,
            api_version=api_version if isinstance(api_version, str) else None,
            received_at=received_at,
            replay=Replay.from_wire(kwargs.get("replay")),
        )
