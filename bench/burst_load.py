"""The burst's load: wrk once through a file of deliveries, then resends (bench/burst.py).

Unlike the ingress benchmark's wrk, which runs for a duration, this one sends the file's N
requests and no other (bench/wrk_burst.lua) and is stopped once every one has been answered,
or, if some were lost to socket errors, --timeout seconds after the last one left. Whatever
was not answered 200 is then sent again, one connection each (`post_once`), as Stripe retries.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench import harness
from bench.cpu import process_cpu
from bench.processes import REPO, BenchError, Children, tail

WRK_SCRIPT = REPO / "bench" / "wrk_burst.lua"


@dataclass(frozen=True, slots=True)
class Sent:
    """One delivery of the burst: its ids, and where its body is in the requests file."""

    event_id: str
    session_id: str
    body_at: int
    body_len: int


@dataclass
class Resent:
    """A delivery sent again after the burst because it was not answered 200."""

    event_id: str
    attempts: int
    statuses: list[int]
    answer: str  # the 200's "status": queued, duplicate, ...
    answered_at: float


@dataclass
class WrkBurst:
    raw: dict[str, Any]  # wrk_burst.lua's JSON line (times in microseconds since the epoch)
    answered_ids: list[str]
    cpu_seconds: float  # wrk's own
    stalled: bool  # stopped because answers stopped coming (socket errors), not all answered

    @property
    def first(self) -> float:
        return float(self.raw["first_us"]) / 1e6

    @property
    def last(self) -> float:
        return float(self.raw["last_us"]) / 1e6

    @property
    def last_ok(self) -> float:
        return float(self.raw["last_ok_us"]) / 1e6

    @property
    def seconds(self) -> float:
        return self.last - self.first

    @property
    def rps(self) -> float:
        return int(self.raw["ok"]) / self.seconds if self.seconds > 0 else float("nan")


def run_wrk(
    children: Children,
    work: Path,
    requests: Path,
    *,
    port: int,
    connections: int,
    timeout: float,
    burst_timeout: float,
    cpu: int | None,
    on_done: Callable[[], None],
) -> WrkBurst:
    """Send every request of the file once with wrk; call `on_done` as soon as the last one
    is answered (or lost), then stop wrk."""
    ids_path, done_path, sent_path = (requests.with_suffix(s) for s in (".ids", ".done", ".sent"))
    argv = harness.wrk_command(
        WRK_SCRIPT,
        port,
        connections=connections,
        duration=3600,  # the script decides when it is over; this is a bound
        timeout=timeout,
        script_args=(requests, ids_path, done_path, sent_path),
    )
    log = work / "wrk-burst.log"
    proc = children.start(argv, env=dict(os.environ), log=log, cpu=cpu)
    deadline = time.monotonic() + burst_timeout
    stalled = False
    cpu_seconds = 0.0
    try:
        while not done_path.exists():
            if proc.poll() is not None:
                raise BenchError(f"wrk exited ({proc.returncode}):\n{tail(log)}")
            if time.monotonic() > deadline:
                raise BenchError(f"the burst took more than {burst_timeout:g} s")
            if sent_path.exists() and time.time() - sent_path.stat().st_mtime > timeout + 1:
                stalled = True  # some request will never be answered (a socket error)
                break
            time.sleep(0.005)
        on_done()
        cpu_seconds = process_cpu(proc.pid)
        proc.send_signal(signal.SIGINT)  # wrk prints its summary and runs done()
        proc.wait(60)
    finally:
        children.stop(proc)
    raw = harness.read_wrk_result(log)
    if raw is None:
        raise BenchError(f"wrk printed no result ({proc.returncode}):\n{tail(log)}")
    answered = ids_path.read_text().split()
    for path in (ids_path, done_path, sent_path, log):
        path.unlink(missing_ok=True)
    return WrkBurst(raw, answered, cpu_seconds, stalled)


def post_once(port: int, request: bytes, timeout: float) -> tuple[int, dict[str, Any]]:
    """One request on a new connection: (status, JSON answer); status 0 if none came."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request)
            response = http.client.HTTPResponse(sock)
            response.begin()
            data = response.read()
    except (OSError, http.client.HTTPException):
        return 0, {}
    try:
        answer = orjson.loads(data)
    except orjson.JSONDecodeError:
        answer = {}
    return response.status, answer if isinstance(answer, dict) else {}
