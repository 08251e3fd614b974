"""charge.refunded: the charge's refund snapshot, and its commissions recomputed.

docs/commissions.md, "Refunds and disputes". `amount_refunded` is cumulative: the latest
snapshot (greatest (created, amount_refunded)) is the charge's refunded amount; every linked
commission is brought to `commission - share(refunded + lost)` (workers/events/charge_common).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.decisions import RecordRefundSnapshot
from domain.events import ChargeRefunded, parse_charge_refunded
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys
from workers.events.charge_common import ChargeState, load_charge, plan_fact


class ChargeRefundedModule(EventModule[ChargeRefunded, ChargeState]):
    event_type = "charge.refunded"

    def parse(self, body: str) -> ChargeRefunded:
        return parse_charge_refunded(body)

    def keys(self, event: ChargeRefunded) -> Iterable[str]:
        return keys(("payment_intent", event.payment_intent_id), ("charge", event.charge_id))

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: ChargeRefunded,
        preloaded: Preloaded | None,
    ) -> ChargeState:
        return load_charge(
            session,
            ctx,
            charge_id=event.charge_id,
            payment_intent_id=event.payment_intent_id,
            invoice_id=event.invoice_id,
        )

    def decide(self, event: ChargeRefunded, state: ChargeState) -> Plan:
        fact = RecordRefundSnapshot(
            event.charge_id, event.amount, event.amount_refunded, event.created
        )
        return plan_fact(
            fact, state, charge_id=event.charge_id, payment_intent_id=event.payment_intent_id
        )


MODULE = ChargeRefundedModule()
