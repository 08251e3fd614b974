"""Rejected deliveries, recorded for the event log without letting a flood fill anything.

Rejections are aggregated in the process per (endpoint, reason, minute): a count, the first and
last time, and up to five sample client addresses. Every few seconds the aggregates go to the
event-log stream in Redis (the log writer adds them up into PostgreSQL). A flood therefore adds
at most one record per endpoint, reason and minute per process, and the in-memory table is
capped (past the cap, rejections are counted under a single `overflow` entry). Unknown endpoint
ids are aggregated together, not one by one. Nothing of an unverified body is kept.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from config.logs import get_logger
from workers.contract import EVENT_LOG_MAXLEN, EVENT_LOG_STREAM

log = get_logger(__name__)

#: seconds per aggregation window
WINDOW = 60
#: seconds between flushes to Redis
FLUSH_INTERVAL = 5.0
MAX_SAMPLES = 5
#: distinct (endpoint, reason, window) aggregates held in memory at most
MAX_AGGREGATES = 10_000
OVERFLOW = "overflow"

_Key = tuple[str | None, str, int]


@dataclass(slots=True)
class _Aggregate:
    workspace_id: str | None
    count: int
    first_seen: float
    last_seen: float
    samples: list[str] = field(default_factory=list)


class RejectionLog:
    def __init__(self, client: aioredis.Redis, *, flush_interval: float = FLUSH_INTERVAL) -> None:
        self._client = client
        self._flush_interval = flush_interval
        self._pending: dict[_Key, _Aggregate] = {}
        self._task: asyncio.Task[None] | None = None

    def record(
        self,
        *,
        endpoint_id: str | None,
        workspace_id: str | None,
        reason: str,
        client: str | None,
        now: float | None = None,
    ) -> None:
        at = time.time() if now is None else now
        key: _Key = (endpoint_id, reason, int(at) // WINDOW * WINDOW)
        aggregate = self._pending.get(key)
        if aggregate is None:
            if len(self._pending) >= MAX_AGGREGATES:
                key = (None, OVERFLOW, key[2])
                aggregate = self._pending.get(key)
            if aggregate is None:
                aggregate = _Aggregate(workspace_id, 0, at, at)
                self._pending[key] = aggregate
        aggregate.count += 1
        aggregate.last_seen = at
        if client and len(aggregate.samples) < MAX_SAMPLES and client not in aggregate.samples:
            aggregate.samples.append(client)

    def pending(self) -> int:
        return len(self._pending)

    async def flush(self) -> int:
        """Send what is pending; on failure keep it for the next flush. Returns records sent."""
        if not self._pending:
            return 0
        batch, self._pending = self._pending, {}
        records = [
            orjson.dumps(
                {
                    "endpoint_id": endpoint_id,
                    "workspace_id": agg.workspace_id,
                    "reason": reason,
                    "window_start": window,
                    "count": agg.count,
                    "first_seen": agg.first_seen,
                    "last_seen": agg.last_seen,
                    "client_samples": agg.samples,
                }
            )
            for (endpoint_id, reason, window), agg in batch.items()
        ]
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for record in records:
                    pipe.xadd(
                        EVENT_LOG_STREAM,
                        {"o": "rejected", "r": record},
                        maxlen=EVENT_LOG_MAXLEN,
                        approximate=True,
                    )
                await pipe.execute()
        except (RedisError, OSError) as exc:
            self._merge_back(batch)
            log.warning("rejections.flush_failed", error=type(exc).__name__, kept=len(batch))
            return 0
        for (endpoint_id, reason, _window), agg in batch.items():
            log.warning(
                "webhook.rejected", endpoint_id=endpoint_id, workspace_id=agg.workspace_id,
                reason=reason, count=agg.count, client_samples=agg.samples,
            )  # fmt: skip
        return len(records)

    def _merge_back(self, batch: dict[_Key, _Aggregate]) -> None:
        for key, agg in batch.items():
            current = self._pending.get(key)
            if current is None:
                if len(self._pending) < MAX_AGGREGATES:
                    self._pending[key] = agg
                continue
            current.count += agg.count
            current.first_seen = min(current.first_seen, agg.first_seen)
            current.samples = (current.samples + agg.samples)[:MAX_SAMPLES]

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._flush_interval)
            await self.flush()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.flush()
