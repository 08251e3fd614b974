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

from domain.attribution import SessionAttribution, click_candidates, decide_async_payment_succeeded
from domain.decisions import Referral
from domain.events import CheckoutSessionCompleted, parse_checkout_session_async_payment_succeeded
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan
from workers.events.checkout_session_completed import session_keys


@dataclass(frozen=True, slots=True)
class PaymentState:
    attribution: SessionAttribution | None
    #: read only when there is no attribution yet: does the session name a click here?
    referral: Referral | None
    subscription_ended_at: int | None


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
        attribution = loaders.attribution_of_session(session, ctx.workspace_id, event.session_id)
        referral = None
        if attribution is None:
            clicks = loaders.click_ids([click for click, _ in click_candidates(event)])
            referral = loaders.load_referral(session, ctx.workspace_id, clicks) if clicks else None
        subscription = event.subscription_id
        return PaymentState(
            attribution=attribution,
            referral=referral,
            subscription_ended_at=(
                loaders.subscription_end(session, ctx.workspace_id, subscription)
                if subscription
                else None
            ),
        )

    def decide(self, event: CheckoutSessionCompleted, state: PaymentState) -> Plan:
        decision = decide_async_payment_succeeded(
            event,
            state.referral,
            state.attribution,
            subscription_ended_at=state.subscription_ended_at,
        )
        attribution = state.attribution
        return Plan.of(decision, attribution_id=attribution.attribution_id if attribution else None)


MODULE = CheckoutSessionAsyncPaymentSucceededModule()
