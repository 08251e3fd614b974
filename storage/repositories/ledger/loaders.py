"""What the decisions read: a click's referral, a subscription's state, the commissions a
refund or a cancellation acts on. Each runs in the event's transaction, its keys locked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.attribution import SessionAttribution
from domain.decisions import Referral
from domain.recurring import ExistingRecurring, SubscriptionState
from storage.db import driver_connection
from storage.errors import InvariantViolation
from storage.models import Attribution, Commission, Program
from storage.repositories import clicks
from storage.repositories.ledger.applied_once import Read
from storage.repositories.ledger.context import to_seconds
from storage.repositories.programs import make_terms, terms_of

#: the shape of click ids this service makes (storage.ids): anything else is unknown at once
_CLICK_ID = clicks.CLICK_ID

#: the first of the candidate click ids (in their order) that is a click of the workspace
_REFERRAL = """
SELECT c.id, p.id, g.id, g.reward_kind, g.percent_bps, g.flat_amount, g.currency,
       g.recurring_months, g.holding_days
FROM clicks c
JOIN partners p ON p.id = c.partner_id AND p.workspace_id = c.workspace_id
JOIN programs g ON g.id = p.program_id AND g.workspace_id = p.workspace_id
WHERE c.workspace_id = %(ws)s AND c.id = ANY(%(clicks)s::text[])
ORDER BY array_position(%(clicks)s::text[], c.id)
LIMIT 1
"""
_SUBSCRIPTION_END = """
SELECT ended_at FROM subscription_ends WHERE workspace_id = %(ws)s AND subscription_id = %(sub)s
"""


def is_click_id(value: str) -> bool:
    """Whether `value` has the shape of a click id this service makes."""
    return _CLICK_ID.match(value) is not None


def click_ids(candidates: Sequence[str]) -> list[str]:
    """The candidates that have the shape of a click id (others are unknown at once), in order."""
    return [c for c in candidates if is_click_id(c)]


def referral_read(workspace_id: str, candidates: Sequence[str]) -> Read:
    """The referral of the first candidate that is a click of the workspace (decode with
    `referral_of`): clicks, partners and programs are never changed by events, so this read
    may ride with the event's first statement."""
    return Read(_REFERRAL, {"ws": workspace_id, "clicks": click_ids(candidates)})


def referral_of(row: tuple[Any, ...] | None) -> Referral | None:
    if row is None:
        return None
    click, partner, program, kind, bps, flat, currency, months, holding = row
    return Referral(click, partner, program, make_terms(kind, bps, flat, currency, months, holding))


def load_referral(
    session: Session, workspace_id: str, candidates: Sequence[str]
) -> Referral | None:
    if not click_ids(candidates):
        return None
    read = referral_read(workspace_id, candidates)
    return referral_of(driver_connection(session).execute(read.sql, read.params).fetchone())


def subscription_end_read(workspace_id: str, subscription_id: str) -> Read:
    """When the subscription ended, if it did (decode with `subscription_end_of`). Written
    under the subscription's lock: read after the locks (applied_once)."""
    return Read(_SUBSCRIPTION_END, {"ws": workspace_id, "sub": subscription_id})


def subscription_end_of(row: tuple[Any, ...] | None) -> int | None:
    return to_seconds(row[0]) if row is not None else None


def subscription_end(session: Session, workspace_id: str, subscription_id: str) -> int | None:
    read = subscription_end_read(workspace_id, subscription_id)
    return subscription_end_of(driver_connection(session).execute(read.sql, read.params).fetchone())


def _referral_of(session: Session, attribution: Attribution) -> Referral:
    program = session.get(Program, attribution.program_id)
    if program is None:  # a foreign key guarantees it
        raise InvariantViolation(f"attribution {attribution.id}: its program is missing")
    return Referral(attribution.click_id, attribution.partner_id, program.id, terms_of(program))


def attribution_of_session(
    session: Session, workspace_id: str, checkout_session_id: str
) -> SessionAttribution | None:
    """What checkout.session.completed recorded for the session, if it did."""
    attribution = session.scalars(
        select(Attribution).where(
            Attribution.workspace_id == workspace_id,
            Attribution.checkout_session_id == checkout_session_id,
        )
    ).one_or_none()
    if attribution is None:
        return None
    return SessionAttribution(
        attribution_id=attribution.id,
        referral=_referral_of(session, attribution),
        anchor=to_seconds(attribution.anchor_at),
    )


def load_subscription_state(
    session: Session, workspace_id: str, subscription_id: str
) -> SubscriptionState | None:
    attribution = session.scalars(
        select(Attribution)
        .where(
            Attribution.workspace_id == workspace_id,
            Attribution.subscription_id == subscription_id,
        )
        .order_by(Attribution.created_at)
        .limit(1)
    ).one_or_none()
    if attribution is None:
        return None
    recurring = list(
        session.scalars(
            select(Commission).where(
                Commission.workspace_id == workspace_id,
                Commission.attribution_id == attribution.id,
                Commission.kind == "RECURRING",
            )
        )
    )
    month_one = next(
        (
            c.id
            for c in recurring
            if c.business_key == f"checkout:{attribution.checkout_session_id}"
        ),
        None,
    )
    return SubscriptionState(
        attribution_id=attribution.id,
        referral=_referral_of(session, attribution),
        anchor=to_seconds(attribution.anchor_at),
        trial=attribution.trial,
        ended_at=subscription_end(session, workspace_id, subscription_id),
        month_one_commission_id=month_one,
        recurring=tuple(
            ExistingRecurring(c.id, c.month or 1, to_seconds(c.service_period_start) or 0, c.status)
            for c in recurring
        ),
    )


def pending_of_subscription(session: Session, workspace_id: str, subscription_id: str) -> list[str]:
    """The subscription's PENDING commissions, locked for update."""
    return list(
        session.scalars(
            select(Commission.id)
            .where(
                Commission.workspace_id == workspace_id,
                Commission.subscription_id == subscription_id,
                Commission.status == "PENDING",
            )
            .order_by(Commission.id)
            .with_for_update()
        )
    )
