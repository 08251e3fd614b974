"""customer.subscription.deleted: pending commissions of the subscription are canceled."""

from __future__ import annotations

from collections.abc import Sequence

from domain.decisions import (
    CancelCommission,
    CancelReason,
    Command,
    Decision,
    RecordSubscriptionEnd,
)
from domain.events import SubscriptionDeleted


def ended_at(event: SubscriptionDeleted) -> int:
    if event.ended_at is not None:
        return event.ended_at
    if event.canceled_at is not None:
        return event.canceled_at
    return event.created


def decide_deletion(event: SubscriptionDeleted, pending_ids: Sequence[str]) -> Decision:
    """Cancel every PENDING entry (APPROVED and PAID stay), and remember the end."""
    commands: list[Command] = [RecordSubscriptionEnd(event.subscription_id, ended_at(event))]
    commands += [CancelCommission(i, CancelReason.SUBSCRIPTION_CANCELED) for i in pending_ids]
    return Decision(tuple(commands))
