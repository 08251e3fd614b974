"""Burst: N distinct signed checkout events as fast as the ingress takes them, while the workers
drain; then a ledger check against what was sent, and the baselines of the ingress and
commissions benchmarks measured in the same run (bench/README.md).

`.venv/bin/python -m bench.burst [--events 100000]`

1. (same run) an ingress round as bench/ingress.py measures it: the HMAC-only baseline and the
   ingress, --baseline-duration seconds each, through bench/harness.py;
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
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psutil
import psycopg
import redis

from bench import harness, throughput
from bench.common import (
    REPO,
    BenchError,
    Children,
    Meter,
    Postgres,
    bench_session,
    conninfo,
    database_name,
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
    run_guarded,
    status_kb,
    tail,
    tree_cpu,
    wait_for_quiet,
    wait_ready,
)
from bench.events import http_request
from bench.stack import (
    QUEUE,
    Events,
    Shop,
    check_ledger,
    dead_letters,
    pending_messages,
    seed_shop,
    service_env,
    traaaction,
    wait_for_workers,
)
from storage.crypto import SecretBox, format_master_key, generate_master_key
from workers.contract import DEAD_LETTER_STREAM

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
WRK_SCRIPT = REPO / "bench" / "wrk_burst.lua"
INGRESS_TARGETS = harness.TARGETS
MB = 1024 * 1024


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


# --------------------------------------------------------------------------------------------
# the deliveries


@dataclass(frozen=True, slots=True)
class Sent:
    """One delivery of the burst: its ids, and where its body is in the requests file."""

    event_id: str
    session_id: str
    body_at: int
    body_len: int


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


# --------------------------------------------------------------------------------------------
# the load: wrk, once through the file, stopped when every request has been answered


@dataclass
class WrkBurst:
    raw: dict[str, Any]
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
    opts: Options,
    on_done: Callable[[], None] | None = None,
) -> WrkBurst:
    """Send every request of the file once with wrk; stop wrk when all are answered (or, if
    some were lost to socket errors, --timeout seconds after the last one left)."""
    ids_path, done_path, sent_path = (requests.with_suffix(s) for s in (".ids", ".done", ".sent"))
    argv = pinned(
        opts.client_cpu,
        [
            "wrk", "-t1", f"-c{opts.connections}", "-d3600s", f"--timeout={opts.timeout:g}s",
            "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--",
            str(requests), str(ids_path), str(done_path), str(sent_path),
        ],
    )  # fmt: skip
    log = work / "wrk-burst.log"
    proc = children.start(argv, env=dict(os.environ), log=log)
    deadline = time.monotonic() + opts.burst_timeout
    stalled = False
    cpu = 0.0
    try:
        while not done_path.exists():
            if proc.poll() is not None:
                raise BenchError(f"wrk exited ({proc.returncode}):\n{tail(log)}")
            if time.monotonic() > deadline:
                raise BenchError(f"the burst took more than {opts.burst_timeout:g} s")
            if sent_path.exists() and time.time() - sent_path.stat().st_mtime > opts.timeout + 1:
                stalled = True  # some request will never be answered (a socket error)
                break
            time.sleep(0.005)
        if on_done is not None:
            on_done()
        cpu = process_cpu(proc.pid)
        proc.send_signal(signal.SIGINT)  # wrk prints its summary and runs done()
        proc.wait(60)
    finally:
        children.stop(proc)
    raw: dict[str, Any] | None = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith('{"bench_result"'):
            raw = json.loads(line)
    if raw is None:
        raise BenchError(f"wrk printed no result ({proc.returncode}):\n{tail(log)}")
    answered = ids_path.read_text().split()
    for path in (ids_path, done_path, sent_path, log):
        path.unlink(missing_ok=True)
    return WrkBurst(raw, answered, cpu, stalled)


@dataclass
class Resent:
    event_id: str
    attempts: int
    statuses: list[int]
    answer: str  # the 200's "status": queued, duplicate, ...
    answered_at: float


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
                status, answer = _post(
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


def _post(port: int, request: bytes, timeout: float) -> tuple[int, dict[str, Any]]:
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


# --------------------------------------------------------------------------------------------
# the sampler: queue depth, memory


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall clock
    ready: int  # LLEN of the queue: listed, not yet fetched by a worker
    unacked: int  # messages not acknowledged: listed, prefetched or running, or delayed
    redis_bytes: int  # used_memory (the whole Redis server)
    web_rss: int  # bytes
    workers_rss: int  # bytes, sum over `traaaction worker` and its descendants


class Sampler(threading.Thread):
    def __init__(self, redis_url: str, web_pid: int, worker_pid: int, interval: float) -> None:
        super().__init__(name="burst-sampler", daemon=True)
        self._redis = redis.Redis.from_url(redis_url)
        self._web = web_pid
        self._worker = worker_pid
        self._interval = interval
        self._halt = threading.Event()
        self.samples: list[Sample] = []
        self.error: BaseException | None = None

    def stop(self) -> None:
        self._halt.set()
        self.join(10)
        self._redis.close()

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the bench
            self.error = exc

    def _run(self) -> None:
        pids = worker_pids(self._worker)
        refreshed = time.monotonic()
        while not self._halt.is_set():
            started = time.monotonic()
            if started - refreshed > 1.0:  # dramatiq restarts a worker process that died
                pids, refreshed = worker_pids(self._worker), started
            self.samples.append(self._sample(pids))
            self._halt.wait(max(0.0, self._interval - (time.monotonic() - started)))

    def _sample(self, pids: list[int]) -> Sample:
        pipe = self._redis.pipeline(transaction=False)
        pipe.llen(QUEUE)
        pipe.hlen(f"{QUEUE}.msgs")
        pipe.hlen(f"{QUEUE}.DQ.msgs")
        pipe.info("memory")
        ready, queued, delayed, memory = pipe.execute()
        return Sample(
            at=time.time(),
            ready=int(ready),
            unacked=int(queued) + int(delayed),
            redis_bytes=int(memory["used_memory"]),
            web_rss=(status_kb(self._web, "VmRSS") or 0) * 1024,
            workers_rss=sum((status_kb(pid, "VmRSS") or 0) * 1024 for pid in pids),
        )

    def peak(self, name: str) -> int:
        return max((int(getattr(s, name)) for s in self.samples), default=0)


def worker_pids(root: int) -> list[int]:
    """`traaaction worker` and every process under it (metrics server, dramatiq, its workers)."""
    try:
        top = psutil.Process(root)
        return [top.pid, *(p.pid for p in top.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def unpin_tree(root: int) -> list[int]:
    """Let every thread of `root` and its descendants run on every CPU this bench may use
    (`taskset` pinned them at start; threads started since inherited that)."""
    cpus = os.sched_getaffinity(0)
    for pid in worker_pids(root):
        with suppress(OSError):
            for tid in os.listdir(f"/proc/{pid}/task"):
                with suppress(OSError):
                    os.sched_setaffinity(int(tid), cpus)
    return sorted(cpus)


def _role(proc: psutil.Process) -> str:
    cmdline = " ".join(proc.cmdline())
    if "traaaction.worker_metrics" in cmdline:
        return "metrics server"
    if "dramatiq" in cmdline:
        parent = proc.parent()
        forked = parent is not None and "dramatiq" in " ".join(parent.cmdline())
        return "dramatiq worker" if forked else "dramatiq main"
    return "traaaction worker"


def peak_rss_by_process(pids: list[int]) -> list[dict[str, Any]]:
    """Each process' peak RSS (VmHWM) and its role."""
    out = []
    for pid in pids:
        hwm = status_kb(pid, "VmHWM")
        if hwm is None:
            continue
        try:
            role = _role(psutil.Process(pid))
        except psutil.Error:
            role = "?"
        out.append({"pid": pid, "role": role, "peak_rss_mb": round(hwm / 1024, 1)})
    return out


