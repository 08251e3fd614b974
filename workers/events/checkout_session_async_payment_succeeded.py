"""checkout.session.async_payment_succeeded: a delayed payment (SEPA, ACH, ...) arrived.

docs/commissions.md, "Delayed payments". The session completed unpaid, and its completion
recorded the attribution; this event makes the SALE or RECURRING month 1, once per session
(the session's business key), whatever the order of the two events: before the completion
is applied, the event waits for it (parked on the session, which both events lock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.attribution import SessionAttribution, decide_async_payment_succeeded
from domain.events import CheckoutSessionCompleted, parse_checkout_session_async_payment_succeeded
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan
from workers.events.checkout_reads import CheckoutState, load_checkout_state, session_keys


@dataclass(frozen=True, slots=True)
class PaymentState:
    attribution: SessionAttribution | None
    #: what the session names and its subscription's state, as its completion reads them
    checkout: CheckoutState


class CheckoutSessionAsyncPaymentSucceededModule(
    EventModule[CheckoutSessionCompleted, PaymentState]
):
    event_type = "checkout.session.async_payment_succeeded"

    def parse(self, body: str) -> CheckoutSessionCompleted:
        return parse_checkout_session_async_payment_succeeded(body)

    def keys(self, event: CheckoutSessionCompleted) -> Iterable[str]:
        return session_keys(event)

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: CheckoutSessionCompleted,
        preloaded: Preloaded | None,
    ) -> PaymentState:
        return PaymentState(
            attribution=loaders.attribution_of_session(session, ctx.workspace_id, event.session_id),
            checkout=load_checkout_state(session, ctx.workspace_id, event, None),
        )

    def decide(self, event: CheckoutSessionCompleted, state: PaymentState) -> Plan:
        decision = decide_async_payment_succeeded(
            event,
            state.checkout.sources,
            state.attribution,
            subscription_ended_at=state.checkout.subscription_ended_at,
            invoice_attribution=state.checkout.invoice_attribution,
        )
        attribution = state.attribution
        return Plan.of(decision, attribution_id=attribution.attribution_id if attribution else None)


MODULE = CheckoutSessionAsyncPaymentSucceededModule()
