"""Commission ledger queries and the lifecycle transitions that are not event-driven."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from domain.charge_events import CLOSED_DISPUTE_STATUSES
from domain.errors import DomainError
from storage.models import Commission
from storage.models.ledger import Dispute


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
    held = [f"{r.id} ({r.reason})" for r in rows if r.status == "ON_HOLD"]
    if held:
        # Said apart: an operator must know it is held on purpose, and by whom (a dispute,
        # or a colleague's `commissions hold`), before anything is paid.
        raise DomainError(
            "ON_HOLD commissions are never paid (release a manual hold first; a disputed one "
            "waits for Stripe to close its dispute): " + ", ".join(held)
        )
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


def _locked(session: Session, commission_id: str) -> Commission:
    row = session.scalars(
        select(Commission).where(Commission.id == commission_id).with_for_update()
    ).one_or_none()
    if row is None:
        raise DomainError(f"no such commission: {commission_id}")
    return row


def hold(session: Session, commission_id: str, *, now: datetime) -> Commission:
    """PENDING or APPROVED -> ON_HOLD (reason `manual`): the scheduler never approves it and
    mark-paid never pays it until an operator releases it. Events of its charge still change
    its amount (a refund), and never release it."""
    row = _locked(session, commission_id)
    if row.kind == "CLAWBACK" or row.status not in {"PENDING", "APPROVED"}:
        what = "a CLAWBACK" if row.kind == "CLAWBACK" else f"{row.status}"
        extra = f" ({row.reason})" if row.reason else ""
        raise DomainError(
            f"only PENDING or APPROVED commissions can be held; {row.id} is {what}{extra}"
        )
    row.status, row.reason, row.updated_at = "ON_HOLD", "manual", now
    session.flush()
    return row


def release(session: Session, commission_id: str, *, now: datetime) -> Commission:
    """A manual hold -> what the entry would be now: PENDING inside its holding period,
    APPROVED after (hold_until). A `disputed` hold is Stripe's to release (its dispute's
    close), never an operator's."""
    row = _locked(session, commission_id)
    if row.status != "ON_HOLD":
        raise DomainError(f"{row.id} is {row.status}, not ON_HOLD: nothing to release")
    if row.reason != "manual":
        raise DomainError(
            f"{row.id} is held because its charge is {row.reason}: it is released when Stripe "
            "closes the dispute (charge.dispute.closed), not by an operator"
        )
    if _open_dispute(session, row):
        # A dispute opened while it was held by hand: it stays held, now by the dispute.
        row.reason = "disputed"
        row.updated_at = now
        session.flush()
        return row
    if row.hold_until <= now:
        row.status, row.approved_at = "APPROVED", row.approved_at or now
    else:
        row.status = "PENDING"
    row.reason, row.updated_at = None, now
    session.flush()
    return row


def _open_dispute(session: Session, row: Commission) -> bool:
    """Whether a dispute of the entry's charge (or payment intent) is open."""
    links = []
    if row.charge_id:
        links.append(Dispute.charge_id == row.charge_id)
    if row.payment_intent_id:
        links.append(Dispute.payment_intent_id == row.payment_intent_id)
    if not links:
        return False
    found = session.scalars(
        select(Dispute.dispute_id)
        .where(
            Dispute.workspace_id == row.workspace_id,
            or_(*links),
            Dispute.status.not_in(sorted(CLOSED_DISPUTE_STATUSES)),
        )
        .limit(1)
    ).first()
    return found is not None
