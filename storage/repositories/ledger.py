"""The ledger side of the rules: load what a decision needs, apply what it decided.

Loading and applying happen in the caller's transaction (the worker's unit of work), with
the event's keys locked first (`lock_keys`), so two events about one subscription or payment
never interleave: one of them always sees the other's effects.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, or_, select, update
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
from storage.db import driver_connection, pipelined
from storage.models import (
    Attribution,
    Commission,
    ParkedEvent,
    Program,
    SubscriptionEnd,
)
from storage.repositories import clicks, event_log
from storage.repositories.event_log import LogRow
from storage.repositories.programs import make_terms, terms_of

#: the shape of click ids this service makes (storage.ids): anything else is unknown at once
_CLICK_ID = clicks.CLICK_ID
#: how long an event waiting for its attribution or sale is kept (at least Stripe's 3 days)
PARK_FOR = timedelta(days=7)
_UNPAID = ("PENDING", "APPROVED")


def _ts(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _dt(seconds: int | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds is not None else None


# The hot path (every event runs it) sends plain SQL on the transaction's psycopg connection:
# SQLAlchemy's per-statement work (the ORM's DML above all) cost more CPU than PostgreSQL's,
# and statements sent directly can share a round trip (storage.db.pipelined). psycopg prepares
# each of them server-side once it has run a few times on a connection.

#: the event's advisory locks (its keys, sorted, taken in that order), then its record in
#: applied_events and, if that is new, its raw body in event_payloads; no row returned: it
#: was applied before
_APPLY_ONCE = """
WITH applied AS (
    INSERT INTO applied_events (workspace_id, stripe_event_id, event_type)
    SELECT %(ws)s, %(event_id)s, %(event_type)s
    FROM (SELECT count(pg_advisory_xact_lock(k)) AS n FROM unnest(%(keys)s::bigint[]) AS k)
        AS locked
    WHERE locked.n >= 0
    ON CONFLICT DO NOTHING
    RETURNING stripe_event_id
), kept AS (
    INSERT INTO event_payloads (workspace_id, stripe_event_id, endpoint_id, event_type, body)
    SELECT %(ws)s, stripe_event_id, %(endpoint_id)s, %(event_type)s, %(body)s FROM applied
    ON CONFLICT DO NOTHING
)
"""
_NEW = "SELECT stripe_event_id FROM applied"
_BEGIN_EVENT = _APPLY_ONCE + _NEW
_LOCK = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k"
_REFERRAL = """
SELECT c.id, p.id, g.id, g.reward_kind, g.percent_bps, g.flat_amount, g.currency,
       g.recurring_months, g.holding_days
