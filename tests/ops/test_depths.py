"""Queue depths as Dramatiq's own Redis broker leaves them (real Redis, real broker code)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from starlette.testclient import TestClient

from tests.ops.conftest import Clock
from tests.ops.world import TOKEN
from traaaction.ops.depths import QueueDepth, handled_queues, read_backlogs, read_depths
from workers.contract import DEAD_LETTER_STREAM, EVENT_LOG_STREAM, NAMESPACE, QUARANTINE_STREAM

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


def test_log_writer_backlogs(redis_client: redis.Redis) -> None:
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
