"""What the ingress writes into Redis is a message a real Dramatiq worker runs."""

from __future__ import annotations

from typing import Any

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker
from starlette.testclient import TestClient

from tests.ingress.conftest import Fixture, event_body, signed
from workers.contract import NAMESPACE, ROUTES


def test_a_dramatiq_worker_runs_the_message_the_ingress_queued(
    client: TestClient, world: Fixture, redis_url: str, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    body = event_body("evt_contract", "invoice.paid", livemode=True)
    assert client.post(ep.path, content=body, headers=signed(body)).status_code == 200

    broker = RedisBroker(url=redis_url, namespace=NAMESPACE)  # type: ignore[no-untyped-call]
    received: list[dict[str, Any]] = []
    route = ROUTES["invoice.paid"]

    def consume(**kwargs: Any) -> None:
        received.append(kwargs)

    dramatiq.actor(actor_name=route.actor_name, queue_name=route.queue_name, broker=broker)(consume)
    worker = dramatiq.Worker(broker, worker_timeout=50)
    worker.start()
    try:
        broker.join(route.queue_name, timeout=10_000)
    finally:
        worker.stop()
        broker.close()

    [kwargs] = received
    assert kwargs["body"].encode() == body
    assert kwargs["event_id"] == "evt_contract"
    assert kwargs["livemode"] is True
    assert (kwargs["endpoint_id"], kwargs["workspace_id"]) == (ep.endpoint_id, ep.workspace_id)
    assert redis_client.llen(f"{NAMESPACE}:{route.queue_name}") == 0
