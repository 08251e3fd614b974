"""What the burst watches: queue depth, memory and CPU while it runs, the ledger afterwards.

bench/burst.py starts a `Sampler` before the burst and stops it after the drain; it reads the
worker processes' peaks (`peak_rss_by_process`), lets them on every CPU for the drain
(`unpin_tree`), reads CPU counters at the start, at the last answer and at the end of the
drain (`split_cpu`), and finally checks everything sent against the ledger (`check_burst`).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import psutil
import psycopg
import redis

from bench.burst_load import Sent
from bench.cpu import CpuSnapshot, Meter, cpu_delta
from bench.databases import conninfo
from bench.processes import status_kb
from bench.stack import (
    QUEUE,
    SEEN_PATTERN,
    Shop,
    check_ledger,
    dead_letters,
    pending_messages,
)
from workers.contract import DEAD_LETTER_STREAM


@dataclass(frozen=True, slots=True)
class Sample:
    at: float  # wall clock
    ready: int  # LLEN of the queue: listed, not yet fetched by a worker
    unacked: int  # messages not acknowledged: listed, prefetched or running, or delayed
    redis_bytes: int  # used_memory (the whole Redis server)
    web_rss: int  # bytes
    workers_rss: int  # bytes, sum over `traaaction worker` and its descendants


class Sampler(threading.Thread):
    """Every `interval` seconds, a `Sample` (a thread of the bench, with its own client)."""

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
    out: list[dict[str, Any]] = []
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


@dataclass(frozen=True, slots=True)
class CpuCounters:
    """CPU counters read at one instant: the meter's, the ingress', the workers' by pid."""

    snapshot: CpuSnapshot
    ingress: float
    workers: dict[int, float]


@dataclass
class LastAnswer:
    """Read as soon as wrk saw its last answer: what was left for the drain (read again after
    resends, if any) and the counters that split the burst's CPU from the drain's."""

    unacked: int = 0
    ready: int = 0
    counters: CpuCounters | None = None


def _cores(before: dict[int, float], after: dict[int, float], wall: float) -> float:
    return round(cpu_delta(before, after) / wall, 3) if wall > 0 else float("nan")


def split_cpu(
    before: CpuCounters, mid: CpuCounters, after: CpuCounters, wrk_seconds: float
) -> dict[str, dict[str, float]]:
    """The cores each part used during the burst (until its last answer) and the drain."""
    burst_wall = mid.snapshot.at - before.snapshot.at
    drain_wall = after.snapshot.at - mid.snapshot.at
    return {
        "burst": {
            **Meter.report(before.snapshot, mid.snapshot),
            "ingress_cores": round((mid.ingress - before.ingress) / burst_wall, 3),
            "wrk_cores": round(wrk_seconds / burst_wall, 3),
            "workers_cores": _cores(before.workers, mid.workers, burst_wall),
        },
        "drain": {
            **Meter.report(mid.snapshot, after.snapshot),
            "ingress_cores": round((after.ingress - mid.ingress) / drain_wall, 3),
            "workers_cores": _cores(mid.workers, after.workers, drain_wall),
        },
    }


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
    seen_keys = sum(1 for _ in client.scan_iter(match=SEEN_PATTERN, count=5000))
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
