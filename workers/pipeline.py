"""The event frame: every delivery runs the same steps, whatever its type.

    parse (its module's parser)  ->  apply once (locks, applied_events, retained payload, and
    the reads that ride along)   ->  load  ->  decide  ->  apply  ->  log  ->  release parked
    events, then commit

Everything an event changes, its record in applied_events and its outcome row in the event
log are written in one transaction: either all of it is committed or none, so a retry after
any failure starts from a clean state and an event is never counted twice. What is specific to
an event type lives in its module (workers/events/); nothing here names one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.orm import Session

from config.logs import get_logger
from domain.decisions import Command
from storage.db import pipelined, unit_of_work
from storage.repositories import applied_events, dead_letters
from storage.repositories.event_log import LogRow, insert_rows, send_rows
from storage.repositories.ledger import appliers, parking
from storage.repositories.ledger.applied_once import Preloaded, begin_event
from storage.repositories.ledger.appliers import Applied
from storage.repositories.ledger.context import EventContext, account_of
from storage.repositories.ledger.locks import lock_keys
from workers import metrics
from workers.context import current
from workers.contract import Delivery, Replay
from workers.events import MODULES
from workers.events.base import Plan, Prepared
from workers.failures import MalformedDelivery

log = get_logger(__name__)

#: how many rounds of parked events one delivery may release (an attribution releases an
#: invoice, whose commission releases a refund, ...); bounded so nothing can loop
MAX_RELEASE_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Outcome:
    outcome: str  # processed | skipped | duplicate
    reason: str | None
    commission_ids: tuple[str, ...]


def prepare(event_type: str, body: str, workspace_id: str) -> Prepared:
    """Parse the body with its type's module (EventParseError if it is not one)."""
    module = MODULES.get(event_type)
    if module is None:
        raise MalformedDelivery(f"no module handles {event_type!r}")
    return module.prepare(body, workspace_id)


def _run(
    session: Session, ctx: EventContext, prepared: Prepared, preloaded: Preloaded | None
) -> tuple[Plan, Applied]:
    plan = prepared.plan(session, ctx, preloaded)
    applied = appliers.apply(session, ctx, plan.commands, attribution_id=plan.attribution_id)
    return plan, applied


def _row(
    ctx: EventContext,
    plan: Plan,
    applied: Applied,
    attempt: int | None,
    reason: str | None = None,
) -> LogRow:
    skip = plan.decision.skip
    return LogRow(
        "skipped" if skip is not None else "processed",
        workspace_id=ctx.workspace_id,
        endpoint_id=ctx.endpoint_id,
        stripe_event_id=ctx.event_id,
        event_type=ctx.event_type,
        livemode=ctx.livemode,
        stripe_account=ctx.account,
        reason=skip.value if skip is not None else reason,
        attempt=attempt,
        commission_ids=tuple(dict.fromkeys(applied.commission_ids)),
    )


