"""The real service for the pipeline benchmarks (bench/latency.py, throughput.py, burst.py).

A shop in a fresh database (workspace, program, partner, clicks, endpoint and signing secret,
made through the storage repositories), the environment `traaaction serve` and `traaaction
worker` get, the Dramatiq messages the ingress would queue, and the checks run afterwards.
"""

from __future__ import annotations

import os
import random
import secrets
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.databases import conninfo
from bench.events import API_VERSION, EVENT_TYPE, payment_body
from bench.processes import BenchError, tail
from domain.programs import PercentReward, ProgramTerms
from storage.crypto import SecretBox, format_master_key, generate_master_key
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import clicks, endpoints, partners, programs, workspaces
from storage.schema import upgrade
from workers.contract import NAMESPACE, ROUTES, Delivery, queue_key

ROUTE = ROUTES[EVENT_TYPE]
QUEUE = queue_key(ROUTE.queue_name)
#: Dramatiq's RedisBroker: one entry per worker process (broker), refreshed on every poll
HEARTBEATS = f"{NAMESPACE}:__heartbeats__"
#: the ingress' idempotency keys, one per accepted event (workers.contract.idempotency_key)
SEEN_PATTERN = f"{NAMESPACE}:seen:*"
#: the pipeline's tables, emptied between measurements on one database
LEDGER_TABLES = (
    "applied_events",
    "parked_events",
    "webhook_event_log",
    "commissions",
    "attributions",
    "subscription_ends",
)


@dataclass(frozen=True, slots=True)
class Shop:
    database_url: str
    keys: str  # TRAAACTION_KEYS
    workspace_id: str
    endpoint_id: str
    secret: str
    program_id: str
    partner_id: str
    click_ids: tuple[str, ...]


def seed_shop(database_url: str, *, click_count: int = 20) -> Shop:
    """Migrate the (fresh) database and create one shop whose partner has `click_count` clicks:
    a 20 % program with the default 30 holding days, an endpoint and its signing secret."""
    master = generate_master_key()
    secret = "whsec_" + secrets.token_urlsafe(24)
    engine = make_engine(database_url, pool_size=1, application_name="traaaction-bench")
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            ws = workspaces.create(session, name="Bench shop")
            program = programs.create(
                session, workspace_id=ws.id, name="Bench", terms=ProgramTerms(PercentReward(2000))
            )
            partner = partners.create(
                session, workspace_id=ws.id, program_id=program.id, name="Bench partner"
            )
            click_ids = tuple(
                clicks.create(session, partner_id=partner.id).id for _ in range(click_count)
            )
            ep = endpoints.create(session, workspace_id=ws.id)
            endpoints.add_secret(session, SecretBox([master]), endpoint_id=ep.id, secret=secret)
            shop = Shop(
                database_url=database_url,
                keys=format_master_key(master),
                workspace_id=ws.id,
                endpoint_id=ep.id,
                secret=secret,
                program_id=program.id,
                partner_id=partner.id,
                click_ids=click_ids,
            )
    finally:
        engine.dispose()
    return shop


def truncate_ledger(database_url: str) -> None:
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(LEDGER_TABLES)}")


def service_env(
    shop: Shop, redis_url: str, *, log_level: str, processes: int, threads: int
) -> dict[str, str]:
    """What `traaaction serve` / `traaaction worker` get: configured servers, no embedding."""
    return {
        **os.environ,
        "DATABASE_URL": shop.database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": shop.keys,
        "LOG_LEVEL": log_level,
        "LOG_FORMAT": "json",
        "WORKER_PROCESSES": str(processes),
        "WORKER_THREADS": str(threads),
        "PYTHONUNBUFFERED": "1",
    }


def traaaction(*args: str) -> list[str]:
    return [sys.executable, "-m", "traaaction", *args]


