"""The Stripe events about a charge after its payment: a refund's update, and its disputes.

`charge.refund.updated` carries a Refund; `charge.dispute.created`, `.updated` and `.closed`
carry a Dispute. Both objects are the same before and from API version 2025-03-31.basil for
the fields read here. Everything malformed raises EventParseError naming the field, as the
parsers of domain.events do; the rest of the payload is ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from domain.envelope import Envelope, read_envelope
from domain.json_fields import Fields, load, quote

__all__ = [
    "CLOSED_DISPUTE_STATUSES",
    "DisputeChanged",
    "RefundUpdated",
    "parse_charge_dispute_closed",
    "parse_charge_dispute_created",
    "parse_charge_dispute_updated",
    "parse_charge_refund_updated",
]

#: a dispute in one of these is over: nothing Stripe sends later reopens it
CLOSED_DISPUTE_STATUSES = frozenset({"won", "lost", "warning_closed", "prevented"})


@dataclass(frozen=True, slots=True)
class RefundUpdated:
    event_id: str
    created: int
    livemode: bool
    refund_id: str
    #: None for a refund that is not of a charge (Stripe allows a few): nothing to link it to
    charge_id: str | None
    payment_intent_id: str | None
    amount: int
    currency: str
    #: pending | requires_action | succeeded | failed | canceled (any string is kept)
    status: str


@dataclass(frozen=True, slots=True)
class DisputeChanged:
    """A Dispute as one of the charge.dispute.* events tells it."""

    event_id: str
    created: int
    livemode: bool
    dispute_id: str
    charge_id: str
    payment_intent_id: str | None
    #: the disputed amount, minor units of `currency`
    amount: int
    currency: str
    #: warning_needs_response, warning_under_review, warning_closed, needs_response,
    #: under_review, won, lost, prevented (any string is kept; unknown ones count as open)
    status: str
    reason: str | None

    @property
    def closed(self) -> bool:
        return self.status in CLOSED_DISPUTE_STATUSES


_E = TypeVar("_E", RefundUpdated, DisputeChanged)


def _refund(envelope: Envelope, refund: Fields) -> RefundUpdated:
    """Reads id, charge (nullable), payment_intent (nullable), amount, currency, status."""
    return RefundUpdated(
        event_id=envelope.id,
        created=envelope.created,
        livemode=envelope.livemode,
        refund_id=refund.identifier("id"),
        charge_id=refund.reference("charge"),
        payment_intent_id=refund.reference("payment_intent"),
        amount=refund.integer("amount", minimum=0),
        currency=refund.currency("currency"),
        status=refund.identifier("status"),
    )


def _dispute(envelope: Envelope, dispute: Fields) -> DisputeChanged:
    """Reads id, charge (required: every dispute is of a charge), payment_intent (nullable),
    amount, currency, status and reason (nullable)."""
    charge = dispute.reference("charge")
    if charge is None:
        raise dispute.error("charge", "expected the disputed charge, got null")
    return DisputeChanged(
        event_id=envelope.id,
        created=envelope.created,
        livemode=envelope.livemode,
        dispute_id=dispute.identifier("id"),
        charge_id=charge,
        payment_intent_id=dispute.reference("payment_intent"),
        amount=dispute.integer("amount", minimum=0),
        currency=dispute.currency("currency"),
        status=dispute.identifier("status"),
        reason=dispute.optional_string("reason"),
    )


def _typed(
    event_type: str, object_name: str, parser: Callable[[Envelope, Fields], _E]
) -> Callable[[str | bytes], _E]:
    """The parser of one event type: the body's type must be it, data.object `object_name`."""

    def parse(body: str | bytes) -> _E:
        root = load(body)
        envelope = read_envelope(root)  # the ingress' reader: the two never disagree
        if envelope.type != event_type:
            raise root.error("type", f"expected {event_type!r}, got {quote(envelope.type)}")
        data_object = root.child("data").child("object")
        data_object.constant("object", object_name)
        return parser(envelope, data_object)

    parse.__name__ = "parse_" + event_type.replace(".", "_")
    parse.__doc__ = f"Parse a {event_type} body (EventParseError for anything else)."
    return parse


parse_charge_refund_updated = _typed("charge.refund.updated", "refund", _refund)
parse_charge_dispute_created = _typed("charge.dispute.created", "dispute", _dispute)
parse_charge_dispute_updated = _typed("charge.dispute.updated", "dispute", _dispute)
parse_charge_dispute_closed = _typed("charge.dispute.closed", "dispute", _dispute)