def _release(
    session: Session,
    ctx: EventContext,
    unblocked: list[tuple[str, str]],
    *,
    taken: list[parking.Parked] | None = None,
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
                parked_events = parking.take_parked(session, ctx.workspace_id, wait_for, key)
            for parked in parked_events:
                prepared = prepare(parked.event_type, parked.body, ctx.workspace_id)
                parked_ctx = EventContext(
                    workspace_id=ctx.workspace_id,
                    endpoint_id=parked.endpoint_id,
                    event_id=parked.stripe_event_id,
                    event_type=parked.event_type,
                    livemode=prepared.livemode,
                    body=parked.body,
                    now=ctx.now,
                    account=account_of(parked.body),
                )
                lock_keys(session, ctx.workspace_id, prepared.keys)
                plan, applied = _run(session, parked_ctx, prepared, None)
                rows.append(_row(parked_ctx, plan, applied, None, reason=f"released_by_{wait_for}"))
                released_now += applied.unblocked
        waiting = released_now
    return rows


def _log_and_commit(session: Session, row: LogRow) -> None:
    """Insert the log row and commit, in one round trip (the unit of work's own commit then
    finds the transaction ended and sends nothing)."""
    with pipelined(session) as pg:
        send_rows(pg, [row])
        pg.commit()


def _context(delivery: Delivery, prepared: Prepared, now: datetime) -> EventContext:
    return EventContext(
        workspace_id=delivery.workspace_id,
        endpoint_id=delivery.endpoint_id,
        event_id=prepared.event_id,
        event_type=delivery.event_type,
        livemode=prepared.livemode,
        body=delivery.body,
        now=now,
        account=account_of(delivery.body),
    )


def _forced(replay: Replay | None) -> bool:
    return replay is not None and replay.force


def process(delivery: Delivery, *, attempt: int | None = None) -> Outcome:
    """Apply one delivery, as the ingress (or a replay) queued it."""
    started = time.perf_counter()
    context = current()
    prepared = prepare(delivery.event_type, delivery.body, delivery.workspace_id)
    ctx = _context(delivery, prepared, context.clock())
    replay = delivery.replay
    bound = log.bind(
        event_id=ctx.event_id,
        event_type=ctx.event_type,
        endpoint_id=ctx.endpoint_id,
        workspace_id=ctx.workspace_id,
        attempt=attempt,
    )
    with unit_of_work(context.factory) as session:
        begun = begin_event(
            session, ctx.workspace_id, ctx.event_id, ctx.event_type, prepared.keys,
            endpoint_id=ctx.endpoint_id, body=ctx.body,
            riding=prepared.reads.riding, after_locks=prepared.reads.after_locks,
        )  # fmt: skip
        if not begun.new and not _forced(replay):
            # Applied before (a resend past the ingress' window, or a replay): nothing to do.
            row = LogRow(
                "duplicate",
                workspace_id=ctx.workspace_id,
                endpoint_id=ctx.endpoint_id,
                stripe_event_id=ctx.event_id,
                event_type=ctx.event_type,
                livemode=ctx.livemode,
                stripe_account=ctx.account,
                attempt=attempt,
                reason="already_applied",
                detail=replay.detail() if replay is not None else None,
            )
            _close_dead_letter(session, replay, "duplicate", ctx.now)
            _log_and_commit(session, row)
            outcome = Outcome("duplicate", "already_applied", ())
        else:
            plan, applied = _run(session, ctx, prepared, begun.preloaded)
            row = _row(ctx, plan, applied, attempt)
            if replay is not None:
                row = replace(row, detail=replay.detail())
            _close_dead_letter(
                session, replay, row.outcome + (f": {row.reason}" if row.reason else ""), ctx.now
            )
            locked = {tuple(key.split(":", 1)) for key in prepared.keys}
            if not begun.parked_waiting and all(u in locked for u in applied.unblocked):
                # Nothing waits on what this event locked, so nothing it applied can release
                # a parked event: the log row ends the transaction (the common case).
                _log_and_commit(session, row)
            elif applied.unblocked:
                # The event's log row, and the events parked for the first thing it unblocked,
                # in one statement. Rows of released events follow this one.
                taken = parking.log_and_take_parked(
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
        received_at_ms=None if replay is not None else delivery.received_at,
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


def preview(delivery: Delivery) -> Preview:
    """Load and decide exactly as `process` would, in a transaction that writes nothing and is
    rolled back. Parked events its effects would release are not previewed."""
    context = current()
    prepared = prepare(delivery.event_type, delivery.body, delivery.workspace_id)
    ctx = _context(delivery, prepared, context.clock())
    with context.factory() as session:
        try:
            applied = ctx.event_id in applied_events.applied_among(
                session, ctx.workspace_id, [ctx.event_id]
            )
            if applied and not _forced(delivery.replay):
                return Preview("duplicate", None, ())
            plan = prepared.plan(session, ctx, None)
        finally:
            session.rollback()
    skip = plan.decision.skip.value if plan.decision.skip is not None else None
    return Preview("planned", skip, plan.commands)
