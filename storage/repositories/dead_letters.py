"""Dead letters: deliveries the workers gave up on, until an operator replays or discards them.

Rows come from the log writer (workers/log_writer.py), which reads the records the workers'
outcome middleware adds to the dead-letter stream. One row per (workspace, Stripe event):
dead-lettering the same event again (a replay that failed too) reopens its row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import ids
from storage.db import driver_connection
from storage.models import DeadLetter

#: what `dlq list` shows by default, and how many at most
DEFAULT_LIMIT = 100


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A dead-lettered delivery as the outcome middleware reported it."""

    workspace_id: str
    endpoint_id: str
    stripe_event_id: str
    event_type: str
    livemode: bool | None
    actor_name: str
    queue_name: str
    message_id: str
    #: the Dramatiq message without kwargs["body"]
    message: dict[str, Any]
    body: str
    error_class: str
    error_message: str
    traceback: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime


# A redelivered stream entry carries the same message id: it changes nothing the first copy
# did not (the counter does not move). A new message id is a new dead-lettering: the row
# reopens with the new error, and keeps the earliest failure time.
_UPSERT = """
INSERT INTO dead_letters (id, workspace_id, endpoint_id, stripe_event_id, event_type, livemode,
    actor_name, queue_name, message_id, message, body, error_class, error_message, traceback,
    attempts, first_failed_at, last_failed_at)
VALUES (%(id)s, %(workspace_id)s, %(endpoint_id)s, %(stripe_event_id)s, %(event_type)s,
    %(livemode)s, %(actor_name)s, %(queue_name)s, %(message_id)s, %(message)s, %(body)s,
    %(error_class)s, %(error_message)s, %(traceback)s, %(attempts)s, %(first_failed_at)s,
    %(last_failed_at)s)
ON CONFLICT (workspace_id, stripe_event_id) DO UPDATE SET
    endpoint_id = excluded.endpoint_id,
    actor_name = excluded.actor_name,
    queue_name = excluded.queue_name,
    message_id = excluded.message_id,
    message = excluded.message,
    body = excluded.body,
    error_class = excluded.error_class,
    error_message = excluded.error_message,
    traceback = excluded.traceback,
    attempts = excluded.attempts,
    first_failed_at = LEAST(dead_letters.first_failed_at, excluded.first_failed_at),
    last_failed_at = GREATEST(dead_letters.last_failed_at, excluded.last_failed_at),
    status = 'open',
    status_reason = NULL,
    status_changed_at = NULL,
    times_dead_lettered = dead_letters.times_dead_lettered
        + CASE WHEN dead_letters.message_id = excluded.message_id THEN 0 ELSE 1 END,
    updated_at = now()
WHERE dead_letters.message_id <> excluded.message_id OR dead_letters.status = 'open'
"""


def record(session: Session, records: Sequence[DeadLetterRecord]) -> None:
    """Insert or reopen the dead letters (idempotent for a redelivered record)."""
    if not records:
        return
    params = [
        {
            "id": ids.new_id("dl"),
            "workspace_id": r.workspace_id,
            "endpoint_id": r.endpoint_id,
            "stripe_event_id": r.stripe_event_id,
            "event_type": r.event_type,
            "livemode": r.livemode,
            "actor_name": r.actor_name,
            "queue_name": r.queue_name,
            "message_id": r.message_id,
            "message": Jsonb(r.message),
            "body": r.body,
            "error_class": r.error_class,
            "error_message": r.error_message,
            "traceback": r.traceback,
            "attempts": r.attempts,
            "first_failed_at": r.first_failed_at,
            "last_failed_at": r.last_failed_at,
        }
        for r in records
    ]
    driver_connection(session).cursor().executemany(_UPSERT, params)


@dataclass(frozen=True, slots=True)
class Filters:
    """Which dead letters an operator means (`dlq list`, `dlq replay --all`, the console)."""

    workspace_id: str | None = None
    event_type: str | None = None
    #: the error class (`dlq list --reason OperationalError`)
    reason: str | None = None
    since: datetime | None = None
    #: None: any status
    status: str | None = "open"


def search(
    session: Session, filters: Filters, *, limit: int | None = DEFAULT_LIMIT
) -> list[DeadLetter]:
    """Newest failure first."""
    query = select(DeadLetter)
    if filters.workspace_id is not None:
        query = query.where(DeadLetter.workspace_id == filters.workspace_id)
    if filters.event_type is not None:
        query = query.where(DeadLetter.event_type == filters.event_type)
    if filters.reason is not None:
        query = query.where(DeadLetter.error_class == filters.reason)
    if filters.since is not None:
        query = query.where(DeadLetter.last_failed_at >= filters.since)
    if filters.status is not None:
        query = query.where(DeadLetter.status == filters.status)
    query = query.order_by(DeadLetter.last_failed_at.desc(), DeadLetter.id)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))


def get(session: Session, dead_letter_id: str) -> DeadLetter | None:
    return session.get(DeadLetter, dead_letter_id)


def count_open(session: Session) -> int:
    return int(session.scalar(select(func.count()).where(DeadLetter.status == "open")) or 0)


def mark_replayed(session: Session, dead_letter_id: str, outcome: str, *, now: datetime) -> None:
    """The replay of an open dead letter ended with `outcome` (processed, skipped: reason,
    duplicate): it is closed. Runs in the replay's own transaction."""
    session.execute(
        update(DeadLetter)
        .where(DeadLetter.id == dead_letter_id, DeadLetter.status == "open")
        .values(status="replayed", status_reason=outcome, status_changed_at=now, updated_at=now)
    )


def discard(
    session: Session, dead_letter_ids: Sequence[str], reason: str, *, now: datetime
) -> list[str]:
    """Close open dead letters without replaying them; returns the ids that were open."""
    result = session.execute(
        update(DeadLetter)
        .where(DeadLetter.id.in_(list(dead_letter_ids)), DeadLetter.status == "open")
        .values(status="discarded", status_reason=reason, status_changed_at=now, updated_at=now)
        .returning(DeadLetter.id)
    )
    return [str(found) for found in result.scalars()]
