"""What the events of a charge share (charge.refunded, charge.refund.updated,
charge.dispute.*): finding the commissions the charge paid, the charge's facts, and the plan.

docs/commissions.md, "Refunds and disputes". An event finds its commissions by payment
intent, charge or invoice; a basil invoice's payment has none of those on the charge, so,
when the workspace has a Stripe key, Stripe's API says which invoice the payment intent paid,
and the link is kept for the next event of that charge. When nothing is linked yet, the fact
is recorded anyway and the event parks (domain.charge_losses.unlinked_park) until the
commission is made.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.charge_losses import ChargeFacts, FactCommand, LinkedEntry, decide_charge_fact
from domain.charge_losses import unlinked_park as _park
from domain.decisions import LinkPayments
from storage.repositories import api_keys
from storage.repositories.ledger import charge_facts
from storage.repositories.ledger.context import EventContext
from workers import stripe_api
from workers.context import current
from workers.events.base import Plan


@dataclass(frozen=True, slots=True)
class ChargeState:
    facts: ChargeFacts
    linked: list[LinkedEntry]
    #: the event's transaction time, Unix seconds (PENDING or APPROVED by hold_until)
    now: int
    #: payments to remember on the commissions Stripe's API found (applied before the decision)
    links: tuple[LinkPayments, ...] = ()
    #: the invoice Stripe's API named when no commission of it exists yet (where to park)
    invoice_id: str | None = None


def ask_stripe_for_invoice(
    session: Session, workspace_id: str, payment_intent_id: str, account: str | None
) -> str | None:
    """Which invoice this payment intent paid, from Stripe's API, if the workspace has a key;
    asked on the event's Connect account, if it came from one."""
    context = current()
    if context.secret_box is None:
        return None
    key = api_keys.get_key(session, context.secret_box, workspace_id)
    if key is None:
        return None
    return stripe_api.invoice_of_payment_intent(
        key, payment_intent_id, api_base=context.stripe_api_base, account=account
    )


def load_charge(
    session: Session,
    ctx: EventContext,
    *,
    charge_id: str,
    payment_intent_id: str | None,
    invoice_id: str | None = None,
) -> ChargeState:
    """The charge's facts and linked entries (locked), asking Stripe which invoice the payment
    intent paid when nothing else links them."""
    facts = charge_facts.load_facts(session, ctx.workspace_id, charge_id)
    now = int(ctx.now.timestamp())
    linked = charge_facts.load_linked_entries(
        session,
        ctx.workspace_id,
        payment_intent_id=payment_intent_id,
        charge_id=charge_id,
        invoice_id=invoice_id,
    )
    if linked or not payment_intent_id:
        return ChargeState(facts, linked, now)
    found = ask_stripe_for_invoice(session, ctx.workspace_id, payment_intent_id, ctx.account)
    if found is None:
        return ChargeState(facts, linked, now)
    linked = charge_facts.load_linked_entries(
        session, ctx.workspace_id, payment_intent_id=None, charge_id=None, invoice_id=found
    )
    # Remember the payment for the next event of this charge.
    links = tuple(LinkPayments(c.commission_id, found, (payment_intent_id,)) for c in linked)
    return ChargeState(facts, linked, now, links, found)


def plan_fact(
    fact: FactCommand, state: ChargeState, *, charge_id: str, payment_intent_id: str | None
) -> Plan:
    park = _park(payment_intent_id, charge_id, state.invoice_id)
    decision = decide_charge_fact(fact, state.facts, state.linked, now=state.now, park=park)
    return Plan(decision, (*state.links, *decision.commands))
