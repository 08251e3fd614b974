"""Reading the workers' record of applied events (written by ledger.begin_event; kept
EVENT_LOG_RETENTION_DAYS, at least 31, by storage/repositories/retention.py)."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import AppliedEvent


def applied_among(session: Session, workspace_id: str, event_ids: Collection[str]) -> set[str]:
    """Which of these Stripe event ids the workspace has applied (a primary-key probe each)."""
    if not event_ids:
        return set()
    query = select(AppliedEvent.stripe_event_id).where(
        AppliedEvent.workspace_id == workspace_id,
        AppliedEvent.stripe_event_id.in_(list(event_ids)),
    )
    return set(session.scalars(query))
