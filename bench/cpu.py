"""CPU accounting, to notice a measurement disturbed by something else on a shared machine.

Before a measurement the harness waits until other processes are idle (`wait_for_quiet`).
During it, a meter takes machine-wide CPU time (/proc/stat) and subtracts what the bench's own
processes used: whatever is left was spent by someone else (`foreign_cores`), and a
measurement with too much of it, or too much time stolen by the hypervisor, is `disturbed` and
measured again. Two meters: `Meter` (the bench's whole process tree, Redis and its database's
share of PostgreSQL) and `ServerMeter` (one server and the load generator: the ingress
benchmark, which runs nothing else).
"""

from __future__ import annotations

import os
import resource
import time
from contextlib import suppress
from dataclasses import dataclass

import psutil
import psycopg
import redis

#: CPU (cores) used by anything but the bench's own processes above which a run is disturbed
MAX_FOREIGN_CPU = 0.10
MAX_STEAL_CPU = 0.05

_HZ = os.sysconf("SC_CLK_TCK")


def cpu_times() -> tuple[float, float, float]:
    """Machine-wide seconds: busy in processes (user, nice, system), in interrupts, stolen."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    # user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system) / _HZ, (irq + softirq) / _HZ, steal / _HZ


def process_cpu(pid: int) -> float:
    """CPU seconds of one process (all its threads), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _HZ


