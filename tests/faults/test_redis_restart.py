"""Fault 2: Redis restarted in the middle of a burst (append-only file on): every event that got
a 200 is processed, exactly once.

The embedded Redis runs as the service's embedded default does (traaaction/embedded.py:
`appendonly yes`, `appendfsync everysec`). Two restarts:

- `shutdown`: a clean restart (SHUTDOWN: Redis writes and fsyncs the append-only file, then
  exits), as an orchestrator's stop or a version upgrade does;
- `kill`: `kill -9` of redis-server, a crash of the process. Redis writes each command to the
  append-only file before it answers, so what it acknowledged is in the operating system's
  page cache and survives the process; only a crash of the machine could lose the last second
  (everysec). This test cannot pull the power; it does not claim that.

Redis stays down 2 s, then starts again from its append-only file. Meanwhile the ingress
answers 503 (Redis refused the connection) and the sender, like Stripe, retries those; the
workers lose their connections and reconnect (Dramatiq restarts its consumers every 3 s).
At the end: every delivery got its 200, and each event has exactly one commission.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psycopg
import pytest

from tests.faults.conftest import Stack
from tests.faults.harness import (
    CHECKOUT_QUEUE,
    StripeLike,
    answers,
    assert_exactly_once,
    checkout_events,
    conninfo,
    deliveries,
    processed_count,
    read_ledger,
    restart_redis,
    wait_processed,
    wait_until,
)

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 2000
#: deliveries started per second: faster than the workers drain, so that Redis holds a
#: backlog of accepted events when it goes down
RATE = 800
DOWN_FOR = 2.0


@pytest.mark.parametrize("kind", ["shutdown", "kill"])
def test_redis_restarted_mid_burst_every_accepted_event_is_processed_once(
    make_stack: Callable[..., Stack], database_url: str, kind: str
) -> None:
    stack = make_stack(database_url)
    shop, client = stack.shop, stack.redis
    config = client.config_get("append*")
    assert (config["appendonly"], config["appendfsync"]) == ("yes", "everysec")
    stack.processes.ingress(stack.port)
    stack.workers("workers")

    events = checkout_events(shop, EVENTS)
    items = deliveries(events, shop.endpoint)
    sender = StripeLike(stack.port, connections=32, retry=True, retry_delay=0.25)
    started = time.monotonic()
    sending = sender.start(items, rate=RATE)

    def mid_burst() -> bool:
        return sender.finished >= EVENTS // 3 and int(client.llen(CHECKOUT_QUEUE)) >= 200

    wait_until(mid_burst, 60, "a backlog a third into the burst", stack.processes, 0.02)

    stopped_at = time.monotonic()
    processed_before = processed_count(shop.database_url, shop.workspace_id)
    accepted_before = [d for d in items if d.accepted_at is not None and d.accepted_at < stopped_at]
    # Accepted and not yet processed: only in Redis when it goes down.
    only_in_redis = len(accepted_before) - processed_before
    timings = restart_redis(stack.redis_server, kill=kind == "kill", down_for=DOWN_FOR)
    back_at = time.monotonic()

    sender.join(sending)
    burst = time.monotonic() - started
    drained = wait_processed(shop, client, EVENTS, 120, stack.processes)
    done_after = time.monotonic() - back_at

    # Every delivery got its 200 in the end (a retry of one Redis ran but could not answer is
    # a duplicate); those that got a 503 or no answer were retried.
    final = [d.final.answer if d.final else None for d in items]
    assert all(d.accepted for d in items), answers(items)
    refused = [d for d in items if len(d.attempts) > 1]
    assert refused, "the restart refused nothing: it did not happen mid-burst"
    assert only_in_redis >= 100
    ledger = read_ledger(shop.database_url, shop.workspace_id)
    assert_exactly_once(ledger, events, also_allowed=frozenset({"duplicate"}))
    # A duplicate here can only be the ingress' (a retried delivery whose first try Redis ran).
    assert ledger.reasons[("duplicate", "")] == ledger.rows("duplicate")
    assert ledger.rows("duplicate") >= final.count("duplicate")
    print(
        f"\nredis {kind}: {EVENTS} events at {RATE}/s over {burst:.1f} s; stopped after"
        f" {len(accepted_before)} accepted and {processed_before} processed ({only_in_redis}"
        f" accepted events only in Redis); stop took"
        f" {timings['stop']:.2f} s, back after {timings['down']:.1f} s; {len(refused)} deliveries"
        f" retried; attempts {dict(answers(items))}; all {EVENTS} processed"
        f" {done_after:.1f} s after Redis was back (drain wait {drained:.1f} s);"
        f" commissions {sum(ledger.commissions.values())}, log processed"
        f" {ledger.rows('processed')}, duplicate {ledger.rows('duplicate')}"
    )


# Events that fail (a transient error, injected by a trigger) while Redis goes away.

#: a transient failure for the flagged checkout sessions: a serialization failure (SQLSTATE
#: 40001, retried by workers/retry.py) after a second, so that attempts are in progress
#: when Redis goes down
FAULT_TRIGGER = """
CREATE TABLE fault_sessions (session_id text PRIMARY KEY);
CREATE FUNCTION fault_inject() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT FROM fault_sessions WHERE session_id = NEW.checkout_session_id) THEN
    PERFORM pg_sleep(1);
    RAISE EXCEPTION 'injected transient failure' USING ERRCODE = '40001';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER fault_inject BEFORE INSERT ON commissions
  FOR EACH ROW EXECUTE FUNCTION fault_inject();