FROM clicks c
JOIN partners p ON p.id = c.partner_id AND p.workspace_id = c.workspace_id
JOIN programs g ON g.id = p.program_id AND g.workspace_id = p.workspace_id
WHERE c.workspace_id = %(ws)s AND c.id = %(click)s
"""
#: _BEGIN_EVENT and _REFERRAL in one statement: whether the event is new, then the referral's
#: columns (NULLs: no such click). The referral is not among what the locks protect (events
#: never change clicks, partners or programs): reading it with the statement's snapshot, taken
#: before the locks, is as good as after.
_NEW_AND_REFERRAL = """
SELECT EXISTS (SELECT FROM applied), r.*
FROM (SELECT) AS one
LEFT JOIN (
    SELECT c.id, p.id, g.id, g.reward_kind, g.percent_bps, g.flat_amount, g.currency,
           g.recurring_months, g.holding_days
    FROM clicks c
    JOIN partners p ON p.id = c.partner_id AND p.workspace_id = c.workspace_id
    JOIN programs g ON g.id = p.program_id AND g.workspace_id = p.workspace_id
    WHERE c.workspace_id = %(ws)s AND c.id = %(click)s
) AS r ON true
"""
_BEGIN_CHECKOUT = _APPLY_ONCE + _NEW_AND_REFERRAL
_SUBSCRIPTION_END = """
SELECT ended_at FROM subscription_ends WHERE workspace_id = %(ws)s AND subscription_id = %(sub)s
"""


def _lock_ids(workspace_id: str, keys: Iterable[str]) -> list[int]:
    """The advisory lock ids of the keys, in the order they are taken (sorted by key)."""
    return [
        int.from_bytes(
            hashlib.blake2b(f"{workspace_id}|{key}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        for key in sorted(set(keys))
    ]


def lock_keys(session: Session, workspace_id: str, keys: Iterable[str]) -> None:
    """Serialize the events of one workspace that touch the same Stripe objects.

    Transaction-scoped advisory locks, taken in sorted order so two events never deadlock.
    """
    ids_ = _lock_ids(workspace_id, keys)
    if ids_:
        driver_connection(session).execute(_LOCK, {"keys": ids_})


@dataclass(frozen=True, slots=True)
class CheckoutLookup:
    """What a checkout's decision needs to read: its click, and its subscription's end."""

    click_id: str | None
    subscription_id: str | None


@dataclass(frozen=True, slots=True)
class CheckoutState:
    referral: Referral | None
    subscription_ended_at: int | None


_PARKED_WAITING = """
SELECT EXISTS (
    SELECT FROM parked_events
    WHERE workspace_id = %(ws)s
      AND (wait_for, wait_key) IN (SELECT * FROM unnest(%(kinds)s::text[], %(values)s::text[]))
)
"""


@dataclass(frozen=True, slots=True)
class Begun:
    """What begin_event found."""

    #: False: the event was applied before
    new: bool
    #: with `checkout`: what the checkout's decision reads
    state: CheckoutState | None
    #: whether parked events wait on any of the event's keys: when none does, nothing the event
    #: applies can release one, and its transaction can end with its log row (see pipeline)
    parked_waiting: bool


def begin_event(
    session: Session,
    workspace_id: str,
    event_id: str,
    event_type: str,
    keys: Iterable[str],
    *,
    endpoint_id: str,
    body: str,
    checkout: CheckoutLookup | None = None,
) -> Begun:
    """Lock the event's keys (`lock_keys`), then record that its effects are being committed
    (not new if it already was) and keep its raw body (event_payloads, for `events replay`).
    With `checkout`, also read what a checkout's decision needs.

    One round trip, the transaction's BEGIN included. The statements that must see what was
    committed before the locks were granted (a subscription's end, parked events: both are
    written under the same locks) run after the one that takes them: under READ COMMITTED a
    statement's snapshot is taken when it starts, so the locking statement could miss them.
    """
    keys = sorted(set(keys))
    params: dict[str, Any] = {
        "ws": workspace_id,
        "event_id": event_id,
        "event_type": event_type,
        "keys": _lock_ids(workspace_id, keys),
        "endpoint_id": endpoint_id,
        "body": body,
    }
    kinds, values = zip(*(key.split(":", 1) for key in keys), strict=True) if keys else ((), ())
    ended = None
    with pipelined(session) as pg:
        if checkout is None:
            begun = pg.execute(_BEGIN_EVENT, params)
        else:
            click = checkout.click_id
            params["click"] = click if click is not None and _CLICK_ID.match(click) else None
            begun = pg.execute(_BEGIN_CHECKOUT, params)
            if checkout.subscription_id is not None:
                ended = pg.execute(
                    _SUBSCRIPTION_END, {"ws": workspace_id, "sub": checkout.subscription_id}
                )
        waiting = pg.execute(
            _PARKED_WAITING, {"ws": workspace_id, "kinds": list(kinds), "values": list(values)}
        )
    waiting_row = waiting.fetchone()
    parked_waiting = bool(waiting_row[0]) if waiting_row is not None else False
    if checkout is None:
        return Begun(begun.fetchone() is not None, None, parked_waiting)
    first = begun.fetchone()
    assert first is not None
    new, *referral = first
    end = ended.fetchone() if ended is not None else None
    state = CheckoutState(
        referral=_referral(tuple(referral)) if referral[0] is not None else None,
        subscription_ended_at=_ts(end[0]) if end is not None else None,
    )
    return Begun(bool(new), state, parked_waiting)


def _referral(row: tuple[Any, ...] | None) -> Referral | None:
    if row is None:
        return None
    click, partner, program, kind, bps, flat, currency, months, holding = row
    return Referral(click, partner, program, make_terms(kind, bps, flat, currency, months, holding))


def load_referral(session: Session, workspace_id: str, click_id: str) -> Referral | None:
    if not _CLICK_ID.match(click_id):
        return None
    cursor = driver_connection(session).execute(_REFERRAL, {"ws": workspace_id, "click": click_id})
    return _referral(cursor.fetchone())


def _referral_of(session: Session, attribution: Attribution) -> Referral:
    program = session.get(Program, attribution.program_id)
    assert program is not None
    return Referral(attribution.click_id, attribution.partner_id, program.id, terms_of(program))


def subscription_end(session: Session, workspace_id: str, subscription_id: str) -> int | None:
    cursor = driver_connection(session).execute(
        _SUBSCRIPTION_END, {"ws": workspace_id, "sub": subscription_id}
    )
    row = cursor.fetchone()
    return _ts(row[0]) if row is not None else None


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


@dataclass(frozen=True, slots=True)
class Credited:
    """Whom an attribution credits and its program's holding days: what a commission copies."""

    attribution_id: str
    program_id: str
    partner_id: str
    click_id: str
    holding_days: int


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
        if isinstance(command, CreateAttribution) and isinstance(following, CreateCommission):
            # A checkout's attribution and its first commission: one statement, same effects.
            _apply_attribution_and_commission(session, ctx, command, following, result)
            at += 2
            continue
        _APPLY[type(command)](session, ctx, command, result)
        at += 1
    return result


