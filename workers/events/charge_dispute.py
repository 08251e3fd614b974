"""charge.dispute.created, .updated and .closed: a dispute's state, and its charge's
commissions recomputed.

docs/commissions.md, "Refunds and disputes". While a dispute of the charge is open, its unpaid
commissions are ON_HOLD (`disputed`); closed won, warning_closed or prevented, they come back
to what they would be now; lost, the disputed amount is taken like a refund. The three types
share this module's class: they differ only in their parser.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy.orm import Session

from domain.charge_events import DisputeChanged
from domain.decisions import RecordDispute
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys
from workers.events.charge_common import ChargeState, load_charge, plan_fact


class ChargeDisputeModule(EventModule[DisputeChanged, ChargeState]):
    """One of the charge.dispute.* types (each module instance sets its own `event_type`)."""

    def __init__(self, event_type: str, parser: Callable[[str], DisputeChanged]) -> None:
        self.event_type = event_type  # type: ignore[misc]  # a ClassVar set per instance
        self._parser = parser

    def parse(self, body: str) -> DisputeChanged:
        return self._parser(body)

    def keys(self, event: DisputeChanged) -> Iterable[str]:
        return keys(("payment_intent", event.payment_intent_id), ("charge", event.charge_id))

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: DisputeChanged,
        preloaded: Preloaded | None,
    ) -> ChargeState:
        return load_charge(
            session, ctx, charge_id=event.charge_id, payment_intent_id=event.payment_intent_id
        )

    def decide(self, event: DisputeChanged, state: ChargeState) -> Plan:
        fact = RecordDispute(
            dispute_id=event.dispute_id,
            charge_id=event.charge_id,
            payment_intent_id=event.payment_intent_id,
            amount=event.amount,
            currency=event.currency,
            status=event.status,
            reason=event.reason,
            created=event.created,
        )
        return plan_fact(
            fact, state, charge_id=event.charge_id, payment_intent_id=event.payment_intent_id
        )
