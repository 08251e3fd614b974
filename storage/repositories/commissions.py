"""Commission ledger queries and the lifecycle transitions that are not event-driven."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from domain.errors import DomainError
from storage.models import Commission


def list_for_workspace(
    session: Session, workspace_id: str, *, status: str | None = None, limit: int = 100
) -> list[Commission]:
    query = (
        select(Commission)
        .where(Commission.workspace_id == workspace_id)
        .order_by(Commission.created_at.desc(), Commission.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(Commission.status == status)
    return list(session.scalars(query))


def approve_due(session: Session, *, now: datetime, batch_size: int = 5000) -> int:
    """PENDING -> APPROVED for entries whose holding period has passed. Returns how many.

    Batched and SKIP LOCKED, so it never waits on a worker holding a row and never builds one
    huge transaction after a long pause.
    """
    due = (
        select(Commission.id)
        .where(Commission.status == "PENDING", Commission.hold_until <= now)
        .order_by(Commission.hold_until)
        .limit(batch_size)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = session.execute(
        update(Commission)
        .where(Commission.id.in_(due))
        .values(status="APPROVED", approved_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def mark_paid(session: Session, ids: Sequence[str], *, now: datetime) -> list[Commission]:
    """APPROVED -> PAID for every id, or nothing at all (raises DomainError naming the rest)."""
    unique = sorted(set(ids))
    rows = list(
        session.scalars(select(Commission).where(Commission.id.in_(unique)).with_for_update())
    )
    found = {row.id: row for row in rows}
    missing = [i for i in unique if i not in found]
    if missing:
        raise DomainError(f"no such commission: {', '.join(missing)}")
    not_approved = [f"{r.id} ({r.status})" for r in rows if r.status != "APPROVED"]
    if not_approved:
        raise DomainError(
            "only APPROVED commissions can be marked paid; not: " + ", ".join(not_approved)
        )
    for row in rows:
        row.status = "PAID"
        row.paid_at = now
        row.updated_at = now
    session.flush()
    return [found[i] for i in unique]
