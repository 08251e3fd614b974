"""Liveness and readiness probes.

/healthz says the process answers (no dependency is touched: a restart would not fix them).
/readyz says PostgreSQL and Redis both answer within the timeout; 503 otherwise, naming which.
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
    checks: dict[str, Check], timeout: float
) -> Callable[[Request], Awaitable[JSONResponse]]:
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
        ready = all(v == "ok" for v in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": results},
            status_code=200 if ready else 503,
        )

    return readyz