def wait_for_workers(
    client: redis.Redis,
    processes: int,
    proc: subprocess.Popen[bytes],
    log: Path,
    *,
    timeout: float = 90.0,
    settle: float = 1.0,
) -> float:
    """Wait until `processes` Dramatiq worker processes poll their queues (their brokers'
    heartbeats in Redis), then `settle` seconds more; returns the seconds waited in all."""
    started = time.monotonic()
    deadline = started + timeout
    while client.zcard(HEARTBEATS) < processes:
        if proc.poll() is not None:
            raise BenchError(f"the worker exited ({proc.returncode}):\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(f"the workers did not poll Redis within {timeout:.0f} s:\n{tail(log)}")
        time.sleep(0.05)
    time.sleep(settle)
    if proc.poll() is not None:
        raise BenchError(f"the worker exited ({proc.returncode}):\n{tail(log)}")
    return time.monotonic() - started


class Events:
    """Distinct payment-mode checkout events for one shop, each naming one of its clicks."""

    def __init__(self, shop: Shop) -> None:
        self._shop = shop
        self._tag = secrets.token_hex(4)
        self._rng = random.Random(uuid.uuid4().int)  # noqa: S311 - variety, not secrecy
        self._counter = 0

    def next(self, now: int) -> tuple[str, str, bytes]:
        """(event id, checkout session id, body)"""
        self._counter += 1
        click = self._shop.click_ids[self._counter % len(self._shop.click_ids)]
        return payment_body(self._tag, self._counter, now, self._rng, click_id=click)


@dataclass(frozen=True, slots=True)
class QueuedEvent:
    event_id: str
    session_id: str
    message_id: str  # Dramatiq's redis_message_id
    data: bytes


def checkout_messages(shop: Shop, count: int) -> list[QueuedEvent]:
    """`count` messages exactly as the ingress queues them (a workers.contract.Delivery)."""
    events = Events(shop)
    out: list[QueuedEvent] = []
    for _ in range(count):
        now_ms = int(time.time() * 1000)
        event_id, session_id, body = events.next(now_ms // 1000)
        delivery = Delivery(
            endpoint_id=shop.endpoint_id,
            workspace_id=shop.workspace_id,
            event_id=event_id,
            event_type=EVENT_TYPE,
            livemode=False,
            api_version=API_VERSION,
            received_at=now_ms,
            body=body.decode("utf-8"),
        )
        message_id, data = delivery.message(timestamp_ms=now_ms)
        out.append(QueuedEvent(event_id, session_id, message_id, data))
    return out


def store_messages(client: redis.Redis, messages: list[QueuedEvent], *, batch: int = 500) -> None:
    """HSET every message into the queue's hash (as the ingress' script does), without listing
    it yet: nothing is consumed until `release_messages`."""
    for at in range(0, len(messages), batch):
        chunk = messages[at : at + batch]
        client.hset(f"{QUEUE}.msgs", mapping={m.message_id: m.data for m in chunk})


def release_messages(client: redis.Redis, messages: list[QueuedEvent]) -> None:
    """RPUSH every message id in one command: all the work appears at once."""
    client.rpush(QUEUE, *[m.message_id for m in messages])


def pending_messages(client: redis.Redis) -> int:
    """Messages of the checkout queue not yet acknowledged (Dramatiq acks after the actor
    returned): queued, in a worker's hands, or waiting for a retry."""
    pipe = client.pipeline(transaction=False)
    pipe.hlen(f"{QUEUE}.msgs")
    pipe.hlen(f"{QUEUE}.DQ.msgs")
    queued, delayed = pipe.execute()
    return int(queued) + int(delayed)


def wait_until_drained(
    client: redis.Redis, worker: subprocess.Popen[bytes], log: Path, *, timeout: float
) -> None:
    """Poll every 10 ms until no message of the queue is left unacknowledged (Dramatiq
    acknowledges after the actor returned, so after its transaction committed)."""
    deadline = time.monotonic() + timeout
    while pending_messages(client):
        if worker.poll() is not None:
            raise BenchError(f"the worker exited ({worker.returncode}):\n{tail(log)}")
        if time.monotonic() > deadline:
            raise BenchError(
                f"{pending_messages(client)} messages left after {timeout:g} s:\n{tail(log)}"
            )
        time.sleep(0.01)


def dead_letters(client: redis.Redis) -> int:
    return int(client.hlen(f"{QUEUE}.XQ.msgs"))


def check_ledger(database_url: str, workspace_id: str, session_ids: set[str]) -> dict[str, Any]:
    """Every expected checkout session has exactly one commission, nothing else has one, and
    the event log has one `processed` row per event."""
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        counts: dict[str, int] = dict(
            conn.execute(
                "SELECT checkout_session_id, count(*) FROM commissions"
                " WHERE workspace_id = %s GROUP BY 1",
                (workspace_id,),
            ).fetchall()
        )
        outcomes: dict[str, int] = dict(
            conn.execute(
                "SELECT outcome, count(*) FROM webhook_event_log WHERE workspace_id = %s"
                " GROUP BY 1",
                (workspace_id,),
            ).fetchall()
        )
    missing = sum(1 for s in session_ids if s not in counts)
    more_than_one = sum(1 for n in counts.values() if n > 1)
    unexpected = sum(1 for s in counts if s not in session_ids)
    return {
        "expected": len(session_ids),
        "commissions": sum(counts.values()),
        "missing": missing,
        "more_than_one": more_than_one,
        "unexpected": unexpected,
        "event_log": outcomes,
        "ok": missing == 0
        and more_than_one == 0
        and unexpected == 0
        and outcomes.get("processed", 0) == len(session_ids)
        and set(outcomes) <= {"processed"},
    }
