"""Queue depths as Dramatiq's own Redis broker leaves them (real Redis, real broker code), and
the log writer's backlog as a real LogWriter leaves it."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import cast

import orjson
import pytest
import redis
from dramatiq import Message
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from storage.db import make_session_factory
from storage.models import DeadLetter, WebhookEventLog
from tests.ops.conftest import Clock
from tests.ops.world import TOKEN, Shop
from traaaction import stripe_payloads
from traaaction.ops import depths
from traaaction.ops.depths import QueueDepth, handled_queues, read_backlogs, read_depths
from workers.contract import (
    DEAD_LETTER_STREAM,
    EVENT_LOG_STREAM,
    NAMESPACE,
    QUARANTINE_STREAM,
    ROUTES,
)
from workers.log_writer import GROUP, LogWriter
from workers.outcomes import failure_record

NOW_MS = 1_800_000_000_000


@pytest.fixture
def broker(redis_url: str, redis_client: redis.Redis) -> Iterator[RedisBroker]:
    broker = RedisBroker(  # type: ignore[no-untyped-call]
        url=redis_url, namespace=NAMESPACE, middleware=[], maintenance_chance=0
    )
    for name in handled_queues():
        broker.declare_queue(name)
    try:
        yield broker
    finally:
        broker.client.close()


def _message(queue: str, n: int, *, enqueued_ms: int) -> Message[object]:
    return Message(
        queue_name=queue,
        actor_name=queue,
        args=(),
        kwargs={"n": n, "body": "x" * 2000},
        options={},
        message_timestamp=enqueued_ms,
    )


def _fill(broker: RedisBroker) -> None:
    """checkout: 5 queued 100..96 s ago, 2 fetched by a worker, 1 of those dead;
    invoice: 2 retries waiting for their backoff; the other two queues empty."""
    checkout = "checkout_session_completed"
    for n in range(5):
        broker.enqueue(_message(checkout, n, enqueued_ms=NOW_MS - (100 - n) * 1000))
    consumer = broker.consume(checkout, prefetch=2, timeout=100)
    first = next(consumer)
    second = next(consumer)
    assert first is not None
    assert second is not None
    consumer.nack(second)
    for n in range(2):
        broker.enqueue(_message("invoice_paid", n, enqueued_ms=NOW_MS), delay=60_000)


def test_depths_match_what_the_broker_did(broker: RedisBroker, redis_client: redis.Redis) -> None:
    assert read_depths(redis_client, handled_queues(), now_ms=NOW_MS) == [
        QueueDepth(name, 0, 0, 0, 0, None) for name in handled_queues()
    ]
    _fill(broker)
    depths = {d.queue: d for d in read_depths(redis_client, handled_queues(), now_ms=NOW_MS)}
    assert depths["checkout_session_completed"] == QueueDepth(
        "checkout_session_completed", ready=3, in_flight=1, delayed=0, dead=1, oldest_age=98.0
    )
    assert depths["invoice_paid"] == QueueDepth(
        "invoice_paid", ready=0, in_flight=0, delayed=2, dead=0, oldest_age=None
    )
    for quiet in ("charge_refunded", "customer_subscription_deleted"):
        assert depths[quiet] == QueueDepth(quiet, 0, 0, 0, 0, None)


def test_before_any_log_writer_every_entry_waits(redis_client: redis.Redis) -> None:
    assert read_backlogs(redis_client) == [
        ("event-log records", 0),
        ("dead letters", 0),
        ("quarantined", 0),
    ]
    for n in range(3):
        redis_client.xadd(EVENT_LOG_STREAM, {"o": "duplicate", "n": n})
    redis_client.xadd(DEAD_LETTER_STREAM, {"r": "{}"})
    redis_client.xadd(QUARANTINE_STREAM, {"why": "unreadable"})
    assert read_backlogs(redis_client) == [
        ("event-log records", 3),
        ("dead letters", 1),
        ("quarantined", 1),
    ]


def _queue_for_the_log_writer(
    client: redis.Redis, shop: Shop, *, records: int, dead_letters: int = 0
) -> None:
    """What the ingress and the workers add to the log writer's streams: duplicate
    deliveries' log records, and dead letters (a checkout that failed its last attempt)."""
    for n in range(records):
        record = {
            "workspace_id": shop.workspace_id,
            "endpoint_id": shop.endpoint_id,
            "stripe_event_id": f"evt_backlog_{n}",
            "event_type": "invoice.paid",
            "livemode": False,
            "received_at": NOW_MS,
        }
        client.xadd(EVENT_LOG_STREAM, {"o": "duplicate", "r": orjson.dumps(record)})
    route = ROUTES["checkout.session.completed"]
    for n in range(dead_letters):
        body = shop.checkout_body(f"cs_test_backlog_{n}")
        kwargs = stripe_payloads.delivery(
            body, workspace_id=shop.workspace_id, endpoint_id=shop.endpoint_id
        )
        message = MessageProxy(
            Message(
                queue_name=route.queue_name,
                actor_name=route.actor_name,
                args=(),
                kwargs=kwargs,
                options={"retries": 12},
            )
        )
        message.fail()
        found = failure_record(message, ConnectionError("connection to server was lost"))
        assert found is not None
        outcome, failure = found
        assert outcome == "dead_lettered"
        client.xadd(DEAD_LETTER_STREAM, {"o": outcome, "r": failure})


