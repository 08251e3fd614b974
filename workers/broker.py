"""The Dramatiq broker: Redis, one namespace, the middleware every actor runs under."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

#: the Redis key prefix of every queue; ingress enqueues under the same one
NAMESPACE = "traaaction"


def make_broker(redis_url: str) -> RedisBroker:
    return RedisBroker(url=redis_url, namespace=NAMESPACE)  # type: ignore[no-untyped-call]


def install_broker(redis_url: str) -> RedisBroker:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker
