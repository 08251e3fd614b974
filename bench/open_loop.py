"""An open-loop HTTP/1.1 load: request i leaves at start + i / rate, whatever the answers.

The latency benchmark's load (bench/latency.py). A closed loop (send the next request once an
answer came back) would slow down with the server and hide its latency; here a late answer
delays nothing. Raw HTTP/1.1 over keep-alive connections on asyncio (uvloop if installed): a
connection is reused oldest-first, and a new one is opened whenever all are busy. Each
delivery notes when it was due, sent and answered (wall clock, as the poller and the workers
note theirs).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Delivery:
    event_id: str
    session_id: str
    request: bytes
    warmup: bool
    due: float = 0.0  # when it was scheduled (wall clock)
    sent: float = 0.0  # when its first byte was written
    answered: float = 0.0  # when its whole answer had arrived
    status: int = 0  # 0: no answer (connection error)


@dataclass
class SendResult:
    opened_connections: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter


async def _open(port: int, result: SendResult) -> _Connection:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    result.opened_connections += 1
    return _Connection(reader, writer)


async def _exchange(
    conn: _Connection, delivery: Delivery, idle: deque[_Connection], result: SendResult
) -> None:
    try:
        delivery.sent = time.time()
        conn.writer.write(delivery.request)
        head = await conn.reader.readuntil(b"\r\n\r\n")
        delivery.status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await conn.reader.readexactly(length)
        delivery.answered = time.time()
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
        result.errors += 1
        if len(result.error_samples) < 5:
            result.error_samples.append(repr(exc))
        conn.writer.close()
        return
    idle.append(conn)


async def _send_all(
    port: int, deliveries: list[Delivery], *, rate: float, connections: int
) -> SendResult:
    result = SendResult()
    # Oldest idle connection first: each one is used often enough that the server never closes
    # it for being idle (uvicorn: after 5 s), which would fail the request written on it.
    idle = deque([await _open(port, result) for _ in range(connections)])
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()
    start = loop.time() + 0.2
    offset = time.time() - loop.time()  # loop clock -> wall clock (the poller's and workers')
    for i, delivery in enumerate(deliveries):
        due = start + i / rate
        delivery.due = due + offset
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        conn = idle.popleft() if idle else await _open(port, result)
        task = loop.create_task(_exchange(conn, delivery, idle, result))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.wait(tasks, timeout=30)
    for conn in idle:
        conn.writer.close()
    return result


def send_open_loop(
    port: int, deliveries: list[Delivery], *, rate: float, connections: int
) -> SendResult:
    """Send delivery i at start + i / rate over `connections` keep-alive connections (more if
    they are all busy), noting in each delivery its times and status."""
    try:
        import uvloop

        return uvloop.run(_send_all(port, deliveries, rate=rate, connections=connections))
    except ImportError:
        return asyncio.run(_send_all(port, deliveries, rate=rate, connections=connections))