def _stored(engine: Engine) -> tuple[int, int]:
    """(duplicate log rows, dead letters) the log writer has committed to PostgreSQL."""
    with Session(engine) as session:
        duplicates = session.scalar(
            select(func.count())
            .select_from(WebhookEventLog)
            .where(WebhookEventLog.outcome == "duplicate")
        )
        letters = session.scalar(select(func.count()).select_from(DeadLetter))
    return int(duplicates or 0), int(letters or 0)


def _waiting_on_the_overview(client: TestClient) -> dict[str, int]:
    page = client.get("/ops/", headers={"authorization": f"Bearer {TOKEN}"})
    assert page.status_code == 200
    found = re.search(
        r'<p class="muted" id="backlogs">Waiting for the log writer:(.*?)</p>', page.text, re.S
    )
    assert found is not None, page.text
    counts = re.findall(r"(\d+) ([a-z -]+?)(?:,|\.)", found.group(1))
    return {label: int(count) for count, label in counts}


def _writer(client: redis.Redis, engine: Engine, **options: int) -> LogWriter:
    return LogWriter(client, make_session_factory(engine), consumer="ops-test", **options)


def test_the_overview_stops_waiting_once_the_log_writer_stored_everything(
    client: TestClient, redis_client: redis.Redis, engine: Engine, shop: Shop
) -> None:
    _queue_for_the_log_writer(redis_client, shop, records=5, dead_letters=1)
    assert _waiting_on_the_overview(client) == {
        "event-log records": 5,
        "dead letters": 1,
        "quarantined": 0,
    }

    writer = _writer(redis_client, engine, block_ms=50)
    writer.start()
    try:
        deadline = time.monotonic() + 30
        while _stored(engine) != (5, 1):
            assert time.monotonic() < deadline, f"the log writer stored only {_stored(engine)}"
            time.sleep(0.05)
    finally:
        writer.stop()  # after its last batch: written, then acknowledged

    # The entries stay in the streams (acknowledged, never deleted): nothing waits any more.
    assert redis_client.xlen(EVENT_LOG_STREAM) == 5
    assert redis_client.xlen(DEAD_LETTER_STREAM) == 1
    assert _waiting_on_the_overview(client) == {
        "event-log records": 0,
        "dead letters": 0,
        "quarantined": 0,
    }
    assert read_backlogs(redis_client) == [
        ("event-log records", 0),
        ("dead letters", 0),
        ("quarantined", 0),
    ]


def test_what_waits_is_the_groups_lag_plus_its_unacknowledged_entries(
    redis_client: redis.Redis,
    engine: Engine,
    shop: Shop,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def waiting() -> tuple[int, int]:
        (_, records), (_, letters), (_, quarantined) = read_backlogs(redis_client)
        assert quarantined == 0
        return records, letters

    _queue_for_the_log_writer(redis_client, shop, records=5, dead_letters=1)
    assert waiting() == (5, 1)
    writer = _writer(redis_client, engine, batch=2, claim_idle_ms=0)
    assert writer.run_once(block=False) == 3  # 2 records; the dead letter and its log row
    assert _stored(engine) == (2, 1)
    assert waiting() == (3, 0)

    # A consumer takes an entry and dies before acknowledging it: it still waits.
    redis_client.xreadgroup(GROUP, "gone", {EVENT_LOG_STREAM: ">"}, count=1)
    assert waiting() == (3, 0)
    writer.drain()  # the 2 never delivered, then the one it claims from the dead consumer
    assert _stored(engine) == (5, 1)
    assert waiting() == (0, 0)

    # An entry deleted before the group got it: Redis cannot tell the lag; it is counted.
    _queue_for_the_log_writer(redis_client, shop, records=4)
    [(newest, _fields)] = cast(
        list[tuple[bytes, object]], redis_client.xrevrange(EVENT_LOG_STREAM, count=1)
    )
    redis_client.xdel(EVENT_LOG_STREAM, newest)
    [group] = redis_client.xinfo_groups(EVENT_LOG_STREAM)
    assert group.get("lag") is None  # deleted entries (Redis 7); Redis 6.2 never tells lag
    monkeypatch.setattr(depths, "RANGE_PAGE", 2)  # more than one page
    assert waiting() == (3, 0)
    writer.drain()
    assert waiting() == (0, 0)


def test_the_overview_shows_them(broker: RedisBroker, client: TestClient, clock: Clock) -> None:
    _fill(broker)
    clock.now = NOW_MS / 1000
    page = client.get("/ops/", headers={"authorization": f"Bearer {TOKEN}"}).text

    def cells(queue: str) -> dict[str, str]:
        row = page.split(f'<tr id="queue-{queue}">', 1)[1].split("</tr>", 1)[0]
        return dict(re.findall(r'<td class="num ([a-z-]+)">([^<]*)</td>', row))

    assert cells("checkout_session_completed") == {
        "ready": "3",
        "in-flight": "1",
        "delayed": "0",
        "dead": "1",
        "oldest": "1 min 38 s",
    }
    assert cells("invoice_paid")["delayed"] == "2"
    assert cells("charge_refunded") == {
        "ready": "0",
        "in-flight": "0",
        "delayed": "0",
        "dead": "0",
        "oldest": "",
    }


def test_the_overview_survives_redis_trouble_for_bearer_callers(
    client: TestClient, redis_client: redis.Redis
) -> None:
    # A queue key of the wrong type makes Redis answer an error, as a broken Redis would.
    redis_client.set(f"{NAMESPACE}:charge_refunded", "not a list")
    response = client.get("/ops/", headers={"authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    assert "Redis did not answer" in response.text
