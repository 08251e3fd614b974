"""The snapshot event around an object (`object: "event"`), and what a builder returns.

Every builder ends here, so that all events share one envelope: id, api_version, created,
data (the object, and what a change replaced), livemode, pending_webhooks, request, type.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from traaaction.stripe_payloads.ids import (
    AUTO,
    DEFAULT_API_VERSION,
    Auto,
    check_api_version,
    is_basil,
    new_id,
)

CHECKOUT_COMPLETED: Final = "checkout.session.completed"
INVOICE_PAID: Final = "invoice.paid"
CHARGE_REFUNDED: Final = "charge.refunded"
SUBSCRIPTION_DELETED: Final = "customer.subscription.deleted"
#: a delayed payment's outcome: the same Checkout Session object as its completion
ASYNC_PAYMENT_SUCCEEDED: Final = "checkout.session.async_payment_succeeded"
ASYNC_PAYMENT_FAILED: Final = "checkout.session.async_payment_failed"
#: a refund's later news (it failed, or was canceled), and a charge's disputes
REFUND_UPDATED: Final = "charge.refund.updated"
DISPUTE_CREATED: Final = "charge.dispute.created"
DISPUTE_CLOSED: Final = "charge.dispute.closed"
#: the types send-test-event builds, one builder each
EVENT_TYPES: Final = (
    CHECKOUT_COMPLETED,
    ASYNC_PAYMENT_SUCCEEDED,
    ASYNC_PAYMENT_FAILED,
    INVOICE_PAID,
    CHARGE_REFUNDED,
    REFUND_UPDATED,
    DISPUTE_CREATED,
    DISPUTE_CLOSED,
    SUBSCRIPTION_DELETED,
)

Payload = dict[str, Any]
_CONTAINERS = (dict, list)


@dataclass(frozen=True, slots=True)
class BuiltEvent:
    """One event: its JSON value and the ids a later event can refer to."""

    body: Payload
    #: role -> id: "event", "customer", "checkout_session", "payment_intent", ...
    ids: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        value: str = self.body["id"]
        return value

    @property
    def type(self) -> str:
        value: str = self.body["type"]
        return value

    @property
    def text(self) -> str:
        """The raw body as text (a worker reads it so from the queue)."""
        return json.dumps(self.body, indent=2)

    def encode(self) -> bytes:
        """The raw body, as Stripe sends it (pretty-printed JSON); sign exactly these bytes.

        json, not orjson: the text of an id or a click may hold a lone surrogate (a hostile
        test's), which json escapes and orjson refuses to encode."""
        return self.text.encode()

    def patched(self, **fields: Any) -> BuiltEvent:
        """A copy with these fields of data.object replaced.

        The builders refuse what Stripe would not send (a payment intent on a subscription
        checkout, say); a test of what the pipeline survives makes such a payload from a real
        one with this."""
        body = copy.deepcopy(self.body)
        body["data"]["object"].update(fields)
        return BuiltEvent(body, dict(self.ids))


@functools.lru_cache(maxsize=1024)
def _key_order(keys: tuple[str, ...]) -> tuple[str, ...]:
    """id and object first, then alphabetically (the same few key sets come back each event)."""
    head = tuple(k for k in ("id", "object") if k in keys)
    return head + tuple(sorted(k for k in keys if k not in head))


def ordered(value: Any) -> Any:
    """Keys as Stripe orders them at every level: id and object first, then alphabetically.

    (Written for speed: the benchmarks build a hundred thousand events a run.)"""
    if type(value) is list:
        return [ordered(item) if type(item) in _CONTAINERS else item for item in value]
    if type(value) is not dict:
        return value
    return {
        k: ordered(v) if type(v := value[k]) in _CONTAINERS else v for k in _key_order(tuple(value))
    }


def event(
    event_type: str,
    obj: Mapping[str, Any],
    *,
    created: int,
    event_id: str | Auto = AUTO,
    api_version: str = DEFAULT_API_VERSION,
    livemode: bool = False,
    previous_attributes: Mapping[str, Any] | None = None,
    ids: Mapping[str, str | None] | None = None,
) -> BuiltEvent:
    """The event of `event_type` about `obj` (a handled type or any other).

    `previous_attributes` are the values a change replaced (data.previous_attributes);
    `ids` are the roles of the object's ids, for BuiltEvent.ids (the None ones left out).
    """
    data: dict[str, Any] = {"object": dict(obj)}
    if previous_attributes is not None:
        data["previous_attributes"] = dict(previous_attributes)
    body: Payload = {
        "id": new_id("event") if event_id is AUTO else event_id,
        "object": "event",
        "api_version": check_api_version(api_version),
        "created": created,
        "data": data,
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
    if is_basil(api_version):
        body["context"] = None  # recent versions carry it: null outside Stripe organizations
    roles = {"event": body["id"]} | {k: v for k, v in (ids or {}).items() if v is not None}
    return BuiltEvent(ordered(body), roles)
