"""One delivery, end to end: parse -> lock and load -> decide -> apply and log -> commit.

Everything an event changes, its record in applied_events and its outcome row in the event
log are written in one transaction: either all of it is committed or none, so a retry after
any failure starts from a clean state and an event is never counted twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from config.logs import get_logger
from domain.attribution import decide_checkout
from domain.cancellation import decide_deletion
from domain.clawback import decide_refund
from domain.decisions import Command, Decision, LinkPayments
from domain.events import (
    ChargeRefunded,
    CheckoutSessionCompleted,
    InvoicePaid,
    StripeEvent,
    SubscriptionDeleted,
    parse_event,
)
from domain.recurring import decide_invoice
from storage.db import pipelined, unit_of_work
from storage.repositories import api_keys, applied_events, dead_letters, ledger
from storage.repositories.event_log import LogRow, insert_rows, send_rows
from storage.repositories.ledger import Applied, CheckoutLookup, CheckoutState, EventContext
from workers import metrics, stripe_api
from workers.context import current

log = get_logger(__name__)

#: how many rounds of parked events one delivery may release (an attribution releases an
#: invoice, whose commission releases a refund, ...); bounded so nothing can loop
MAX_RELEASE_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str  # processed | skipped | duplicate
    reason: str | None
    commission_ids: tuple[str, ...]


def _keys(*pairs: tuple[str, str | None]) -> list[str]:
    return [f"{kind}:{value}" for kind, value in pairs if value]


# Each handler has the keys its event locks (ledger.lock_keys: the Stripe objects it reads or
# changes) and a `run` that loads, decides and applies, its keys already locked.


def _checkout_keys(event: Any) -> list[str]:
    assert isinstance(event, CheckoutSessionCompleted)
    return _keys(
        ("subscription", event.subscription_id), ("payment_intent", event.payment_intent_id)
    )


def _checkout_lookup(event: CheckoutSessionCompleted) -> CheckoutLookup:
    return CheckoutLookup(
        click_id=event.click_id.strip() if event.click_id else None,
        subscription_id=event.subscription_id,
    )


@dataclass(frozen=True, slots=True)
class Plan:
    """What an event would do: the domain's decision, and the commands that apply it."""

    decision: Decision
    commands: list[Command]
    #: the attribution the commands act for, when the loader found it (invoices)
    attribution_id: str | None = None


def _checkout(
    session: Session, ctx: EventContext, event: Any, state: CheckoutState | None = None
) -> Plan:
    assert isinstance(event, CheckoutSessionCompleted)
    if state is None:
        lookup = _checkout_lookup(event)
        state = CheckoutState(
            referral=(
                ledger.load_referral(session, ctx.workspace_id, lookup.click_id)
                if lookup.click_id is not None
                else None
            ),
            subscription_ended_at=(
                ledger.subscription_end(session, ctx.workspace_id, lookup.subscription_id)
                if lookup.subscription_id
                else None
            ),
        )
    decision = decide_checkout(
        event, state.referral, subscription_ended_at=state.subscription_ended_at
    )
    return Plan(decision, list(decision.commands))


def _invoice_keys(event: Any) -> list[str]:
    assert isinstance(event, InvoicePaid)
    return _keys(
        ("subscription", event.subscription_id),
        ("charge", event.charge_id),
        *(("payment_intent", pi) for pi in event.payment_intent_ids),
    )


def _invoice(
    session: Session, ctx: EventContext, event: Any, state: CheckoutState | None = None
) -> Plan:
    assert isinstance(event, InvoicePaid)
    subscription = (
        ledger.load_subscription_state(session, ctx.workspace_id, event.subscription_id)
        if event.subscription_id
        else None
    )
    decision = decide_invoice(event, subscription)
    attribution = subscription.attribution_id if subscription is not None else None
    return Plan(decision, list(decision.commands), attribution)


