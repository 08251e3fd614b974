"""invoice.paid: RECURRING commissions for the months after the first.

docs/commissions.md, "Recurring". The subscription's state (its attribution, the months
already paid, its end) is read under the subscription's lock.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.events import InvoicePaid, parse_invoice_paid
from domain.recurring import SubscriptionState, decide_invoice
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys


class InvoicePaidModule(EventModule[InvoicePaid, SubscriptionState | None]):
    event_type = "invoice.paid"

    def parse(self, body: str) -> InvoicePaid:
        return parse_invoice_paid(body)

    def keys(self, event: InvoicePaid) -> Iterable[str]:
        return keys(
            ("subscription", event.subscription_id),
            ("charge", event.charge_id),
            *(("payment_intent", pi) for pi in event.payment_intent_ids),
        )

    def load(
        self, session: Session, ctx: EventContext, event: InvoicePaid, preloaded: Preloaded | None
    ) -> SubscriptionState | None:
        if not event.subscription_id:
            return None
        return loaders.load_subscription_state(session, ctx.workspace_id, event.subscription_id)

    def decide(self, event: InvoicePaid, state: SubscriptionState | None) -> Plan:
        return Plan.of(
            decide_invoice(event, state),
            attribution_id=state.attribution_id if state is not None else None,
        )


MODULE = InvoicePaidModule()
