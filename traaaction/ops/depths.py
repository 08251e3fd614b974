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

The log writer's backlog (read_backlogs) is read from its streams' consumer group instead:
XINFO GROUPS tells what the group has not been handed yet (lag) and what it holds without
having acknowledged it (pending), as workers/log_writer.py reads and acknowledges entries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import redis

from workers.contract import (
    DEAD_LETTER_STREAM,
    EVENT_LOG_STREAM,
    QUARANTINE_STREAM,
    ROUTES,
    queue_key,
)
from workers.log_writer import GROUP as LOG_WRITER_GROUP
from workers.log_writer import STREAMS as LOG_WRITER_STREAMS


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


#: what the overview calls the entries of the streams the log writer consumes
STREAM_LABELS = {EVENT_LOG_STREAM: "event-log records", DEAD_LETTER_STREAM: "dead letters"}
#: not a backlog: what the log writer could not write, kept (never trimmed) for an operator
QUARANTINE = ("quarantined", QUARANTINE_STREAM)
#: entries per XRANGE page when a group's lag must be counted by hand
RANGE_PAGE = 1000


def read_backlogs(client: redis.Redis) -> list[tuple[str, int]]:
    """(label, count) for each stream the log writer consumes, then the quarantine's length.

    The log writer acknowledges the entries it stored and never deletes them, so a stream's
    length says nothing of what is waiting. What waits is what the writer's group has not
    been handed yet (its lag) plus what it was handed and has not acknowledged (its pending
    entries: being written, or left by a consumer that died, claimed after a minute). Before
    the group exists (no log writer ever started), every entry of the stream waits.
    """
    streams = list(LOG_WRITER_STREAMS)
    pipe = client.pipeline(transaction=False)
    for key in (*streams, QUARANTINE[1]):
        pipe.xlen(key)
    *lengths, quarantined = (int(n) for n in pipe.execute())
    present = [key for key, length in zip(streams, lengths, strict=True) if length > 0]
    groups: dict[str, list[dict[str, Any]]] = {}
    if present:
        info = client.pipeline(transaction=False)
        for key in present:
            info.xinfo_groups(key)
        groups = dict(zip(present, info.execute(), strict=True))
    found = [
        (STREAM_LABELS.get(key, key), _waiting(client, key, length, groups.get(key, [])))
        for key, length in zip(streams, lengths, strict=True)
    ]
    return [*found, (QUARANTINE[0], quarantined)]


def _waiting(client: redis.Redis, key: str, length: int, groups: list[dict[str, Any]]) -> int:
    """Entries of one stream the log writer's group has yet to store (length: XLEN's)."""
    if length == 0:
        return 0
    group = next((g for g in groups if _text(g["name"]) == LOG_WRITER_GROUP), None)
    if group is None:
        return length
    pending = int(group["pending"])
    lag = group.get("lag")
    if lag is None:  # Redis cannot tell (entries were deleted): count them
        lag = _entries_after(client, key, _text(group["last-delivered-id"]))
    return int(lag) + pending


def _entries_after(client: redis.Redis, key: str, start: str) -> int:
    """Entries of the stream after the entry id `start`, counted page by page (XRANGE)."""
    if start == "0-0":
        return int(client.xlen(key))
    count = 0
    while True:
        page = cast(
            list[tuple[bytes, Any]], client.xrange(key, min=f"({start}", max="+", count=RANGE_PAGE)
        )
        count += len(page)
        if len(page) < RANGE_PAGE:
            return count
        start = _text(page[-1][0])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
