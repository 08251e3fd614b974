"""The writes of domain.charge_losses' commands: a charge's facts, each upserted so that the
winning fact is kept whatever order the events come in, and an unpaid entry restated."""

from __future__ import annotations

from sqlalchemy import case, func, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.charge_events import CLOSED_DISPUTE_STATUSES
from domain.decisions import (
    RecordDispute,
    RecordRefundFailure,
    RecordRefundSnapshot,
    RestateCommission,
)
from storage.models import Commission
from storage.models.ledger import ChargeRefundSnapshot, Dispute, RefundFailure
from storage.repositories.ledger.context import EventContext

_CLOSED = sorted(CLOSED_DISPUTE_STATUSES)
# Strings are compared byte by byte (COLLATE "C"), as Python compares the domain's ranks.


def record_fact(
    session: Session,
    ctx: EventContext,
    command: RecordRefundSnapshot | RecordRefundFailure | RecordDispute,
) -> None:
    match command:
        case RecordRefundSnapshot():
            _snapshot(session, ctx, command)
        case RecordRefundFailure():
            _failure(session, ctx, command)
        case RecordDispute():
            _dispute(session, ctx, command)


def _snapshot(session: Session, ctx: EventContext, command: RecordRefundSnapshot) -> None:
    """Kept if it is the latest (created, amount_refunded) seen (ChargeFacts.with_snapshot)."""
    statement = insert(ChargeRefundSnapshot).values(
        workspace_id=ctx.workspace_id,
        charge_id=command.charge_id,
        amount=command.amount,
        amount_refunded=command.amount_refunded,
        created=command.created,
        updated_at=ctx.now,
    )
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "charge_id"],
            set_={
                "amount": new.amount,
                "amount_refunded": new.amount_refunded,
                "created": new.created,
                "updated_at": new.updated_at,
            },
            where=tuple_(ChargeRefundSnapshot.created, ChargeRefundSnapshot.amount_refunded)
            < tuple_(new.created, new.amount_refunded),
        )
    )


def _failure(session: Session, ctx: EventContext, command: RecordRefundFailure) -> None:
    """A failed or canceled refund stays so; the earliest report of it is kept (the lesser
    (created, status, amount): domain.charge_losses.RefundFailure.rank)."""
    statement = insert(RefundFailure).values(
        workspace_id=ctx.workspace_id,
        refund_id=command.refund_id,
        charge_id=command.charge_id,
        amount=command.amount,
        status=command.status,
        created=command.created,
    )
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "refund_id"],
            set_={"amount": new.amount, "status": new.status, "created": new.created},
            where=tuple_(new.created, new.status.collate("C"), new.amount)
            < tuple_(
                RefundFailure.created, RefundFailure.status.collate("C"), RefundFailure.amount
            ),
        )
    )


def _dispute(session: Session, ctx: EventContext, command: RecordDispute) -> None:
    """Kept if it outranks the known state (domain.charge_losses.Dispute.rank: closed over
    open, then the later event, then the greater status, amount and reason)."""
    statement = insert(Dispute).values(
        workspace_id=ctx.workspace_id,
        dispute_id=command.dispute_id,
        charge_id=command.charge_id,
        payment_intent_id=command.payment_intent_id,
        amount=command.amount,
        currency=command.currency,
        status=command.status,
        reason=command.reason,
        created=command.created,
        updated_at=ctx.now,
    )
    new = statement.excluded
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "dispute_id"],
            set_={
                "payment_intent_id": new.payment_intent_id,
                "amount": new.amount,
                "status": new.status,
                "reason": new.reason,
                "created": new.created,
                "updated_at": new.updated_at,
            },
            where=tuple_(
                Dispute.status.in_(_CLOSED),
                Dispute.created,
                Dispute.status.collate("C"),
                Dispute.amount,
                func.coalesce(Dispute.reason, "").collate("C"),
            )
            < tuple_(
                new.status.in_(_CLOSED),
                new.created,
                new.status.collate("C"),
                new.amount,
                func.coalesce(new.reason, "").collate("C"),
            ),
        )
    )


def restate(session: Session, ctx: EventContext, command: RestateCommission) -> bool:
    """An unpaid entry's new amount, status and reason. Never a PAID one: money paid is
    answered by a CLAWBACK instead. Whether it changed."""
    status = command.status
    changed = session.execute(
        update(Commission)
        .where(Commission.id == command.commission_id, Commission.status != "PAID")
        .values(
            amount=command.amount,
            status=status,
            reason=command.reason.value if command.reason is not None else None,
            canceled_at=ctx.now if status == "CANCELED" else None,
            approved_at=(
                case((Commission.approved_at.is_(None), ctx.now), else_=Commission.approved_at)
                if status == "APPROVED"
                else Commission.approved_at
            ),
            updated_at=ctx.now,
        )
        .returning(Commission.id)
    ).scalar()
    return changed is not None
