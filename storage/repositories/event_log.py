"""The webhook event log: one row per delivery outcome (dashboards read this table)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb
from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from storage.db import driver_connection
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
    #: the Stripe Connect account of the event (acct_...); None for the platform's own
    stripe_account: str | None = None
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
            "stripe_account": self.stripe_account,
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


#: plain SQL on the transaction's psycopg connection: every event inserts a row (see ledger)
INSERT = """
INSERT INTO webhook_event_log (outcome, workspace_id, endpoint_id, stripe_event_id, event_type,
    livemode, stripe_account, reason, attempt, count, commission_ids, detail, source_id)
VALUES (%(outcome)s, %(workspace_id)s, %(endpoint_id)s, %(stripe_event_id)s, %(event_type)s,
    %(livemode)s, %(stripe_account)s, %(reason)s, %(attempt)s, %(count)s,
    %(commission_ids)s::text[], %(detail)s, %(source_id)s)
ON CONFLICT (source_id) DO NOTHING
"""
_INSERT_WITH_TIME = """
INSERT INTO webhook_event_log (outcome, workspace_id, endpoint_id, stripe_event_id, event_type,
    livemode, stripe_account, reason, attempt, count, commission_ids, detail, source_id,
    created_at)
VALUES (%(outcome)s, %(workspace_id)s, %(endpoint_id)s, %(stripe_event_id)s, %(event_type)s,
    %(livemode)s, %(stripe_account)s, %(reason)s, %(attempt)s, %(count)s,
    %(commission_ids)s::text[], %(detail)s, %(source_id)s, %(created_at)s)
ON CONFLICT (source_id) DO NOTHING
"""


def params(row: LogRow) -> dict[str, Any]:
    values = row.values()
    if values["detail"] is not None:
        values["detail"] = Jsonb(values["detail"])
    return values


def send_rows(pg: psycopg.Connection[Any], rows: Sequence[LogRow]) -> None:
    """insert_rows' statements, sent on `pg` (in a pipeline, say)."""
    # One statement per shape: rows with and without created_at have different column sets.
    with_time = [params(r) for r in rows if r.created_at is not None]
    without_time = [params(r) for r in rows if r.created_at is None]
    for statement, batch in ((_INSERT_WITH_TIME, with_time), (INSERT, without_time)):
        if len(batch) == 1:
            pg.execute(statement, batch[0])
        elif batch:
            pg.cursor().executemany(statement, batch)


def insert_rows(session: Session, rows: Sequence[LogRow]) -> None:
    """Insert the rows; rows whose source_id is already there are skipped."""
    if rows:
        send_rows(driver_connection(session), rows)


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


@dataclass(frozen=True, slots=True)
class LogFilters:
    """Which event-log rows an operator means (the console's event log)."""

    workspace_id: str | None = None
    outcome: str | None = None
    event_type: str | None = None
    stripe_event_id: str | None = None
    #: inclusive
    since: datetime | None = None
    #: exclusive
    until: datetime | None = None


def search(
    session: Session,
    filters: LogFilters,
    *,
    limit: int = 100,
    before: tuple[datetime, int] | None = None,
) -> list[WebhookEventLog]:
    """Newest first; `before` (a row's created_at and id) continues after that row."""
    query = select(WebhookEventLog)
    if filters.workspace_id is not None:
        query = query.where(WebhookEventLog.workspace_id == filters.workspace_id)
    if filters.outcome is not None:
        query = query.where(WebhookEventLog.outcome == filters.outcome)
    if filters.event_type is not None:
        query = query.where(WebhookEventLog.event_type == filters.event_type)
    if filters.stripe_event_id is not None:
        query = query.where(WebhookEventLog.stripe_event_id == filters.stripe_event_id)
    if filters.since is not None:
        query = query.where(WebhookEventLog.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(WebhookEventLog.created_at < filters.until)
    if before is not None:
        query = query.where(
            tuple_(WebhookEventLog.created_at, WebhookEventLog.id) < tuple_(*before)
        )
    query = query.order_by(WebhookEventLog.created_at.desc(), WebhookEventLog.id.desc())
    return list(session.scalars(query.limit(limit)))