def _apply_attribution(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    result.attribution_id, result.credited = _create_attribution(session, ctx, c)
    if c.links.subscription_id:
        result.unblocked.append(("subscription", c.links.subscription_id))


def _apply_commission(session: Session, ctx: EventContext, c: Any, result: Applied) -> None:
    assert result.attribution_id is not None, "a commission needs its attribution"
    created = _create_commission(session, ctx, c, _credited(session, result))
    _commission_applied(c, created, result)


def _commission_applied(c: CreateCommission, created: str | None, result: Applied) -> None:
    if created is None:
        return
    result.commission_ids.append(created)
    if c.links.payment_intent_id:
        result.unblocked.append(("payment_intent", c.links.payment_intent_id))
    if c.links.charge_id:
        result.unblocked.append(("charge", c.links.charge_id))


def _apply_attribution_and_commission(
    session: Session,
    ctx: EventContext,
    attribution: CreateAttribution,
    commission: CreateCommission,
    result: Applied,
) -> None:
    """_apply_attribution then _apply_commission, in one statement (_ATTRIBUTE_AND_COMMISSION)."""
    params = {
        **_attribution_params(ctx, attribution),
        **{f"c_{k}": v for k, v in _commission_params(ctx, commission).items()},
    }
    row = driver_connection(session).execute(_ATTRIBUTE_AND_COMMISSION, params).fetchone()
    if row is None:
        # Another transaction created the attribution after this statement's snapshot (possible
        # only for a checkout without keys to lock): nothing was written; the statements one by
        # one see it.
        _apply_attribution(session, ctx, attribution, result)
        _apply_commission(session, ctx, commission, result)
        return
    attribution_id, created_now, commission_id = row
    result.attribution_id = attribution_id
    referral = attribution.referral
    result.credited = (
        Credited(
            attribution_id,
            referral.program_id,
            referral.partner_id,
            referral.click_id,
            referral.terms.holding_days,
        )
        if created_now
        else None
    )
    if attribution.links.subscription_id:
        result.unblocked.append(("subscription", attribution.links.subscription_id))
    _commission_applied(commission, commission_id, result)


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


_INSERT_ATTRIBUTION = """
INSERT INTO attributions (id, workspace_id, click_id, partner_id, program_id, livemode,
    checkout_session_id, customer_id, subscription_id, payment_intent_id, invoice_id, anchor_at,
    trial)
VALUES (%(id)s, %(workspace_id)s, %(click_id)s, %(partner_id)s, %(program_id)s, %(livemode)s,
    %(checkout_session_id)s, %(customer_id)s, %(subscription_id)s, %(payment_intent_id)s,
    %(invoice_id)s, %(anchor_at)s, %(trial)s)
ON CONFLICT (workspace_id, checkout_session_id) DO NOTHING
RETURNING id
"""
_ATTRIBUTION_OF_SESSION = """
SELECT id FROM attributions WHERE workspace_id = %(ws)s AND checkout_session_id = %(session)s
"""
_CREDITED = """
SELECT a.program_id, a.partner_id, a.click_id, g.holding_days
FROM attributions a JOIN programs g ON g.id = a.program_id
WHERE a.id = %(id)s
"""
_INSERT_COMMISSION = """
INSERT INTO commissions (id, workspace_id, program_id, partner_id, click_id, attribution_id, kind,
    month, status, reason, canceled_at, amount, original_amount, currency, sale_amount,
    sale_currency, livemode, business_key, checkout_session_id, subscription_id, invoice_id,
    payment_intent_id, charge_id, customer_id, service_period_start, hold_until, created_at,
    updated_at)
VALUES (%(id)s, %(workspace_id)s, %(program_id)s, %(partner_id)s, %(click_id)s,
    %(attribution_id)s, %(kind)s, %(month)s, %(status)s, %(reason)s, %(canceled_at)s,
    %(amount)s, %(original_amount)s, %(currency)s, %(sale_amount)s, %(sale_currency)s,
    %(livemode)s, %(business_key)s, %(checkout_session_id)s, %(subscription_id)s,
    %(invoice_id)s, %(payment_intent_id)s, %(charge_id)s, %(customer_id)s,
    %(service_period_start)s, %(hold_until)s, %(created_at)s, %(updated_at)s)
ON CONFLICT (workspace_id, business_key) DO NOTHING
RETURNING id
"""
#: _INSERT_ATTRIBUTION, then _INSERT_COMMISSION for the attribution (created now or found),
#: copying its click, partner and program and holding for its program's days (in seconds, as
#: Python's timedelta(days=) does: no calendar arithmetic in the server's time zone). Returns
#: the attribution's id, whether it was created now, and the commission's id if created.
_ATTRIBUTE_AND_COMMISSION = """
WITH created AS (
    INSERT INTO attributions (id, workspace_id, click_id, partner_id, program_id, livemode,
        checkout_session_id, customer_id, subscription_id, payment_intent_id, invoice_id,
        anchor_at, trial)
    VALUES (%(id)s, %(workspace_id)s, %(click_id)s, %(partner_id)s, %(program_id)s,
        %(livemode)s, %(checkout_session_id)s, %(customer_id)s, %(subscription_id)s,
        %(payment_intent_id)s, %(invoice_id)s, %(anchor_at)s, %(trial)s)
    ON CONFLICT (workspace_id, checkout_session_id) DO NOTHING
    RETURNING id, program_id, partner_id, click_id
), attribution AS (
    SELECT id, program_id, partner_id, click_id FROM created
    UNION ALL
    SELECT id, program_id, partner_id, click_id FROM attributions
    WHERE workspace_id = %(workspace_id)s AND checkout_session_id = %(checkout_session_id)s
      AND NOT EXISTS (SELECT FROM created)
), commission AS (
    INSERT INTO commissions (id, workspace_id, program_id, partner_id, click_id, attribution_id,
        kind, month, status, reason, canceled_at, amount, original_amount, currency,
        sale_amount, sale_currency, livemode, business_key, checkout_session_id,
        subscription_id, invoice_id, payment_intent_id, charge_id, customer_id,
        service_period_start, hold_until, created_at, updated_at)
    SELECT %(c_id)s, %(c_workspace_id)s, a.program_id, a.partner_id, a.click_id, a.id,
        %(c_kind)s, %(c_month)s, %(c_status)s, %(c_reason)s, %(c_canceled_at)s, %(c_amount)s,
        %(c_original_amount)s, %(c_currency)s, %(c_sale_amount)s, %(c_sale_currency)s,
        %(c_livemode)s, %(c_business_key)s, %(c_checkout_session_id)s, %(c_subscription_id)s,
        %(c_invoice_id)s, %(c_payment_intent_id)s, %(c_charge_id)s, %(c_customer_id)s,
        %(c_service_period_start)s,
        %(c_now)s::timestamptz + make_interval(secs => g.holding_days * 86400),
        %(c_created_at)s, %(c_updated_at)s
    FROM attribution a JOIN programs g ON g.id = a.program_id
    ON CONFLICT (workspace_id, business_key) DO NOTHING
    RETURNING id
)
SELECT a.id, EXISTS (SELECT FROM created), (SELECT id FROM commission) FROM attribution a
"""


def _create_attribution(
    session: Session, ctx: EventContext, command: CreateAttribution
) -> tuple[str, Credited | None]:
    """The attribution's id, and whom it credits if it was created now (None: it existed)."""
    links = command.links
    referral = command.referral
    params = _attribution_params(ctx, command)
    pg = driver_connection(session)
    row = pg.execute(_INSERT_ATTRIBUTION, params).fetchone()
    if row is not None:
        created = row[0]
        credited = Credited(
            str(created),
            referral.program_id,
            referral.partner_id,
            referral.click_id,
            referral.terms.holding_days,
        )
        return str(created), credited
    existing = pg.execute(
        _ATTRIBUTION_OF_SESSION, {"ws": ctx.workspace_id, "session": links.checkout_session_id}
    ).fetchone()
    assert existing is not None
    return str(existing[0]), None


def _attribution_params(ctx: EventContext, command: CreateAttribution) -> dict[str, Any]:
    links = command.links
    assert links.checkout_session_id is not None
    referral = command.referral
    return {
        "id": ids.new_id("att"),
        "workspace_id": ctx.workspace_id,
        "click_id": referral.click_id,
        "partner_id": referral.partner_id,
        "program_id": referral.program_id,
        "livemode": command.livemode,
        "checkout_session_id": links.checkout_session_id,
        "customer_id": links.customer_id,
        "subscription_id": links.subscription_id,
        "payment_intent_id": links.payment_intent_id,
        "invoice_id": links.invoice_id,
        "anchor_at": _dt(command.anchor),
        "trial": command.trial,
    }


def _credited(session: Session, result: Applied) -> Credited:
    """Whom the decision's attribution credits: as just created, or read with its program."""
    attribution_id = result.attribution_id
    assert attribution_id is not None, "a commission needs its attribution"
    if result.credited is not None and result.credited.attribution_id == attribution_id:
        return result.credited
    row = driver_connection(session).execute(_CREDITED, {"id": attribution_id}).fetchone()
    assert row is not None
    program_id, partner_id, click_id, holding_days = row
    result.credited = Credited(attribution_id, program_id, partner_id, click_id, holding_days)
    return result.credited


def _create_commission(
    session: Session, ctx: EventContext, command: CreateCommission, credited: Credited
) -> str | None:
    params = {
        **_commission_params(ctx, command),
        "program_id": credited.program_id,
        "partner_id": credited.partner_id,
        "click_id": credited.click_id,
        "attribution_id": credited.attribution_id,
        "hold_until": ctx.now + timedelta(days=credited.holding_days),
    }
    row = driver_connection(session).execute(_INSERT_COMMISSION, params).fetchone()
    return str(row[0]) if row is not None else None


def _commission_params(ctx: EventContext, command: CreateCommission) -> dict[str, Any]:
    """A commission's columns but those it copies from its attribution and program."""
    links = command.links
    canceled = command.canceled_reason
    return {
        "id": ids.new_id("com"),
        "workspace_id": ctx.workspace_id,
        "kind": command.kind,
        "month": command.month,
        "status": "CANCELED" if canceled else "PENDING",
        "reason": canceled.value if canceled else None,
        "canceled_at": ctx.now if canceled else None,
        "amount": command.amount,
        "original_amount": command.amount,
        "currency": command.currency,
        "sale_amount": command.sale_amount,
        "sale_currency": command.sale_currency,
        "livemode": ctx.livemode,
        "business_key": command.business_key,
        "checkout_session_id": links.checkout_session_id,
        "subscription_id": links.subscription_id,
        "invoice_id": links.invoice_id,
        "payment_intent_id": links.payment_intent_id,
        "charge_id": links.charge_id,
        "customer_id": links.customer_id,
        "service_period_start": _dt(command.service_period_start),
        "now": ctx.now,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }


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


@dataclass(frozen=True, slots=True)
class Parked:
    """A parked event, as take_parked removed it."""

    id: int
    endpoint_id: str
    stripe_event_id: str
    event_type: str
    body: str
    created_at: datetime


_TAKE_PARKED = """
DELETE FROM parked_events
WHERE workspace_id = %(ws)s AND wait_for = %(wait_for)s AND wait_key = %(key)s
RETURNING id, endpoint_id, stripe_event_id, event_type, body, created_at
"""


#: the event's log row (event_log's statement, as a CTE: it runs whatever the DELETE finds),
#: then _TAKE_PARKED: what finishes most events, in one statement
_LOG_AND_TAKE_PARKED = "WITH logged AS (" + event_log.INSERT + ")" + _TAKE_PARKED


def log_and_take_parked(
    session: Session, row: LogRow, workspace_id: str, wait_for: str, key: str
) -> list[Parked]:
    """event_log.insert_rows([row]), then take_parked(...), in one statement."""
    assert row.created_at is None, "a row the pipeline writes takes the server's time"
    params = {
        **event_log.params(row),
        "ws": workspace_id,
        "wait_for": wait_for,
        "key": key,
    }
    cursor = driver_connection(session).execute(_LOG_AND_TAKE_PARKED, params)
    return sorted((Parked(*r) for r in cursor.fetchall()), key=lambda r: (r.created_at, r.id))


def take_parked(session: Session, workspace_id: str, wait_for: str, key: str) -> list[Parked]:
    """Remove and return the events waiting for (wait_for, key), oldest first."""
    cursor = driver_connection(session).execute(
        _TAKE_PARKED, {"ws": workspace_id, "wait_for": wait_for, "key": key}
    )
    return sorted((Parked(*r) for r in cursor.fetchall()), key=lambda r: (r.created_at, r.id))


def prune_parked(session: Session, *, now: datetime) -> int:
    result = session.execute(delete(ParkedEvent).where(ParkedEvent.expires_at <= now))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
