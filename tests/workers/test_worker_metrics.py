"""The workers' metrics, scraped from a real `traaaction worker` (several processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from dramatiq.common import current_millis
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import base_env, free_port
from tests.workers.conftest import Shop
from traaaction import stripe_payloads as ev
from traaaction.worker_metrics import build_registry
from workers.contract import ROUTES, SCHEDULER_LAST_TICK, encode_message, queue_key

QUEUE = ROUTES["checkout.session.completed"].queue_name


def enqueue(client: redis.Redis, delivery: dict[str, Any]) -> None:
    """As the ingress queues it (ingress/enqueue.py): HSET the message, RPUSH its id."""
    redis_id, data = encode_message(
        ROUTES["checkout.session.completed"], delivery, timestamp_ms=current_millis()
    )
    client.hset(f"{queue_key(QUEUE)}.msgs", redis_id, data)
    client.rpush(queue_key(QUEUE), redis_id)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            found[key] = found.get(key, 0.0) + s.value
    return found


def total(found: dict[Any, float], name: str, **labels: str) -> float:
    return sum(
        v for (n, ls), v in found.items() if n == name and labels.items() <= dict(ls).items()
    )


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def worker(
    shop: Shop, database_url: str, redis_url: str, master_key_value: str, tmp_path: Path
) -> Iterator[int]:
    port = free_port()
    env = {
        **base_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "TRAAACTION_DATA_DIR": str(tmp_path / "data"),
        "LOG_FORMAT": "json",
        "WORKER_PROCESSES": "2",
        "WORKER_THREADS": "2",
        "WORKER_METRICS_PORT": str(port),
    }
    with (tmp_path / "worker.log").open("wb") as log:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "traaaction"), "worker"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=40)


def scrape(port: int) -> dict[Any, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return samples(response.read().decode())


@pytest.mark.slow
def test_outcomes_failures_queues_and_dead_letters_are_exported(
    shop: Shop, worker: int, redis_client: redis.Redis
) -> None:
    for n in range(2):
        body = ev.checkout_session_completed(session_id=f"cs_m{n}", click_id=shop.click_id).text
        enqueue(redis_client, {**ev.delivery(body, workspace_id=shop.workspace_id),
                               "received_at": current_millis()})  # fmt: skip
    unknown = ev.checkout_session_completed(
        session_id="cs_unknown", click_id="clk_" + "c" * 26
    ).text
    enqueue(redis_client, ev.delivery(unknown, workspace_id=shop.workspace_id))
    broken = ev.delivery(
        ev.checkout_session_completed(session_id="cs_bad", click_id=None).text,
        workspace_id=shop.workspace_id,
    )
    broken["body"] = "{not json"
    enqueue(redis_client, broken)

    def settled() -> bool:
        try:
            found = scrape(worker)
        except OSError:
            return False
        return (
            total(found, "traaaction_events_total") >= 3
            and total(found, "traaaction_dead_letters_open") == 1
        )

    wait_for(settled, 60, "three outcomes and one dead letter in the metrics")
    found = scrape(worker)
    assert total(found, "traaaction_events_total", outcome="processed") == 2
    assert (
        total(found, "traaaction_events_total", outcome="skipped", reason="unknown_click_id") == 1
    )
    assert total(found, "traaaction_dead_letters_total", error="EventParseError") == 1
    assert total(found, "traaaction_event_failures_total", will_retry="false") == 1
    # Only the two deliveries stamped with their receipt time have an end-to-end latency.
    assert total(found, "traaaction_event_latency_seconds_count") == 2
    assert total(found, "traaaction_event_processing_seconds_count") == 3
    assert total(found, "traaaction_queue_depth", queue=QUEUE) == 0
    assert total(found, "traaaction_queue_dead", queue=QUEUE) == 1
    assert ("traaaction_queue_oldest_age_seconds", (("queue", QUEUE),)) in found
    assert total(found, "traaaction_scheduler_last_tick_timestamp_seconds") == 0

    redis_client.set(SCHEDULER_LAST_TICK, 1_800_000_000)
    assert total(scrape(worker), "traaaction_scheduler_last_tick_timestamp_seconds") == 1.8e9


def test_a_source_that_cannot_be_read_is_left_out_and_counted() -> None:
    down = redis.Redis(port=1, socket_connect_timeout=0.5)
    registry = build_registry(down, None)
    names = {m.name for m in registry.collect()}
    assert "traaaction_queue_depth" not in names
    errors = [
        s.value
        for m in registry.collect()
        if m.name == "traaaction_metrics_source_errors"
        for s in m.samples
        if s.labels.get("source") == "redis" and s.name.endswith("_total")
    ]
    assert errors
    assert errors[0] >= 1
