"""The ingress' dedupe-and-enqueue, called without an event loop (`traaaction reconcile`): the
same items, the same script, the same keys as webhooks."""

from __future__ import annotations

import asyncio

import orjson
import redis
import redis.asyncio as aioredis

from ingress.enqueue import EnqueueOutcome, Enqueuer, Item, delivery_item, enqueue_sync
from ingress.envelope import parse_envelope
from tests.ingress.conftest import event_body, log_records
from workers.contract import IDEMPOTENCY_TTL, ROUTES, idempotency_key, queue_key

QUEUE = ROUTES["invoice.paid"].queue_name


def item(event_id: str, event_type: str = "invoice.paid", endpoint: str = "ep_s") -> Item:
    body = event_body(event_id, event_type)
    return delivery_item(endpoint, "ws_s", parse_envelope(body), body, 1_700_000_000_000)


def test_items_are_queued_ignored_and_deduplicated_as_the_ingress_does(
    redis_client: redis.Redis,
) -> None:
    new, other = item("evt_s1"), item("evt_s2", "customer.created")
    assert enqueue_sync(redis_client, [new, other]) == [
        EnqueueOutcome.QUEUED,
        EnqueueOutcome.IGNORED,
    ]
    [mid] = redis_client.lrange(queue_key(QUEUE), 0, -1)
    assert mid.decode() == new.redis_message_id  # type: ignore[union-attr]
    assert redis_client.hget(f"{queue_key(QUEUE)}.msgs", mid) == new.data
    assert 3 * 24 * 3600 < redis_client.ttl(new.key) <= IDEMPOTENCY_TTL

    assert enqueue_sync(redis_client, [item("evt_s1")]) == [EnqueueOutcome.DUPLICATE]
    assert redis_client.llen(queue_key(QUEUE)) == 1
    assert [r["stripe_event_id"] for r in log_records(redis_client, "duplicate")] == ["evt_s1"]
    assert [r["stripe_event_id"] for r in log_records(redis_client, "ignored")] == ["evt_s2"]


def test_a_key_the_ingress_set_is_a_duplicate_here(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def deliver() -> EnqueueOutcome:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await Enqueuer(client, timeout=2.0).submit(item("evt_both"))
        finally:
            await client.aclose()

    assert asyncio.run(deliver()) is EnqueueOutcome.QUEUED
    assert redis_client.exists(idempotency_key("ep_s", "evt_both")) == 1
    assert enqueue_sync(redis_client, [item("evt_both")]) == [EnqueueOutcome.DUPLICATE]
    assert redis_client.llen(queue_key(QUEUE)) == 1


def test_many_items_go_in_several_atomic_batches(redis_client: redis.Redis) -> None:
    items = [item(f"evt_b{n}") for n in range(600)]
    assert enqueue_sync(redis_client, items, max_batch=256) == [EnqueueOutcome.QUEUED] * 600
    assert redis_client.llen(queue_key(QUEUE)) == 600
    stored = redis_client.hget(f"{queue_key(QUEUE)}.msgs", items[599].redis_message_id)
    assert isinstance(stored, bytes)
    assert orjson.loads(stored)["kwargs"]["event_id"] == "evt_b599"
