"""Burst: N distinct signed checkout events as fast as the ingress takes them, while the workers
drain; then a ledger check against what was sent, and the baselines of the ingress and
commissions benchmarks measured in the same run (bench/README.md).

`.venv/bin/python -m bench.burst [--events 100000]`

1. (same run) an ingress round as bench/ingress.py measures it: the HMAC-only baseline and the
   ingress, --baseline-duration seconds each, through its own code;
2. the burst, on a fresh database with one shop (bench/stack.py):
   a. wait until no other process keeps the CPUs busy (this machine may be shared);
   b. start `traaaction serve` pinned to --server-cpu and `traaaction worker` (2 processes x 8
      threads) pinned to --worker-cpu; wait for /readyz and for every worker to poll Redis;
   c. write --events distinct payment-mode checkout.session.completed deliveries (each naming
      one of the shop's clicks), signed now, into a file of raw HTTP requests;
   d. wrk (pinned to --client-cpu, --connections connections) sends each of them once
      (bench/wrk_burst.lua) and is stopped once every one has been answered; meanwhile a
      sampler notes every 100 ms the queue's length, the unacknowledged messages, Redis'
      used_memory and the RSS of the ingress and of the worker processes;
   e. any event not answered 200 (non-2xx, socket error) is sent again, freshly signed, as
      Stripe would retry it (at most --resends times);
   f. the workers get every CPU (unless --keep-worker-pin) and drain; the clock stops when no
      message of the queue is left unacknowledged (Dramatiq acknowledges after the actor's
      transaction committed);
   g. the ledger check: every event sent answered 200, exactly one SALE commission per
      checkout session, one applied event and one `processed` log row per event id, one
      idempotency key each, nothing dead-lettered, nothing left in Redis' queues;
3. (same run) a commissions round as bench/throughput.py measures it: the one-INSERT floor and
   the real actors, --baseline-messages queued messages each;
4. the ratios of the burst to those baselines.

Its load is bench/burst_load.py's, what it watches bench/burst_observe.py's, its figures and
table bench/burst_report.py's.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench import harness
from bench import ingress as ingress_benchmark
from bench.burst_baselines import commissions_round, ingress_round
from bench.burst_load import Resent, Sent, post_once, run_wrk
from bench.burst_observe import (
    CpuCounters,
    LastAnswer,
    Sampler,
    check_burst,
    peak_rss_by_process,
    split_cpu,
    unpin_tree,
    worker_pids,
)
from bench.burst_report import Burst, BurstRun, Observed, conclude, figures, placement, timeline
from bench.cpu import Meter, Postgres, process_cpu, tree_cpu
from bench.databases import conninfo, database_name, fresh_database, postgres_url
from bench.events import http_request
from bench.processes import BenchError, free_port, status_kb, tail, wait_ready
from bench.stack import (
    QUEUE,
    Events,
    Shop,
    pending_messages,
    seed_shop,
    service_env,
    traaaction,
    wait_for_workers,
    wait_until_drained,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"


@dataclass(frozen=True, slots=True)
class Options:
    events: int
    connections: int
    timeout: float
    processes: int
    threads: int
    server_cpu: int | None
    client_cpu: int | None
    worker_cpu: int | None
    unpin_drain: bool
    log_level: str
    sample_interval: float
    resends: int
    retries: int
    quiet_wait: float
    burst_timeout: float
    drain_timeout: float
    baselines: bool
    ingress_targets: tuple[str, ...]
    baseline_duration: float
    baseline_warmup: float
    baseline_messages: int


def write_deliveries(path: Path, shop: Shop, *, count: int, host: str) -> list[Sent]:
    """`count` distinct deliveries signed now, as records `<8 digits: length><raw request>` (the
    format of bench/events.py, which bench/wrk_burst.lua walks once)."""
    events = Events(shop)
    url_path = f"/api/webhooks/{shop.endpoint_id}"
    now = int(time.time())
    out: list[Sent] = []
    at = 0
    with path.open("wb", buffering=1024 * 1024) as file:
        for _ in range(count):
            event_id, session_id, body = events.next(now)
            request = http_request(host, url_path, shop.secret, body, now)
            file.write(b"%08d" % len(request))
            file.write(request)
            at += 8 + len(request)
            out.append(Sent(event_id, session_id, at - len(body), len(body)))
    if len({s.event_id for s in out}) != count or len({s.session_id for s in out}) != count:
        raise AssertionError("generated event or session ids are not distinct")
    return out


def resend(
    port: int, shop: Shop, requests: Path, missing: list[Sent], opts: Options
) -> list[Resent]:
    """Send each delivery that was not answered 200 again, freshly signed (as Stripe retries
    it), up to --resends times each."""
    host, url_path = f"127.0.0.1:{port}", f"/api/webhooks/{shop.endpoint_id}"
    out: list[Resent] = []
    with requests.open("rb") as file:
        for sent in missing:
            file.seek(sent.body_at)
            body = file.read(sent.body_len)
            result = Resent(sent.event_id, 0, [], "", 0.0)
            for attempt in range(1, opts.resends + 1):
                result.attempts = attempt
                status, answer = post_once(
                    port,
                    http_request(host, url_path, shop.secret, body, int(time.time())),
                    opts.timeout,
                )
                result.statuses.append(status)
                if status == 200:
                    result.answer = str(answer.get("status", ""))
                    result.answered_at = time.time()
                    break
                time.sleep(min(0.1 * 2**attempt, 2.0))
            out.append(result)
    return out


def _why_again(burst: Burst) -> str | None:
    if not burst.disturbed:
        return None
    return f"disturbed (burst {burst.cpu['burst']}, drain {burst.cpu['drain']}); measuring again"


class BurstBench:
    """One burst on a fresh database: the stack, the load, the drain, the ledger check."""

    def __init__(self, opts: Options, held: harness.Session) -> None:
        self.opts = opts
        self.session = held
        self.redis = held.redis

    def measure(self) -> Burst:
        def once(attempt: int) -> Burst:
            with fresh_database(postgres_url()) as database_url:
                return self._measure_once(attempt, database_url)

        return harness.measure_until_undisturbed(
            once, client=self.redis, opts=self.opts, again=_why_again
        )

    def _start(
        self, shop: Shop, port: int, serve_log: Path, worker_log: Path
    ) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes]]:
        """`traaaction serve` and `traaaction worker`, both booting at once."""
        opts, children = self.opts, self.session.children
        env = service_env(
            shop,
            self.session.redis_url,
            log_level=opts.log_level,
            processes=opts.processes,
            threads=opts.threads,
        )
        # its own port: a second `traaaction worker` on this machine must not collide with it
        env["WORKER_METRICS_PORT"] = str(free_port())
        serve = children.start(
            traaaction("serve", "--host", "127.0.0.1", "--port", str(port)),
            # the ingress as bench/ingress.py runs it (LOG_LEVEL=WARNING)
            env={**env, "LOG_LEVEL": "WARNING"},
            log=serve_log,
            cpu=opts.server_cpu,
        )
        worker = children.start(traaaction("worker"), env=env, log=worker_log, cpu=opts.worker_cpu)
        return serve, worker

    def _measure_once(self, attempt: int, database_url: str) -> Burst:  # noqa: PLR0915
        opts, work = self.opts, self.session.work
        shop = seed_shop(database_url)
        meter = Meter(self.redis, Postgres(conninfo(database_url), database_name(database_url)))
        self.redis.flushdb()
        port = free_port()
        serve_log, worker_log = work / f"serve-{attempt}.log", work / "worker.log"
        serve, worker = self._start(shop, port, serve_log, worker_log)

        def counters() -> CpuCounters:
            return CpuCounters(meter.snapshot(), process_cpu(serve.pid), tree_cpu(worker.pid))

        requests = work / f"burst-{attempt}.req"
        sampler: Sampler | None = None
        left = LastAnswer()
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", serve, serve_log)
            boot = wait_for_workers(self.redis, opts.processes, worker, worker_log)
            print(f"    writing {opts.events:,} signed deliveries ...", flush=True)
            sent = write_deliveries(requests, shop, count=opts.events, host=f"127.0.0.1:{port}")
            redis_before = int(self.redis.info("memory")["used_memory"])
            sampler = Sampler(self.session.redis_url, serve.pid, worker.pid, opts.sample_interval)
            sampler.start()
            before = counters()

            def burst_over() -> None:
                # as soon as wrk saw its last answer: what was left for the drain
                left.unacked = pending_messages(self.redis)
                left.ready = int(self.redis.llen(QUEUE))
                left.counters = counters()

            print(f"    burst: wrk, {opts.connections} connections ...", flush=True)
            load = run_wrk(
                self.session.children,
                work,
                requests,
                port=port,
                connections=opts.connections,
                timeout=opts.timeout,
                burst_timeout=opts.burst_timeout,
                cpu=opts.client_cpu,
                on_done=burst_over,
            )
            if not load.answered_ids:
                raise BenchError(f"the ingress accepted none of the burst:\n{tail(serve_log)}")
            accepted = set(load.answered_ids)
            missing = [s for s in sent if s.event_id not in accepted]
            resent = resend(port, shop, requests, missing, opts) if missing else []
            accepted |= {r.event_id for r in resent if r.answered_at}
            last_200 = max([load.last_ok, *(r.answered_at for r in resent if r.answered_at)])
            if resent:  # the drain starts after the resends
                left.unacked = pending_messages(self.redis)
                left.ready = int(self.redis.llen(QUEUE))
            cpus = unpin_tree(worker.pid) if opts.unpin_drain else None
            print(
                f"    {load.raw['ok']:,} answered 200 in {load.seconds:.2f} s "
                f"({load.rps:,.0f} req/s); draining {left.unacked:,} messages ...",
                flush=True,
            )
            wait_until_drained(self.redis, worker, worker_log, timeout=opts.drain_timeout)
            drained = time.time()
            after = counters()
            time.sleep(2 * opts.sample_interval)
            sampler.stop()
            if sampler.error is not None:
                raise BenchError(f"the sampler failed: {sampler.error!r}")
            web_hwm = status_kb(serve.pid, "VmHWM")
            worker_peaks = peak_rss_by_process(worker_pids(worker.pid))
        finally:
            if sampler is not None and sampler.is_alive():
                sampler.stop()
            self.session.children.stop(worker)
            self.session.children.stop(serve)
            requests.unlink(missing_ok=True)
        assert left.counters is not None  # burst_over ran before wrk was stopped
        cpu = split_cpu(before, left.counters, after, load.cpu_seconds)
        check = check_burst(self.redis, shop, sent, accepted, dict(load.raw["statuses"]))
        with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            database_bytes = int(row[0]) if row else 0
        observed = Observed(
            opts=opts,
            load=load,
            sent=sent,
            missing=len(missing),
            resent=resent,
            accepted=len(accepted),
            boot_seconds=boot,
            left=left,
            last_200=last_200,
            drained=drained,
            drain_cpus=cpus,
            sampler=sampler,
            ingress_hwm_kb=web_hwm,
            worker_peaks=worker_peaks,
            redis_before=redis_before,
            database_bytes=database_bytes,
        )
        return Burst(attempt, figures(observed), cpu, check, timeline(observed))


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.burst",
        description="A burst of distinct signed events through the ingress while the workers "
        "drain, checked against the ledger, with the baselines of the same run.",
    )
    parser.add_argument("--events", type=int, default=100_000, help="distinct events sent")
    parser.add_argument("--connections", type=int, default=64, help="wrk's connections")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="wrk's request timeout (s), as bench/ingress.py"
    )
    harness.add_worker_options(parser, log_level_help="LOG_LEVEL of the workers")
    harness.add_pin_options(parser, "server", "client", "worker")
    parser.add_argument(
        "--keep-worker-pin",
        action="store_true",
        help="keep the workers on --worker-cpu for the drain too (default: every CPU)",
    )
    parser.add_argument("--sample-interval", type=float, default=0.1, help="seconds")
    parser.add_argument(
        "--resends", type=int, default=5, help="times an event not answered 200 is sent again"
    )
    harness.add_retry_options(parser)
    parser.add_argument("--burst-timeout", type=float, default=900.0, help="seconds, at most")
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="seconds, at most")
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip the ingress and commissions rounds"
    )
    known = ingress_benchmark.TARGETS
    parser.add_argument(
        "--ingress-targets",
        default="hmac-only,ingress",
        help=f"bench/ingress.py targets for the baseline round, of {', '.join(known)}",
    )
    parser.add_argument("--baseline-duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--baseline-warmup", type=float, default=3.0, help="seconds")
    parser.add_argument("--baseline-messages", type=int, default=10_000, help="queued messages")
    args = harness.parse(parser, argv)
    targets = harness.targets_of(parser, args.ingress_targets, known, what="ingress target")
    if args.events < 1:
        parser.error("--events must be at least 1")
    opts = harness.options_from(
        Options,
        args,
        # the drain runs on every CPU only if the burst was pinned at all
        unpin_drain=not args.no_pin and not args.keep_worker_pin,
        baselines=not args.no_baselines,
        ingress_targets=targets,
    )
    return opts, args


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)

    def measure(held: harness.Session) -> BurstRun:
        print(
            f"bench: burst of {opts.events:,} events"
            + (", with an ingress and a commissions round" if opts.baselines else "")
            + f"; Redis {held.redis_url}; {placement(opts)}",
            flush=True,
        )
        ingress = ingress_round(opts, held) if opts.baselines and opts.ingress_targets else []
        print("  burst ...", flush=True)
        burst = BurstBench(opts, held).measure()
        commissions = commissions_round(opts, held) if opts.baselines else []
        return BurstRun(burst, ingress, commissions)

    return harness.run(
        "burst",
        default_redis_url=DEFAULT_REDIS_URL,
        flush_redis=args.flush_redis,
        tools=harness.needed_tools(wrk=True, pinned=opts.server_cpu is not None),
        measure=measure,
        conclude=lambda measured: conclude(measured, opts),
    )


if __name__ == "__main__":
    harness.command(main)
