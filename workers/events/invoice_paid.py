"""invoice.paid: RECURRING commissions for the months after the first, and the first of a
subscription that no checkout attributed.

docs/commissions.md, "Recurring" and "Subscriptions without a checkout". The subscription's
state (its attribution, the months already paid, its end) is read under the subscription's
lock; when it has no attribution, what the invoice names (the subscription metadata's click,
its promotion codes, its customer's earlier attribution) is read too, under the customer's.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.decisions import AttributionSource
from domain.events import InvoicePaid, parse_invoice_paid
from domain.recurring import SubscriptionState, decide_invoice
from domain.referral_sources import Sources
from storage.repositories.ledger import loaders, sources
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys


@dataclass(frozen=True, slots=True)
class InvoiceState:
    subscription: SubscriptionState | None
    #: read only when the subscription has no attribution
    sources: Sources | None = None
    ended_at: int | None = None


def _named_clicks(event: InvoicePaid) -> dict[str, AttributionSource]:
    click = (event.subscription_click_id or "").strip()
    return {click: AttributionSource.SUBSCRIPTION_METADATA} if click else {}


def _sources(session: Session, workspace_id: str, event: InvoicePaid) -> Sources:
    clicks = _named_clicks(event)
    named = (
        sources.named_read(workspace_id, list(clicks), event.promotion_codes)
        if clicks or event.promotion_codes
        else None
    )
    earlier = (
        sources.earlier_read(workspace_id, event.customer_id, subscription_id=event.subscription_id)
        if event.customer_id
        else None
    )
    return loaders.sources(session, named, earlier, clicks)


class InvoicePaidModule(EventModule[InvoicePaid, InvoiceState]):
    event_type = "invoice.paid"

    def parse(self, body: str) -> InvoicePaid:
        return parse_invoice_paid(body)

    def keys(self, event: InvoicePaid) -> Iterable[str]:
        return keys(
            ("subscription", event.subscription_id),
            ("charge", event.charge_id),
            ("customer", event.customer_id),
            *(("payment_intent", pi) for pi in event.payment_intent_ids),
        )

    def load(
        self, session: Session, ctx: EventContext, event: InvoicePaid, preloaded: Preloaded | None
    ) -> InvoiceState:
        if not event.subscription_id:
            return InvoiceState(None)
        state = loaders.load_subscription_state(session, ctx.workspace_id, event.subscription_id)
        if state is not None:
            return InvoiceState(state)
        return InvoiceState(
            None,
            sources=_sources(session, ctx.workspace_id, event),
            ended_at=loaders.subscription_end(session, ctx.workspace_id, event.subscription_id),
        )

    def decide(self, event: InvoicePaid, state: InvoiceState) -> Plan:
        subscription = state.subscription
        return Plan.of(
            decide_invoice(event, subscription, sources=state.sources, ended_at=state.ended_at),
            attribution_id=subscription.attribution_id if subscription is not None else None,
        )


MODULE = InvoicePaidModule()