# --------------------------------------------------------------------------------------------
# the ledger check


def check_burst(
    client: redis.Redis,
    shop: Shop,
    sent: list[Sent],
    accepted: set[str],
    statuses: dict[str, int],
) -> dict[str, Any]:
    """Every event sent was accepted, and every accepted event was applied exactly once.
    `statuses`: the burst's 200 answers by their "status" (each event is sent once: anything
    but "queued" is wrong)."""
    by_event = {s.event_id: s for s in sent}
    check = check_ledger(
        shop.database_url, shop.workspace_id, {by_event[e].session_id for e in accepted}
    )
    with psycopg.connect(conninfo(shop.database_url), autocommit=True) as conn:
        kinds: dict[str, int] = dict(
            conn.execute(
                "SELECT kind, count(*) FROM commissions WHERE workspace_id = %s GROUP BY 1",
                (shop.workspace_id,),
            ).fetchall()
        )
        applied = [
            row[0]
            for row in conn.execute(
                "SELECT stripe_event_id FROM applied_events WHERE workspace_id = %s",
                (shop.workspace_id,),
            )
        ]
        logged = [
            row[0]
            for row in conn.execute(
                "SELECT stripe_event_id FROM webhook_event_log"
                " WHERE workspace_id = %s AND outcome = 'processed'",
                (shop.workspace_id,),
            )
        ]
        row = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
        dead_rows = int(row[0]) if row else 0
    sent_ids = set(by_event)
    seen_keys = sum(1 for _ in client.scan_iter(match=harness.SEEN_PATTERN, count=5000))
    check.update(
        burst_answers_not_queued=sum(n for st, n in statuses.items() if st != "queued"),
        sent=len(sent),
        accepted=len(accepted),
        lost=len(sent_ids - accepted),
        accepted_but_not_sent=len(accepted - sent_ids),
        commission_kinds=kinds,
        applied_events=len(applied),
        applied_events_distinct=len(set(applied)),
        applied_not_accepted=len(set(applied) - accepted),
        processed_log_rows=len(logged),
        processed_log_events=len(set(logged)),
        processed_log_not_accepted=len(set(logged) - accepted),
        idempotency_keys=seen_keys,
        dead_letters_queue=dead_letters(client),
        dead_letters_stream=int(client.xlen(DEAD_LETTER_STREAM)),
        dead_letters_table=dead_rows,
        unacknowledged_left=pending_messages(client),
        ready_left=int(client.llen(QUEUE)),
    )
    check["ok"] = bool(
        check["ok"]
        and check["lost"] == 0
        and check["burst_answers_not_queued"] == 0
        and check["accepted_but_not_sent"] == 0
        and kinds == {"SALE": len(accepted)}
        and len(applied) == len(set(applied)) == len(accepted)
        and check["applied_not_accepted"] == 0
        and len(logged) == len(set(logged)) == len(accepted)
        and check["processed_log_not_accepted"] == 0
        and seen_keys == len(accepted)
        and check["dead_letters_queue"] == 0
        and check["dead_letters_stream"] == 0
        and dead_rows == 0
        and check["unacknowledged_left"] == 0
        and check["ready_left"] == 0
    )
    return check