def _refund_keys(event: Any) -> list[str]:
    assert isinstance(event, ChargeRefunded)
    return _keys(("payment_intent", event.payment_intent_id), ("charge", event.charge_id))


def _refund(
    session: Session, ctx: EventContext, event: Any, state: CheckoutState | None = None
) -> Plan:
    assert isinstance(event, ChargeRefunded)
    linked = ledger.load_linked_commissions(
        session,
        ctx.workspace_id,
        payment_intent_id=event.payment_intent_id,
        charge_id=event.charge_id,
        invoice_id=event.invoice_id,
    )
    links: list[Command] = []
    if not linked and event.payment_intent_id:
        invoice_id = _ask_stripe_for_invoice(session, ctx.workspace_id, event.payment_intent_id)
        if invoice_id is not None:
            linked = ledger.load_linked_commissions(
                session, ctx.workspace_id, payment_intent_id=None, charge_id=None,
                invoice_id=invoice_id,
            )  # fmt: skip
            # Remember the payment for the next refund of this charge.
            links = [
                LinkPayments(c.commission_id, invoice_id, (event.payment_intent_id,))
                for c in linked
            ]
    decision = decide_refund(event, linked)
    return Plan(decision, [*links, *decision.commands])


def _ask_stripe_for_invoice(
    session: Session, workspace_id: str, payment_intent_id: str
) -> str | None:
    """Which invoice this payment intent paid, from Stripe's API, if the workspace has a key."""
    context = current()
    if context.secret_box is None:
        return None
    key = api_keys.get_key(session, context.secret_box, workspace_id)
    if key is None:
        return None
    return stripe_api.invoice_of_payment_intent(
        key, payment_intent_id, api_base=context.stripe_api_base
    )


def _deletion_keys(event: Any) -> list[str]:
    assert isinstance(event, SubscriptionDeleted)
    return _keys(("subscription", event.subscription_id))


def _deletion(
    session: Session, ctx: EventContext, event: Any, state: CheckoutState | None = None
) -> Plan:
    assert isinstance(event, SubscriptionDeleted)
    pending = ledger.pending_of_subscription(session, ctx.workspace_id, event.subscription_id)
    decision = decide_deletion(event, pending)
    return Plan(decision, list(decision.commands))


@dataclass(frozen=True, slots=True)
class Handler:
    keys: Callable[[Any], list[str]]
    #: load what the decision needs (a checkout's state may come read already), decide
    plan: Callable[[Session, EventContext, Any, CheckoutState | None], Plan]


def _run(
    session: Session,
    ctx: EventContext,
    event: Any,
    handler: Handler,
    state: CheckoutState | None = None,
) -> tuple[Decision, Applied]:
    plan = handler.plan(session, ctx, event, state)
    applied = ledger.apply(session, ctx, plan.commands, attribution_id=plan.attribution_id)
    return plan.decision, applied


HANDLERS: Mapping[type, Handler] = {
    CheckoutSessionCompleted: Handler(_checkout_keys, _checkout),
    InvoicePaid: Handler(_invoice_keys, _invoice),
    ChargeRefunded: Handler(_refund_keys, _refund),
    SubscriptionDeleted: Handler(_deletion_keys, _deletion),
}


def _row(
    ctx: EventContext,
    decision: Decision,
    applied: Applied,
    attempt: int | None,
    reason: str | None = None,
) -> LogRow:
    return LogRow(
        "skipped" if decision.skip is not None else "processed",
        workspace_id=ctx.workspace_id,
        endpoint_id=ctx.endpoint_id,
        stripe_event_id=ctx.event_id,
        event_type=ctx.event_type,
        livemode=ctx.livemode,
        reason=decision.skip.value if decision.skip is not None else reason,
        attempt=attempt,
        commission_ids=tuple(dict.fromkeys(applied.commission_ids)),
    )


