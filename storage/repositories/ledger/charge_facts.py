"""What domain.charge_losses reads: a charge's facts (refund snapshot, failed refunds,
disputes) and the entries its events act on. Each runs in the event's transaction, its keys
(the charge, its payment intent) locked."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from domain.charge_losses import ChargeFacts, Dispute, LinkedEntry, RefundFailure, RefundSnapshot
from storage.models import Commission, SubscriptionEnd
from storage.models.ledger import ChargeRefundSnapshot
from storage.models.ledger import Dispute as DisputeRow
from storage.models.ledger import RefundFailure as RefundFailureRow
from storage.repositories.ledger.context import to_seconds


def load_facts(session: Session, workspace_id: str, charge_id: str) -> ChargeFacts:
    """Everything recorded of the charge's refunds and disputes (before this event's fact)."""
    snapshot = session.get(ChargeRefundSnapshot, (workspace_id, charge_id))
    failures = session.scalars(
        select(RefundFailureRow).where(
            RefundFailureRow.workspace_id == workspace_id, RefundFailureRow.charge_id == charge_id
        )
    )
    disputes = session.scalars(
        select(DisputeRow).where(
            DisputeRow.workspace_id == workspace_id, DisputeRow.charge_id == charge_id
        )
    )
    facts = ChargeFacts()
    if snapshot is not None:
        facts = facts.with_snapshot(
            RefundSnapshot(snapshot.amount, snapshot.amount_refunded, snapshot.created)
        )
    for f in failures:
        facts = facts.with_failure(RefundFailure(f.refund_id, f.amount, f.status, f.created))
    for d in disputes:
        facts = facts.with_dispute(
            Dispute(d.dispute_id, d.payment_intent_id, d.amount, d.status, d.reason, d.created)
        )
    return facts


def load_linked_entries(
    session: Session,
    workspace_id: str,
    *,
    payment_intent_id: str | None,
    charge_id: str | None,
    invoice_id: str | None = None,
) -> list[LinkedEntry]:
    """The commissions (not clawbacks) tied to any of these payments, locked for update, with
    the signed sum and the number of the CLAWBACK entries reversing each."""
    conditions = []
    if payment_intent_id:
        conditions.append(Commission.payment_intent_id == payment_intent_id)
    if charge_id:
        conditions.append(Commission.charge_id == charge_id)
    if invoice_id:
        conditions.append(Commission.invoice_id == invoice_id)
    if not conditions:
        return []
    rows = list(
        session.scalars(
            select(Commission)
            .where(
                Commission.workspace_id == workspace_id,
                Commission.kind != "CLAWBACK",
                or_(*conditions),
            )
            .order_by(Commission.created_at, Commission.id)
            .with_for_update()
        )
    )
    if not rows:
        return []
    adjustments = {
        reverses: (int(total), int(count))
        for reverses, total, count in session.execute(
            select(
                Commission.reverses_commission_id,
                func.sum(Commission.amount),
                func.count(),
            )
            .where(Commission.reverses_commission_id.in_([r.id for r in rows]))
            .group_by(Commission.reverses_commission_id)
        ).all()
    }
    subscriptions = {r.subscription_id for r in rows if r.subscription_id}
    ended = (
        set(
            session.scalars(
                select(SubscriptionEnd.subscription_id).where(
                    SubscriptionEnd.workspace_id == workspace_id,
                    SubscriptionEnd.subscription_id.in_(subscriptions),
                )
            )
        )
        if subscriptions
        else set()
    )
    return [
        LinkedEntry(
            commission_id=r.id,
            status=r.status,
            reason=r.reason,
            original_amount=r.original_amount,
            amount=r.amount,
            adjustments=adjustments.get(r.id, (0, 0))[0],
            adjustment_count=adjustments.get(r.id, (0, 0))[1],
            hold_until=to_seconds(r.hold_until) or 0,
            sale_amount=r.sale_amount,
            subscription_ended=r.subscription_id in ended,
        )
        for r in rows
    ]
