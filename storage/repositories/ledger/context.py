"""What the ledger's writes need to know of the event that makes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from domain.envelope import read_envelope
from domain.json_fields import EventParseError, Fields, load


@dataclass(frozen=True, slots=True)
class EventContext:
    workspace_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    livemode: bool
    #: the raw body, kept with a parked event so that it can run again later
    body: str
    #: the transaction's clock: every row the event writes carries this time
    now: datetime
    #: the Stripe Connect account the event came from (`account_of(body)`); None: the
    #: platform's own. Kept on its log row, attribution and commissions, and sent as
    #: Stripe-Account on the API calls made for it.
    account: str | None = None


def account_of(body: str) -> str | None:
    """The Connect account of a verified event body, read by domain.envelope as the ingress
    reads it. From the body, not from the message, so that every way an event comes back
    (a replay, a reconcile, a parked event) knows its account; one orjson decode, a small
    cost beside the event's database round trips. EventParseError if the body is no event
    (the event's own parser has refused it before then)."""
    try:
        values = orjson.loads(body)
    except orjson.JSONDecodeError:
        # What orjson refuses and the parsers' json reads (an escaped lone surrogate in a
        # string, say): read as the parsers read it, so that the two never disagree.
        return read_envelope(load(body)).account
    if not isinstance(values, dict):
        raise EventParseError("expected a JSON object")
    return read_envelope(Fields(values, "")).account


def to_datetime(seconds: int | None) -> datetime | None:
    """Stripe's Unix seconds as the timestamptz the ledger stores."""
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def to_seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None
