"""checkout.session.completed: a referred checkout's attribution and first commission.

docs/commissions.md, "Attribution" and "Sales and month 1". The clicks the session names
(metadata.tracClickId, then client_reference_id: domain.attribution.click_candidates) are
looked up in the event's first statement (clicks never change under an event); the
subscription's end, written under the subscription's lock, is read after it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from domain.attribution import click_candidates, decide_checkout
from domain.decisions import Referral
from domain.events import CheckoutSessionCompleted, parse_checkout_session_completed
from storage.repositories.ledger import loaders
from storage.repositories.ledger.applied_once import Preloaded
from storage.repositories.ledger.context import EventContext
from workers.events.base import EventModule, Plan, Reads, keys


@dataclass(frozen=True, slots=True)
class CheckoutState:
    referral: Referral | None
    subscription_ended_at: int | None


def _clicks(event: CheckoutSessionCompleted) -> list[str]:
    """The click ids the session names, in the attribution order, of this service's shape."""
    return loaders.click_ids([click for click, _source in click_candidates(event)])


def session_keys(event: CheckoutSessionCompleted) -> tuple[str, ...]:
    """What a session's events lock: the session (its completion and its delayed payment are
    applied one after the other), its subscription and its payment intent."""
    return keys(
        ("checkout_session", event.session_id),
        ("subscription", event.subscription_id),
        ("payment_intent", event.payment_intent_id),
    )


class CheckoutSessionCompletedModule(EventModule[CheckoutSessionCompleted, CheckoutState]):
    event_type = "checkout.session.completed"

    def parse(self, body: str) -> CheckoutSessionCompleted:
        return parse_checkout_session_completed(body)

    def keys(self, event: CheckoutSessionCompleted) -> Iterable[str]:
        return session_keys(event)

    def reads(self, event: CheckoutSessionCompleted, workspace_id: str) -> Reads:
        clicks = _clicks(event)
        return Reads(
            riding=loaders.referral_read(workspace_id, clicks) if clicks else None,
            after_locks=(
                (loaders.subscription_end_read(workspace_id, event.subscription_id),)
                if event.subscription_id
                else ()
            ),
        )

    def load(
        self,
        session: Session,
        ctx: EventContext,
        event: CheckoutSessionCompleted,
        preloaded: Preloaded | None,
    ) -> CheckoutState:
        clicks, subscription = _clicks(event), event.subscription_id
        if preloaded is not None:
            return CheckoutState(
                referral=loaders.referral_of(preloaded.riding),
                subscription_ended_at=(
                    loaders.subscription_end_of(preloaded.after_locks[0]) if subscription else None
                ),
            )
        return CheckoutState(
            referral=(loaders.load_referral(session, ctx.workspace_id, clicks) if clicks else None),
            subscription_ended_at=(
                loaders.subscription_end(session, ctx.workspace_id, subscription)
                if subscription
                else None
            ),
        )

    def decide(self, event: CheckoutSessionCompleted, state: CheckoutState) -> Plan:
        return Plan.of(
            decide_checkout(
                event, state.referral, subscription_ended_at=state.subscription_ended_at
            )
        )


MODULE = CheckoutSessionCompletedModule()