def _release(
    session: Session,
    ctx: EventContext,
    unblocked: list[tuple[str, str]],
    *,
    taken: list[ledger.Parked] | None = None,
) -> list[LogRow]:
    """Run the parked events that what was just applied unblocks, in this transaction.

    `taken`: what waited for the first of `unblocked`, already taken (process() takes it in the
    same round trip as it logs the event)."""
    rows: list[LogRow] = []
    waiting = list(unblocked)
    for _round in range(MAX_RELEASE_ROUNDS):
        if not waiting:
            break
        released_now: list[tuple[str, str]] = []
        for wait_for, key in dict.fromkeys(waiting):
            if taken is not None:
                parked_events, taken = taken, None
            else:
                parked_events = ledger.take_parked(session, ctx.workspace_id, wait_for, key)
            for parked in parked_events:
                event = parse_event(parked.body)
                parked_ctx = EventContext(
                    workspace_id=ctx.workspace_id,
                    endpoint_id=parked.endpoint_id,
                    event_id=parked.stripe_event_id,
                    event_type=parked.event_type,
                    livemode=event.livemode,
                    body=parked.body,
                    now=ctx.now,
                )
                handler = HANDLERS[type(event)]
                ledger.lock_keys(session, ctx.workspace_id, handler.keys(event))
                decision, applied = _run(session, parked_ctx, event, handler)
                rows.append(
                    _row(parked_ctx, decision, applied, None, reason=f"released_by_{wait_for}")
                )
                released_now += applied.unblocked
        waiting = released_now
    return rows


def _log_and_commit(session: Session, row: LogRow) -> None:
    """Insert the log row and commit, in one round trip (the unit of work's own commit then
    finds the transaction ended and sends nothing)."""
    with pipelined(session) as pg:
        send_rows(pg, [row])
        pg.commit()


@dataclass(frozen=True, slots=True)
class Replay:
    """How a delivery came back: from the dead letters, or by `events replay`.

    Carried in the message's kwargs as {"dead_letter_id": ...} or {"force": true}.
    """

    #: the dead letter this replays: closed as replayed in the replay's own transaction
    dead_letter_id: str | None = None
    #: run the event even though it was applied before (after fixing a click, say): its
    #: business keys keep what it already did from being done twice
    force: bool = False

    @classmethod
    def of(cls, delivery: Mapping[str, Any]) -> Replay | None:
        raw = delivery.get("replay")
        if not isinstance(raw, Mapping):
            return None
        dead_letter_id = raw.get("dead_letter_id")
        return cls(
            dead_letter_id=str(dead_letter_id) if dead_letter_id else None,
            force=raw.get("force") is True,
        )

    def detail(self) -> dict[str, Any]:
        if self.dead_letter_id is not None:
            return {"replay_of": self.dead_letter_id}
        return {"replay": "forced" if self.force else "event"}


def _context(delivery: Mapping[str, Any], event: StripeEvent, now: datetime) -> EventContext:
    return EventContext(
        workspace_id=delivery["workspace_id"],
        endpoint_id=delivery["endpoint_id"],
        event_id=event.event_id,
        event_type=delivery["event_type"],
        livemode=event.livemode,
        body=delivery["body"],
        now=now,
    )


