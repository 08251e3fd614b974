"""The two baselines the ingress is measured against, served exactly like the ingress.

- `hmac`: a bare Starlette app that verifies the Stripe signature (the same
  `ingress.signature.verify`) and answers; no Redis. The ceiling for any ingress.
- `naive`: the same, plus one awaited redis-py asyncio LPUSH of the body per request: what a
  straightforward implementation that answers only after Redis confirmed costs.

Run: `python -m bench.baselines {hmac,naive} --port N` with BENCH_SECRET (and, for naive,
REDIS_URL) in the environment. uvicorn gets the settings `traaaction serve` gives the ingress
(traaaction/cli/service.py; keep them in step), so the ratios compare the apps, not servers.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ingress.signature import SignatureError, verify

#: the Redis list the naive baseline pushes onto (the bench deletes it after each run)
NAIVE_KEY = "bench:naive"


def create_app(secret: str, redis_url: str | None = None) -> Starlette:
    client = aioredis.Redis.from_url(redis_url) if redis_url else None

    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(request.headers.get("stripe-signature"), body, [secret], now=time.time())
        except SignatureError as exc:
            return JSONResponse({"error": exc.failure.value}, status_code=400)
        if client is not None:
            await client.lpush(NAIVE_KEY, body)
        return JSONResponse({"received": True})

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        if client is not None:
            await client.aclose()

    return Starlette(
        routes=[
            Route("/api/webhooks/{endpoint_id}", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["hmac", "naive"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    secret = os.environ["BENCH_SECRET"]
    redis_url = os.environ["REDIS_URL"] if args.kind == "naive" else None
    app = create_app(secret, redis_url)
    # The settings of `traaaction serve` (traaaction/cli/service.py), loop and parser included.
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="none",
        timeout_graceful_shutdown=25,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
