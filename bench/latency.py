"""Webhook-to-commission latency of the real stack at a steady rate (bench/README.md).

`.venv/bin/python -m bench.latency [--rate 300 --duration 30]`

1. a fresh database with one shop (workspace, program, partner, clicks, endpoint, secret);
2. wait until no other process keeps the CPUs busy (this machine may be shared);
3. start `traaaction serve` (pinned to --server-cpu) and `traaaction worker` (its defaults:
   2 processes x 8 threads), wait until the ingress answers /readyz and the workers poll Redis;
4. send distinct, signed checkout.session.completed events (payment mode, each naming a real
   click) open-loop: event i is sent at start + i / rate whatever the answers (keep-alive
   connections, a new one whenever all are busy), and note when its 200 arrived;
5. meanwhile a poller thread asks PostgreSQL every --poll-interval which commissions became
   visible since its previous query, and notes when it first saw each;
6. latency = first seen - 200 received, per event (those of the warm-up left out); afterwards
   every event sent must have exactly one commission and one `processed` log row.

The load is bench/open_loop.py's, the poller bench/commission_poller.py's.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench import harness
from bench.commission_poller import Poller
from bench.cpu import Meter, Postgres, disturbed
from bench.databases import conninfo, database_name
from bench.events import http_request
from bench.open_loop import Delivery, SendResult, send_open_loop
from bench.processes import BenchError, free_port, wait_ready
from bench.reports import percentile
from bench.stack import (
    Events,
    Shop,
    check_ledger,
    seed_shop,
    service_env,
    traaaction,
    truncate_ledger,
    wait_for_workers,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/10"
#: the promise: a commission in PostgreSQL at most this long after the webhook's 200, at p99
MAX_P99_S = 1.0


@dataclass(frozen=True, slots=True)
class Options:
    rate: float
    duration: float
    warmup: float
    connections: int
    poll_interval: float
    window: float
    settle: float
    processes: int
    threads: int
    server_cpu: int | None
    log_level: str
    retries: int
    quiet_wait: float
    max_p99: float


@dataclass
class Measurement:
    attempt: int
    result: dict[str, Any]
    cpu: dict[str, float]
    check: dict[str, Any]

    @property
    def disturbed(self) -> bool:
        return disturbed(self.cpu)


def _stats(values: Sequence[float]) -> dict[str, float | None]:
    ordered = sorted(values)
    if not ordered:
        return {"count": 0}
    return {
        "count": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 1),
        "p90_ms": round(percentile(ordered, 0.90) * 1000, 1),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 1),
        "max_ms": round(ordered[-1] * 1000, 1),
        "mean_ms": round(sum(ordered) / len(ordered) * 1000, 1),
    }


class LatencyBench:
    """One measurement: the stack started afresh, the load, the poller, the checks."""

    def __init__(self, opts: Options, shop: Shop, held: harness.Session) -> None:
        self.opts = opts
        self.shop = shop
        self.redis_url = held.redis_url
        self.redis = held.redis
        self.children = held.children
        self.work = held.work
        self.meter = Meter(
            self.redis, Postgres(conninfo(shop.database_url), database_name(shop.database_url))
        )

    def measure(self) -> Measurement:
        return harness.measure_until_undisturbed(
            self._measure_once,
            client=self.redis,
            opts=self.opts,
            again=lambda m: f"disturbed ({m.cpu}); measuring again" if m.disturbed else None,
        )

    def _deliveries(self, port: int) -> list[Delivery]:
        opts = self.opts
        warm = math.ceil(opts.warmup * opts.rate)
        total = warm + math.ceil(opts.duration * opts.rate)
        events = Events(self.shop)
        host, path = f"127.0.0.1:{port}", f"/api/webhooks/{self.shop.endpoint_id}"
        now = int(time.time())
        out = []
        for i in range(total):
            event_id, session_id, body = events.next(now)
            request = http_request(host, path, self.shop.secret, body, now)
            out.append(Delivery(event_id, session_id, request, warmup=i < warm))
        return out

    def _measure_once(self, attempt: int) -> Measurement:
        opts = self.opts
        self.redis.flushdb()
        truncate_ledger(self.shop.database_url)
        env = service_env(
            self.shop,
            self.redis_url,
            log_level=opts.log_level,
            processes=opts.processes,
            threads=opts.threads,
        )
        port = free_port()
        serve_log, worker_log = self.work / f"serve-{attempt}.log", self.work / "worker.log"
        serve = self.children.start(
            traaaction("serve", "--host", "127.0.0.1", "--port", str(port)),
            env=env,
            log=serve_log,
            cpu=opts.server_cpu,
        )
        worker = self.children.start(traaaction("worker"), env=env, log=worker_log)
        poller: Poller | None = None
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", serve, serve_log)
            wait_for_workers(self.redis, opts.processes, worker, worker_log)
            deliveries = self._deliveries(port)
            poller = Poller(
                self.shop.database_url, self.shop.workspace_id, opts.poll_interval, opts.window
            )
            poller.start()
            before = self.meter.snapshot()
            sent = send_open_loop(port, deliveries, rate=opts.rate, connections=opts.connections)
            after = self.meter.snapshot()
            accepted = {d.session_id for d in deliveries if d.status == 200}
            deadline = time.monotonic() + opts.settle
            while time.monotonic() < deadline and not accepted <= poller.seen.keys():
                if poller.error is not None or worker.poll() is not None:
                    break
                time.sleep(0.1)
            poller.stop()
            if poller.error is not None:
                raise BenchError(f"the poller failed: {poller.error!r}")
        finally:
            if poller is not None and poller.is_alive():
                poller.stop()
            self.children.stop(worker)
            self.children.stop(serve)
        cpu = Meter.report(before, after)
        check = check_ledger(
            self.shop.database_url,
            self.shop.workspace_id,
            {d.session_id for d in deliveries if d.status == 200},
        )
        result = self._result(deliveries, sent, poller)
        check["ok"] = bool(check["ok"]) and result["non_2xx"] == 0 and result["errors"] == 0
        check["unseen_by_poller"] = result["unseen"]
        return Measurement(attempt, result, cpu, check)

    def _result(
        self, deliveries: list[Delivery], sent: SendResult, poller: Poller
    ) -> dict[str, Any]:
        measured = [d for d in deliveries if not d.warmup]
        ok = [d for d in measured if d.status == 200]
        latencies, queue_wait, commit = [], [], []
        unseen = 0
        for d in ok:
            seen = poller.seen.get(d.session_id)
            if seen is None:
                unseen += 1
                latencies.append(math.inf)
                continue
            seen_at, created_at = seen
            latencies.append(seen_at - d.answered)
            queue_wait.append(created_at - d.answered)
            commit.append(seen_at - created_at)
        span = measured[-1].sent - measured[0].sent if len(measured) > 1 else math.nan
        lateness = sorted(max(0.0, d.sent - d.due) for d in measured if d.sent)
        cycles = sorted(poller.cycles[1:])
        stats = _stats([x for x in latencies if math.isfinite(x)])
        if unseen:  # an event whose commission was never seen is worse than any seen one
            p99 = percentile(sorted(latencies), 0.99)
            stats.update(p99_ms=round(p99 * 1000, 1) if math.isfinite(p99) else None, max_ms=None)
        return {
            "sent": len(measured),
            "target_rate": self.opts.rate,
            "achieved_rate": round((len(measured) - 1) / span, 1) if span > 0 else None,
            "answered_200": len(ok),
            "non_2xx": sum(1 for d in measured if d.status not in (0, 200)),
            "errors": sum(1 for d in deliveries if d.status == 0),
            "error_samples": sent.error_samples,
            "connections_opened": sent.opened_connections,
            "warmup_sent": len(deliveries) - len(measured),
            "send_lateness_ms": {
                "p99": round(percentile(lateness, 0.99) * 1000, 2) if lateness else None,
                "max": round(lateness[-1] * 1000, 2) if lateness else None,
            },
            "http_latency_ms": _stats([d.answered - d.sent for d in ok]),
            "latency": stats,
            "unseen": unseen,
            # parts of it: 200 -> the worker's transaction starts (commissions.created_at, set
            # by the worker at the start of its transaction), then -> seen committed
            "to_transaction_start": _stats(queue_wait),
            "transaction_start_to_seen": _stats(commit),
            "poller": {
                "interval_ms": self.opts.poll_interval * 1000,
                "cycle_p50_ms": round(percentile(cycles, 0.5) * 1000, 2) if cycles else None,
                "cycle_p99_ms": round(percentile(cycles, 0.99) * 1000, 2) if cycles else None,
                "query_p50_ms": round(percentile(sorted(poller.query_s), 0.5) * 1000, 2),
                "polls": len(poller.cycles),
            },
        }


def render(m: Measurement, opts: Options) -> str:
    r = m.result
    lat = r["latency"]
    lines = [
        "",
        f"Webhook 200 -> commission visible in PostgreSQL, {r['sent']:,} events over "
        f"{opts.duration:g} s (after {opts.warmup:g} s of warm-up), {opts.processes} worker "
        f"processes x {opts.threads} threads:",
        "",
        f"  {'':<28} {'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}",
    ]
    for label, key in (
        ("200 -> seen committed", "latency"),
        ("  200 -> transaction start", "to_transaction_start"),
        ("  transaction start -> seen", "transaction_start_to_seen"),
        ("HTTP request -> 200", "http_latency_ms"),
    ):
        s = r[key]
        if not s.get("count"):
            continue
        cells = " ".join(
            f"{s[k]:>6.0f}ms" if s.get(k) is not None else f"{'-':>8}"
            for k in ("p50_ms", "p90_ms", "p99_ms", "max_ms")
        )
        lines.append(f"  {label:<28} {cells}")
    poll = r["poller"]
    lines += [
        "",
        f"  rate: {r['achieved_rate']} events/s sent (target {opts.rate:g}); "
        f"{r['answered_200']:,} answered 200, {r['non_2xx']} non-2xx, {r['errors']} errors; "
        f"send lateness p99 {r['send_lateness_ms']['p99']} ms",
        f"  poller: every {poll['interval_ms']:g} ms, cycle p50 {poll['cycle_p50_ms']} ms / "
        f"p99 {poll['cycle_p99_ms']} ms (the resolution of 'seen')",
        f"  cpu: {m.cpu}" + ("  (DISTURBED)" if m.disturbed else ""),
        "  exactly once: "
        + ("ok" if m.check["ok"] else "FAILED")
        + f" - {m.check['commissions']:,} commissions for {m.check['expected']:,} events, "
        f"{m.check['missing']} missing, {m.check['more_than_one']} duplicated, "
        f"event log {m.check['event_log']}",
        "",
        f"  [{'x' if (lat.get('p99_ms') or math.inf) <= opts.max_p99 * 1000 else ' '}] "
        f"p99 <= {opts.max_p99 * 1000:g} ms at {opts.rate:g} events/s",
        f"  [{'x' if m.check['ok'] else ' '}] every event: one 200, exactly one commission",
    ]
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.latency",
        description="Webhook 200 -> commission in PostgreSQL, at a steady rate, real stack.",
    )
    parser.add_argument("--rate", type=float, default=300.0, help="events per second")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds sent before, unmeasured")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections")
    parser.add_argument("--poll-interval", type=float, default=0.01, help="seconds")
    parser.add_argument(
        "--window",
        type=float,
        default=1.0,
        help="seconds of commissions.created_at each poll scans back from the newest seen",
    )
    parser.add_argument(
        "--settle", type=float, default=60.0, help="seconds to wait for the last commissions"
    )
    harness.add_worker_options(parser, log_level_help="LOG_LEVEL of serve and worker")
    harness.add_pin_options(parser, "server")
    harness.add_retry_options(parser)
    parser.add_argument("--max-p99", type=float, default=MAX_P99_S, help="target, seconds")
    args = harness.parse(parser, argv)
    return harness.options_from(Options, args), args


def conclude(m: Measurement, opts: Options) -> harness.Outcome:
    p99 = m.result["latency"].get("p99_ms")
    p99 = math.inf if p99 is None else p99
    targets = {
        f"p99 <= {opts.max_p99 * 1000:g} ms": p99 <= opts.max_p99 * 1000,
        f"achieved rate >= 0.98 x {opts.rate:g}/s": (m.result["achieved_rate"] or 0)
        >= 0.98 * opts.rate,
        "zero non-2xx": m.result["non_2xx"] == 0 and m.result["errors"] == 0,
        "every event: exactly one commission": bool(m.check["ok"]),
    }
    return harness.Outcome(
        options=asdict(opts),
        packages=("dramatiq", "sqlalchemy", "psycopg", "redis", "uvicorn"),
        fields={
            "latency_ms": m.result["latency"],
            "achieved_rate": m.result["achieved_rate"],
            "non_2xx": m.result["non_2xx"],
            "errors": m.result["errors"],
            "disturbed": m.disturbed,
            "targets": targets,
            "all_targets_met": all(targets.values()),
            "measurement": {**m.result, "attempt": m.attempt, "cpu": m.cpu, "check": m.check},
        },
        table=render(m, opts),
        passed=all(targets.values()),
        hidden=frozenset({"measurement", "options"}),
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)

    def measure(held: harness.Session) -> Measurement:
        shop = seed_shop(held.fresh_database())
        bench = LatencyBench(opts, shop, held)
        print(
            f"bench: {opts.rate:g} events/s for {opts.warmup:g} + {opts.duration:g} s; "
            f"Redis {held.redis_url}; PostgreSQL database {database_name(shop.database_url)}",
            flush=True,
        )
        return bench.measure()

    return harness.run(
        "latency",
        default_redis_url=DEFAULT_REDIS_URL,
        flush_redis=args.flush_redis,
        tools=harness.needed_tools(wrk=False, pinned=opts.server_cpu is not None),
        measure=measure,
        conclude=lambda measured: conclude(measured, opts),
    )


if __name__ == "__main__":
    harness.command(main)
