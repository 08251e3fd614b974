"""The throughput floor: bare Dramatiq actors doing one INSERT per message (bench/throughput.py).

`dramatiq bench.floor_worker --processes 2 --threads 8` with DATABASE_URL and REDIS_URL set
(and dramatiq_worker_timeout=100, as `traaaction worker` sets it). Everything around the actor
is the service's: the same RedisBroker in the same namespace with CurrentMessage
(workers.broker), the same four actor names, queues and retry policy (workers.contract,
workers.retry), and an engine made like the workers' one (storage.db.make_engine, a pool of one
connection per thread). Each message costs one transaction holding one INSERT into
`bench_floor` (bench/throughput.py creates it); nothing parses the Stripe body.
"""

from __future__ import annotations

import os
from typing import Any

import dramatiq
from sqlalchemy import text

from storage.db import make_engine
from workers.broker import install_broker
from workers.contract import ROUTES
from workers.retry import MAX_BACKOFF, MAX_RETRIES, MIN_BACKOFF, should_retry

_INSERT = text(
    "INSERT INTO bench_floor (event_id, workspace_id, endpoint_id, event_type, received_at)"
    " VALUES (:event_id, :workspace_id, :endpoint_id, :event_type, :received_at)"
)

_engine = make_engine(
    os.environ["DATABASE_URL"],
    pool_size=int(os.environ.get("WORKER_THREADS", "8")),
    application_name="traaaction-bench-floor",
)
broker = install_broker(os.environ["REDIS_URL"])


def _declare(event_type: str) -> dramatiq.Actor[..., None]:
    route = ROUTES[event_type]

    def run(**delivery: Any) -> None:
        with _engine.begin() as conn:
            conn.execute(
                _INSERT,
                {
                    "event_id": delivery["event_id"],
                    "workspace_id": delivery["workspace_id"],
                    "endpoint_id": delivery["endpoint_id"],
                    "event_type": delivery["event_type"],
                    "received_at": delivery["received_at"],
                },
            )

    run.__name__ = route.actor_name
    return dramatiq.actor(
        actor_name=route.actor_name,
        queue_name=route.queue_name,
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF,
        max_backoff=MAX_BACKOFF,
        retry_when=should_retry,
    )(run)


actors = [_declare(event_type) for event_type in ROUTES]
