"""The workers' metrics server: `python -m traaaction.worker_metrics --port 9191`.

`traaaction worker` starts it beside the Dramatiq processes (WORKER_METRICS_PORT; 0: none).
A scrape of /metrics adds up what every worker process recorded (workers/metrics.py, through
PROMETHEUS_MULTIPROC_DIR) and reads, at that moment:

- each queue's depth from Redis (traaaction/ops/depths.py): ready, in flight, delayed, dead
  (Dramatiq's own dead-letter set), and the age of the oldest ready message;
- the log writer's backlog (entries waiting in its Redis streams);
- when the scheduler last finished a tick (it writes that to Redis);
- the open dead letters in PostgreSQL.

A source that cannot be read leaves its metrics out of that scrape (an alert on their absence
notices), and counts in traaaction_metrics_source_errors_total.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import redis
from prometheus_client import CollectorRegistry, Counter, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine, text

from config.logs import configure_logging, get_logger
from config.settings import load_settings
from storage.db import make_engine
from traaaction.ops.depths import handled_queues, read_backlogs, read_depths
from workers.contract import SCHEDULER_LAST_TICK

log = get_logger(__name__)

SOURCE_ERRORS = Counter(
    "traaaction_metrics_source_errors_total",
    "Scrapes that could not read a source (redis, postgres).",
    ["source"],
    registry=None,
)


class LiveCollector(Collector):
    """What is read at scrape time: queues, backlogs, the scheduler, open dead letters."""

    def __init__(self, client: redis.Redis, engine: Engine | None) -> None:
        self._client = client
        self._engine = engine

    def collect(self) -> Iterator[Any]:
        yield from self._redis()
        yield from self._postgres()
        yield from SOURCE_ERRORS.collect()

    def _redis(self) -> Iterator[Any]:
        try:
            depths = read_depths(self._client, handled_queues(), now_ms=int(time.time() * 1000))
            backlogs = read_backlogs(self._client)
            last_tick = self._client.get(SCHEDULER_LAST_TICK)
        except redis.RedisError:
            SOURCE_ERRORS.labels("redis").inc()
            return
        families = {
            "ready": GaugeMetricFamily(
                "traaaction_queue_depth", "Messages ready in the queue.", labels=["queue"]
            ),
            "in_flight": GaugeMetricFamily(
                "traaaction_queue_in_flight",
                "Messages fetched by a worker and not yet acknowledged.",
                labels=["queue"],
            ),
            "delayed": GaugeMetricFamily(
                "traaaction_queue_delayed",
                "Messages waiting for their retry's backoff.",
                labels=["queue"],
            ),
            "dead": GaugeMetricFamily(
                "traaaction_queue_dead",
                "Messages in Dramatiq's dead-letter set (kept 7 days; the durable copy is in "
                "PostgreSQL's dead_letters).",
                labels=["queue"],
            ),
        }
        age = GaugeMetricFamily(
            "traaaction_queue_oldest_age_seconds",
            "Age of the oldest ready message (0 when none is ready).",
            labels=["queue"],
        )
        for depth in depths:
            families["ready"].add_metric([depth.queue], depth.ready)
            families["in_flight"].add_metric([depth.queue], depth.in_flight)
            families["delayed"].add_metric([depth.queue], depth.delayed)
            families["dead"].add_metric([depth.queue], depth.dead)
            age.add_metric([depth.queue], depth.oldest_age or 0.0)
        yield from families.values()
        yield age
        backlog = GaugeMetricFamily(
            "traaaction_log_backlog",
            "Entries waiting in the log writer's Redis streams.",
            labels=["stream"],
        )
        for label, count in backlogs:
            backlog.add_metric([label], count)
        yield backlog
        if last_tick is not None:
            yield GaugeMetricFamily(
                "traaaction_scheduler_last_tick_timestamp_seconds",
                "When a scheduler last finished a tick (Unix time).",
                value=float(last_tick),
            )

    def _postgres(self) -> Iterator[Any]:
        if self._engine is None:
            return
        try:
            with self._engine.connect() as conn:
                count = conn.execute(
                    text("SELECT count(*) FROM dead_letters WHERE status = 'open'")
                ).scalar_one()
        except Exception:  # any database failure: this scrape goes without it
            SOURCE_ERRORS.labels("postgres").inc()
            return
        yield GaugeMetricFamily(
            "traaaction_dead_letters_open",
            "Dead letters waiting for an operator (traaaction dlq list).",
            value=float(count),
        )


def build_registry(client: redis.Redis, engine: Engine | None) -> CollectorRegistry:
    registry = CollectorRegistry()
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    registry.register(LiveCollector(client, engine))
    return registry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="0.0.0.0")  # noqa: S104 - scraped from outside
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.redis_url is None:
        raise SystemExit("REDIS_URL is required here (`traaaction worker` sets it)")
    client = redis.Redis.from_url(settings.redis_url, socket_timeout=2)
    engine = (
        make_engine(settings.database_url, pool_size=1, application_name="traaaction-metrics")
        if settings.database_url
        else None
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        server, thread = start_http_server(args.port, args.host, build_registry(client, engine))
    except OSError as exc:
        # Not fatal: the workers go on without metrics (their absence is what alerts notice)
        # rather than stop because another process on this host holds the port.
        log.error("worker_metrics.not_serving", port=args.port, error=str(exc))
        stop.wait()
        return
    log.info("worker_metrics.started", port=args.port)
    stop.wait()
    server.shutdown()
    thread.join(5)


if __name__ == "__main__":
    main()
