"""The ledger side of the rules: load what a decision needs, apply what it decided.

Loading and applying happen in the caller's transaction (the worker's unit of work), with
the event's keys locked first (`lock_keys`), so two events about one subscription or payment
never interleave: one of them always sees the other's effects.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.clawback import LinkedCommission
from domain.decisions import (
    CancelCommission,
    Command,
    CreateAttribution,
    CreateClawback,
    CreateCommission,
    LinkPayments,
    Park,
    RecordSubscriptionEnd,
    ReduceCommission,
    Referral,
    Renumber,
    SetAnchor,
)
from domain.recurring import ExistingRecurring, SubscriptionState
from storage import ids
from storage.models import (
    AppliedEvent,
    Attribution,
    Click,
    Commission,
    ParkedEvent,
    Partner,
    Program,
    SubscriptionEnd,
)
from storage.repositories.programs import terms_of

#: the shape of click ids this service makes (storage.ids): anything else is unknown at once
_CLICK_ID = re.compile(r"^clk_[a-z2-7]{26}$")
#: how long an event waiting for its attribution or sale is kept (at least Stripe's 3 days)
PARK_FOR = timedelta(days=7)
_UNPAID = ("PENDING", "APPROVED")


def _ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _dt(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


def lock_keys(session: Session, workspace_id: str, keys: Iterable[str]) -> None:
    """Serialize the events of one workspace that touch the same Stripe objects.

    Transaction-scoped advisory locks, taken in sorted order so two events never deadlock.
    """
    for key in sorted(set(keys)):
        digest = hashlib.blake2b(f"{workspace_id}|{key}".encode(), digest_size=8).digest()
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"),
            {"k": int.from_bytes(digest, "big", signed=True)},
        )


def mark_applied(session: Session, workspace_id: str, event_id: str, event_type: str) -> bool:
    """Record that this event's effects are being committed; False if it already was."""
    statement = (
        insert(AppliedEvent)
        .values(workspace_id=workspace_id, stripe_event_id=event_id, event_type=event_type)
        .on_conflict_do_nothing()
        .returning(AppliedEvent.stripe_event_id)
    )
    return session.execute(statement).scalar() is not None


# --- loading ---------------------------------------------------------------------------


def load_referral(session: Session, workspace_id: str, click_id: str) -> Referral | None:
    if not _CLICK_ID.match(click_id):
        return None
    row = session.execute(
        select(Click.id, Partner.id, Program)
        .join(
            Partner, (Partner.id == Click.partner_id) & (Partner.workspace_id == Click.workspace_id)
        )
        .join(
            Program,
            (Program.id == Partner.program_id) & (Program.workspace_id == Partner.workspace_id),
        )
        .where(Click.workspace_id == workspace_id, Click.id == click_id)
    ).one_or_none()
    if row is None:
        return None
    click, partner, program = row
    return Referral(click, partner, program.id, terms_of(program))


def _referral_of(session: Session, attribution: Attribution) -> Referral:
    program = session.get(Program, attribution.program_id)
    assert program is not None
    return Referral(attribution.click_id, attribution.partner_id, program.id, terms_of(program))


def subscription_end(session: Session, workspace_id: str, subscription_id: str) -> int | None:
    row = session.get(SubscriptionEnd, (workspace_id, subscription_id))
    return _ts(row.ended_at) if row is not None else None


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
        anchor=_ts(attribution.anchor_at),
        trial=attribution.trial,
        ended_at=subscription_end(session, workspace_id, subscription_id),
        month_one_commission_id=month_one,
        recurring=tuple(
            ExistingRecurring(c.id, c.month or 1, _ts(c.service_period_start) or 0, c.status)
            for c in recurring
        ),
    )


def load_linked_commissions(
    session: Session,
    workspace_id: str,
    *,
    payment_intent_id: str | None,
    charge_id: str | None,
    invoice_id: str | None = None,
) -> list[LinkedCommission]:
    conditions = []
    if payment_intent_id:
        conditions.append(Commission.payment_intent_id == payment_intent_id)
    if charge_id:
        conditions.append(Commission.charge_id == charge_id)
    if invoice_id:
        conditions.append(Commission.invoice_id == invoice_id)
    if not conditions:
        return []
    rows = list(
        session.scalars(
            select(Commission)
            .where(
                Commission.workspace_id == workspace_id,
                Commission.kind != "CLAWBACK",
                or_(*conditions),
            )
            .order_by(Commission.created_at, Commission.id)
            .with_for_update()
        )
    )
    clawed = dict(
        session.execute(
            select(Commission.reverses_commission_id, func.sum(-Commission.amount))
            .where(Commission.reverses_commission_id.in_([r.id for r in rows]))
            .group_by(Commission.reverses_commission_id)
        ).all()
    )
    return [
        LinkedCommission(r.id, r.status, r.original_amount, r.amount, int(clawed.get(r.id, 0)))
        for r in rows
    ]


