"""charge.refunded: a proportional clawback of the commissions the charge paid.

docs/commissions.md, "Refunds". A refund finds its commissions by payment intent, charge or
invoice; a basil invoice's payment has none of those on the charge, so, when the workspace
has a Stripe key, Stripe's API says which invoice the payment intent paid, and the link is
kept for the next refund of that charge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.clawback import LinkedCommission, decide_refund
from domain.decisions import LinkPayments
from domain.events import ChargeRefunded, parse_charge_refunded
from storage.repositories import api_keys
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers import stripe_api
from workers.context import current
from workers.events.base import EventModule, Plan, keys


@dataclass(frozen=True, slots=True)
class RefundState:
    linked: list[LinkedCommission]
    #: payments to remember on the commissions Stripe's API found (applied before the decision)
    links: tuple[LinkPayments, ...] = ()


def _ask_stripe_for_invoice(
    session: Session, workspace_id: str, payment_intent_id: str
) -> str | None:
    """Which invoice this payment intent paid, from Stripe's API, if the workspace has a key."""
    context = current()
    if context.secret_box is None:
        return None
    key = api_keys.get_key(session, context.secret_box, workspace_id)
    if key is None:
        return None
    return stripe_api.invoice_of_payment_intent(
        key, payment_intent_id, api_base=context.stripe_api_base
    )


class ChargeRefundedModule(EventModule[ChargeRefunded, RefundState]):
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
    ) -> RefundState:
        linked = loaders.load_linked_commissions(
            session,
            ctx.workspace_id,
            payment_intent_id=event.payment_intent_id,
            charge_id=event.charge_id,
            invoice_id=event.invoice_id,
        )
        if linked or not event.payment_intent_id:
            return RefundState(linked)
        invoice_id = _ask_stripe_for_invoice(session, ctx.workspace_id, event.payment_intent_id)
        if invoice_id is None:
            return RefundState(linked)
        linked = loaders.load_linked_commissions(
            session, ctx.workspace_id, payment_intent_id=None, charge_id=None, invoice_id=invoice_id
        )
        # Remember the payment for the next refund of this charge.
        links = tuple(
            LinkPayments(c.commission_id, invoice_id, (event.payment_intent_id,)) for c in linked
        )
        return RefundState(linked, links)

    def decide(self, event: ChargeRefunded, state: RefundState) -> Plan:
        decision = decide_refund(event, state.linked)
        return Plan(decision, (*state.links, *decision.commands))


MODULE = ChargeRefundedModule()
