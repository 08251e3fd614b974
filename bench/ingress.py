"""The ingress benchmark: the real ingress against two baselines, in one run (bench/README.md).

`.venv/bin/python bench/ingress.py [--duration 10 --rounds 3]`

For every round and target (hmac-only, naive, ingress; the order rotates between rounds):

0. wait until no other process keeps the CPUs busy (this machine may be shared);
1. start the target's server alone on the server CPU (`taskset`), uvicorn as `traaaction serve`
   runs it, and wait until it answers;
2. warm it up with wrk (on the client CPU) for a few seconds, with events of its own;
3. write fresh, distinct, signed deliveries (sized from the warm-up rate), then run wrk for the
   measured duration: one thread, `--connections` connections, each delivery sent once;
4. read the server's peak RSS (VmHWM), stop it, and for the ingress check in Redis that every
   accepted event is queued exactly once;
5. note how much CPU went to anything but the server, wrk and Redis: a measurement disturbed by
   another process (or by the hypervisor: steal) is repeated.

Redis: one database of its own (default redis://127.0.0.1:6379/12, or REDIS_URL), flushed at
the start and between measurements. PostgreSQL: a fresh database on the server of DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end. The summary and
the table are bench/ingress_report.py's.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a file, this script's directory would come first on sys.path and this very file would
# shadow the `ingress` package: the repository root takes its place before anything else is
# imported.
if __name__ == "__main__" and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import math
import os
import secrets
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from bench import harness
from bench.baselines import NAIVE_KEY
from bench.cpu import ServerMeter, disturbed
from bench.databases import database_name, text_of
from bench.ingress_report import conclude
from bench.processes import free_port, status_kb, wait_ready
from bench.stack import QUEUE, SEEN_PATTERN, traaaction
from storage.crypto import SecretBox, format_master_key, generate_master_key
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import endpoints, workspaces
from storage.schema import upgrade

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"
TARGETS = ("hmac-only", "naive", "ingress")

#: deliveries per second of warm-up written in advance (more than any target reaches here)
WARMUP_RATE_CAP = 30_000
#: measured deliveries = warm-up rate x duration x this (+ a margin); doubled if ever exhausted
HEADROOM = 1.6


@dataclass(frozen=True, slots=True)
class World:
    """What the servers are given: the ingress' database, Redis, one endpoint and its secret."""

    database_url: str
    redis_url: str
    keys: str  # TRAAACTION_KEYS
    endpoint_id: str
    secret: str


def make_world(database_url: str, redis_url: str) -> World:
    """Migrate the (fresh) database and create one workspace, endpoint and signing secret."""
    master = generate_master_key()
    secret = "whsec_" + secrets.token_urlsafe(24)
    engine = make_engine(database_url, pool_size=1, application_name="traaaction-bench")
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            ws = workspaces.create(session, name="Bench shop")
            ep = endpoints.create(session, workspace_id=ws.id)
            endpoints.add_secret(session, SecretBox([master]), endpoint_id=ep.id, secret=secret)
            endpoint_id = ep.id
    finally:
        engine.dispose()
    return World(database_url, redis_url, format_master_key(master), endpoint_id, secret)


@dataclass
class Options:
    duration: float
    warmup: float
    rounds: int
    connections: int
    server_cpu: int | None
    client_cpu: int | None
    targets: tuple[str, ...]
    retries: int
    quiet_wait: float
    timeout: float


@dataclass
class Measurement:
    target: str
    round: int
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    ok: int
    non2xx: int
    socket_errors: dict[str, int]
    statuses: dict[str, int]
    sent: int
    generated: int
    exhausted: int
    mean_body_bytes: float
    warmup_rps: float
    peak_rss_mb: float | None
    cpu: dict[str, float]
    disturbed: bool
    attempts: int
    check: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """The report's row: every field, in order, the floats rounded."""
        rounded = {"rps": 1, "p50_ms": 3, "p99_ms": 3, "mean_body_bytes": 1, "warmup_rps": 1}
        return {
            name: round(value, rounded[name]) if name in rounded else value
            for name, value in vars(self).items()
        }

    def describe(self) -> str:
        """One line per measurement, as it is printed when measured."""
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.2f} ms, p99 {self.p99_ms:.2f} ms, "
            f"non-2xx {self.non2xx}, errors {sum(self.socket_errors.values())}, "
            f"peak RSS {self.peak_rss_mb} MB, cpu {self.cpu}"
            + (f", check {'ok' if self.check.get('ok') else self.check}" if self.check else "")
            + (" (disturbed)" if self.disturbed else "")
        )


