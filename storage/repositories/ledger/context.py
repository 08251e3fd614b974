"""What the ledger's writes need to know of the event that makes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


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


def to_datetime(seconds: int | None) -> datetime | None:
    """Stripe's Unix seconds as the timestamptz the ledger stores."""
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def to_seconds(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None
