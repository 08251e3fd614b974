"""Retention: what is deleted once it has been kept long enough (the scheduler's job).

- event_payloads: after PAYLOAD_RETENTION_DAYS (30 by default); `events replay` needs them.
- webhook_event_log rows, and applied_events records: after EVENT_LOG_RETENTION_DAYS (90 by
  default, at least 31: `traaaction reconcile` looks back up to 30 days and relies on the
  record of applied events; later resends are stopped by the ledger's business keys).
- dead letters replayed or discarded: after EVENT_LOG_RETENTION_DAYS too. Open ones never go.

Deletes run in batches, each its own short transaction, so pruning never holds locks long or
bloats one transaction, however much is due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work

#: rows per DELETE
BATCH = 5_000
#: batches per table per call, at most (the rest waits for the next tick)
MAX_BATCHES = 20


@dataclass(frozen=True, slots=True)
class Retention:
    payload_days: int = 30
    log_days: int = 90


_DELETES = {
    "event_payloads": (
        "DELETE FROM event_payloads WHERE ctid = ANY (ARRAY(SELECT ctid FROM event_payloads"
        " WHERE received_at < :cutoff LIMIT :n))"
    ),
    "webhook_event_log": (
        "DELETE FROM webhook_event_log WHERE id = ANY (ARRAY(SELECT id FROM webhook_event_log"
        " WHERE created_at < :cutoff ORDER BY created_at LIMIT :n))"
    ),
    "applied_events": (
        "DELETE FROM applied_events WHERE ctid = ANY (ARRAY(SELECT ctid FROM applied_events"
        " WHERE applied_at < :cutoff LIMIT :n))"
    ),
    "dead_letters": (
        "DELETE FROM dead_letters WHERE id = ANY (ARRAY(SELECT id FROM dead_letters"
        " WHERE status <> 'open' AND status_changed_at < :cutoff LIMIT :n))"
    ),
}


def prune(factory: sessionmaker[Session], retention: Retention, *, now: datetime) -> dict[str, int]:
    """Delete what is past its retention; returns the rows deleted per table."""
    cutoffs = {
        "event_payloads": now - timedelta(days=retention.payload_days),
        "webhook_event_log": now - timedelta(days=retention.log_days),
        "applied_events": now - timedelta(days=retention.log_days),
        "dead_letters": now - timedelta(days=retention.log_days),
    }
    deleted: dict[str, int] = {}
    for table, statement in _DELETES.items():
        total = 0
        for _ in range(MAX_BATCHES):
            with unit_of_work(factory) as session:
                result = session.execute(text(statement), {"cutoff": cutoffs[table], "n": BATCH})
                count = int(result.rowcount or 0)  # type: ignore[attr-defined]
            total += count
            if count < BATCH:
                break
        deleted[table] = total
    return deleted
