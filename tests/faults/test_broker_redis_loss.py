"""workers/broker.py's `Broker` when Redis goes away under a live worker process, one piece at
a time (test_redis_restart.py shows the whole: events failing while Redis restarts)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from dramatiq import Message
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import ConnectionClosed

from traaaction.embedded import EmbeddedRedis
from workers.broker import make_broker
from workers.contract import NAMESPACE, ROUTES, queue_key

pytestmark = pytest.mark.faults

QUEUE = ROUTES["checkout.session.completed"].queue_name
DELAYED = f"{QUEUE}.DQ"


def _message(n: int) -> Message[Any]:
    return Message(
        queue_name=QUEUE,
        actor_name=ROUTES["checkout.session.completed"].actor_name,
        args=(),
        kwargs={"n": n},
        options={},
    )


@pytest.fixture
def broker(own_redis: EmbeddedRedis) -> Iterator[RedisBroker]:
    made = make_broker(own_redis.url)
    try:
        yield made
    finally:
        made.close()


def test_retries_a_lost_consumer_held_go_back_to_the_delay_queue_when_it_is_made_again(
    broker: RedisBroker, own_redis: EmbeddedRedis
) -> None:
    client = redis.Redis.from_url(own_redis.url)
    try:
        for n in range(3):
            broker.enqueue(_message(n), delay=60_000)
        # A delay-queue consumer fetches them (into this process' ack set) and holds them in
        # memory; Dramatiq drops that memory when the consumer loses Redis.
        held = broker.consume(DELAYED, prefetch=10, timeout=10)
        first = next(held)
        assert first is not None
        acks = f"{NAMESPACE}:__acks__.{broker.broker_id}.{DELAYED}"
        assert client.scard(acks) == 3
        assert client.llen(queue_key(DELAYED)) == 0

        # The consumer thread makes a new consumer: the held ids are back at the queue's head.
        again = broker.consume(DELAYED, prefetch=10, timeout=10)
        assert client.scard(acks) == 0
        assert client.llen(queue_key(DELAYED)) == 3
        got = [next(again) for _ in range(3)]
        assert sorted(m.kwargs["n"] for m in got if m is not None) == [0, 1, 2]
        # The same messages, due at the same time.
        assert {m.options["eta"] for m in got if m is not None} >= {first.options["eta"]}
    finally:
        client.close()


@pytest.mark.slow
def test_a_retry_enqueued_while_redis_is_away_waits_for_it(
    broker: RedisBroker, own_redis: EmbeddedRedis
) -> None:
    own_redis.detach()  # stops it: this test is its only user
    done: list[Message[Any]] = []
    failed: list[BaseException] = []

    def retry() -> None:
        try:
            done.append(broker.enqueue(_message(7), delay=1_000))
        except BaseException as exc:
            failed.append(exc)

    thread = threading.Thread(target=retry, daemon=True)
    thread.start()
    # Longer than redis-py's own retries of the command (2 to 4 s): still waiting, not failed.
    time.sleep(6)
    assert thread.is_alive()
    assert failed == []
    own_redis.attach()
    thread.join(15)
    assert not thread.is_alive()
    assert failed == []
    client = redis.Redis.from_url(own_redis.url)
    try:
        assert client.llen(queue_key(DELAYED)) == 1
        assert client.hkeys(f"{queue_key(DELAYED)}.msgs") == [
            done[0].options["redis_message_id"].encode()
        ]
    finally:
        client.close()


@pytest.mark.slow
def test_moving_a_due_message_while_redis_is_away_is_a_connection_error(
    broker: RedisBroker, own_redis: EmbeddedRedis
) -> None:
    """The consumer thread then restarts its consumer, as for any lost connection."""
    own_redis.detach()
    try:
        with pytest.raises(ConnectionClosed):
            broker.enqueue(_message(8))
        with pytest.raises(ConnectionClosed):
            broker.consume(DELAYED, prefetch=1, timeout=10)
    finally:
        own_redis.attach()
