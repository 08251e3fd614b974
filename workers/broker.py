"""The Dramatiq broker: Redis, the project's namespace, the middleware every actor runs under."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from traaaction.queues import NAMESPACE
from workers import outcomes


def make_broker(redis_url: str) -> RedisBroker:
    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)  # type: ignore[no-untyped-call]
    # Actors read their attempt number from the message being processed.
    broker.add_middleware(CurrentMessage())
    # Failed attempts and dead letters get their event-log rows.
    outcomes.install(broker)
    return broker


def install_broker(redis_url: str) -> RedisBroker:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker
