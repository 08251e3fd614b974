"""Dedupe-and-enqueue in one atomic Redis script, coalescing concurrent requests.

Each delivery becomes one item: the idempotency key (endpoint + Stripe event id) and, for a
handled type, a Dramatiq message. For every item the script runs `SET key NX EX ttl`; only if
that succeeds does it store the message exactly as Dramatiq's Redis broker does (HSET into
`<queue>.msgs`, RPUSH onto `<queue>`). A script runs atomically, so no failure can leave a key
set without its message. A key already set means the delivery was accepted before: the item is
reported as a duplicate and logged to the event-log stream; nothing is queued twice.

Concurrent requests are coalesced: while one script call is in flight, new items wait and go
together in the next call, so a burst costs one Redis round trip per batch rather than per
request. Each request's answer waits for Redis' reply to its own batch: no 200 before the
message is in Redis.

`delivery_item` builds the item of one delivery and `enqueue_sync` runs the same script without
an event loop: `traaaction reconcile` queues the events it fetches from Stripe's API through
them, so they are deduplicated against the webhooks and queued in exactly the same format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import orjson
import redis
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from ingress.envelope import Envelope
from workers.contract import (
    EVENT_LOG_MAXLEN,
    EVENT_LOG_STREAM,
    IDEMPOTENCY_TTL,
    NAMESPACE,
    ROUTES,
    Delivery,
    idempotency_key,
)

#: items per script call; bounds the script's run time (Redis is single-threaded)
MAX_BATCH = 256

# ARGV: namespace, ttl, stream, maxlen, then 5 per item:
#   idempotency key, queue name ("" = not queued: ignored type), redis message id,
#   message data, log record (JSON, without its outcome)
# Returns one integer per item: 1 = new, 0 = seen before.
_SCRIPT = """
local ns, ttl, stream, maxlen = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local out = {}
for i = 5, #ARGV, 5 do
  local key, queue, mid, data, record = ARGV[i], ARGV[i+1], ARGV[i+2], ARGV[i+3], ARGV[i+4]
  if redis.call("SET", key, mid, "NX", "EX", ttl) then
    if queue ~= "" then
      redis.call("HSET", ns .. ":" .. queue .. ".msgs", mid, data)
      redis.call("RPUSH", ns .. ":" .. queue, mid)
    else
      redis.call("XADD", stream, "MAXLEN", "~", maxlen, "*", "o", "ignored", "r", record)
    end
    out[#out + 1] = 1
  else
    redis.call("XADD", stream, "MAXLEN", "~", maxlen, "*", "o", "duplicate", "r", record)
    out[#out + 1] = 0
  end
end
return out
"""


class EnqueueOutcome(StrEnum):
    QUEUED = "queued"
    IGNORED = "ignored"
    DUPLICATE = "duplicate"


class EnqueueUnavailable(Exception):
    """Raised when Redis did not confirm the item within the timeout (the caller answers 503)."""


@dataclass(slots=True)
class Item:
    key: str
    queue_name: str  # "" when the type is not handled
    redis_message_id: str
    data: bytes
    log_record: bytes
    future: asyncio.Future[int] = field(init=False)


def delivery_item(
    endpoint_id: str, workspace_id: str, envelope: Envelope, body: bytes, received_ms: int
) -> Item:
    """The item of one delivery: its idempotency key, its event-log record and, for a handled
    type, the Dramatiq message whose kwargs the actors receive (`body` as given, as text)."""
    record = orjson.dumps(
        {
            "endpoint_id": endpoint_id,
            "workspace_id": workspace_id,
            "stripe_event_id": envelope.id,
            "event_type": envelope.type,
            "livemode": envelope.livemode,
            # Connect: the rows the ingress writes itself (ignored, duplicate) keep it too
            "stripe_account": envelope.account,
            "received_at": received_ms,
        }
    )
    route = ROUTES.get(envelope.type)
    if route is None:
        return Item(idempotency_key(endpoint_id, envelope.id), "", "", b"", record)
    delivery = Delivery(
        endpoint_id=endpoint_id,
        workspace_id=workspace_id,
        event_id=envelope.id,
        event_type=envelope.type,
        livemode=envelope.livemode,
        api_version=envelope.api_version,
        received_at=received_ms,
        # The body exactly as received (valid UTF-8: it parsed).
        body=body.decode("utf-8"),
    )
    message_id, data = delivery.message(timestamp_ms=received_ms)
    return Item(
        idempotency_key(endpoint_id, envelope.id), route.queue_name, message_id, data, record
    )


def _script_args(batch: Sequence[Item], ttl: str) -> list[str | bytes]:
    args: list[str | bytes] = [NAMESPACE, ttl, EVENT_LOG_STREAM, str(EVENT_LOG_MAXLEN)]
    for item in batch:
        args += [item.key, item.queue_name, item.redis_message_id, item.data, item.log_record]
    return args


def enqueue_sync(
    client: redis.Redis,
    items: Sequence[Item],
    *,
    ttl: int = IDEMPOTENCY_TTL,
    max_batch: int = MAX_BATCH,
) -> list[EnqueueOutcome]:
    """Dedupe and enqueue without an event loop (operator commands): the same script and
    arguments as the ingress, in batches of `max_batch`, each atomic. Redis errors propagate."""
    script = client.register_script(_SCRIPT)
    outcomes: list[EnqueueOutcome] = []
    for start in range(0, len(items), max_batch):
        batch = items[start : start + max_batch]
        results = script(args=_script_args(batch, str(ttl)))
        for item, new in zip(batch, results, strict=True):
            if not int(new):
                outcomes.append(EnqueueOutcome.DUPLICATE)
            elif item.queue_name:
                outcomes.append(EnqueueOutcome.QUEUED)
            else:
                outcomes.append(EnqueueOutcome.IGNORED)
    return outcomes


class Enqueuer:
    def __init__(
        self,
        client: aioredis.Redis,
        *,
        timeout: float,
        ttl: int = IDEMPOTENCY_TTL,
        max_batch: int = MAX_BATCH,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._client = client
        self._script = client.register_script(_SCRIPT)
        self._timeout = timeout
        self._ttl = str(ttl)
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._pending: list[Item] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> EnqueueOutcome:
        """Dedupe and enqueue one item; raises EnqueueUnavailable if Redis did not confirm."""
        loop = asyncio.get_running_loop()
        item.future = loop.create_future()
        self._pending.append(item)
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush())
        new = await item.future
        if not new:
            return EnqueueOutcome.DUPLICATE
        return EnqueueOutcome.QUEUED if item.queue_name else EnqueueOutcome.IGNORED

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            await self._send(batch)

    async def _send(self, batch: list[Item]) -> None:
        args = _script_args(batch, self._ttl)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            async with asyncio.timeout(self._timeout):
                results = await self._script(args=args)
        except (TimeoutError, RedisError, OSError, Exception) as exc:
            # Whatever went wrong, every waiting request must get an answer (503), never hang.
            error = EnqueueUnavailable(type(exc).__name__)
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        if self._on_batch is not None:
            self._on_batch(len(batch), loop.time() - started)
        for item, result in zip(batch, results, strict=True):
            if not item.future.done():  # the request may have been cancelled meanwhile
                item.future.set_result(int(result))

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.gather(self._flusher, return_exceptions=True)