"""
_FAILING_NOW = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND application_name = 'traaaction-worker'
  AND wait_event = 'PgSleep'
"""
FAILING = 40
#: longer than redis-py's own retries of a command (10, 2 to 4 s in all), so that the
#: workers' commands fail rather than wait for Redis
LONG_DOWN = 10.0


def test_redis_restarted_while_attempts_fail_and_retries_wait_loses_no_event(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    """An attempt that fails while Redis is away must still be retried, and a retry waiting
    in a worker (fetched from the delay queue, held in memory until its time) must still run
    once Redis is back."""
    stack = make_stack(database_url)
    shop, client = stack.shop, stack.redis
    events = checkout_events(shop, 400)
    with psycopg.connect(conninfo(shop.database_url), autocommit=True) as conn:
        conn.execute(FAULT_TRIGGER)
        for event in events[:FAILING]:
            conn.execute("INSERT INTO fault_sessions VALUES (%s)", (event.session_id,))
    stack.processes.ingress(stack.port)
    stack.workers("workers")
    items = deliveries(events, shop.endpoint)
    StripeLike(stack.port, connections=16, retry=True).send(items)
    assert answers(items) == {"200 queued": len(events)}

    def failing_now() -> int:
        with psycopg.connect(conninfo(shop.database_url), autocommit=True) as conn:
            row = conn.execute(_FAILING_NOW).fetchone()
        return int(row[0]) if row is not None else 0

    def both_kinds() -> bool:
        waiting = int(client.hlen(f"{CHECKOUT_QUEUE}.DQ.msgs"))
        return waiting >= 10 and failing_now() >= 3

    wait_until(both_kinds, 60, "retries waiting and attempts failing", stack.processes, 0.05)
    in_progress = failing_now()
    waiting = int(client.hlen(f"{CHECKOUT_QUEUE}.DQ.msgs"))
    timings = restart_redis(stack.redis_server, kill=False, down_for=LONG_DOWN)
    back_at = time.monotonic()
    with psycopg.connect(conninfo(shop.database_url), autocommit=True) as conn:
        conn.execute("DELETE FROM fault_sessions")  # the fault is over

    # The longest backoff so far is 16-32 s (the 5th retry); then the queue drains.
    drained = wait_processed(shop, client, len(events), 90, stack.processes)
    ledger = read_ledger(shop.database_url, shop.workspace_id)
    assert_exactly_once(ledger, events)
    failed = {eid for eid, rows in ledger.log.items() if rows["failed"]}
    assert failed <= {e.event_id for e in events[:FAILING]}
    # Both ways Redis going away used to lose such events were taken (workers/broker.py): a
    # retry held in memory by a delay-queue consumer that lost Redis was put back, and a
    # retry enqueued while Redis was away waited for it.
    requeued = stack.processes.log_lines("workers", "broker.delayed_requeued")
    waited = stack.processes.log_lines("workers", "broker.redis_unavailable")
    assert sum(line["requeued"] for line in requeued) >= 1
    assert any(line["writing"] == "retry" for line in waited)
    print(
        f"\nredis down {timings['down']:.1f} s while {FAILING} of {len(events)} events failed:"
        f" {in_progress} attempts in progress and {waiting} retries waiting at the stop;"
        f" all processed {time.monotonic() - back_at:.1f} s after Redis was back (drain wait"
        f" {drained:.1f} s); {sum(line['requeued'] for line in requeued)} held retries put"
        f" back, {len(waited)} tries of retries waiting for Redis logged;"
        f" {ledger.rows('failed')} failed attempts logged;"
        f" log {dict(ledger.reasons)}"
    )
