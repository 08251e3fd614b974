"""Events that arrived before what they act on: kept (parked) and run again when it appears.

An invoice of a subscription whose checkout is not in yet waits for the `subscription`; a
refund of a sale not recorded yet waits for its `payment_intent` or `charge`. The transaction
that creates what they wait for takes them (`take_parked`) and runs them, so nothing waits
longer than the event it waits for. The scheduler drops those whose wait ran out
(`prune_parked`, PARK_FOR).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.db import driver_connection
from storage.errors import InvariantViolation
from storage.models import ParkedEvent
from storage.repositories import event_log
from storage.repositories.event_log import LogRow
from storage.repositories.ledger.context import EventContext

#: how long an event waiting for its attribution or sale is kept (at least Stripe's 3 days)
PARK_FOR = timedelta(days=7)

#: whether any parked event waits on one of these (wait_for, key) pairs
PARKED_WAITING = """
SELECT EXISTS (
    SELECT FROM parked_events
    WHERE workspace_id = %(ws)s
      AND (wait_for, wait_key) IN (SELECT * FROM unnest(%(kinds)s::text[], %(values)s::text[]))
)
"""
_TAKE_PARKED = """
DELETE FROM parked_events
WHERE workspace_id = %(ws)s AND wait_for = %(wait_for)s AND wait_key = %(key)s
RETURNING id, endpoint_id, stripe_event_id, event_type, body, created_at
"""
#: the event's log row (event_log's statement, as a CTE: it runs whatever the DELETE finds),
#: then _TAKE_PARKED: what finishes most events, in one statement
_LOG_AND_TAKE_PARKED = "WITH logged AS (" + event_log.INSERT + ")" + _TAKE_PARKED


@dataclass(frozen=True, slots=True)
class Parked:
    """A parked event, as take_parked removed it."""

    id: int
    endpoint_id: str
    stripe_event_id: str
    event_type: str
    body: str
    created_at: datetime


def park(session: Session, ctx: EventContext, wait_for: str, key: str) -> None:
    """Keep the event (its raw body) until `key` of kind `wait_for` appears, or PARK_FOR ends."""
    session.execute(
        insert(ParkedEvent)
        .values(
            workspace_id=ctx.workspace_id,
            endpoint_id=ctx.endpoint_id,
            stripe_event_id=ctx.event_id,
            event_type=ctx.event_type,
            wait_for=wait_for,
            wait_key=key,
            body=ctx.body,
            expires_at=ctx.now + PARK_FOR,
        )
        .on_conflict_do_nothing()
    )


def _oldest_first(rows: list[Parked]) -> list[Parked]:
    return sorted(rows, key=lambda r: (r.created_at, r.id))


def log_and_take_parked(
    session: Session, row: LogRow, workspace_id: str, wait_for: str, key: str
) -> list[Parked]:
    """event_log.insert_rows([row]), then take_parked(...), in one statement."""
    if row.created_at is not None:
        raise InvariantViolation("a log row the frame writes takes the server's time")
    params = {
        **event_log.params(row),
        "ws": workspace_id,
        "wait_for": wait_for,
        "key": key,
    }
    cursor = driver_connection(session).execute(_LOG_AND_TAKE_PARKED, params)
    return _oldest_first([Parked(*r) for r in cursor.fetchall()])


def take_parked(session: Session, workspace_id: str, wait_for: str, key: str) -> list[Parked]:
    """Remove and return the events waiting for (wait_for, key), oldest first."""
    cursor = driver_connection(session).execute(
        _TAKE_PARKED, {"ws": workspace_id, "wait_for": wait_for, "key": key}
    )
    return _oldest_first([Parked(*r) for r in cursor.fetchall()])


def prune_parked(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(ParkedEvent).where(ParkedEvent.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