# --------------------------------------------------------------------------------------------
# one burst


@dataclass
class Burst:
    attempt: int
    result: dict[str, Any]
    cpu: dict[str, dict[str, float]]
    check: dict[str, Any]
    timeline: dict[str, Any] = field(default_factory=dict)

    @property
    def disturbed(self) -> bool:
        return disturbed(self.cpu["burst"]) or disturbed(self.cpu["drain"])


def per_second(per_100ms: list[int]) -> dict[str, Any]:
    """Answers in each full second of the burst (from its first request): min, median, max."""
    seconds = [sum(per_100ms[at : at + 10]) for at in range(0, len(per_100ms) - 9, 10)]
    if not seconds:
        return {"full_seconds": 0}
    ordered = sorted(seconds)
    return {
        "full_seconds": len(seconds),
        "min": ordered[0],
        "median": round(median(ordered), 1),
        "max": ordered[-1],
        "first_5": seconds[:5],
    }


def _cores(before: dict[int, float], after: dict[int, float], wall: float) -> float:
    used = sum(max(cpu - before.get(pid, 0.0), 0.0) for pid, cpu in after.items())
    return round(used / wall, 3) if wall > 0 else float("nan")


def _mb(value: float) -> float:
    return round(value / MB, 1)


class BurstBench:
    def __init__(self, opts: Options, redis_url: str, children: Children, work: Path) -> None:
        self.opts = opts
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url)
        self.children = children
        self.work = work

    def measure(self) -> Burst:
        for attempt in range(1, self.opts.retries + 2):
            wait_for_quiet(self.redis, self.opts.quiet_wait)
            with fresh_database(postgres_url()) as database_url:
                burst = self._measure_once(attempt, database_url)
            if burst.disturbed and attempt <= self.opts.retries:
                print(
                    f"    disturbed (burst {burst.cpu['burst']}, drain {burst.cpu['drain']}); "
                    "measuring again",
                    flush=True,
                )
                continue
            return burst
        raise AssertionError("unreachable")

    def _measure_once(self, attempt: int, database_url: str) -> Burst:  # noqa: PLR0915
        opts = self.opts
        shop = seed_shop(database_url)
        meter = Meter(self.redis, Postgres(conninfo(database_url), database_name(database_url)))
        self.redis.flushdb()
        env = service_env(
            shop,
            self.redis_url,
            log_level=opts.log_level,
            processes=opts.processes,
            threads=opts.threads,
        )
        # its own port: a second `traaaction worker` on this machine must not collide with it
        env["WORKER_METRICS_PORT"] = str(free_port())
        port = free_port()
        serve_log, worker_log = self.work / f"serve-{attempt}.log", self.work / "worker.log"
        serve = self.children.start(
            pinned(
                opts.server_cpu, traaaction("serve", "--host", "127.0.0.1", "--port", str(port))
            ),
            # the ingress as bench/ingress.py runs it (LOG_LEVEL=WARNING)
            env={**env, "LOG_LEVEL": "WARNING"},
            log=serve_log,
        )
        worker = self.children.start(
            pinned(opts.worker_cpu, traaaction("worker")), env=env, log=worker_log
        )
        requests = self.work / f"burst-{attempt}.req"
        sampler: Sampler | None = None
        try:
            wait_ready(f"http://127.0.0.1:{port}/readyz", serve, serve_log)
            boot = wait_for_workers(self.redis, opts.processes, worker, worker_log)
            print(f"    writing {opts.events:,} signed deliveries ...", flush=True)
            sent = write_deliveries(requests, shop, count=opts.events, host=f"127.0.0.1:{port}")
            redis_before = int(self.redis.info("memory")["used_memory"])
            sampler = Sampler(self.redis_url, serve.pid, worker.pid, opts.sample_interval)
            sampler.start()
            before = meter.snapshot()
            roles_before = (process_cpu(serve.pid), tree_cpu(worker.pid))
            at_end: dict[str, Any] = {}

            def burst_over() -> None:
                # as soon as wrk saw its last answer: what was left for the drain
                at_end["unacked"] = pending_messages(self.redis)
                at_end["ready"] = int(self.redis.llen(QUEUE))
                at_end["snapshot"] = meter.snapshot()
                at_end["roles"] = (process_cpu(serve.pid), tree_cpu(worker.pid))

            print(f"    burst: wrk, {opts.connections} connections ...", flush=True)
            load = run_wrk(
                self.children, self.work, requests, port=port, opts=opts, on_done=burst_over
            )
            if not load.answered_ids:
                raise BenchError(f"the ingress accepted none of the burst:\n{tail(serve_log)}")
            accepted = set(load.answered_ids)
            missing = [s for s in sent if s.event_id not in accepted]
            resent = resend(port, shop, requests, missing, opts) if missing else []
            accepted |= {r.event_id for r in resent if r.answered_at}
            last_200 = max([load.last_ok, *(r.answered_at for r in resent if r.answered_at)])
            if resent:  # the drain starts after the resends
                at_end["unacked"] = pending_messages(self.redis)
                at_end["ready"] = int(self.redis.llen(QUEUE))
            cpus = unpin_tree(worker.pid) if opts.unpin_drain else None
            print(
                f"    {load.raw['ok']:,} answered 200 in {load.seconds:.2f} s "
                f"({load.rps:,.0f} req/s); draining {at_end['unacked']:,} messages ...",
                flush=True,
            )
            deadline = time.monotonic() + opts.drain_timeout
            while pending_messages(self.redis):
                if worker.poll() is not None:
                    raise BenchError(f"the worker exited:\n{tail(worker_log)}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{pending_messages(self.redis)} messages left after "
                        f"{opts.drain_timeout:g} s of drain:\n{tail(worker_log)}"
                    )
                time.sleep(0.01)
            drained = time.time()
            after = meter.snapshot()
            roles_after = (process_cpu(serve.pid), tree_cpu(worker.pid))
            time.sleep(2 * opts.sample_interval)
            sampler.stop()
            if sampler.error is not None:
                raise BenchError(f"the sampler failed: {sampler.error!r}")
            pids = worker_pids(worker.pid)
            web_hwm = status_kb(serve.pid, "VmHWM")
            worker_peaks = peak_rss_by_process(pids)
        finally:
            if sampler is not None and sampler.is_alive():
                sampler.stop()
            self.children.stop(worker)
            self.children.stop(serve)
            requests.unlink(missing_ok=True)
        mid = at_end["snapshot"]
        roles_mid = at_end["roles"]
        burst_wall, drain_wall = mid.at - before.at, after.at - mid.at
        cpu = {
            "burst": {
                **Meter.report(before, mid),
                "ingress_cores": round((roles_mid[0] - roles_before[0]) / burst_wall, 3),
                "wrk_cores": round(load.cpu_seconds / burst_wall, 3),
                "workers_cores": _cores(roles_before[1], roles_mid[1], burst_wall),
            },
            "drain": {
                **Meter.report(mid, after),
                "ingress_cores": round((roles_after[0] - roles_mid[0]) / drain_wall, 3),
                "workers_cores": _cores(roles_mid[1], roles_after[1], drain_wall),
            },
        }
        check = check_burst(self.redis, shop, sent, accepted, dict(load.raw["statuses"]))
        with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
            row = conn.execute("SELECT pg_database_size(current_database())").fetchone()
            database_bytes = int(row[0]) if row else 0
        raw = load.raw
        drain_seconds = drained - last_200
        during = int(raw["ok"]) - int(at_end["unacked"])
        result = {
            "events": opts.events,
            "ingress": {
                "answered_200": int(raw["ok"]),
                "seconds": round(load.seconds, 3),
                "rps": round(load.rps, 1),
                "latency_ms": {
                    k: round(int(raw["latency_us"][k]) / 1000, 2)
                    for k in ("p50", "p90", "p99", "p999", "max")
                },
                "non_2xx": int(raw["non2xx"]),
                "socket_errors": {k: int(v) for k, v in raw["errors"].items() if k != "status"},
                "codes": raw["codes"],
                "statuses": raw["statuses"],
                "requests_sent": int(raw["sent"]),
                "stalled": load.stalled,
                "resent": len(resent),
                "resends": [asdict(r) for r in resent[:50]],
                "lost": len(missing) - sum(1 for r in resent if r.answered_at),
                "mean_body_bytes": round(sum(s.body_len for s in sent) / len(sent), 1),
                "per_second": per_second(raw.get("answers_per_100ms", [])),
            },
            "workers": {
                "processes": opts.processes,
                "threads": opts.threads,
                "boot_seconds": round(boot, 2),
                "done_during_burst": during,
                "rate_during_burst": round(during / load.seconds, 1) if load.seconds else None,
                "left_at_last_200": int(at_end["unacked"]),
                "drain_seconds": round(drain_seconds, 3),
                "drain_rate": round(int(at_end["unacked"]) / drain_seconds, 1)
                if drain_seconds > 0
                else None,
                "drain_cpus": cpus,
                "first_request_to_drained_seconds": round(drained - load.first, 3),
                "end_to_end_rate": round(len(accepted) / (drained - load.first), 1),
            },
            "queue": {
                "peak_ready": sampler.peak("ready"),
                "peak_unacknowledged": sampler.peak("unacked"),
                "ready_at_last_200": int(at_end["ready"]),
                "samples": len(sampler.samples),
                "sample_interval_ms": opts.sample_interval * 1000,
            },
            "memory": {
                "ingress_peak_rss_mb": round(web_hwm / 1024, 1) if web_hwm else None,
                "workers_peak_rss_mb": _mb(sampler.peak("workers_rss")),
                "workers_processes": worker_peaks,
                "workers_sum_of_process_peaks_mb": round(
                    sum(p["peak_rss_mb"] for p in worker_peaks), 1
                ),
                "redis_used_memory_mb": {
                    "before": _mb(redis_before),
                    "peak": _mb(sampler.peak("redis_bytes")),
                    "added": _mb(sampler.peak("redis_bytes") - redis_before),
                },
                "postgres_database_mb": _mb(database_bytes),
            },
        }
        timeline = {
            "ingress_answers_per_100ms": raw.get("answers_per_100ms", []),
            "samples": [
                {
                    "t": round(s.at - load.first, 2),
                    "ready": s.ready,
                    "unacked": s.unacked,
                    "redis_mb": _mb(s.redis_bytes),
                    "web_rss_mb": _mb(s.web_rss),
                    "workers_rss_mb": _mb(s.workers_rss),
                }
                for s in sampler.samples
            ],
        }
        return Burst(attempt, result, cpu, check, timeline)


