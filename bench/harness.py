"""The ingress benchmark: the real ingress against two baselines, in one run (bench/README.md).

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
(default postgresql://postgres@127.0.0.1:5432/postgres), dropped at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import redis
from sqlalchemy.engine import make_url

from bench.baselines import NAIVE_KEY
from bench.common import (
    REPO,
    BenchError,
    Children,
    bench_session,
    cpu_times,
    disturbed,
    environment,
    free_port,
    fresh_database,
    install_signal_handlers,
    median,
    missing_tool,
    pinned,
    postgres_url,
    process_cpu,
    protect_cleanup,
    publish,
    redis_cpu,
    run_guarded,
    status_kb,
    text_of,
    wait_for_quiet,
    wait_ready,
)
from bench.events import EventFile, write_events
from storage.crypto import SecretBox, format_master_key, generate_master_key
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import endpoints, workspaces
from storage.schema import upgrade
from workers.contract import NAMESPACE, ROUTES, queue_key

WRK_SCRIPT = REPO / "bench" / "wrk_events.lua"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/12"

TARGETS = ("hmac-only", "naive", "ingress")
#: the spec's targets for the real ingress
MIN_RATIO_HMAC = 0.6
MIN_RATIO_NAIVE = 2.0
MAX_P99_MS = 25.0
MAX_RSS_MB = 100.0

#: deliveries per second of warm-up written in advance (more than any target reaches here)
WARMUP_RATE_CAP = 30_000
#: measured deliveries = warm-up rate x duration x this (+ a margin); doubled if ever exhausted
HEADROOM = 1.6

QUEUE = queue_key(ROUTES["checkout.session.completed"].queue_name)
SEEN_PATTERN = f"{NAMESPACE}:seen:*"


# --------------------------------------------------------------------------------------------
# CPU accounting (to notice a disturbed measurement)


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    at: float
    busy: float  # seconds in processes (user, nice, system), all CPUs
    irq: float  # seconds in interrupts (loopback traffic is mostly softirq)
    steal: float
    server: float
    redis: float
    children: float
    me: float


def _snapshot(server_pid: int, client: redis.Redis) -> CpuSnapshot:
    busy, irq, steal = cpu_times()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    me = resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot(
        at=time.monotonic(),
        busy=busy,
        irq=irq,
        steal=steal,
        server=process_cpu(server_pid),
        redis=redis_cpu(client),
        children=children.ru_utime + children.ru_stime,
        me=me.ru_utime + me.ru_stime,
    )


def _cpu_report(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
    wall = after.at - before.at
    server = after.server - before.server
    wrk = after.children - before.children  # the only child reaped in between: wrk
    redis_cpu = after.redis - before.redis
    me = after.me - before.me
    foreign = (after.busy - before.busy) - server - wrk - redis_cpu - me
    return {
        "server_cores": round(server / wall, 3),
        "wrk_cores": round(wrk / wall, 3),
        "redis_cores": round(redis_cpu / wall, 3),
        # Redis may be on another machine: then its time is not in `busy`; never below zero.
        "foreign_cores": round(max(foreign, 0.0) / wall, 3),
        "irq_cores": round((after.irq - before.irq) / wall, 3),
        "steal_cores": round((after.steal - before.steal) / wall, 3),
    }


# --------------------------------------------------------------------------------------------
# the environment: PostgreSQL database, Redis database, endpoint


@dataclass(frozen=True, slots=True)
class World:
    database_url: str  # the fresh database, for the ingress
    redis_url: str
    keys: str  # TRAAACTION_KEYS
    endpoint_id: str
    secret: str


def make_endpoint(database_url: str, box: SecretBox) -> tuple[str, str]:
    secret = "whsec_" + secrets.token_urlsafe(24)
    engine = make_engine(database_url, pool_size=1, application_name="traaaction-bench")
    try:
        upgrade(engine)
        with unit_of_work(make_session_factory(engine)) as session:
            ws = workspaces.create(session, name="Bench shop")
            ep = endpoints.create(session, workspace_id=ws.id)
            endpoints.add_secret(session, box, endpoint_id=ep.id, secret=secret)
            endpoint_id = ep.id
    finally:
        engine.dispose()
    return endpoint_id, secret


# --------------------------------------------------------------------------------------------
# one measurement


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
class WrkResult:
    raw: dict[str, Any]
    answered_ids: list[str]

    @property
    def rps(self) -> float:
        return float(self.raw["ok"]) / (float(self.raw["duration_us"]) / 1e6)

    @property
    def failures(self) -> int:
        errors = self.raw["errors"]
        return int(self.raw["non2xx"]) + sum(
            int(errors[k]) for k in ("connect", "read", "write", "timeout")
        )


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
        return {
            "target": self.target,
            "round": self.round,
            "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "ok": self.ok,
            "non2xx": self.non2xx,
            "socket_errors": self.socket_errors,
            "statuses": self.statuses,
            "sent": self.sent,
            "generated": self.generated,
            "exhausted": self.exhausted,
            "mean_body_bytes": round(self.mean_body_bytes, 1),
            "warmup_rps": round(self.warmup_rps, 1),
            "peak_rss_mb": self.peak_rss_mb,
            "cpu": self.cpu,
            "disturbed": self.disturbed,
            "attempts": self.attempts,
            "check": self.check,
        }


class Bench:
    def __init__(self, opts: Options, world: World, children: Children, work: Path) -> None:
        self.opts = opts
        self.world = world
        self.children = children
        self.work = work
        self.redis = redis.Redis.from_url(world.redis_url)
        self.path = f"/api/webhooks/{world.endpoint_id}"
        self._files = 0

    # -- servers

    def _server(self, target: str) -> tuple[subprocess.Popen[bytes], int, Path]:
        port = free_port()
        log = self.work / f"{target}-{port}.log"
        env = {**os.environ, "REDIS_URL": self.world.redis_url, "PYTHONUNBUFFERED": "1"}
        if target == "ingress":
            env.update(
                DATABASE_URL=self.world.database_url,
                TRAAACTION_KEYS=self.world.keys,
                LOG_LEVEL="WARNING",
            )
            argv = [sys.executable, "-m", "traaaction", "serve", "--host", "127.0.0.1"]
            ready = "/readyz"
        else:
            env["BENCH_SECRET"] = self.world.secret
            kind = "hmac" if target == "hmac-only" else "naive"
            argv = [sys.executable, "-m", "bench.baselines", kind, "--host", "127.0.0.1"]
            ready = "/healthz"
        proc = self.children.start(
            pinned(self.opts.server_cpu, [*argv, "--port", str(port)]), env=env, log=log
        )
        wait_ready(f"http://127.0.0.1:{port}{ready}", proc, log)
        return proc, port, log

    # -- load

    def _events(self, port: int, count: int) -> EventFile:
        self._files += 1
        return write_events(
            self.work / f"events-{self._files}.req",
            count=count,
            host=f"127.0.0.1:{port}",
            url_path=self.path,
            secret=self.world.secret,
        )

    def _wrk(self, port: int, events: EventFile, duration: float) -> WrkResult:
        ids_path = events.path.with_suffix(".ids")
        argv = pinned(
            self.opts.client_cpu,
            [
                "wrk", "-t1", f"-c{self.opts.connections}", f"-d{duration:g}s",
                f"--timeout={self.opts.timeout:g}s", "-s", str(WRK_SCRIPT),
                f"http://127.0.0.1:{port}", "--", str(events.path), str(ids_path),
            ],
        )  # fmt: skip
        log = self.work / "wrk.log"
        proc = self.children.start(argv, env=dict(os.environ), log=log)
        try:
            proc.wait(duration + 120)
        finally:
            self.children.stop(proc)
        raw: dict[str, Any] | None = None
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith('{"bench_result"'):
                raw = json.loads(line)
        log.unlink()
        if proc.returncode != 0 or raw is None:
            raise BenchError(f"wrk failed ({proc.returncode})")
        answered = ids_path.read_text().split()
        ids_path.unlink()
        events.path.unlink()
        return WrkResult(raw, answered)

    # -- checks

    def _check_queue(
        self, events: EventFile, answered: list[str], statuses: dict[str, int]
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
            "queued_but_never_sent": len(queued - events.event_ids),
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

    # -- one target

    def _wait_for_quiet(self) -> None:
        """Wait (up to --quiet-wait seconds) until nothing else uses the CPUs."""
        wait_for_quiet(self.redis, self.opts.quiet_wait)

    def measure(self, target: str, round_no: int) -> Measurement:
        factor = HEADROOM
        for attempt in range(1, self.opts.retries + 2):
            self._wait_for_quiet()
            result = self._measure_once(target, round_no, factor)
            result.attempts = attempt
            if result.exhausted:
                print(f"    ran out of events at {result.generated}; again with more", flush=True)
                factor *= 2
                continue
            if result.disturbed and attempt <= self.opts.retries:
                print(f"    disturbed ({result.cpu}); measuring again", flush=True)
                continue
            return result
        return result

    def _measure_once(self, target: str, round_no: int, factor: float) -> Measurement:
        self.redis.flushdb()
        proc, port, _log = self._server(target)
        try:
            warm_events = self._events(
                port, max(1000, math.ceil(self.opts.warmup * WARMUP_RATE_CAP))
            )
            warm = self._wrk(port, warm_events, self.opts.warmup)
            count = math.ceil(max(warm.rps, 1000.0) * self.opts.duration * factor) + 2000
            events = self._events(port, count)
            time.sleep(0.5)  # let the warm-up's last requests finish before the flush
            self.redis.flushdb()
            before = _snapshot(proc.pid, self.redis)
            run = self._wrk(port, events, self.opts.duration)
            after = _snapshot(proc.pid, self.redis)
            time.sleep(0.3)
            hwm = status_kb(proc.pid, "VmHWM")
        finally:
            self.children.stop(proc)
        cpu = _cpu_report(before, after)
        raw = run.raw
        if target == "ingress":
            check = self._check_queue(events, run.answered_ids, dict(raw["statuses"]))
        elif target == "naive":
            check = self._check_naive(int(raw["ok"]))
        else:
            check = {}
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


# --------------------------------------------------------------------------------------------
# summary


def summarize(measurements: list[Measurement], opts: Options) -> dict[str, Any]:
    by_target: dict[str, list[Measurement]] = {t: [] for t in opts.targets}
    for m in measurements:
        by_target[m.target].append(m)
    medians: dict[str, dict[str, Any]] = {
        target: {
            "rps": round(median([m.rps for m in ms]), 1),
            "p50_ms": round(median([m.p50_ms for m in ms]), 3),
            "p99_ms": round(median([m.p99_ms for m in ms]), 3),
            "rounds_rps": [round(m.rps, 1) for m in ms],
            "rounds_p99_ms": [round(m.p99_ms, 3) for m in ms],
            "non2xx": sum(m.non2xx for m in ms),
            "socket_errors": sum(sum(m.socket_errors.values()) for m in ms),
            "peak_rss_mb": max((m.peak_rss_mb or 0.0) for m in ms) if ms else None,
            "disturbed_rounds": sum(1 for m in ms if m.disturbed),
        }
        for target, ms in by_target.items()
        if ms
    }
    summary: dict[str, Any] = {"medians": medians}
    ingress = medians.get("ingress")
    if ingress is None:
        return summary
    ratios: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for base, minimum in (("hmac-only", MIN_RATIO_HMAC), ("naive", MIN_RATIO_NAIVE)):
        if base not in medians:
            continue
        ratio = ingress["rps"] / medians[base]["rps"]
        per_round = [
            round(i.rps / b.rps, 3)
            for i, b in zip(by_target["ingress"], by_target[base], strict=False)
        ]
        ratios[f"ingress/{base}"] = {"of_medians": round(ratio, 3), "per_round": per_round}
        targets[f"ingress >= {minimum:g} x {base}"] = ratio >= minimum
    checks = [m.check for m in by_target["ingress"]]
    targets[f"ingress p99 <= {MAX_P99_MS:g} ms"] = ingress["p99_ms"] <= MAX_P99_MS
    targets["ingress zero non-2xx"] = ingress["non2xx"] == 0 and ingress["socket_errors"] == 0
    targets["every accepted event queued exactly once"] = all(c.get("ok") for c in checks)
    rss = ingress["peak_rss_mb"]
    targets[f"ingress peak RSS <= {MAX_RSS_MB:g} MB"] = rss is not None and rss <= MAX_RSS_MB
    summary["ratios"] = ratios
    summary["exactly_once"] = checks
    summary["targets"] = targets
    summary["all_targets_met"] = all(targets.values())
    return summary


def render(summary: dict[str, Any], opts: Options) -> str:
    lines = [
        "",
        f"Medians over {opts.rounds} round(s) of {opts.duration:g} s, "
        f"{opts.connections} connections (server on CPU {opts.server_cpu}, wrk on CPU "
        f"{opts.client_cpu}):",
        "",
        f"  {'target':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'peak RSS':>9}   req/s per round",
    ]
    for target, m in summary["medians"].items():
        rss = f"{m['peak_rss_mb']:.1f} MB" if m["peak_rss_mb"] else "-"
        rounds = ", ".join(f"{r:,.0f}" for r in m["rounds_rps"])
        failures = m["non2xx"] + m["socket_errors"]
        lines.append(
            f"  {target:<10} {m['rps']:>9,.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
            f"{failures:>8} {rss:>9}   {rounds}"
            + (f"  ({m['disturbed_rounds']} disturbed)" if m["disturbed_rounds"] else "")
        )
    if "ratios" in summary:
        lines.append("")
        for name, ratio in summary["ratios"].items():
            per_round = ", ".join(f"{r:.2f}" for r in ratio["per_round"])
            lines.append(f"  {name:<18} {ratio['of_medians']:.2f}   (per round: {per_round})")
        lines.append("")
        for check in summary["exactly_once"]:
            lines.append(
                "  exactly-once: "
                + ("ok" if check["ok"] else "FAILED")
                + f" - {check['answered_200']:,} answered 200, {check['queued']:,} queued "
                f"({check['queued_not_answered']} in flight at stop), "
                f"{check['duplicates_in_queue']} duplicates, "
                f"{check['answered_not_queued']} answered but not queued"
            )
        lines.append("")
        for name, met in summary["targets"].items():
            lines.append(f"  [{'x' if met else ' '}] {name}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# main


def _wrk_version() -> str:
    if shutil.which("wrk") is None:
        return ""
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S607
    return out.stdout.strip().splitlines()[0] if out.stdout.strip() else ""


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="bench/ingress.py",
        description="Benchmark the webhook ingress against an HMAC-only and a naive baseline.",
    )
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}"
    )
    parser.add_argument(
        "--retries", type=int, default=3, help="measure a disturbed run again, at most this often"
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=180.0,
        help="before each measurement, wait at most this long (s) for other processes to go idle",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="wrk's request timeout (s)")
    parser.add_argument(
        "--flush-redis",
        action="store_true",
        help="allow flushing a REDIS_URL database that holds keys of something else",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    args = parser.parse_args(argv)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if unknown := [t for t in targets if t not in TARGETS]:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    pin = not args.no_pin
    return (
        Options(
            duration=args.duration,
            warmup=args.warmup,
            rounds=args.rounds,
            connections=args.connections,
            server_cpu=args.server_cpu if pin else None,
            client_cpu=args.client_cpu if pin else None,
            targets=targets,
            retries=args.retries,
            quiet_wait=args.quiet_wait,
            timeout=args.timeout,
        ),
        args,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)
    missing = missing_tool("wrk", *(["taskset"] if opts.server_cpu is not None else []))
    if missing is not None:
        print(missing)
        return 2
    install_signal_handlers()
    started = datetime.now(UTC)
    measurements: list[Measurement] = []

    def measure_all() -> int:
        with bench_session(DEFAULT_REDIS_URL, flush_redis=args.flush_redis) as (stack, run):
            database_url = stack.enter_context(fresh_database(postgres_url()))
            master = generate_master_key()
            endpoint_id, secret = make_endpoint(database_url, SecretBox([master]))
            world = World(
                database_url, run.redis_url, format_master_key(master), endpoint_id, secret
            )
            bench = Bench(opts, world, run.children, run.work)
            protect_cleanup(stack)
            print(
                f"bench: {opts.rounds} round(s) x {', '.join(opts.targets)}; "
                f"{opts.warmup:g} s warm-up + {opts.duration:g} s each; Redis {run.redis_url}; "
                f"PostgreSQL database {make_url(database_url).database}",
                flush=True,
            )
            for round_no in range(1, opts.rounds + 1):
                shift = (round_no - 1) % len(opts.targets)
                order = opts.targets[shift:] + opts.targets[:shift]
                for target in order:
                    print(f"  round {round_no}: {target} ...", flush=True)
                    m = bench.measure(target, round_no)
                    measurements.append(m)
                    print(
                        f"    {m.rps:,.0f} req/s, p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms, "
                        f"non-2xx {m.non2xx}, errors {sum(m.socket_errors.values())}, "
                        f"peak RSS {m.peak_rss_mb} MB, cpu {m.cpu}"
                        + (f", check {'ok' if m.check.get('ok') else m.check}" if m.check else ""),
                        flush=True,
                    )
        return 0

    if (failed := run_guarded(measure_all)) != 0:
        return failed
    summary = summarize(measurements, opts)
    report = {
        "started_at": started.isoformat(),
        "options": {
            "duration_s": opts.duration,
            "warmup_s": opts.warmup,
            "rounds": opts.rounds,
            "connections": opts.connections,
            "wrk_threads": 1,
            "server_cpu": opts.server_cpu,
            "client_cpu": opts.client_cpu,
        },
        "environment": {
            **environment(("uvicorn", "uvloop", "httptools", "starlette", "redis", "orjson")),
            "wrk": _wrk_version(),
        },
        **summary,
        "measurements": [m.row() for m in measurements],
    }
    print(render(summary, opts))
    publish("ingress", started, report, hide={"measurements"})
    return 0 if summary.get("all_targets_met", True) else 1
