"""The webhook event log: one row per delivery outcome (dashboards read this table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from storage.models import LOG_OUTCOMES, WebhookEventLog


@dataclass(frozen=True, slots=True)
class LogRow:
    outcome: str
    workspace_id: str | None = None
    endpoint_id: str | None = None
    stripe_event_id: str | None = None
    event_type: str | None = None
    livemode: bool | None = None
    reason: str | None = None
    attempt: int | None = None
    count: int = 1
    commission_ids: tuple[str, ...] = ()
    detail: dict[str, Any] | None = None
    #: the stream entry it came from, when written by the log writer (makes inserts idempotent)
    source_id: str | None = None
    created_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.outcome not in LOG_OUTCOMES:
            raise ValueError(f"unknown outcome {self.outcome!r}")

    def values(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            "outcome": self.outcome,
            "workspace_id": self.workspace_id,
            "endpoint_id": self.endpoint_id,
            "stripe_event_id": self.stripe_event_id,
            "event_type": self.event_type,
            "livemode": self.livemode,
            "reason": self.reason,
            "attempt": self.attempt,
            "count": self.count,
            "commission_ids": list(self.commission_ids),
            "detail": self.detail,
            "source_id": self.source_id,
        }
        if self.created_at is not None:
            row["created_at"] = self.created_at
        return row


def insert_rows(session: Session, rows: Sequence[LogRow]) -> None:
    """Insert in one statement; rows whose source_id is already there are skipped."""
    if not rows:
        return
    # One INSERT per shape: rows with and without created_at have different column sets.
    with_time = [r.values() for r in rows if r.created_at is not None]
    without_time = [r.values() for r in rows if r.created_at is None]
    for batch in (with_time, without_time):
        if batch:
            statement = insert(WebhookEventLog).values(batch)
            session.execute(statement.on_conflict_do_nothing(index_elements=["source_id"]))


def list_for_workspace(
    session: Session, workspace_id: str, *, outcome: str | None = None, limit: int = 100
) -> list[WebhookEventLog]:
    query = (
        select(WebhookEventLog)
        .where(WebhookEventLog.workspace_id == workspace_id)
        .order_by(WebhookEventLog.created_at.desc(), WebhookEventLog.id.desc())
        .limit(limit)
    )
    if outcome is not None:
        query = query.where(WebhookEventLog.outcome == outcome)
    return list(session.scalars(query))