# --------------------------------------------------------------------------------------------
# the baselines, through the ingress and commissions benchmarks' own code


def ingress_round(
    opts: Options, redis_url: str, children: Children, work: Path
) -> list[harness.Measurement]:
    """One round of bench/ingress.py's targets (--ingress-targets), as it measures them."""
    with fresh_database(postgres_url()) as database_url:
        master = generate_master_key()
        endpoint_id, secret = harness.make_endpoint(database_url, SecretBox([master]))
        world = harness.World(
            database_url, redis_url, format_master_key(master), endpoint_id, secret
        )
        bench = harness.Bench(
            harness.Options(
                duration=opts.baseline_duration,
                warmup=opts.baseline_warmup,
                rounds=1,
                connections=opts.connections,
                server_cpu=opts.server_cpu,
                client_cpu=opts.client_cpu,
                targets=opts.ingress_targets,
                retries=opts.retries,
                quiet_wait=opts.quiet_wait,
                timeout=opts.timeout,
            ),
            world,
            children,
            work,
        )
        out = []
        for target in opts.ingress_targets:
            print(f"  ingress benchmark: {target} ...", flush=True)
            m = bench.measure(target, 1)
            print(
                f"    {m.rps:,.0f} req/s, p99 {m.p99_ms:.2f} ms, non-2xx {m.non2xx}"
                + (f", check {'ok' if m.check.get('ok') else m.check}" if m.check else "")
                + (" (disturbed)" if m.disturbed else ""),
                flush=True,
            )
            out.append(m)
        return out


