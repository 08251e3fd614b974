"""Endpoint lookups without PostgreSQL on the hot path.

Each process keeps what it learned about an endpoint (workspace, enabled, decrypted active
secrets with their expiry) for `ttl` seconds, and that an id is unknown for `negative_ttl`
seconds, in a bounded LRU, so random ids cannot fill memory or hammer the database.

- A fresh entry answers at once. A stale one still answers at once and is refreshed in the
  background (one refresh per endpoint at a time): a database outage does not stop webhooks.
- A secret's expiry is checked at every request, so an expired secret stops verifying on time.
- A secret added in the CLI is picked up within `ttl` seconds (30 by default), and sooner when a
  signature fails to match: the entry is then refreshed at once, at most once per
  `min_refresh_interval` per endpoint, and the signature checked again.
- Only an endpoint never seen before waits for the database; if that fails the caller answers
  503 so Stripe retries.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import anyio

#: seconds
DEFAULT_TTL = 30.0
DEFAULT_NEGATIVE_TTL = 30.0
DEFAULT_MIN_REFRESH_INTERVAL = 1.0
#: entries, known and unknown together (each well under 1 KB)
DEFAULT_MAX_ENTRIES = 100_000

#: the shape of ids made by storage.ids.endpoint_id(): anything else is unknown without a lookup
ENDPOINT_ID = re.compile(r"^ep_[a-z2-7]{32}$")


@dataclass(frozen=True, slots=True)
class EndpointState:
    endpoint_id: str
    workspace_id: str
    enabled: bool
    #: (secret, expires_at as a Unix time or None)
    secrets: tuple[tuple[str, float | None], ...]

    def active_secrets(self, now: float) -> list[str]:
        return [s for s, expires in self.secrets if expires is None or expires > now]

    def __repr__(self) -> str:
        return (
            f"EndpointState({self.endpoint_id!r}, workspace={self.workspace_id!r}, "
            f"enabled={self.enabled}, secrets={len(self.secrets)})"
        )


class DirectoryUnavailable(Exception):
    """Raised when an endpoint never seen before cannot be looked up (database unreachable)."""


@dataclass(slots=True)
class _Entry:
    state: EndpointState | None  # None: known to be unknown
    loaded_at: float


Loader = Callable[[str], EndpointState | None]


class EndpointDirectory:
    def __init__(
        self,
        loader: Loader,
        *,
        ttl: float = DEFAULT_TTL,
        negative_ttl: float = DEFAULT_NEGATIVE_TTL,
        min_refresh_interval: float = DEFAULT_MIN_REFRESH_INTERVAL,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loader = loader
        self._ttl = ttl
        self._negative_ttl = negative_ttl
        self._min_refresh = min_refresh_interval
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[EndpointState | None]] = {}
        self._background: set[asyncio.Task[EndpointState | None]] = set()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, endpoint_id: str) -> EndpointState | None:
        """The endpoint's state, or None if there is no such endpoint."""
        if not ENDPOINT_ID.match(endpoint_id):
            return None
        entry = self._entries.get(endpoint_id)
        if entry is None:
            return await self._load(endpoint_id)
        self._entries.move_to_end(endpoint_id)
        age = self._clock() - entry.loaded_at
        limit = self._ttl if entry.state is not None else self._negative_ttl
        if age > limit and endpoint_id not in self._inflight:
            self._refresh_in_background(endpoint_id)
        return entry.state

    async def refresh_now(self, endpoint_id: str) -> EndpointState | None:
        """After a signature mismatch: reload unless reloaded within the minimum interval.

        Returns the (possibly unchanged) state; never raises for a database failure, since the
        cached state is still the best answer.
        """
        entry = self._entries.get(endpoint_id)
        if entry is not None and self._clock() - entry.loaded_at < self._min_refresh:
            return entry.state
        try:
            return await self._load(endpoint_id)
        except DirectoryUnavailable:
            return entry.state if entry is not None else None

    def _refresh_in_background(self, endpoint_id: str) -> None:
        async def refresh() -> EndpointState | None:
            try:
                return await self._load(endpoint_id)
            except DirectoryUnavailable:
                return None  # keep serving the stale entry

        task = asyncio.get_running_loop().create_task(refresh())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _load(self, endpoint_id: str) -> EndpointState | None:
        pending = self._inflight.get(endpoint_id)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[EndpointState | None] = asyncio.get_running_loop().create_future()
        self._inflight[endpoint_id] = future
        try:
            state = await anyio.to_thread.run_sync(self._loader, endpoint_id)
        except Exception as exc:
            error = DirectoryUnavailable(type(exc).__name__)
            future.set_exception(error)
            future.exception()  # mark retrieved: waiters get it through shield
            raise error from exc
        else:
            self._store(endpoint_id, state)
            future.set_result(state)
            return state
        finally:
            del self._inflight[endpoint_id]

    def _store(self, endpoint_id: str, state: EndpointState | None) -> None:
        self._entries[endpoint_id] = _Entry(state, self._clock())
        self._entries.move_to_end(endpoint_id)
        while len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)