def _why_again(m: Measurement) -> str | None:
    if m.exhausted:
        return f"ran out of events at {m.generated}; again with more"
    if m.disturbed:
        return f"disturbed ({m.cpu}); measuring again"
    return None


class IngressBench:
    """Measures one target at a time: a fresh server, a warm-up, the measured wrk run."""

    def __init__(self, opts: Options, world: World, held: harness.Session) -> None:
        self.opts = opts
        self.world = world
        self.session = held
        self.redis = held.redis
        self.path = f"/api/webhooks/{world.endpoint_id}"

    def measure(self, target: str, round_no: int) -> Measurement:
        headroom = HEADROOM

        def once(attempt: int) -> Measurement:
            nonlocal headroom
            m = self._measure_once(target, round_no, headroom)
            m.attempts = attempt
            if m.exhausted:
                headroom *= 2
            return m

        return harness.measure_until_undisturbed(
            once, client=self.redis, opts=self.opts, again=_why_again
        )

    def _server(self, target: str) -> tuple[subprocess.Popen[bytes], int]:
        port = free_port()
        log = self.session.work / f"{target}-{port}.log"
        env = {**os.environ, "REDIS_URL": self.world.redis_url, "PYTHONUNBUFFERED": "1"}
        if target == "ingress":
            env.update(
                DATABASE_URL=self.world.database_url,
                TRAAACTION_KEYS=self.world.keys,
                LOG_LEVEL="WARNING",
            )
            argv = traaaction("serve", "--host", "127.0.0.1")
            ready = "/readyz"
        else:
            env["BENCH_SECRET"] = self.world.secret
            kind = "hmac" if target == "hmac-only" else "naive"
            argv = [sys.executable, "-m", "bench.baselines", kind, "--host", "127.0.0.1"]
            ready = "/healthz"
        proc = self.session.children.start(
            [*argv, "--port", str(port)], env=env, log=log, cpu=self.opts.server_cpu
        )
        wait_ready(f"http://127.0.0.1:{port}{ready}", proc, log)
        return proc, port

    def _measure_once(self, target: str, round_no: int, headroom: float) -> Measurement:
        opts = self.opts
        meter = ServerMeter(self.redis)
        self.redis.flushdb()
        proc, port = self._server(target)
        try:
            load = harness.WrkOverEvents(
                session=self.session,
                port=port,
                url_path=self.path,
                secret=self.world.secret,
                connections=opts.connections,
                timeout=opts.timeout,
                cpu=opts.client_cpu,
            )
            warm = load.send(
                load.write(max(1000, math.ceil(opts.warmup * WARMUP_RATE_CAP))), opts.warmup
            )
            count = math.ceil(max(warm.rps, 1000.0) * opts.duration * headroom) + 2000
            events = load.write(count)
            time.sleep(0.5)  # let the warm-up's last requests finish before the flush
            self.redis.flushdb()
            before = meter.snapshot(proc.pid)
            run = load.send(events, opts.duration)
            after = meter.snapshot(proc.pid)
            time.sleep(0.3)
            hwm = status_kb(proc.pid, "VmHWM")
        finally:
            self.session.children.stop(proc)
        cpu = ServerMeter.report(before, after)
        raw = run.raw
        check: dict[str, Any] = {}
        if target == "ingress":
            check = self._check_queue(events.event_ids, run.answered_ids, dict(raw["statuses"]))
        elif target == "naive":
            check = self._check_naive(int(raw["ok"]))
        self.redis.flushdb()
        return Measurement(
            target=target,
            round=round_no,
            rps=run.rps,
            p50_ms=raw["latency_us"]["p50"] / 1000,
            p99_ms=raw["latency_us"]["p99"] / 1000,
            requests=int(raw["requests"]),
            ok=int(raw["ok"]),
            non2xx=int(raw["non2xx"]),
            socket_errors={k: int(v) for k, v in raw["errors"].items() if k != "status"},
            statuses=dict(raw["statuses"]),
            sent=int(raw["sent"]),
            generated=events.count,
            exhausted=int(raw["exhausted"]),
            mean_body_bytes=events.mean_body_bytes,
            warmup_rps=warm.rps,
            peak_rss_mb=round(hwm / 1024, 1) if hwm is not None else None,
            cpu=cpu,
            disturbed=disturbed(cpu),
            attempts=1,
            check=check,
        )

    def _check_queue(
        self, sent_ids: frozenset[str], answered: list[str], statuses: dict[str, int]
    ) -> dict[str, Any]:
        """Every accepted event queued exactly once, and nothing queued that was not sent."""
        listed = [text_of(m) for m in self.redis.lrange(QUEUE, 0, -1)]
        stored: dict[str, str] = {}
        for mid, data in self.redis.hscan_iter(f"{QUEUE}.msgs", count=2000):
            message = orjson.loads(data)
            stored[text_of(mid)] = message["kwargs"]["event_id"]
        queued_ids = list(stored.values())
        queued = set(queued_ids)
        answered_set = set(answered)
        seen_keys = sum(1 for _ in self.redis.scan_iter(match=SEEN_PATTERN, count=5000))
        in_flight = len(queued - answered_set)
        result = {
            "queued": len(queued_ids),
            "answered_200": len(answered),
            "listed": len(listed),
            "idempotency_keys": seen_keys,
            "queued_not_answered": in_flight,
            "answered_not_queued": len(answered_set - queued),
            "duplicates_in_queue": len(queued_ids) - len(queued),
            "duplicate_message_ids_in_list": len(listed) - len(set(listed)),
            "list_and_hash_differ": set(listed) != set(stored),
            "queued_but_never_sent": len(queued - sent_ids),
            "answered_twice": len(answered) - len(answered_set),
            # every event is sent once: any "duplicate" or "ignored" answer is a bench bug
            "answered_other_than_queued": sum(n for s, n in statuses.items() if s != "queued"),
        }
        result["ok"] = (
            result["answered_not_queued"] == 0
            and result["duplicates_in_queue"] == 0
            and result["duplicate_message_ids_in_list"] == 0
            and not result["list_and_hash_differ"]
            and result["queued_but_never_sent"] == 0
            and result["answered_twice"] == 0
            and result["answered_other_than_queued"] == 0
            # requests in flight when wrk stopped: queued, their answers never read
            and in_flight <= self.opts.connections
            and seen_keys == len(queued_ids)
        )
        return result

    def _check_naive(self, answered_ok: int) -> dict[str, Any]:
        pushed = int(self.redis.llen(NAIVE_KEY))
        in_flight = pushed - answered_ok
        return {
            "pushed": pushed,
            "answered_200": answered_ok,
            "pushed_not_answered": in_flight,
            "ok": 0 <= in_flight <= self.opts.connections,
        }


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="bench/ingress.py",
        description="Benchmark the webhook ingress against an HMAC-only and a naive baseline.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    harness.add_round_options(parser, TARGETS)
    parser.add_argument("--connections", type=int, default=64)
    harness.add_pin_options(parser, "server", "client")
    harness.add_retry_options(parser, retries=3)
    parser.add_argument("--timeout", type=float, default=5.0, help="wrk's request timeout (s)")
    args = harness.parse(parser, argv)
    targets = harness.targets_of(parser, args.targets, TARGETS)
    return harness.options_from(Options, args, targets=targets), args


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)

    def measure(held: harness.Session) -> list[Measurement]:
        world = make_world(held.fresh_database(), held.redis_url)
        bench = IngressBench(opts, world, held)
        print(
            f"bench: {opts.rounds} round(s) x {', '.join(opts.targets)}; "
            f"{opts.warmup:g} s warm-up + {opts.duration:g} s each; Redis {held.redis_url}; "
            f"PostgreSQL database {database_name(world.database_url)}",
            flush=True,
        )
        return harness.measure_rounds(
            opts.rounds, opts.targets, bench.measure, Measurement.describe
        )

    return harness.run(
        "ingress",
        default_redis_url=DEFAULT_REDIS_URL,
        flush_redis=args.flush_redis,
        tools=harness.needed_tools(wrk=True, pinned=opts.server_cpu is not None),
        measure=measure,
        conclude=lambda measurements: conclude(measurements, opts),
    )


if __name__ == "__main__":
    harness.command(main)
