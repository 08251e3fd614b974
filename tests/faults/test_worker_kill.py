"""Fault 1: `kill -9` of a worker in the middle of a burst.

Two `traaaction worker` groups (2 processes x 4 threads each) drain a burst posted through the
ingress. While the burst is still arriving and the queue has a backlog (so every consumer of
the doomed group holds its full prefetch), the test kills one whole group (its CLI, Dramatiq's
master and worker processes) with SIGKILL. The messages the killed processes held stay in their
ack sets until the survivors' maintenance finds the processes' heartbeats older than 30 s and
puts the messages back (workers/broker.py): about 31 s. The ledger must then hold each event
exactly once: an event the killed process had committed but not yet acknowledged runs again
and is logged `duplicate` (`already_applied`), never applied twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.faults.conftest import Stack
from tests.faults.harness import (
    CHECKOUT_QUEUE,
    StripeLike,
    ack_set_sizes,
    answers,
    assert_exactly_once,
    checkout_events,
    deliveries,
    heartbeat_ids,
    processed_count,
    read_ledger,
    wait_processed,
    wait_until,
)
from workers.broker import HEARTBEAT_TIMEOUT_MS, MAINTENANCE_INTERVAL

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 3000
#: deliveries started per second: faster than two groups drain on 2 cores, so a backlog forms
RATE = 600
#: seconds from the kill to the held messages being back in the queue, at worst
#: (workers/broker.py), plus what a loaded 2-core machine adds
REQUEUE_WORST_CASE = HEARTBEAT_TIMEOUT_MS / 1000 + MAINTENANCE_INTERVAL + 5.0


def test_kill_9_of_a_worker_group_mid_burst_loses_nothing_and_applies_nothing_twice(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(database_url)
    shop, client = stack.shop, stack.redis
    stack.processes.ingress(stack.port)
    stack.workers("survivor")
    survivors = stack.worker_ids()
    stack.workers("doomed")
    doomed_group = stack.processes.started[-1]
    doomed = stack.worker_ids() - survivors
    assert len(doomed) == 2

    events = checkout_events(shop, EVENTS)
    items = deliveries(events, shop.endpoint)
    sender = StripeLike(stack.port, connections=16, retry=False)
    burst_started = time.monotonic()
    sending = sender.start(items, rate=RATE)

    # Mid-burst: a third of the events accepted, a backlog waiting (so every consumer of the
    # doomed group holds its full prefetch), or, on a machine where the workers keep up,
    # two thirds accepted; the doomed group holding messages either way.
    def mid_burst() -> bool:
        backlog = int(client.llen(CHECKOUT_QUEUE)) >= 50 or sender.finished >= 2 * EVENTS // 3
        return sender.finished >= EVENTS // 3 and backlog and ack_set_sizes(client, doomed) > 0

    wait_until(mid_burst, 60, "a backlog a third into the burst", stack.processes, 0.02)
    done_before = processed_count(shop.database_url, shop.workspace_id)
    stack.processes.kill_group(doomed_group)
    killed_at = time.monotonic()
    held = ack_set_sizes(client, doomed)
    assert held > 0
    sent_at_kill = sender.finished

    # The survivors' maintenance puts the held messages back once the heartbeats are 30 s old.
    def requeued() -> bool:
        left = heartbeat_ids(client) & doomed
        return not left and ack_set_sizes(client, doomed) == 0

    wait_until(requeued, REQUEUE_WORST_CASE + 10, "the held messages requeued", stack.processes)
    requeued_after = time.monotonic() - killed_at
    sender.join(sending)
    burst = max(d.accepted_at or 0 for d in items) - burst_started
    drained = wait_processed(shop, client, EVENTS, 120, stack.processes)
    all_done_after = time.monotonic() - killed_at

    assert answers(items) == {"200 queued": EVENTS}
    ledger = read_ledger(shop.database_url, shop.workspace_id)
    assert_exactly_once(ledger, events, also_allowed=frozenset({"duplicate"}))
    # Only a requeued message can run twice, and then it changes nothing.
    rerun = ledger.rows("duplicate")
    assert rerun <= held
    assert ledger.reasons[("duplicate", "already_applied")] == rerun
    assert ledger.rows("failed") == 0
    removed = stack.processes.log_lines("survivor", "broker.dead_worker_removed")
    assert sum(line["requeued"] for line in removed) == held
    assert requeued_after <= REQUEUE_WORST_CASE, f"{requeued_after:.1f} s"
    print(
        f"\nkill -9: {EVENTS} events at {RATE}/s (burst {burst:.1f} s), killed the group of 2"
        f" worker processes after {sent_at_kill} accepted and {done_before} processed; they"
        f" held {held} messages; requeued {requeued_after:.1f} s after the kill; all processed"
        f" {all_done_after:.1f} s after the kill (drain wait {drained:.1f} s);"
        f" commissions {sum(ledger.commissions.values())}, processed rows"
        f" {ledger.rows('processed')}, re-run as already_applied {rerun}"
    )
