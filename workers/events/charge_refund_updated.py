"""charge.refund.updated: a refund that failed or was canceled gives its share back.

docs/commissions.md, "Refunds and disputes". The money is back in the merchant's balance, so
the refund's share comes back to the commissions (an unpaid one restored, a paid one answered
by a CLAWBACK that reverses the earlier one). Any other status changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.charge_events import RefundUpdated, parse_charge_refund_updated
from domain.decisions import Decision, RecordRefundFailure, SkipReason
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys
from workers.events.charge_common import ChargeState, load_charge, plan_fact

#: the statuses in which a refund's money came back
_RETURNED = frozenset({"failed", "canceled"})


class ChargeRefundUpdatedModule(EventModule[RefundUpdated, ChargeState | None]):
    event_type = "charge.refund.updated"

    def parse(self, body: str) -> RefundUpdated:
        return parse_charge_refund_updated(body)

    def keys(self, event: RefundUpdated) -> Iterable[str]:
        if event.status not in _RETURNED:
            return ()
        return keys(("payment_intent", event.payment_intent_id), ("charge", event.charge_id))

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: RefundUpdated,
        preloaded: Preloaded | None,
    ) -> ChargeState | None:
        if event.status not in _RETURNED or event.charge_id is None:
            return None
        return load_charge(
            session, ctx, charge_id=event.charge_id, payment_intent_id=event.payment_intent_id
        )

    def decide(self, event: RefundUpdated, state: ChargeState | None) -> Plan:
        if event.status not in _RETURNED:
            return Plan.of(Decision.skipped(SkipReason.REFUND_NOT_FAILED))
        if state is None or event.charge_id is None:
            # A refund of no charge (Stripe allows a few): nothing it could have taken from.
            return Plan.of(Decision.skipped(SkipReason.UNLINKED_CHARGE))
        fact = RecordRefundFailure(
            event.refund_id, event.charge_id, event.amount, event.status, event.created
        )
        return plan_fact(
            fact, state, charge_id=event.charge_id, payment_intent_id=event.payment_intent_id
        )


MODULE = ChargeRefundUpdatedModule()