def process(delivery: Mapping[str, Any], *, attempt: int | None = None) -> Outcome:
    """Apply one delivery (the actor's kwargs, as the ingress queued them)."""
    started = time.perf_counter()
    context = current()
    event: StripeEvent = parse_event(delivery["body"])
    ctx = _context(delivery, event, context.clock())
    replay = Replay.of(delivery)
    bound = log.bind(
        event_id=ctx.event_id,
        event_type=ctx.event_type,
        endpoint_id=ctx.endpoint_id,
        workspace_id=ctx.workspace_id,
        attempt=attempt,
    )
    handler = HANDLERS[type(event)]
    keys = handler.keys(event)
    lookup = _checkout_lookup(event) if isinstance(event, CheckoutSessionCompleted) else None
    with unit_of_work(context.factory) as session:
        begun = ledger.begin_event(
            session, ctx.workspace_id, ctx.event_id, ctx.event_type, keys,
            endpoint_id=ctx.endpoint_id, body=ctx.body, checkout=lookup,
        )  # fmt: skip
        if not begun.new and not (replay is not None and replay.force):
            # Applied before (a resend past the ingress' window, or a replay): nothing to do.
            row = LogRow(
                "duplicate",
                workspace_id=ctx.workspace_id,
                endpoint_id=ctx.endpoint_id,
                stripe_event_id=ctx.event_id,
                event_type=ctx.event_type,
                livemode=ctx.livemode,
                attempt=attempt,
                reason="already_applied",
                detail=replay.detail() if replay is not None else None,
            )
            _close_dead_letter(session, replay, "duplicate", ctx.now)
            _log_and_commit(session, row)
            outcome = Outcome("duplicate", "already_applied", ())
        else:
            decision, applied = _run(session, ctx, event, handler, begun.state)
            row = _row(ctx, decision, applied, attempt)
            if replay is not None:
                row = replace(row, detail=replay.detail())
            _close_dead_letter(
                session, replay, row.outcome + (f": {row.reason}" if row.reason else ""), ctx.now
            )
            locked = {tuple(key.split(":", 1)) for key in keys}
            if not begun.parked_waiting and all(u in locked for u in applied.unblocked):
                # Nothing waits on what this event locked, so nothing it applied can release
                # a parked event: the log row ends the transaction (the common case).
                _log_and_commit(session, row)
            elif applied.unblocked:
                # The event's log row, and the events parked for the first thing it unblocked,
                # in one statement. Rows of released events follow this one.
                taken = ledger.log_and_take_parked(
                    session, row, ctx.workspace_id, *applied.unblocked[0]
                )
                insert_rows(session, _release(session, ctx, applied.unblocked, taken=taken))
            else:
                insert_rows(session, [row])
            outcome = Outcome(row.outcome, row.reason, row.commission_ids)
    metrics.observe_outcome(
        ctx.event_type,
        outcome.outcome,
        outcome.reason,
        # A replay's latency would count the days it spent as a dead letter: not observed.
        received_at_ms=None if replay is not None else delivery.get("received_at"),
        now_ms=int(time.time() * 1000),
        processing=time.perf_counter() - started,
    )
    bound.info(
        "event." + outcome.outcome,
        outcome=outcome.outcome,
        reason=outcome.reason,
        commissions=list(outcome.commission_ids),
    )
    return outcome


def _close_dead_letter(
    session: Session, replay: Replay | None, outcome: str, now: datetime
) -> None:
    if replay is not None and replay.dead_letter_id is not None:
        dead_letters.mark_replayed(session, replay.dead_letter_id, outcome, now=now)


@dataclass(frozen=True, slots=True)
class Preview:
    """What a delivery would do now (a dry run): nothing is written."""

    #: planned (it would run) | duplicate (applied before: it would change nothing)
    outcome: str
    skip: str | None
    commands: tuple[Command, ...]


def preview(delivery: Mapping[str, Any]) -> Preview:
    """Load and decide exactly as `process` would, in a transaction that writes nothing and is
    rolled back. Parked events its effects would release are not previewed."""
    context = current()
    event: StripeEvent = parse_event(delivery["body"])
    ctx = _context(delivery, event, context.clock())
    replay = Replay.of(delivery)
    handler = HANDLERS[type(event)]
    with context.factory() as session:
        try:
            applied = ctx.event_id in applied_events.applied_among(
                session, ctx.workspace_id, [ctx.event_id]
            )
            if applied and not (replay is not None and replay.force):
                return Preview("duplicate", None, ())
            plan = handler.plan(session, ctx, event, None)
        finally:
            session.rollback()
    skip = plan.decision.skip.value if plan.decision.skip is not None else None
    return Preview("planned", skip, tuple(plan.commands))
