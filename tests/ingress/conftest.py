from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

import orjson
import pytest
import redis
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ingress.app import IngressOptions, create_app
from ingress.signature import sign
from storage.crypto import SecretBox
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import endpoints, workspaces
from workers.contract import EVENT_LOG_STREAM, ROUTES, queue_key

SECRET = "whsec_test_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@dataclass
class Endpoint:
    workspace_id: str
    endpoint_id: str
    secret: str

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.endpoint_id}"


@dataclass
class Fixture:
    engine: Engine
    box: SecretBox

    def endpoint(self, secret: str | None = SECRET, *, name: str = "Shop") -> Endpoint:
        with unit_of_work(make_session_factory(self.engine)) as session:
            ws = workspaces.create(session, name=name)
            ep = endpoints.create(session, workspace_id=ws.id)
            if secret is not None:
                endpoints.add_secret(session, self.box, endpoint_id=ep.id, secret=secret)
            return Endpoint(ws.id, ep.id, secret or "")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def world(engine: Engine, secret_box: SecretBox) -> Fixture:
    return Fixture(engine, secret_box)


@pytest.fixture
def app(engine: Engine, redis_url: str, secret_box: SecretBox) -> Starlette:
    return create_app(
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        options=IngressOptions(enqueue_timeout=1.0),
    )


@pytest.fixture
def client(app: Starlette, redis_client: redis.Redis) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.7", 4242)) as test_client:
        yield test_client


def event_body(
    event_id: str = "evt_1",
    event_type: str = "checkout.session.completed",
    *,
    livemode: bool = False,
    extra: dict[str, object] | None = None,
) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": event_type,
            "livemode": livemode,
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "data": {"object": {"id": "cs_test_1", "object": "checkout.session", **(extra or {})}},
        }
    )


def signed(body: bytes, secret: str = SECRET, *, at: int | None = None) -> dict[str, str]:
    return {
        "Stripe-Signature": sign(secret, body, int(time.time()) if at is None else at),
        "Content-Type": "application/json",
    }


def stream_entries(client: redis.Redis) -> list[tuple[str, dict[bytes, bytes]]]:
    """The event-log stream's entries: (outcome, fields)."""
    raw = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(EVENT_LOG_STREAM))
    return [(fields[b"o"].decode(), fields) for _id, fields in raw]


def log_records(client: redis.Redis, outcome: str) -> list[dict[str, Any]]:
    return [orjson.loads(f[b"r"]) for o, f in stream_entries(client) if o == outcome]


def queued_messages(client: redis.Redis) -> list[dict[str, Any]]:
    """Every Dramatiq message the ingress put on any handled queue, decoded."""
    found = []
    for route in ROUTES.values():
        key = queue_key(route.queue_name)
        ids = client.lrange(key, 0, -1)
        for mid in ids:
            data = client.hget(f"{key}.msgs", mid)
            assert data is not None, f"message {mid!r} listed but not stored"
            found.append(orjson.loads(data))
    return found
