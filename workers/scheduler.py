"""Periodic jobs: approve commissions whose holding period passed (PENDING ones only: an
ON_HOLD entry, disputed or held by an operator, is never approved); prune what has expired
(parked events past their 7 days; payloads, log rows and closed dead letters past their
retention: storage/repositories/retention.py).

`traaaction scheduler` runs this loop (the Procfile's `scheduler` process; `traaaction run`
starts one too). Several may run: each tick takes a PostgreSQL advisory lock, so only one
does the work at a time and the others skip that tick.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from config.logs import get_logger
from storage.db import unit_of_work
from storage.repositories import commissions, retention
from storage.repositories.ledger import parking
from storage.repositories.retention import Retention

log = get_logger(__name__)

#: seconds between ticks
INTERVAL = 30.0
#: an arbitrary constant shared by every scheduler instance
_LOCK = 7_244_915_002


@dataclass(frozen=True, slots=True)
class TickResult:
    ran: bool
    approved: int = 0
    #: parked events that waited their 7 days for an attribution or a sale in vain
    expired: int = 0
    #: rows deleted per table by retention
    pruned: dict[str, int] | None = None


def tick(
    factory: sessionmaker[Session],
    *,
    now: datetime | None = None,
    keep: Retention | None = None,
) -> TickResult:
    """One round of every job, if no other scheduler is in its round: approvals and parked
    events in one transaction; then retention (`keep`), in batches of their own."""
    at = now or datetime.now(UTC)
    with unit_of_work(factory) as session:
        got = session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK}).scalar()
        if not got:
            return TickResult(ran=False)
        approved = commissions.approve_due(session, now=at)
        expired = parking.prune_parked(session, now=at)
    pruned = retention.prune(factory, keep, now=at) if keep is not None else None
    if approved or expired or (pruned and any(pruned.values())):
        log.info("scheduler.tick", approved=approved, parked_expired=expired, pruned=pruned)
    return TickResult(ran=True, approved=approved, expired=expired, pruned=pruned)


def run_forever(
    factory: sessionmaker[Session],
    stop: threading.Event,
    *,
    interval: float = INTERVAL,
    keep: Retention | None = None,
    on_tick: Callable[[TickResult], None] | None = None,
) -> None:
    while not stop.is_set():
        try:
            result = tick(factory, keep=keep)
            if on_tick is not None:
                on_tick(result)
        except Exception as exc:  # keep ticking through a database outage
            log.warning("scheduler.tick_failed", error=type(exc).__name__)
        stop.wait(interval)
