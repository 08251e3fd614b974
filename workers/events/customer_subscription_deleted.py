"""customer.subscription.deleted: the subscription's PENDING commissions are canceled and its
end is remembered for the events that come after it (docs/commissions.md, "Cancellation")."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from domain.cancellation import decide_deletion
from domain.events import SubscriptionDeleted, parse_customer_subscription_deleted
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, keys


class CustomerSubscriptionDeletedModule(EventModule[SubscriptionDeleted, list[str]]):
    event_type = "customer.subscription.deleted"

    def parse(self, body: str) -> SubscriptionDeleted:
        return parse_customer_subscription_deleted(body)

    def keys(self, event: SubscriptionDeleted) -> Iterable[str]:
        return keys(("subscription", event.subscription_id))

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: SubscriptionDeleted,
        preloaded: Preloaded | None,
    ) -> list[str]:
        return loaders.pending_of_subscription(session, ctx.workspace_id, event.subscription_id)

    def decide(self, event: SubscriptionDeleted, state: list[str]) -> Plan:
        return Plan.of(decide_deletion(event, state))


MODULE = CustomerSubscriptionDeletedModule()
