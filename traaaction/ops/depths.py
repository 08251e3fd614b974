"""Queue depths, read from the keys of Dramatiq's Redis broker (dramatiq/brokers/redis).

For a queue Q in the namespace, Dramatiq keeps:
- `ns:Q`, a list of the ids of messages ready to be fetched (the oldest at the head);
- `ns:Q.msgs`, a hash of id -> message for every message not yet acked: the ready ones and
  those a worker process has fetched (running, or prefetched and waiting for a thread);
- `ns:Q.DQ` and `ns:Q.DQ.msgs`, the same for delayed messages (retries waiting for their
  backoff): a worker fetches them and holds them until their time comes, then moves them to Q;
- `ns:Q.XQ`, a sorted set of the ids of dead messages (scored by when they died) and
  `ns:Q.XQ.msgs` their messages; the broker expires them after 7 days.

So ready = LLEN Q, in flight = HLEN Q.msgs - LLEN Q, delayed = HLEN Q.DQ.msgs, dead =
ZCARD Q.XQ; the age of the oldest ready message is read from the head message's
`message_timestamp` (when it was first enqueued). One MULTI for the counts, one more round
trip for the head messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import redis

from workers.contract import (
    DEAD_LETTER_STREAM,
    EVENT_LOG_STREAM,
    QUARANTINE_STREAM,
    ROUTES,
    queue_key,
)


@dataclass(frozen=True, slots=True)
class QueueDepth:
    queue: str
    ready: int
    in_flight: int
    delayed: int
    dead: int
    #: seconds since the oldest ready message was first enqueued; None: none ready
    oldest_age: float | None


def _timestamp(message: object) -> int | None:
    if not isinstance(message, bytes):
        return None  # acked between the two round trips
    try:
        value = orjson.loads(message).get("message_timestamp")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def handled_queues() -> list[str]:
    return sorted(route.queue_name for route in ROUTES.values())


def read_depths(client: redis.Redis, queues: Sequence[str], *, now_ms: int) -> list[QueueDepth]:
    pipe = client.pipeline(transaction=True)
    for name in queues:
        key = queue_key(name)
        pipe.llen(key)
        pipe.hlen(f"{key}.msgs")
        pipe.hlen(f"{key}.DQ.msgs")
        pipe.zcard(f"{key}.XQ")
        pipe.lindex(key, 0)
    counts: list[Any] = pipe.execute()
    heads: list[bytes | None] = [counts[5 * i + 4] for i in range(len(queues))]
    read = client.pipeline(transaction=False)
    for name, head in zip(queues, heads, strict=True):
        if head is not None:
            read.hget(f"{queue_key(name)}.msgs", head)
    messages = iter(read.execute() if any(h is not None for h in heads) else [])
    found = []
    for i, name in enumerate(queues):
        ready, stored, delayed, dead = (int(v) for v in counts[5 * i : 5 * i + 4])
        age: float | None = None
        if heads[i] is not None:
            enqueued = _timestamp(next(messages))
            if enqueued is not None:
                age = max(0.0, (now_ms - enqueued) / 1000)
        found.append(
            QueueDepth(
                queue=name,
                ready=ready,
                in_flight=max(0, stored - ready),
                delayed=delayed,
                dead=dead,
                oldest_age=age,
            )
        )
    return found


#: the Redis streams the log writer drains into PostgreSQL: (label, key)
STREAMS = (
    ("event-log records", EVENT_LOG_STREAM),
    ("dead letters", DEAD_LETTER_STREAM),
    # Not a backlog: what the log writer could not write, kept for an operator.
    ("quarantined", QUARANTINE_STREAM),
)


def read_backlogs(client: redis.Redis) -> list[tuple[str, int]]:
    """Entries waiting in the log writer's streams (dead letters leave theirs once stored)."""
    pipe = client.pipeline(transaction=False)
    for _label, key in STREAMS:
        pipe.xlen(key)
    return [(label, int(n)) for (label, _key), n in zip(STREAMS, pipe.execute(), strict=True)]
