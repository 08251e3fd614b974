"""checkout.session.completed: a referred checkout's attribution and first commission.

docs/commissions.md, "Attribution" and "Sales and month 1". What the session names (its
clicks, its promotion codes) is looked up in the event's first statement (events never change
them); its customer's earlier attribution, its subscription's end and its subscription's
attribution by an invoice, written under the session's locks, are read after them
(workers/events/checkout_reads.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.attribution import decide_checkout
from domain.events import CheckoutSessionCompleted, parse_checkout_session_completed
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, Reads
from workers.events.checkout_reads import (
    CheckoutState,
    checkout_reads,
    load_checkout_state,
    session_keys,
)


class CheckoutSessionCompletedModule(EventModule[CheckoutSessionCompleted, CheckoutState]):
    event_type = "checkout.session.completed"

    def parse(self, body: str) -> CheckoutSessionCompleted:
        return parse_checkout_session_completed(body)

    def keys(self, event: CheckoutSessionCompleted) -> Iterable[str]:
        return session_keys(event)

    def reads(self, event: CheckoutSessionCompleted, workspace_id: str) -> Reads:
        return checkout_reads(event, workspace_id)

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: CheckoutSessionCompleted,
        preloaded: Preloaded | None,
    ) -> CheckoutState:
        return load_checkout_state(session, ctx.workspace_id, event, preloaded)

    def decide(self, event: CheckoutSessionCompleted, state: CheckoutState) -> Plan:
        joined = state.invoice_attribution
        return Plan.of(
            decide_checkout(
                event,
                state.sources,
                subscription_ended_at=state.subscription_ended_at,
                invoice_attribution=joined,
            ),
            attribution_id=joined.attribution_id if joined is not None else None,
        )


MODULE = CheckoutSessionCompletedModule()
