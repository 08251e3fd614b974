"""The operator console: a small server-rendered site at /ops, behind OPS_TOKEN.

This module is what the web process imports: it stays light. The console itself (Jinja2, the
pages, the Redis client, the replay service and the worker pipeline behind it) is imported and
built at the first request under /ops, in a worker thread, so a web process whose console is
never opened carries none of it and the webhook route never waits for it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from storage.crypto import SecretBox

#: where the web process mounts the console
PREFIX = "/ops"


class ActionError(Exception):
    """An action that cannot run (no such dead letter, ...); the message is for the operator."""


class ReplayOutcome(Protocol):
    """What the console reads of workers.replay.ReplayResult."""

    @property
    def dead_letter_id(self) -> str | None: ...
    @property
    def stripe_event_id(self) -> str: ...
    @property
    def event_type(self) -> str: ...
    @property
    def outcome(self) -> str: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def commission_ids(self) -> tuple[str, ...]: ...
    @property
    def planned(self) -> tuple[dict[str, Any], ...]: ...
    @property
    def error(self) -> str | None: ...


class Actions(Protocol):
    """The console's buttons. Blocking calls: the console runs them in worker threads.

    They raise ActionError when they cannot run; any other exception is a failure.
    """

    def replay(self, dead_letter_id: str, *, dry_run: bool) -> ReplayOutcome: ...

    def discard(self, dead_letter_ids: Sequence[str], reason: str) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class ConsoleConfig:
    #: OPS_TOKEN; compared in constant time, never shown, logged or put in a URL
    token: SecretStr
    engine: Engine
    redis_url: str
    #: opens workspaces' Stripe API keys for replays (refund lookups); None: no lookups
    secret_box: SecretBox | None = None
    stripe_api_base: str = "https://api.stripe.com"
    #: seconds a session lives at most, and without a request
    session_lifetime: float = 8 * 3600
    session_idle: float = 3600
    #: failed sign-ins per client: a burst of this many, then one per `login_refill` seconds
    login_burst: int = 5
    login_refill: float = 1.0
    #: wall clock, seconds (tests move it)
    clock: Callable[[], float] = time.time
    #: the replay and discard service; None: workers.replay, run in this process
    actions: Actions | None = field(default=None, repr=False)


class LazyConsole:
    """An ASGI app that builds the console at its first request (in a worker thread)."""

    def __init__(self, config: ConsoleConfig) -> None:
        self._config = config
        self._app: Starlette | None = None
        self._lock = anyio.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        app = self._app
        if app is None:
            async with self._lock:
                if self._app is None:
                    self._app = await anyio.to_thread.run_sync(self._build)
                app = self._app
        await app(scope, receive, send)

    def _build(self) -> Starlette:
        from traaaction.ops.app import create_ops_app

        return create_ops_app(self._config)

    async def aclose(self) -> None:
        if self._app is not None:
            close: Callable[[], None] = self._app.state.close
            await anyio.to_thread.run_sync(close)


def mount(app: Starlette, config: ConsoleConfig) -> LazyConsole:
    """Serve the console under /ops of `app`; it is closed with the app's lifespan."""
    console = LazyConsole(config)
    app.router.routes.append(Mount(PREFIX, app=console))
    inner: Callable[[Any], AbstractAsyncContextManager[Any]] = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(asgi_app: Any) -> AsyncIterator[Any]:
        try:
            async with inner(asgi_app) as state:
                yield state
        finally:
            await console.aclose()

    app.router.lifespan_context = lifespan
    return console
