"""The Starlette application factory. Dependencies come in as arguments (no settings lookups)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import redis.asyncio as aioredis
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.routing import Route

from ingress.health import healthz, readiness_endpoint


def create_app(*, engine: Engine, redis_url: str, readiness_timeout: float = 2.0) -> Starlette:
    redis_client = aioredis.Redis.from_url(
        redis_url, socket_timeout=readiness_timeout, socket_connect_timeout=readiness_timeout
    )

    def _select_one() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    async def check_postgres() -> None:
        # The engine is synchronous; a worker thread keeps the event loop free.
        await anyio.to_thread.run_sync(_select_one, abandon_on_cancel=True)

    async def check_redis() -> None:
        await redis_client.ping()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await redis_client.aclose()

    routes = [
        Route("/healthz", healthz, methods=["GET"]),
        Route(
            "/readyz",
            readiness_endpoint(
                {"postgres": check_postgres, "redis": check_redis}, readiness_timeout
            ),
            methods=["GET"],
        ),
    ]
    return Starlette(routes=routes, lifespan=lifespan)
