"""The Starlette application factory. Dependencies come in as arguments (no settings lookups)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import anyio
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.routing import Route

from ingress.directory import DEFAULT_TTL, EndpointDirectory
from ingress.enqueue import Enqueuer
from ingress.health import healthz, readiness_endpoint
from ingress.loader import make_loader
from ingress.metrics import IngressMetrics
from ingress.rejections import RejectionLog
from ingress.webhook import Receive, Scope, Send, WebhookHandler, WebhookLimits
from storage.crypto import SecretBox
from storage.db import make_session_factory

#: the public webhook route; part of the contract with merchants' Stripe settings
WEBHOOK_ROUTE = "/api/webhooks/{endpoint_id}"
_WEBHOOK_PREFIX = WEBHOOK_ROUTE.removesuffix("{endpoint_id}")


class IngressApp(Starlette):
    """Starlette, with webhook deliveries taken straight to their handler.

    A POST to /api/webhooks/<id> is exactly what the webhook route matches; dispatched here it
    skips the middleware stack and the route table (about a sixth of the cost of a delivery). The
    route stays registered, so anything else (other methods, a root_path) is unchanged; an
    exception still reaches the server, which answers 500 as Starlette's middleware would.
    """

    def __init__(self, *, webhook: WebhookHandler, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._webhook = webhook

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("root_path"):
            path: str = scope["path"]
            if path.startswith(_WEBHOOK_PREFIX):
                endpoint_id = path[len(_WEBHOOK_PREFIX) :]
                if endpoint_id and "/" not in endpoint_id:
                    scope["app"] = self
                    await self._webhook.handle(endpoint_id, scope, receive, send)
                    return
        await super().__call__(scope, receive, send)


@dataclass(frozen=True, slots=True)
class IngressOptions:
    limits: WebhookLimits = field(default_factory=WebhookLimits)
    readiness_timeout: float = 2.0
    enqueue_timeout: float = 2.0
    endpoint_cache_ttl: float = DEFAULT_TTL


def create_app(
    *,
    engine: Engine,
    redis_url: str,
    secret_box: SecretBox,
    options: IngressOptions | None = None,
) -> Starlette:
    opts = options or IngressOptions()
    redis_client = aioredis.Redis.from_url(
        redis_url,
        socket_timeout=opts.enqueue_timeout,
        socket_connect_timeout=opts.enqueue_timeout,
        # One quick retry covers a pooled connection that died with a Redis restart; anything
        # longer would only delay the 503 that makes Stripe retry.
        retry=Retry(ExponentialBackoff(cap=0.05, base=0.01), 1),
        health_check_interval=30,
    )
    metrics = IngressMetrics()
    directory = EndpointDirectory(
        make_loader(make_session_factory(engine), secret_box), ttl=opts.endpoint_cache_ttl
    )
    enqueuer = Enqueuer(redis_client, timeout=opts.enqueue_timeout, on_batch=metrics.observe_batch)
    rejections = RejectionLog(redis_client)
    webhook = WebhookHandler(
        directory=directory,
        enqueuer=enqueuer,
        rejections=rejections,
        metrics=metrics,
        limits=opts.limits,
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
        rejections.start()
        try:
            yield
        finally:
            await enqueuer.close()
            await rejections.close()
            await directory.close()
            await redis_client.aclose()

    routes = [
        Route(WEBHOOK_ROUTE, webhook, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route(
            "/readyz",
            readiness_endpoint(
                {"postgres": check_postgres, "redis": check_redis},
                opts.readiness_timeout,
                required=frozenset({"redis"}),
            ),
            methods=["GET"],
        ),
        Route("/metrics", metrics.endpoint, methods=["GET"]),
    ]
    app = IngressApp(webhook=webhook, routes=routes, lifespan=lifespan)
    app.state.directory = directory
    app.state.metrics = metrics
    app.state.rejections = rejections
    return app
