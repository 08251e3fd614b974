"""What the benchmarks share: child processes, the bench's databases, CPU accounting, reports.

bench/harness.py (ingress), bench/latency.py and bench/throughput.py all run on a machine that
may be shared: every process they start goes through `Children` (stopped on any exit, Ctrl-C
included), every database they create through `fresh_database` (dropped on exit), and every
measurement is bracketed by CPU snapshots so that one disturbed by another process is noticed
(`wait_for_quiet` before, `Meter` during).
"""

from __future__ import annotations

import json
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any

import psutil
import psycopg
import redis
from sqlalchemy.engine import make_url

from workers.contract import NAMESPACE

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

#: CPU (cores) used by anything but the bench's own processes above which a run is disturbed
MAX_FOREIGN_CPU = 0.10
MAX_STEAL_CPU = 0.05


class BenchError(Exception):
    """Raised when the bench cannot run (missing tool, server did not start, ...)."""


# --------------------------------------------------------------------------------------------
# processes


class Children:
    """Every process the bench started, so that all of them stop on any exit (Ctrl-C too)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: Sequence[str], *, env: dict[str, str], log: Path
    ) -> subprocess.Popen[bytes]:
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own argv
                list(argv),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C reaches the bench only, which then stops them in order.
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], *, timeout: float = 30.0) -> None:
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # A process that forked workers (dramatiq) may leave them behind if it was killed.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, timeout=10.0)


def raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM both unwind through the bench's clean-up (also when it was started in
    the background by a shell, which would otherwise leave SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, raise_keyboard_interrupt)


def pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    return ["taskset", "-c", str(cpu), *argv] if cpu is not None else list(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited ({proc.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not answer {url} within {timeout:.0f} s:\n{tail(log)}")


def work_dir() -> Path:
    """A private temporary directory, in memory when /dev/shm exists; the caller removes it."""
    return Path(
        tempfile.mkdtemp(
            prefix="traaaction-bench-",
            dir="/dev/shm" if Path("/dev/shm").is_dir() else None,  # noqa: S108 - mkdtemp: 0700
        )
    )


def status_kb(pid: int, field_name: str) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


# --------------------------------------------------------------------------------------------
# CPU accounting (to notice a disturbed measurement)

_HZ = os.sysconf("SC_CLK_TCK")


def cpu_times() -> tuple[float, float, float]:
    """Machine-wide seconds: busy in processes (user, nice, system), in interrupts, stolen."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()[1:]
    # user nice system idle iowait irq softirq steal ...
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
    return (user + nice + system) / _HZ, (irq + softirq) / _HZ, steal / _HZ


def process_cpu(pid: int) -> float:
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


def _delta(before: dict[int, float], after: dict[int, float]) -> float:
    # A process that appeared in between: all of its time is within the window.
    return sum(max(cpu - before.get(pid, 0.0), 0.0) for pid, cpu in after.items())


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
        mine = _delta(before.mine, after.mine)
        redis_used = after.redis - before.redis
        postgres = _delta(before.postgres, after.postgres)
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


# --------------------------------------------------------------------------------------------
# databases


def sqlalchemy_url(url: str) -> str:
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def conninfo(url: str) -> str:
    """A libpq URL (what psycopg.connect takes) for a SQLAlchemy or libpq URL."""
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def text_of(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def postgres_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the server of `server_url`, dropped on exit (whatever happens)."""
    name = f"traaaction_bench_{secrets.token_hex(6)}"
    base = sqlalchemy_url(server_url)
    with psycopg.connect(conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name


def claim_redis(client: redis.Redis, *, given: bool, force: bool) -> None:
    """Flush the bench's Redis database, refusing one that holds keys of something else."""
    if given and not force:
        foreign = [
            key
            for key in client.scan_iter(count=1000)
            if not key.startswith((f"{NAMESPACE}:".encode(), b"bench:"))
        ]
        if foreign:
            raise BenchError(
                "REDIS_URL's database holds keys that are not the service's or the bench's "
                f"(e.g. {foreign[0]!r}); the bench flushes it: pass --flush-redis to allow that"
            )
    client.flushdb()


# --------------------------------------------------------------------------------------------
# statistics and reports


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile of already sorted values (p99 of 100 values: the 99th)."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil
    return sorted_values[min(int(rank), len(sorted_values)) - 1]


def environment(packages: Sequence[str]) -> dict[str, Any]:
    from importlib.metadata import version

    def run(*argv: str) -> str:
        try:
            out = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
        except OSError:
            return ""
        return out.stdout.strip()

    model = ""
    with suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    commit = run("git", "rev-parse", "--short", "HEAD")
    dirty = bool(run("git", "diff", "--stat", "HEAD", "--"))
    return {
        "cpu": model,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "packages": {name: version(name) for name in packages},
        "git": f"{commit}{'+dirty' if dirty else ''}",
    }


def write_report(kind: str, started: datetime, report: dict[str, Any]) -> Path:
    """Write the full report to bench/results/<kind>-<UTC time>.json and return its path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{kind}-{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    return out


def has_tool(name: str) -> bool:
    return shutil.which(name) is not None


def missing_tool(*names: str) -> str | None:
    """A one-line message naming the first of `names` that is not installed, or None."""
    for name in names:
        if not has_tool(name):
            return f"bench: `{name}` is not installed (Debian: apt-get install {name})"
    return None


@dataclass
class Session:
    """What every benchmark run holds: its Redis, its child processes, its scratch directory."""

    redis_url: str
    children: Children
    work: Path


@contextmanager
def bench_session(
    default_redis_url: str, *, flush_redis: bool
) -> Iterator[tuple[ExitStack, Session]]:
    """Claim Redis (REDIS_URL or the default) and a scratch directory; on exit, stop every
    child, flush Redis and remove the directory. Callers add their own clean-ups to the stack,
    then call `protect_cleanup(stack)` last."""
    given = os.environ.get("REDIS_URL") or None
    redis_url = given or default_redis_url
    children = Children()
    with ExitStack() as stack:
        work = work_dir()
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        stack.callback(children.stop_all)
        control = redis.Redis.from_url(redis_url)
        stack.callback(control.close)
        claim_redis(control, given=given is not None, force=flush_redis)
        stack.callback(control.flushdb)
        yield stack, Session(redis_url, children, work)


def protect_cleanup(stack: ExitStack) -> None:
    """Cleaning up (the stack, in reverse) must not be cut short by a second Ctrl-C."""
    stack.callback(signal.signal, signal.SIGINT, signal.SIG_IGN)


def run_guarded(run: Callable[[], int]) -> int:
    """Run a benchmark's main body: Ctrl-C is 130, a BenchError 1, with one line each."""
    try:
        return run()
    except KeyboardInterrupt:
        print("\nbench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1


def publish(kind: str, started: datetime, report: dict[str, Any], *, hide: set[str]) -> None:
    """Write the report to bench/results/ and print it, less the bulky keys in `hide`."""
    out = write_report(kind, started, report)
    shown = {k: v for k, v in report.items() if k not in hide}
    print("\n" + json.dumps(shown, indent=2, default=str))
    print(f"\nwritten to {out.relative_to(REPO)}")