def commissions_round(
    opts: Options, redis_url: str, children: Children, work: Path
) -> list[throughput.Measurement]:
    """One round of bench/throughput.py: the floor and the real actors, as it measures them."""
    bench = throughput.Bench(
        throughput.Options(
            messages=opts.baseline_messages,
            rounds=1,
            processes=opts.processes,
            threads=opts.threads,
            log_level=opts.log_level,
            retries=opts.retries,
            quiet_wait=opts.quiet_wait,
            timeout=opts.drain_timeout,
            min_ratio=throughput.MIN_RATIO,
        ),
        redis_url,
        postgres_url(),
        children,
        work,
    )
    out = []
    for target in ("floor", "real"):
        print(f"  commissions benchmark: {target} ...", flush=True)
        m = bench.measure(target, 1)
        print(
            f"    {m.rate:,.0f} msg/s ({m.messages:,} in {m.seconds:.2f} s), "
            f"check {'ok' if m.check['ok'] else m.check}" + (" (disturbed)" if m.disturbed else ""),
            flush=True,
        )
        out.append(m)
    return out


# --------------------------------------------------------------------------------------------
# summary


def _per_core(rps: float, cores: float) -> float | None:
    return round(rps / cores, 1) if cores > 0 else None


def summarize(burst: Burst, ingress: list[Any], commissions: list[Any]) -> dict[str, Any]:
    r = burst.result
    baselines: dict[str, Any] = {}
    for m in ingress:
        baselines[m.target] = {
            "rps": round(m.rps, 1),
            "p50_ms": round(m.p50_ms, 3),
            "p99_ms": round(m.p99_ms, 3),
            "non2xx": m.non2xx,
            "peak_rss_mb": m.peak_rss_mb,
            "disturbed": m.disturbed,
        }
    for m in commissions:
        baselines[m.target] = {
            "msg_per_s": round(m.rate, 1),
            "messages": m.messages,
            "check_ok": bool(m.check["ok"]),
            "disturbed": m.disturbed,
        }
    ratios: dict[str, float] = {}
    rps = r["ingress"]["rps"]
    for name in ("ingress", "hmac-only", "naive"):
        if name in baselines:
            label = "ingress benchmark" if name == "ingress" else f"{name} baseline"
            ratios[f"burst ingress req/s / {label}"] = round(rps / baselines[name]["rps"], 3)
    # the ingress' req/s per core it used: the burst's ingress shares its CPU with PostgreSQL
    # and Redis, the benchmark's has it alone
    efficiency = {"burst": _per_core(rps, burst.cpu["burst"]["ingress_cores"])}
    for m in ingress:
        efficiency[m.target] = _per_core(m.rps, m.cpu["server_cores"])
    drain = r["workers"]["drain_rate"]
    for name, label in (("real", "real workers"), ("floor", "floor")):
        if name in baselines and drain is not None:
            ratios[f"burst drain msg/s / {label}"] = round(drain / baselines[name]["msg_per_s"], 3)
    targets = {
        "every event sent answered 200 (none lost)": r["ingress"]["lost"] == 0
        and burst.check["lost"] == 0,
        "exactly once: one SALE commission, applied event and processed log row per event, "
        "nothing dead-lettered or left queued": bool(burst.check["ok"]),
    }
    if commissions:
        targets["commissions benchmark checks (floor, real)"] = all(
            m.check["ok"] for m in commissions
        )
    if any(m.target == "ingress" for m in ingress):
        targets["ingress benchmark: every accepted event queued exactly once"] = all(
            m.check.get("ok") for m in ingress if m.target == "ingress"
        )
    return {
        "burst": {**r, "cpu": burst.cpu, "disturbed": burst.disturbed, "attempt": burst.attempt},
        "check": burst.check,
        "baselines": baselines,
        "ratios": ratios,
        "ingress_rps_per_core": efficiency,
        "targets": targets,
        "all_targets_met": all(targets.values()),
    }