def redis_cpu(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def tree_cpu(root: int) -> dict[int, float]:
    """CPU seconds of a process and all its live descendants, by pid."""
    try:
        top = psutil.Process(root)
        procs = [top, *top.children(recursive=True)]
    except psutil.NoSuchProcess:
        return {}
    out: dict[int, float] = {}
    for proc in procs:
        with suppress(psutil.Error):
            times = proc.cpu_times()
            out[proc.pid] = times.user + times.system
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds used in between by the processes of `after`, by pid."""
    # A process that appeared in between: all of its time is within the window.
    return sum(max(cpu - before.get(pid, 0.0), 0.0) for pid, cpu in after.items())


class Postgres:
    """The PostgreSQL server's processes, and which of them work for the bench's database.

    Client backends of other databases are someone else's; every other process of the server
    (our backends, WAL writer, checkpointer, ...) counts as the bench's while it measures.
    """

    def __init__(self, conninfo: str, database: str) -> None:
        self._conninfo = conninfo
        self._database = database
        with psycopg.connect(conninfo, autocommit=True) as conn:
            row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        self._postmaster: int | None = None
        with suppress(psutil.Error):
            parent = psutil.Process(int(row[0])).ppid()
            # Only a server on this machine: a remote one's backend pid means nothing here.
            if psutil.Process(parent).name() in {"postgres", "postmaster"}:
                self._postmaster = parent

    def cpu(self) -> dict[int, float]:
        """CPU seconds of the server's processes that are not other databases' backends."""
        if self._postmaster is None:
            return {}
        with psycopg.connect(self._conninfo, autocommit=True) as conn:
            foreign = {
                int(pid)
                for (pid,) in conn.execute(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname IS NOT NULL AND datname <> %s AND pid <> pg_backend_pid()",
                    (self._database,),
                )
            }
        return {pid: cpu for pid, cpu in tree_cpu(self._postmaster).items() if pid not in foreign}


@dataclass(frozen=True, slots=True)
class CpuSnapshot:
    at: float
    busy: float
    irq: float
    steal: float
    mine: dict[int, float]  # the bench process and everything it started
    redis: float
    postgres: dict[int, float]


class Meter:
    """CPU use during a measurement, split into the bench's (its process tree, Redis, its
    database's share of PostgreSQL) and everything else (`foreign_cores`)."""

    def __init__(self, client: redis.Redis, postgres: Postgres | None) -> None:
        self._redis = client
        self._postgres = postgres

    def snapshot(self) -> CpuSnapshot:
        busy, irq, steal = cpu_times()
        return CpuSnapshot(
            at=time.monotonic(),
            busy=busy,
            irq=irq,
            steal=steal,
            mine=tree_cpu(os.getpid()),
            redis=redis_cpu(self._redis),
            postgres=self._postgres.cpu() if self._postgres is not None else {},
        )

    @staticmethod
    def report(before: CpuSnapshot, after: CpuSnapshot) -> dict[str, float]:
        wall = after.at - before.at
        mine = cpu_delta(before.mine, after.mine)
        redis_used = after.redis - before.redis
        postgres = cpu_delta(before.postgres, after.postgres)
        foreign = (after.busy - before.busy) - mine - redis_used - postgres
        return {
            "bench_processes_cores": round(mine / wall, 3),
            "postgres_cores": round(postgres / wall, 3),
            "redis_cores": round(redis_used / wall, 3),
            # Servers may be on another machine: then their time is not in `busy`.
            "foreign_cores": round(max(foreign, 0.0) / wall, 3),
            "irq_cores": round((after.irq - before.irq) / wall, 3),
            "steal_cores": round((after.steal - before.steal) / wall, 3),
        }


@dataclass(frozen=True, slots=True)
class ServerCpuSnapshot:
    at: float
    busy: float  # seconds in processes (user, nice, system), all CPUs
    irq: float  # seconds in interrupts (loopback traffic is mostly softirq)
    steal: float
    server: float
    redis: float
    children: float  # reaped children: wrk, once it has been waited for
    me: float


class ServerMeter:
    """CPU use while wrk loads one server: the server's, wrk's, Redis', the bench's own, and
    everything else (`foreign_cores`)."""

    def __init__(self, client: redis.Redis) -> None:
        self._redis = client

    def snapshot(self, server_pid: int) -> ServerCpuSnapshot:
        busy, irq, steal = cpu_times()
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        me = resource.getrusage(resource.RUSAGE_SELF)
        return ServerCpuSnapshot(
            at=time.monotonic(),
            busy=busy,
            irq=irq,
            steal=steal,
            server=process_cpu(server_pid),
            redis=redis_cpu(self._redis),
            children=children.ru_utime + children.ru_stime,
            me=me.ru_utime + me.ru_stime,
        )

    @staticmethod
    def report(before: ServerCpuSnapshot, after: ServerCpuSnapshot) -> dict[str, float]:
        wall = after.at - before.at
        server = after.server - before.server
        wrk = after.children - before.children  # the only child reaped in between: wrk
        redis_used = after.redis - before.redis
        me = after.me - before.me
        foreign = (after.busy - before.busy) - server - wrk - redis_used - me
        return {
            "server_cores": round(server / wall, 3),
            "wrk_cores": round(wrk / wall, 3),
            "redis_cores": round(redis_used / wall, 3),
            # Redis may be on another machine: then its time is not in `busy`; never below zero.
            "foreign_cores": round(max(foreign, 0.0) / wall, 3),
            "irq_cores": round((after.irq - before.irq) / wall, 3),
            "steal_cores": round((after.steal - before.steal) / wall, 3),
        }


def disturbed(cpu: dict[str, float]) -> bool:
    return cpu["foreign_cores"] > MAX_FOREIGN_CPU or cpu["steal_cores"] > MAX_STEAL_CPU


def wait_for_quiet(client: redis.Redis, max_wait: float) -> float:
    """Wait (up to `max_wait` seconds) until no other process keeps the CPUs busy.

    Returns the cores other processes used in the last second looked at.
    """
    deadline = time.monotonic() + max_wait
    waited = False
    while True:
        busy, _irq, _steal = cpu_times()
        redis_used = redis_cpu(client)
        me = resource.getrusage(resource.RUSAGE_SELF)
        started, mine = time.monotonic(), me.ru_utime + me.ru_stime
        time.sleep(1.0)
        me = resource.getrusage(resource.RUSAGE_SELF)
        others = (
            (cpu_times()[0] - busy)
            - (redis_cpu(client) - redis_used)
            - (me.ru_utime + me.ru_stime - mine)
        ) / (time.monotonic() - started)
        if others <= MAX_FOREIGN_CPU or time.monotonic() > deadline:
            if waited:
                print(f"    (other processes now use {max(others, 0.0):.2f} cores)", flush=True)
            return max(others, 0.0)
        if not waited:
            print(f"    waiting: other processes use {others:.2f} cores", flush=True)
            waited = True
        time.sleep(4.0)
