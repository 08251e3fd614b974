"""Dedupe-and-enqueue against a real Redis: atomic, idempotent, coalesced, bounded in time."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
import redis
import redis.asyncio as aioredis

from ingress.enqueue import EnqueueOutcome, Enqueuer, EnqueueUnavailable, Item
from tests.ingress.conftest import stream_entries
from workers.contract import IDEMPOTENCY_TTL, queue_key

T = TypeVar("T")
QUEUE = "checkout_session_completed"


def item(event_id: str, queue: str = QUEUE) -> Item:
    mid = str(uuid.uuid4())
    return Item(f"traaaction:seen:ep_x:{event_id}", queue, mid, f"data-{event_id}".encode(), b"{}")


def run(redis_url: str, scenario: Callable[[Enqueuer], Awaitable[T]], **kwargs: object) -> T:
    async def main() -> T:
        client = aioredis.Redis.from_url(redis_url)
        try:
            return await scenario(Enqueuer(client, timeout=2.0, **kwargs))  # type: ignore[arg-type]
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_a_new_item_is_stored_exactly_as_dramatiq_stores_messages(
    redis_url: str, redis_client: redis.Redis
) -> None:
    first = item("evt_1")
    assert run(redis_url, lambda e: e.submit(first)) is EnqueueOutcome.QUEUED
    assert redis_client.lrange(queue_key(QUEUE), 0, -1) == [first.redis_message_id.encode()]
    assert redis_client.hget(f"{queue_key(QUEUE)}.msgs", first.redis_message_id) == b"data-evt_1"


def test_the_idempotency_key_outlives_stripes_three_day_retry_window(
    redis_url: str, redis_client: redis.Redis
) -> None:
    run(redis_url, lambda e: e.submit(item("evt_ttl")))
    ttl = redis_client.ttl("traaaction:seen:ep_x:evt_ttl")
    assert 3 * 24 * 3600 < ttl <= IDEMPOTENCY_TTL


def test_a_second_submission_is_a_duplicate_and_queues_nothing(
    redis_url: str, redis_client: redis.Redis
) -> None:
    async def twice(enqueuer: Enqueuer) -> list[EnqueueOutcome]:
        return [await enqueuer.submit(item("evt_d")), await enqueuer.submit(item("evt_d"))]

    assert run(redis_url, twice) == [EnqueueOutcome.QUEUED, EnqueueOutcome.DUPLICATE]
    assert redis_client.llen(queue_key(QUEUE)) == 1
    assert redis_client.hlen(f"{queue_key(QUEUE)}.msgs") == 1
    assert [o for o, _f in stream_entries(redis_client)] == ["duplicate"]


def test_duplicates_inside_one_batch_queue_once(redis_url: str, redis_client: redis.Redis) -> None:
    async def together(enqueuer: Enqueuer) -> list[EnqueueOutcome]:
        return list(await asyncio.gather(*(enqueuer.submit(item("evt_same")) for _ in range(10))))

    outcomes = run(redis_url, together)
    assert sorted(outcomes) == sorted([EnqueueOutcome.QUEUED] + [EnqueueOutcome.DUPLICATE] * 9)
    assert redis_client.llen(queue_key(QUEUE)) == 1


def test_an_unhandled_type_is_remembered_and_logged_but_not_queued(
    redis_url: str, redis_client: redis.Redis
) -> None:
    outcome = run(redis_url, lambda e: e.submit(item("evt_ign", queue="")))
    assert outcome is EnqueueOutcome.IGNORED
    assert redis_client.exists("traaaction:seen:ep_x:evt_ign") == 1
    assert redis_client.keys("traaaction:*msgs") == []
    assert [o for o, _f in stream_entries(redis_client)] == ["ignored"]


def test_concurrent_submissions_are_coalesced_into_few_round_trips(
    redis_url: str, redis_client: redis.Redis
) -> None:
    batches: list[int] = []

    async def burst(enqueuer: Enqueuer) -> list[EnqueueOutcome]:
        return list(await asyncio.gather(*(enqueuer.submit(item(f"evt_{n}")) for n in range(200))))

    outcomes = run(redis_url, burst, on_batch=lambda size, _s: batches.append(size))
    assert outcomes == [EnqueueOutcome.QUEUED] * 200
    assert sum(batches) == 200
    assert len(batches) < 20, batches
    assert redis_client.llen(queue_key(QUEUE)) == 200


def test_batches_are_capped(redis_url: str, redis_client: redis.Redis) -> None:
    batches: list[int] = []

    async def burst(enqueuer: Enqueuer) -> None:
        await asyncio.gather(*(enqueuer.submit(item(f"evt_c{n}")) for n in range(100)))

    run(redis_url, burst, on_batch=lambda size, _s: batches.append(size), max_batch=16)
    assert max(batches) <= 16
    assert sum(batches) == 100


def test_an_unreachable_redis_fails_fast_and_sets_nothing() -> None:
    async def scenario() -> float:
        client = aioredis.Redis.from_url("redis://127.0.0.1:1/0")
        enqueuer = Enqueuer(client, timeout=1.0)
        started = time.monotonic()
        try:
            with pytest.raises(EnqueueUnavailable):
                await enqueuer.submit(item("evt_down"))
        finally:
            await client.aclose()
        return time.monotonic() - started

    assert asyncio.run(scenario()) < 2.0