def pending_of_subscription(session: Session, workspace_id: str, subscription_id: str) -> list[str]:
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


# --- applying --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventContext:
    workspace_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    livemode: bool
    body: str
    now: datetime


@dataclass
class Applied:
    """What applying a decision changed, and what may now unblock parked events."""

    commission_ids: list[str] = field(default_factory=list)
    #: (wait_for, key) pairs that just appeared: parked events waiting on them can run now
    unblocked: list[tuple[str, str]] = field(default_factory=list)
    attribution_id: str | None = None


def apply(
    session: Session,
    ctx: EventContext,
    commands: Sequence[Command],
    *,
    attribution_id: str | None = None,
) -> Applied:
    """Apply a decision's commands, in order, in the caller's transaction."""
    result = Applied(attribution_id=attribution_id)
    for command in commands:
        _APPLY[type(command)](session, ctx, command, result)
    return result


def _apply_attribution(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    result.attribution_id = _create_attribution(session, ctx, c)
    if c.links.subscription_id:
        result.unblocked.append(("subscription", c.links.subscription_id))


def _apply_commission(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    assert result.attribution_id is not None, "a commission needs its attribution"
    created = _create_commission(session, ctx, c, result.attribution_id)
    if created is None:
        return
    result.commission_ids.append(created)
    if c.links.payment_intent_id:
        result.unblocked.append(("payment_intent", c.links.payment_intent_id))
    if c.links.charge_id:
        result.unblocked.append(("charge", c.links.charge_id))


def _apply_link(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    first = c.payment_intent_ids[0] if c.payment_intent_ids else Commission.payment_intent_id
    session.execute(
        update(Commission)
        .where(Commission.id == c.commission_id)
        .values(invoice_id=c.invoice_id, payment_intent_id=first, updated_at=ctx.now)
    )
    result.commission_ids.append(c.commission_id)
    result.unblocked += [("payment_intent", pi) for pi in c.payment_intent_ids]


def _apply_anchor(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    session.execute(
        update(Attribution)
        .where(Attribution.id == c.attribution_id)
        .values(anchor_at=_dt(c.anchor))
    )


def _apply_renumber(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    session.execute(
        update(Commission)
        .where(Commission.id == c.commission_id)
        .values(month=c.month, updated_at=ctx.now)
    )
    result.commission_ids.append(c.commission_id)


def _apply_cancel(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    # Never a PAID entry: money already paid is reversed by a CLAWBACK instead.
    changed = session.execute(
        update(Commission)
        .where(Commission.id == c.commission_id, Commission.status.in_(_UNPAID))
        .values(status="CANCELED", reason=c.reason.value, canceled_at=ctx.now, updated_at=ctx.now)
        .returning(Commission.id)
    ).scalar()
    if changed:
        result.commission_ids.append(changed)


def _apply_reduce(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    # Only ever downwards: a stale refund event cannot give back what a later one took.
    changed = session.execute(
        update(Commission)
        .where(
            Commission.id == c.commission_id,
            Commission.status.in_(_UNPAID),
            Commission.amount > c.amount,
        )
        .values(amount=c.amount, updated_at=ctx.now)
        .returning(Commission.id)
    ).scalar()
    if changed:
        result.commission_ids.append(changed)


def _apply_clawback(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    created = _create_clawback(session, ctx, c)
    if created is not None:
        result.commission_ids.append(created)


def _apply_end(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    statement = insert(SubscriptionEnd).values(
        workspace_id=ctx.workspace_id, subscription_id=c.subscription_id, ended_at=_dt(c.ended_at)
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "subscription_id"],
            set_={"ended_at": func.least(SubscriptionEnd.ended_at, statement.excluded.ended_at)},
        )
    )


def _apply_park(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    session.execute(
        insert(ParkedEvent)
        .values(
            workspace_id=ctx.workspace_id,
            endpoint_id=ctx.endpoint_id,
            stripe_event_id=ctx.event_id,
            event_type=ctx.event_type,
            wait_for=c.wait_for,
            wait_key=c.key,
            body=ctx.body,
            expires_at=ctx.now + PARK_FOR,
        )
        .on_conflict_do_nothing()
    )


_APPLY: dict[type, Callable[[Session, EventContext, Any, Applied], None]] = {
    CreateAttribution: _apply_attribution,
    CreateCommission: _apply_commission,
    LinkPayments: _apply_link,
    SetAnchor: _apply_anchor,
    Renumber: _apply_renumber,
    CancelCommission: _apply_cancel,
    ReduceCommission: _apply_reduce,
    CreateClawback: _apply_clawback,
    RecordSubscriptionEnd: _apply_end,
    Park: _apply_park,
}


def _create_attribution(session: Session, ctx: EventContext, command: CreateAttribution) -> str:
    links = command.links
    assert links.checkout_session_id is not None
    statement = (
        insert(Attribution)
        .values(
            id=ids.new_id("att"),
            workspace_id=ctx.workspace_id,
            click_id=command.referral.click_id,
            partner_id=command.referral.partner_id,
            program_id=command.referral.program_id,
            livemode=command.livemode,
            checkout_session_id=links.checkout_session_id,
            customer_id=links.customer_id,
            subscription_id=links.subscription_id,
            payment_intent_id=links.payment_intent_id,
            invoice_id=links.invoice_id,
            anchor_at=_dt(command.anchor),
            trial=command.trial,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "checkout_session_id"])
        .returning(Attribution.id)
    )
    created = session.execute(statement).scalar()
    if created is not None:
        return str(created)
    existing = session.scalars(
        select(Attribution.id).where(
            Attribution.workspace_id == ctx.workspace_id,
            Attribution.checkout_session_id == links.checkout_session_id,
        )
    ).one()
    return existing


def _hold_until(session: Session, program_id: str, now: datetime) -> datetime:
    days = session.scalars(select(Program.holding_days).where(Program.id == program_id)).one()
    return now + timedelta(days=days)


def _create_commission(
    session: Session, ctx: EventContext, command: CreateCommission, attribution_id: str
) -> str | None:
    attribution = session.get(Attribution, attribution_id)
    assert attribution is not None
    links = command.links
    canceled = command.canceled_reason
    statement = (
        insert(Commission)
        .values(
            id=ids.new_id("com"),
            workspace_id=ctx.workspace_id,
            program_id=attribution.program_id,
            partner_id=attribution.partner_id,
            click_id=attribution.click_id,
            attribution_id=attribution_id,
            kind=command.kind,
            month=command.month,
            status="CANCELED" if canceled else "PENDING",
            reason=canceled.value if canceled else None,
            canceled_at=ctx.now if canceled else None,
            amount=command.amount,
            original_amount=command.amount,
            currency=command.currency,
            sale_amount=command.sale_amount,
            sale_currency=command.sale_currency,
            livemode=ctx.livemode,
            business_key=command.business_key,
            checkout_session_id=links.checkout_session_id,
            subscription_id=links.subscription_id,
            invoice_id=links.invoice_id,
            payment_intent_id=links.payment_intent_id,
            charge_id=links.charge_id,
            customer_id=links.customer_id,
            service_period_start=_dt(command.service_period_start),
            hold_until=_hold_until(session, attribution.program_id, ctx.now),
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "business_key"])
        .returning(Commission.id)
    )
    created = session.execute(statement).scalar()
    return str(created) if created is not None else None


def _create_clawback(session: Session, ctx: EventContext, command: CreateClawback) -> str | None:
    original = session.get(Commission, command.reverses_commission_id)
    assert original is not None
    statement = (
        insert(Commission)
        .values(
            id=ids.new_id("com"),
            workspace_id=ctx.workspace_id,
            program_id=original.program_id,
            partner_id=original.partner_id,
            click_id=original.click_id,
            attribution_id=original.attribution_id,
            kind="CLAWBACK",
            month=None,
            # Deducted from the next payout: no holding period for money owed back.
            status="APPROVED",
            approved_at=ctx.now,
            amount=command.amount,
            original_amount=command.amount,
            currency=original.currency,
            sale_amount=0,
            sale_currency=original.sale_currency,
            livemode=original.livemode,
            reverses_commission_id=original.id,
            business_key=command.business_key,
            subscription_id=original.subscription_id,
            invoice_id=original.invoice_id,
            payment_intent_id=original.payment_intent_id,
            charge_id=original.charge_id,
            customer_id=original.customer_id,
            hold_until=ctx.now,
            created_at=ctx.now,
            updated_at=ctx.now,
        )
        .on_conflict_do_nothing(index_elements=["workspace_id", "business_key"])
        .returning(Commission.id)
    )
    created = session.execute(statement).scalar()
    return str(created) if created is not None else None


def take_parked(session: Session, workspace_id: str, wait_for: str, key: str) -> list[ParkedEvent]:
    """Remove and return the events waiting for (wait_for, key), oldest first."""
    rows = session.execute(
        delete(ParkedEvent)
        .where(
            ParkedEvent.workspace_id == workspace_id,
            ParkedEvent.wait_for == wait_for,
            ParkedEvent.wait_key == key,
        )
        .returning(ParkedEvent)
    ).scalars()
    return sorted(rows, key=lambda r: (r.created_at, r.id))


def prune_parked(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(ParkedEvent).where(ParkedEvent.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
