"""Liveness and readiness probes.

/healthz says the process answers (no dependency is touched: a restart would not fix them).
/readyz checks PostgreSQL and Redis within the timeout and names each one's state. It answers
503 only when a *required* one fails: Redis, without which nothing can be accepted. With
PostgreSQL down the ingress still verifies and queues for every endpoint it has cached (it
never touches PostgreSQL otherwise), so it answers 200 "degraded": a load balancer keeps
sending it traffic instead of turning Stripe's deliveries into its own errors.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse

Check = Callable[[], Awaitable[None]]


async def healthz(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def readiness_endpoint(
    checks: dict[str, Check], timeout: float, *, required: frozenset[str] | None = None
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """`required`: the checks whose failure makes the process unready (default: all)."""
    must = frozenset(checks) if required is None else required

    async def readyz(_request: Request) -> JSONResponse:
        results: dict[str, str] = {}

        async def run(name: str, check: Check) -> None:
            try:
                with anyio.fail_after(timeout):
                    await check()
            except TimeoutError:
                results[name] = "timeout"
            except Exception as exc:
                results[name] = f"error: {type(exc).__name__}"
            else:
                results[name] = "ok"

        async with anyio.create_task_group() as group:
            for name, check in checks.items():
                group.start_soon(run, name, check)
        ready = all(results[name] == "ok" for name in must)
        complete = all(v == "ok" for v in results.values())
        status = "ready" if complete else "degraded" if ready else "unavailable"
        return JSONResponse(
            {"status": status, "checks": results}, status_code=200 if ready else 503
        )

    return readyz
