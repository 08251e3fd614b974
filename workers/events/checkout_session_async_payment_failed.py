"""checkout.session.async_payment_failed: a delayed payment never came; nothing is earned.

docs/commissions.md, "Delayed payments". Logged skipped `payment_failed`; the attribution
the completion recorded stays (it earns nothing without a payment).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.attribution import decide_async_payment_failed
from domain.events import CheckoutSessionCompleted, parse_checkout_session_async_payment_failed
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys


class CheckoutSessionAsyncPaymentFailedModule(EventModule[CheckoutSessionCompleted, None]):
    event_type = "checkout.session.async_payment_failed"

    def parse(self, body: str) -> CheckoutSessionCompleted:
        return parse_checkout_session_async_payment_failed(body)

    def keys(self, event: CheckoutSessionCompleted) -> Iterable[str]:
        return keys(("checkout_session", event.session_id))

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: CheckoutSessionCompleted,
        preloaded: Preloaded | None,
    ) -> None:
        return None

    def decide(self, event: CheckoutSessionCompleted, state: None) -> Plan:
        return Plan.of(decide_async_payment_failed(event))


MODULE = CheckoutSessionAsyncPaymentFailedModule()
