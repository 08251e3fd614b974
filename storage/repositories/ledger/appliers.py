"""A decision's commands turned into ledger rows, in order, in the event's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.decisions import (
    CancelCommission,
    Command,
    CreateAttribution,
    CreateClawback,
    CreateCommission,
    JoinAttribution,
    LinkPayments,
    Park,
    RecordDispute,
    RecordRefundFailure,
    RecordRefundSnapshot,
    RecordSubscriptionEnd,
    Renumber,
    RestateCommission,
    SetAnchor,
)
from storage.db import driver_connection
from storage.errors import InvariantViolation
from storage.models import Attribution, Commission, SubscriptionEnd
from storage.repositories.ledger import charge_writes, creating, parking, statements
from storage.repositories.ledger.context import EventContext, to_datetime
from storage.repositories.ledger.creating import Credited

_UNPAID = ("PENDING", "APPROVED")


@dataclass
class Applied:
    """What applying a decision changed, and what may now unblock parked events."""

    commission_ids: list[str] = field(default_factory=list)
    #: (wait_for, key) pairs that just appeared: parked events waiting on them can run now
    unblocked: list[tuple[str, str]] = field(default_factory=list)
    attribution_id: str | None = None
    #: the attribution this decision created, as its commissions need it (saves reading it back)
    credited: Credited | None = None


def apply(
    session: Session,
    ctx: EventContext,
    commands: Sequence[Command],
    *,
    attribution_id: str | None = None,
) -> Applied:
    """Apply a decision's commands, in order, in the caller's transaction."""
    result = Applied(attribution_id=attribution_id)
    at = 0
    while at < len(commands):
        command = commands[at]
        following = commands[at + 1] if at + 1 < len(commands) else None
        if (
            isinstance(command, CreateAttribution)
            and isinstance(following, CreateCommission)
            and command.links.checkout_session_id is not None
        ):
            # An attribution and its first commission: one statement, same effects.
            _attribution_and_commission(session, ctx, command, following, result)
            at += 2
            continue
        _apply_one(session, ctx, command, result)
        at += 1
    return result


def _apply_one(session: Session, ctx: EventContext, command: Command, result: Applied) -> None:
    match command:
        case CreateAttribution():
            _attribution(session, ctx, command, result)
        case CreateCommission():
            _commission(session, ctx, command, result)
        case JoinAttribution():
            _join(session, ctx, command, result)
        case LinkPayments():
            _link(session, ctx, command, result)
        case SetAnchor():
            session.execute(
                update(Attribution)
                .where(Attribution.id == command.attribution_id)
                .values(anchor_at=to_datetime(command.anchor))
            )
        case Renumber():
            session.execute(
                update(Commission)
                .where(Commission.id == command.commission_id)
                .values(month=command.month, updated_at=ctx.now)
            )
            result.commission_ids.append(command.commission_id)
        case CancelCommission():
            _cancel(session, ctx, command, result)
        case CreateClawback():
            created = creating.create_clawback(session, ctx, command)
            if created is not None:
                result.commission_ids.append(created)
        case RecordSubscriptionEnd():
            _subscription_end(session, ctx, command)
        case Park():
            parking.park(session, ctx, command.wait_for, command.key)
        case RestateCommission() | RecordRefundSnapshot() | RecordRefundFailure() | RecordDispute():
            _charge(session, ctx, command, result)


def _charge(
    session: Session,
    ctx: EventContext,
    command: RestateCommission | RecordRefundSnapshot | RecordRefundFailure | RecordDispute,
    result: Applied,
) -> None:
    """domain.charge_losses' commands: a charge's fact recorded, an unpaid entry restated."""
    if isinstance(command, RestateCommission):
        if charge_writes.restate(session, ctx, command):
            result.commission_ids.append(command.commission_id)
    else:
        charge_writes.record_fact(session, ctx, command)


def _attribution(
    session: Session, ctx: EventContext, command: CreateAttribution, result: Applied
) -> None:
    result.attribution_id, result.credited = creating.create_attribution(session, ctx, command)
    _attribution_unblocks(command, result)


def _attribution_unblocks(command: CreateAttribution, result: Applied) -> None:
    """What waits for an attribution: its subscription's invoices, its session's delayed
    payment (the checkout's lock keys hold both, so nothing is released when none waits)."""
    if command.links.checkout_session_id:
        result.unblocked.append(("checkout_session", command.links.checkout_session_id))
    if command.links.subscription_id:
        result.unblocked.append(("subscription", command.links.subscription_id))


def _join(session: Session, ctx: EventContext, command: JoinAttribution, result: Applied) -> None:
    driver_connection(session).execute(
        statements.JOIN_ATTRIBUTION,
        {
            "id": command.attribution_id,
            "ws": ctx.workspace_id,
            "session": command.checkout_session_id,
        },
    )
    result.attribution_id = command.attribution_id
    # the session's delayed payment may wait for the session's attribution
    result.unblocked.append(("checkout_session", command.checkout_session_id))


def _credited(session: Session, result: Applied) -> Credited:
    """Whom the decision's attribution credits: as just created, or read with its program."""
    attribution_id = result.attribution_id
    if attribution_id is None:
        raise InvariantViolation("a commission needs its attribution")
    if result.credited is None or result.credited.attribution_id != attribution_id:
        result.credited = creating.credited_by(session, attribution_id)
    return result.credited


def _commission(
    session: Session, ctx: EventContext, command: CreateCommission, result: Applied
) -> None:
    created = creating.create_commission(session, ctx, command, _credited(session, result))
    _commission_applied(command, created, result)


def _commission_applied(command: CreateCommission, created: str | None, result: Applied) -> None:
    if created is None:
        return
    result.commission_ids.append(created)
    if command.links.payment_intent_id:
        result.unblocked.append(("payment_intent", command.links.payment_intent_id))
    if command.links.charge_id:
        result.unblocked.append(("charge", command.links.charge_id))
    if command.links.invoice_id:
        # A refund or dispute of a basil invoice whose payload named no payment (so neither
        # its payment intent nor its charge is known here) waits on the invoice Stripe's API
        # named for it (workers/events/charge_common.py).
        result.unblocked.append(("invoice", command.links.invoice_id))


def _attribution_and_commission(
    session: Session,
    ctx: EventContext,
    attribution: CreateAttribution,
    commission: CreateCommission,
    result: Applied,
) -> None:
    """_attribution then _commission, in one statement (statements.ATTRIBUTE_AND_COMMISSION)."""
    params = {
        **creating.attribution_params(ctx, attribution),
        **{f"c_{k}": v for k, v in creating.commission_params(ctx, commission).items()},
    }
    pg = driver_connection(session)
    row = pg.execute(statements.ATTRIBUTE_AND_COMMISSION, params).fetchone()
    if row is None:
        # Another transaction created the attribution after this statement's snapshot (possible
        # only for a checkout without keys to lock): nothing was written; the statements one by
        # one see it.
        _attribution(session, ctx, attribution, result)
        _commission(session, ctx, commission, result)
        return
    attribution_id, created_now, commission_id = row
    result.attribution_id = attribution_id
    result.credited = Credited.of(attribution_id, attribution) if created_now else None
    _attribution_unblocks(attribution, result)
    _commission_applied(commission, commission_id, result)


def _link(session: Session, ctx: EventContext, command: LinkPayments, result: Applied) -> None:
    first = (
        command.payment_intent_ids[0]
        if command.payment_intent_ids
        else Commission.payment_intent_id
    )
    session.execute(
        update(Commission)
        .where(Commission.id == command.commission_id)
        .values(invoice_id=command.invoice_id, payment_intent_id=first, updated_at=ctx.now)
    )
    result.commission_ids.append(command.commission_id)
    result.unblocked += [("payment_intent", pi) for pi in command.payment_intent_ids]


def _cancel(
    session: Session, ctx: EventContext, command: CancelCommission, result: Applied
) -> None:
    # Never a PAID entry: money already paid is reversed by a CLAWBACK instead.
    changed = session.execute(
        update(Commission)
        .where(Commission.id == command.commission_id, Commission.status.in_(_UNPAID))
        .values(
            status="CANCELED",
            reason=command.reason.value,
            canceled_at=ctx.now,
            updated_at=ctx.now,
        )
        .returning(Commission.id)
    ).scalar()
    if changed:
        result.commission_ids.append(changed)


def _subscription_end(session: Session, ctx: EventContext, command: RecordSubscriptionEnd) -> None:
    statement = insert(SubscriptionEnd).values(
        workspace_id=ctx.workspace_id,
        subscription_id=command.subscription_id,
        ended_at=to_datetime(command.ended_at),
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id", "subscription_id"],
            set_={"ended_at": func.least(SubscriptionEnd.ended_at, statement.excluded.ended_at)},
        )
    )
