"""An event's first statement: its locks, its record in applied_events, its retained payload.

Whatever the event type, its transaction starts here (`begin_event`), in one round trip, the
transaction's BEGIN included. What the event's decision reads can ride in that round trip:

- `riding`: a read joined to the locking statement itself, for what no event ever changes
  (clicks, partners, programs): reading it with that statement's snapshot, taken before the
  locks were granted, is as good as after;
- `after_locks`: reads sent right after it in the same pipeline, for what is written under
  the same locks (a subscription's end, say): under READ COMMITTED each statement's snapshot
  is taken when it starts, so only a statement after the locking one is sure to see what the
  event that held the locks before committed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from storage.db import pipelined
from storage.errors import InvariantViolation
from storage.repositories.ledger.locks import lock_ids
from storage.repositories.ledger.parking import PARKED_WAITING

#: the event's advisory locks (its keys, sorted, taken in that order), then its record in
#: applied_events and, if that is new, its raw body in event_payloads; no row returned: it
#: was applied before
_APPLY_ONCE = """
WITH applied AS (
    INSERT INTO applied_events (workspace_id, stripe_event_id, event_type)
    SELECT %(ws)s, %(event_id)s, %(event_type)s
    FROM (SELECT count(pg_advisory_xact_lock(k)) AS n FROM unnest(%(keys)s::bigint[]) AS k)
        AS locked
    WHERE locked.n >= 0
    ON CONFLICT DO NOTHING
    RETURNING stripe_event_id
), kept AS (
    INSERT INTO event_payloads (workspace_id, stripe_event_id, endpoint_id, event_type, body)
    SELECT %(ws)s, stripe_event_id, %(endpoint_id)s, %(event_type)s, %(body)s FROM applied
    ON CONFLICT DO NOTHING
)
"""
_NEW = "SELECT stripe_event_id FROM applied"
_BEGIN = _APPLY_ONCE + _NEW
#: with a riding read: whether the event is new, then the read's columns (NULLs: no row)
_NEW_AND_READ = """
SELECT EXISTS (SELECT FROM applied), r.*
FROM (SELECT) AS one
LEFT JOIN ({read}) AS r ON true
"""
_BEGIN_WITH = _APPLY_ONCE + _NEW_AND_READ
#: the parameter names _APPLY_ONCE uses: a riding read's own must differ
RESERVED = frozenset({"event_id", "event_type", "keys", "endpoint_id", "body"})


@dataclass(frozen=True, slots=True)
class Read:
    """One SELECT (psycopg's %(name)s parameters; `ws` is the event's workspace) whose first
    row the caller decodes."""

    sql: str
    params: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class Preloaded:
    """The rows of the reads that rode with begin_event: the riding read's columns (None: no
    row), and each after-locks read's first row (None: no row), in the order asked."""

    riding: tuple[Any, ...] | None
    after_locks: tuple[tuple[Any, ...] | None, ...]


@dataclass(frozen=True, slots=True)
class Begun:
    """What begin_event found."""

    #: False: the event was applied before
    new: bool
    preloaded: Preloaded
    #: whether parked events wait on any of the event's keys: when none does, nothing the event
    #: applies can release one, and its transaction can end with its log row (see the frame)
    parked_waiting: bool


_STATEMENTS: dict[str, str] = {}


def _begin_with(read: str) -> str:
    # The same text every time for a read, so that psycopg prepares it once per connection.
    statement = _STATEMENTS.get(read)
    if statement is None:
        # `read` is one of the loaders' constant statements, never text from a request.
        statement = _STATEMENTS[read] = _BEGIN_WITH.format(read=read)
    return statement


def begin_event(
    session: Session,
    workspace_id: str,
    event_id: str,
    event_type: str,
    keys: Iterable[str],
    *,
    endpoint_id: str,
    body: str,
    riding: Read | None = None,
    after_locks: Sequence[Read] = (),
) -> Begun:
    """Lock the event's keys (`locks.lock_keys`), then record that its effects are being
    committed (not new if it already was) and keep its raw body (event_payloads, for `events
    replay`), with the reads that ride along (see the module's docstring)."""
    keys = sorted(set(keys))
    params: dict[str, Any] = {
        "ws": workspace_id,
        "event_id": event_id,
        "event_type": event_type,
        "keys": lock_ids(workspace_id, keys),
        "endpoint_id": endpoint_id,
        "body": body,
    }
    kinds, values = zip(*(key.split(":", 1) for key in keys), strict=True) if keys else ((), ())
    with pipelined(session) as pg:
        if riding is None:
            begun = pg.execute(_BEGIN, params)
        else:
            clash = RESERVED & riding.params.keys()
            if clash:
                raise ValueError(f"a riding read may not name {sorted(clash)}")
            begun = pg.execute(_begin_with(riding.sql), {**params, **riding.params})
        later = [pg.execute(read.sql, {"ws": workspace_id, **read.params}) for read in after_locks]
        waiting = pg.execute(
            PARKED_WAITING, {"ws": workspace_id, "kinds": list(kinds), "values": list(values)}
        )
    waiting_row = waiting.fetchone()
    parked_waiting = bool(waiting_row[0]) if waiting_row is not None else False
    after = tuple(cursor.fetchone() for cursor in later)
    if riding is None:
        return Begun(begun.fetchone() is not None, Preloaded(None, after), parked_waiting)
    row = begun.fetchone()
    if row is None:  # a LEFT JOIN on a one-row relation: always exactly one row
        raise InvariantViolation("begin_event: the locking statement returned no row")
    new, *columns = row
    found = tuple(columns) if any(value is not None for value in columns) else None
    return Begun(bool(new), Preloaded(found, after), parked_waiting)
