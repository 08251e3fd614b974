"""The log writer moves the ingress' event-log records into PostgreSQL, once each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import cast

import orjson
import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from storage.db import make_engine, make_session_factory
from storage.models import WebhookEventLog
from workers.contract import EVENT_LOG_STREAM, QUARANTINE_STREAM
from workers.log_writer import Entry, LogWriter


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def writer(engine: Engine, client: redis.Redis, name: str = "w1", **kwargs: int) -> LogWriter:
    return LogWriter(client, make_session_factory(engine), consumer=name, **kwargs)


def rows(engine: Engine) -> list[WebhookEventLog]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookEventLog).order_by(WebhookEventLog.id)))


def add(client: redis.Redis, outcome: str, record: dict[str, object]) -> None:
    client.xadd(EVENT_LOG_STREAM, {"o": outcome, "r": orjson.dumps(record)})


def test_duplicate_ignored_and_rejected_records_become_log_rows(
    engine: Engine, redis_client: redis.Redis
) -> None:
    received = int(time.time() * 1000)
    base = {
        "endpoint_id": "ep_1",
        "workspace_id": "ws_1",
        "livemode": True,
        "received_at": received,
    }
    add(
        redis_client,
        "duplicate",
        {**base, "stripe_event_id": "evt_1", "event_type": "invoice.paid"},
    )
    add(
        redis_client,
        "ignored",
        {**base, "stripe_event_id": "evt_2", "event_type": "charge.succeeded"},
    )
    add(
        redis_client,
        "rejected",
        {
            "endpoint_id": "ep_1",
            "workspace_id": "ws_1",
            "reason": "no_matching_signature",
            "count": 12,
            "window_start": 60,
            "first_seen": time.time(),
            "last_seen": time.time(),
            "client_samples": ["203.0.113.7"],
        },
    )
    assert writer(engine, redis_client).drain() == 3
    duplicate, ignored, rejected = rows(engine)
    assert (duplicate.outcome, duplicate.stripe_event_id, duplicate.livemode) == (
        "duplicate",
        "evt_1",
        True,
    )
    assert duplicate.created_at.timestamp() == pytest.approx(received / 1000)
    assert (ignored.outcome, ignored.event_type) == ("ignored", "charge.succeeded")
    assert (rejected.outcome, rejected.reason, rejected.count) == (
        "rejected",
        "no_matching_signature",
        12,
    )
    assert rejected.detail is not None
    assert rejected.detail["client_samples"] == ["203.0.113.7"]
    assert redis_client.xpending(EVENT_LOG_STREAM, "logwriter")["pending"] == 0


def test_an_entry_written_twice_makes_one_row(engine: Engine, redis_client: redis.Redis) -> None:
    add(redis_client, "duplicate", {"stripe_event_id": "evt_1", "workspace_id": "ws_1"})
    entries = [
        (EVENT_LOG_STREAM, e) for e in cast(list[Entry], redis_client.xrange(EVENT_LOG_STREAM))
    ]
    log_writer = writer(engine, redis_client)
    log_writer.write(entries)
    log_writer.write(entries)  # as after a crash between INSERT and XACK
    assert len(rows(engine)) == 1


def quarantined(client: redis.Redis) -> list[dict[bytes, bytes]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(QUARANTINE_STREAM))
    return [fields for _, fields in entries]


def test_an_unreadable_entry_is_quarantined_and_does_not_block_the_others(
    engine: Engine, redis_client: redis.Redis
) -> None:
    redis_client.xadd(EVENT_LOG_STREAM, {"o": "duplicate", "r": b"{not json"})
    redis_client.xadd(EVENT_LOG_STREAM, {"o": "mystery", "r": b"{}"})
    add(redis_client, "ignored", {"stripe_event_id": "evt_ok"})
    assert writer(engine, redis_client).drain() == 1
    assert [r.stripe_event_id for r in rows(engine)] == ["evt_ok"]
    assert redis_client.xpending(EVENT_LOG_STREAM, "logwriter")["pending"] == 0
    kept = quarantined(redis_client)
    assert [(q[b"o"], q[b"r"], q[b"why"]) for q in kept] == [
        (b"duplicate", b"{not json", b"unreadable"),
        (b"mystery", b"{}", b"unreadable"),
    ]


def test_an_entry_postgresql_refuses_is_quarantined_and_the_batch_is_written(
    engine: Engine, redis_client: redis.Redis
) -> None:
    add(redis_client, "duplicate", {"stripe_event_id": "evt_before"})
    add(redis_client, "duplicate", {"stripe_event_id": "evt_\u0000nul"})  # text cannot hold NUL
    add(redis_client, "ignored", {"stripe_event_id": "evt_after"})
    log_writer = writer(engine, redis_client)
    assert log_writer.drain() == 2
    assert [r.stripe_event_id for r in rows(engine)] == ["evt_before", "evt_after"]
    [kept] = quarantined(redis_client)
    assert (kept[b"o"], kept[b"why"]) == (b"duplicate", b"DataError")
    assert b"nul" in kept[b"r"]
    assert redis_client.xpending(EVENT_LOG_STREAM, "logwriter")["pending"] == 0
    # Nothing is left to block the next batch.
    add(redis_client, "ignored", {"stripe_event_id": "evt_next"})
    assert log_writer.drain() == 1


def test_entries_a_dead_consumer_left_unacknowledged_are_taken_over(
    engine: Engine, redis_client: redis.Redis
) -> None:
    add(redis_client, "duplicate", {"stripe_event_id": "evt_orphan"})
    dead = writer(engine, redis_client, "dead")
    dead._ensure_group()
    redis_client.xreadgroup("logwriter", "dead", {EVENT_LOG_STREAM: ">"}, count=10)  # then dies
    time.sleep(0.05)
    survivor = writer(engine, redis_client, "alive", claim_idle_ms=10)
    assert survivor.drain() == 1
    assert [r.stripe_event_id for r in rows(engine)] == ["evt_orphan"]


def test_the_thread_writes_in_the_background_and_stops(
    engine: Engine, redis_client: redis.Redis
) -> None:
    log_writer = writer(engine, redis_client, block_ms=50)
    log_writer.start()
    try:
        add(redis_client, "ignored", {"stripe_event_id": "evt_bg"})
        deadline = time.monotonic() + 5
        while not rows(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        log_writer.stop()
    assert [r.stripe_event_id for r in rows(engine)] == ["evt_bg"]