def _placement(opts: Options) -> str:
    if opts.server_cpu is None:
        return "nothing pinned"
    drain = "every CPU" if opts.unpin_drain else f"CPU {opts.worker_cpu}"
    return (
        f"ingress on CPU {opts.server_cpu}, wrk on CPU {opts.client_cpu}, workers on CPU "
        f"{opts.worker_cpu} during the burst and on {drain} for the drain; PostgreSQL and "
        "Redis not pinned"
    )


def per_second_line(ps: dict[str, Any]) -> str:
    if not ps.get("full_seconds"):
        return "               (shorter than a second)"
    first = ", ".join(f"{n:,}" for n in ps["first_5"])
    return (
        f"               answers per full second: min {ps['min']:,}, median {ps['median']:,.0f}, "
        f"max {ps['max']:,}; the first ones {first}"
    )


def render(summary: dict[str, Any], opts: Options) -> str:
    b = summary["burst"]
    ing, wk, q, mem = b["ingress"], b["workers"], b["queue"], b["memory"]
    lat = ing["latency_ms"]
    cpu_b, cpu_d = b["cpu"]["burst"], b["cpu"]["drain"]
    check = summary["check"]
    redis_mem = mem["redis_used_memory_mb"]
    lines = [
        "",
        f"Burst of {b['events']:,} distinct signed checkout events, {opts.connections} "
        f"connections, {wk['processes']} worker processes x {wk['threads']} threads",
        f"({_placement(opts)}):",
        "",
        f"  ingress      {ing['rps']:>9,.0f} req/s   {ing['answered_200']:,} answered 200 in "
        f"{ing['seconds']:.2f} s; p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, "
        f"p99.9 {lat['p999']:.1f} ms, max {lat['max']:.1f} ms",
        per_second_line(ing["per_second"]),
        f"               non-2xx {ing['non_2xx']}, socket errors "
        f"{sum(ing['socket_errors'].values())}, resent {ing['resent']}, lost {ing['lost']}",
        f"  workers      {wk['rate_during_burst'] or 0:>9,.0f} msg/s   during the burst "
        f"({wk['done_during_burst']:,} done)",
        f"               {wk['drain_rate'] or 0:>9,.0f} msg/s   drain: {wk['left_at_last_200']:,} "
        f"messages in {wk['drain_seconds']:.2f} s after the last 200",
        f"               {wk['end_to_end_rate']:>9,.0f} ev/s    first request -> last commission "
        f"{wk['first_request_to_drained_seconds']:.2f} s",
        f"  queue        peak {q['peak_ready']:,} ready (LLEN), {q['peak_unacknowledged']:,} "
        f"unacknowledged (sampled every {q['sample_interval_ms']:g} ms)",
        f"  memory       ingress peak RSS {mem['ingress_peak_rss_mb']} MB; `traaaction worker` "
        f"and its {len(mem['workers_processes']) - 1} processes {mem['workers_peak_rss_mb']} MB "
        "(peak of the sampled sum of RSS)",
        "               peak RSS per process: "
        + ", ".join(f"{p['role']} {p['peak_rss_mb']}" for p in mem["workers_processes"])
        + " MB",
        f"               Redis used_memory {redis_mem['before']} -> {redis_mem['peak']} MB peak; "
        f"PostgreSQL database {mem['postgres_database_mb']} MB",
        f"  cpu (cores)  burst: ingress {cpu_b['ingress_cores']}, wrk {cpu_b['wrk_cores']}, "
        f"workers {cpu_b['workers_cores']}, postgres {cpu_b['postgres_cores']}, redis "
        f"{cpu_b['redis_cores']}, foreign {cpu_b['foreign_cores']}",
        f"               drain: workers {cpu_d['workers_cores']}, postgres "
        f"{cpu_d['postgres_cores']}, redis {cpu_d['redis_cores']}, foreign "
        f"{cpu_d['foreign_cores']}" + ("  (DISTURBED)" if b["disturbed"] else ""),
        "  ledger       "
        + ("ok" if check["ok"] else "FAILED")
        + f" - {check['sent']:,} sent, {check['accepted']:,} accepted, "
        f"{check['commissions']:,} commissions {check['commission_kinds']} "
        f"({check['missing']} missing, {check['more_than_one']} duplicated), "
        f"{check['processed_log_rows']:,} processed log rows, {check['applied_events']:,} "
        f"applied events, dead letters {check['dead_letters_queue']}/"
        f"{check['dead_letters_stream']}/{check['dead_letters_table']}",
    ]
    if summary["baselines"]:
        lines += ["", "Baselines measured in this run:"]
        for name, base in summary["baselines"].items():
            flag = "  (disturbed)" if base["disturbed"] else ""
            if "rps" in base:
                lines.append(
                    f"  {name:<12} {base['rps']:>9,.0f} req/s   p99 {base['p99_ms']:.1f} ms, "
                    f"non-2xx {base['non2xx']}, peak RSS {base['peak_rss_mb']} MB{flag}"
                )
            else:
                lines.append(
                    f"  {name:<12} {base['msg_per_s']:>9,.0f} msg/s   "
                    f"{base['messages']:,} queued messages{flag}"
                )
        lines += [""]
        for name, ratio in summary["ratios"].items():
            lines.append(f"  {name:<44} {ratio:.2f}")
        per_core = ", ".join(
            f"{name} {value:,.0f}"
            for name, value in summary["ingress_rps_per_core"].items()
            if value is not None
        )
        lines.append(f"  req/s per core the server used: {per_core}")
    lines.append("")
    for name, met in summary["targets"].items():
        lines.append(f"  [{'x' if met else ' '}] {name}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# main


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
    parser.add_argument("--processes", type=int, default=2, help="WORKER_PROCESSES")
    parser.add_argument("--threads", type=int, default=8, help="WORKER_THREADS")
    parser.add_argument("--server-cpu", type=int, default=0, help="the ingress' CPU")
    parser.add_argument("--client-cpu", type=int, default=1, help="wrk's CPU")
    parser.add_argument("--worker-cpu", type=int, default=1, help="the workers' CPU (burst)")
    parser.add_argument(
        "--keep-worker-pin",
        action="store_true",
        help="keep the workers on --worker-cpu for the drain too (default: every CPU)",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the workers")
    parser.add_argument("--sample-interval", type=float, default=0.1, help="seconds")
    parser.add_argument(
        "--resends", type=int, default=5, help="times an event not answered 200 is sent again"
    )
    parser.add_argument("--retries", type=int, default=2, help="measure a disturbed run again")
    parser.add_argument("--quiet-wait", type=float, default=180.0, help="seconds, at most")
    parser.add_argument("--burst-timeout", type=float, default=900.0, help="seconds, at most")
    parser.add_argument("--drain-timeout", type=float, default=1800.0, help="seconds, at most")
    parser.add_argument(
        "--no-baselines", action="store_true", help="skip the ingress and commissions rounds"
    )
    parser.add_argument(
        "--ingress-targets",
        default="hmac-only,ingress",
        help=f"bench/ingress.py targets for the baseline round, of {', '.join(INGRESS_TARGETS)}",
    )
    parser.add_argument("--baseline-duration", type=float, default=10.0, help="seconds")
    parser.add_argument("--baseline-warmup", type=float, default=3.0, help="seconds")
    parser.add_argument("--baseline-messages", type=int, default=10_000, help="queued messages")
    parser.add_argument(
        "--flush-redis",
        action="store_true",
        help="allow flushing a REDIS_URL database that holds keys of something else",
    )
    args = parser.parse_args(argv)
    targets = tuple(t.strip() for t in args.ingress_targets.split(",") if t.strip())
    if unknown := [t for t in targets if t not in INGRESS_TARGETS]:
        parser.error(f"unknown ingress target(s): {', '.join(unknown)}")
    if args.events < 1:
        parser.error("--events must be at least 1")
    pin = not args.no_pin
    return (
        Options(
            events=args.events,
            connections=args.connections,
            timeout=args.timeout,
            processes=args.processes,
            threads=args.threads,
            server_cpu=args.server_cpu if pin else None,
            client_cpu=args.client_cpu if pin else None,
            worker_cpu=args.worker_cpu if pin else None,
            unpin_drain=pin and not args.keep_worker_pin,
            log_level=args.log_level,
            sample_interval=args.sample_interval,
            resends=args.resends,
            retries=args.retries,
            quiet_wait=args.quiet_wait,
            burst_timeout=args.burst_timeout,
            drain_timeout=args.drain_timeout,
            baselines=not args.no_baselines,
            ingress_targets=targets,
            baseline_duration=args.baseline_duration,
            baseline_warmup=args.baseline_warmup,
            baseline_messages=args.baseline_messages,
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
    bursts: list[Burst] = []
    ingress: list[harness.Measurement] = []
    commissions: list[throughput.Measurement] = []

    def measure_all() -> int:
        with bench_session(DEFAULT_REDIS_URL, flush_redis=args.flush_redis) as (stack, run):
            protect_cleanup(stack)
            print(
                f"bench: burst of {opts.events:,} events"
                + (", with an ingress and a commissions round" if opts.baselines else "")
                + f"; Redis {run.redis_url}; {_placement(opts)}",
                flush=True,
            )
            if opts.baselines and opts.ingress_targets:
                ingress.extend(ingress_round(opts, run.redis_url, run.children, run.work))
            print("  burst ...", flush=True)
            bursts.append(BurstBench(opts, run.redis_url, run.children, run.work).measure())
            if opts.baselines:
                commissions.extend(commissions_round(opts, run.redis_url, run.children, run.work))
        return 0

    if (failed := run_guarded(measure_all)) != 0:
        return failed
    [burst] = bursts
    summary = summarize(burst, ingress, commissions)
    report = {
        "started_at": started.isoformat(),
        "options": asdict(opts),
        "environment": {
            **environment(("dramatiq", "sqlalchemy", "psycopg", "redis", "uvicorn")),
            "wrk": harness._wrk_version(),
        },
        **summary,
        "baseline_measurements": {
            "ingress": [m.row() for m in ingress],
            "commissions": [m.row() for m in commissions],
        },
        "timeline": burst.timeline,
    }
    print(render(summary, opts))
    publish(
        "burst",
        started,
        report,
        hide={"baseline_measurements", "timeline", "options", "environment"},
    )
    return 0 if summary["all_targets_met"] else 1


if __name__ == "__main__":
    with suppress(BrokenPipeError):
        sys.exit(main())
