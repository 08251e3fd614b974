"""Fault 3: PostgreSQL stopped for 30 s in the middle of a burst.

The test runs its own PostgreSQL (the embedded one, in the test's directory), so it can stop
it (`pg_ctl stop -m fast`: connections are cut, transactions in flight rolled back) and start
it again on the same data 30 s later. Meanwhile:

- the ingress keeps answering 200: it needs PostgreSQL only to look endpoints up, and serves
  its cached entry while a refresh fails (ingress/directory.py);
- the workers fail their attempts (PostgreSQL unreachable: transient) and retry them with the
  backoff of workers/retry.py, 1 s doubling; every failed attempt is logged `failed`, will
  retry; nothing is dead-lettered, since 15 retries take 39 minutes at least;
- once PostgreSQL is back, each event is applied at its next attempt, at most 32 s later for
  a 30 s outage (`longest_wait_after`), exactly once.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.schema import upgrade
from tests.faults.conftest import Stack
from tests.faults.harness import (
    StripeLike,
    answers,
    assert_exactly_once,
    checkout_events,
    deliveries,
    processed_count,
    read_ledger,
    wait_processed,
    wait_until,
)
from traaaction.embedded import EmbeddedPostgres
from workers.retry import MAX_RETRIES, MIN_BACKOFF

pytestmark = [pytest.mark.faults, pytest.mark.slow]

OUTAGE = 30.0
EVENTS = 1500
#: deliveries per second: the burst lasts 30 s and so spans most of the outage
RATE = 50
#: seconds the backlog needs to be processed once its retries come due, on a loaded machine
SLACK = 20.0


def longest_wait_after(outage: float) -> float:
    """Seconds from the end of an outage to an event's next attempt, at worst.

    Retry k (1-based) waits MIN_BACKOFF * 2**(k-1) times [1, 2): the k-th failure comes at
    least (2**(k-1) - 1) * MIN_BACKOFF after the first, and waits less than 2**k * MIN_BACKOFF.
    The last failure before the end of the outage is the k-th for the largest k whose
    earliest time is within the outage.
    """
    unit = MIN_BACKOFF / 1000
    k = 1
    while (2**k - 1) * unit < outage and k < MAX_RETRIES:
        k += 1
    return float(2**k * unit)


class Postgres:
    """The embedded PostgreSQL in a directory of the test's, stopped and started at will."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.server = EmbeddedPostgres(directory)
        self.server.attach()
        self.url = self.server.url

    def stop(self) -> None:
        self.server.detach()  # the only owner: pg_ctl stop -m fast

    def start(self) -> None:
        # A new handle: the wheel's server object starts PostgreSQL when it is made.
        self.server = EmbeddedPostgres(self.directory)
        self.server.attach()


@pytest.fixture
def postgres() -> Iterator[Postgres]:
    # Not under pytest's temporary directory: PostgreSQL runs as another user when the tests
    # run as root, and any pytest session starting meanwhile makes that directory's root
    # private again (mode 0700), which would keep pg_ctl out of the data directory.
    directory = Path(tempfile.mkdtemp(prefix="traaaction-faults-"))
    try:
        pg = Postgres(directory / "pg")
        engine = make_engine(pg.url, pool_size=1)
        try:
            upgrade(engine)
        finally:
            engine.dispose()
        try:
            yield pg
        finally:
            pg.stop()
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def test_the_schedule_rides_out_a_30_s_outage_within_32_s() -> None:
    assert longest_wait_after(30.0) == 32.0
    assert longest_wait_after(31.5) == 64.0


def test_postgres_stopped_30_s_mid_burst_nothing_dead_lettered_everything_processed_after(
    postgres: Postgres, make_stack: Callable[..., Stack]
) -> None:
    stack = make_stack(postgres.url)
    shop, client = stack.shop, stack.redis
    stack.processes.ingress(stack.port)
    stack.workers("workers")

    events = checkout_events(shop, EVENTS)
    items = deliveries(events, shop.endpoint)
    # No retries: the ingress must answer 200 throughout, whatever PostgreSQL does.
    sender = StripeLike(stack.port, connections=16, retry=False)
    started = time.monotonic()
    sending = sender.start(items, rate=RATE)
    wait_until(lambda: sender.finished >= 150, 60, "the burst to be under way", None, 0.02)
    processed_before = processed_count(shop.database_url, shop.workspace_id)

    stopped_at = time.monotonic()
    postgres.stop()
    time.sleep(max(0.0, OUTAGE - (time.monotonic() - stopped_at)))
    postgres.start()
    back_at = time.monotonic()
    outage = back_at - stopped_at

    sender.join(sending)
    burst = time.monotonic() - started
    bound = longest_wait_after(outage) + SLACK
    wait_processed(shop, client, EVENTS, bound, stack.processes)
    done_after = time.monotonic() - back_at

    # The ingress accepted everything, during the outage too.
    assert answers(items) == {"200 queued": EVENTS}
    during = sum(1 for d in items if stopped_at < (d.accepted_at or 0) < back_at)
    assert during >= 1000
    ledger = read_ledger(shop.database_url, shop.workspace_id)
    # Exactly once; the only other rows are failed attempts (and the re-run of an event whose
    # commit PostgreSQL had made when its connection was cut: already_applied).
    assert_exactly_once(ledger, events)
    assert ledger.rows("failed") > 0
    assert ledger.failed_will_retry == {True: ledger.rows("failed")}
    assert ledger.rows("dead_lettered") == 0
    assert ledger.dead_letters == 0
    retried = sum(1 for rows in ledger.log.values() if rows["failed"])
    print(
        f"\npostgres down {outage:.1f} s: {EVENTS} events at {RATE}/s over {burst:.1f} s,"
        f" {processed_before} processed before the stop, {during} accepted (200) while it was"
        f" down; {ledger.rows('failed')} failed attempts logged (all will_retry) for {retried}"
        f" events, last processed at attempt {ledger.max_processed_attempt}; all processed"
        f" {done_after:.1f} s after PostgreSQL was back (bound {bound:.0f} s); dead letters"
        f" {ledger.dead_letters}; commissions {sum(ledger.commissions.values())}; log"
        f" {dict(ledger.reasons)}"
    )
