"""The body cap and the body deadline, at the ASGI level where bytes read can be counted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import MutableMapping
from typing import Any

from sqlalchemy import Engine
from starlette.applications import Starlette

from ingress.app import IngressOptions, create_app
from ingress.webhook import WebhookLimits
from storage.crypto import SecretBox
from tests.ingress.conftest import Fixture

CAP = 1024 * 1024
CHUNK = 64 * 1024


class Client:
    """An ASGI client that feeds the body chunk by chunk and counts what the app pulled."""

    def __init__(self, chunks: int, *, stall_after: int | None = None) -> None:
        self.chunks = chunks
        self.stall_after = stall_after
        self.pulled = 0
        self.sent: list[MutableMapping[str, Any]] = []

    async def receive(self) -> dict[str, Any]:
        if self.stall_after is not None and self.pulled >= self.stall_after:
            await asyncio.sleep(3600)  # a client that stops sending
        self.pulled += 1
        return {
            "type": "http.request",
            "body": b"x" * CHUNK,
            "more_body": self.pulled < self.chunks,
        }

    async def send(self, message: MutableMapping[str, Any]) -> None:
        self.sent.append(message)

    @property
    def status(self) -> int:
        return int(self.sent[0]["status"])


def scope(path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("198.51.100.9", 5555),
        "server": ("127.0.0.1", 8000),
    }


async def _call(
    app: Starlette, path: str, client: Client, headers: list[tuple[bytes, bytes]]
) -> None:
    async with app.router.lifespan_context(app):
        await app(scope(path, headers), client.receive, client.send)


def test_a_declared_length_over_the_cap_is_refused_before_reading(
    app: Starlette, world: Fixture
) -> None:
    ep = world.endpoint()
    client = Client(chunks=100)
    asyncio.run(_call(app, ep.path, client, [(b"content-length", str(CAP * 5).encode())]))
    assert client.status == 413
    assert client.pulled == 0


def test_an_undeclared_body_is_never_read_past_the_cap(app: Starlette, world: Fixture) -> None:
    ep = world.endpoint()
    client = Client(chunks=1000)  # 64 MB on offer
    asyncio.run(_call(app, ep.path, client, []))
    assert client.status == 413
    assert client.pulled * CHUNK <= CAP + CHUNK


def test_a_body_that_stops_arriving_is_cut_off_with_408(
    engine: Engine, redis_url: str, secret_box: SecretBox, world: Fixture
) -> None:
    app = create_app(
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        options=IngressOptions(limits=WebhookLimits(body_timeout=0.3)),
    )
    ep = world.endpoint()
    client = Client(chunks=10, stall_after=2)
    started = time.monotonic()
    asyncio.run(_call(app, ep.path, client, []))
    assert client.status == 408
    assert time.monotonic() - started < 2
