"""Fault 5: a duplicate storm. Every event delivered 5 times, concurrently: one effect each.

Two storms, as Stripe can make them:

- the same endpoint gets each event 5 times at once (Stripe's retries overlapping a slow
  answer; three copies carry the very same signature, two are re-signed as Stripe signs each
  retry): the ingress queues each event once and answers the 4 others `duplicate`;
- 5 endpoints of one workspace get each event at once (the shop registered the URL more than
  once): each endpoint queues it, so the workers run 5 copies of each event concurrently, and
  the ledger applies it once; the other 4 are logged `duplicate` (`already_applied`).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

import pytest

from ingress.signature import sign
from tests.faults.conftest import Stack
from tests.faults.harness import (
    Delivery,
    StripeLike,
    answers,
    assert_exactly_once,
    checkout_events,
    read_ledger,
    wait_processed,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

COPIES = 5


def test_every_event_five_times_at_one_endpoint_is_queued_once_and_applied_once(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(database_url)
    stack.processes.ingress(stack.port)
    stack.workers("workers")
    endpoint = stack.shop.endpoint
    events = checkout_events(stack.shop, 400)
    items: list[Delivery] = []
    for event in events:
        same = sign(endpoint.secret, event.body, int(time.time()))
        # The copies of one event are next to each other: with 40 connections, 8 events have
        # all their copies in flight at once.
        items += [Delivery(event, endpoint, same) for _ in range(3)]
        items += [Delivery(event, endpoint) for _ in range(COPIES - 3)]

    started = time.monotonic()
    StripeLike(stack.port, connections=40, retry=False).send(items)
    sent = time.monotonic() - started
    drained = wait_processed(stack.shop, stack.redis, len(events), 120, stack.processes)

    # The ingress: every copy answered 200, exactly one of each event's queued.
    assert answers(items) == Counter(
        {"200 queued": len(events), "200 duplicate": (COPIES - 1) * len(events)}
    )
    per_event = Counter(d.event.event_id for d in items if d.final and d.final.answer == "queued")
    assert set(per_event.values()) == {1}
    assert len(per_event) == len(events)

    ledger = read_ledger(stack.shop.database_url, stack.shop.workspace_id)
    assert_exactly_once(ledger, events, also_allowed=frozenset({"duplicate"}))
    # The event log: one processed row and 4 duplicate rows (the ingress') for each event.
    assert {eid: dict(rows) for eid, rows in ledger.log.items()} == {
        e.event_id: {"processed": 1, "duplicate": COPIES - 1} for e in events
    }
    assert ledger.reasons[("duplicate", "")] == (COPIES - 1) * len(events)
    print(
        f"\nstorm at one endpoint: {len(events)} events x {COPIES} = {len(items)} deliveries"
        f" sent in {sent:.1f} s ({len(items) / sent:.0f}/s); answers {dict(answers(items))};"
        f" drained {drained:.1f} s later; commissions {sum(ledger.commissions.values())},"
        f" log {dict(Counter({o: ledger.rows(o) for o in ('processed', 'duplicate')}))}"
    )


def test_every_event_at_five_endpoints_is_run_five_times_concurrently_and_applied_once(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(database_url, endpoint_count=COPIES)
    stack.processes.ingress(stack.port)
    stack.workers("workers")
    events = checkout_events(stack.shop, 300)
    items = [Delivery(event, endpoint) for event in events for endpoint in stack.shop.endpoints]

    started = time.monotonic()
    StripeLike(stack.port, connections=40, retry=False).send(items)
    sent = time.monotonic() - started
    drained = wait_processed(stack.shop, stack.redis, len(events), 120, stack.processes)

    # Each endpoint has its own idempotency key: all 5 copies of each event were queued.
    assert answers(items) == Counter({"200 queued": COPIES * len(events)})
    ledger = read_ledger(stack.shop.database_url, stack.shop.workspace_id)
    assert_exactly_once(ledger, events, also_allowed=frozenset({"duplicate"}))
    # The workers ran the 5 copies; the ledger applied each event once and logged the
    # other 4 as duplicates of an applied event.
    assert {eid: dict(rows) for eid, rows in ledger.log.items()} == {
        e.event_id: {"processed": 1, "duplicate": COPIES - 1} for e in events
    }
    assert ledger.reasons[("duplicate", "already_applied")] == (COPIES - 1) * len(events)
    print(
        f"\nstorm over {COPIES} endpoints: {len(events)} events x {COPIES} = {len(items)}"
        f" deliveries sent in {sent:.1f} s, all queued; drained {drained:.1f} s later;"
        f" commissions {sum(ledger.commissions.values())}, log processed"
        f" {ledger.rows('processed')}, duplicate (already_applied) {ledger.rows('duplicate')}"
    )
