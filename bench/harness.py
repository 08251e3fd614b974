"""The bench harness: what every benchmark in bench/ runs through (bench/README.md).

A benchmark module says what it measures and reports; the harness does the rest, the same
way for all of them:

- the command line: the options they share (`add_retry_options`, `add_pin_options`,
  `add_worker_options`, `add_round_options`), read into the benchmark's own options
  (`parse`, `options_from`);
- a session (`session`): the Redis database the run owns (claimed and flushed), a scratch
  directory, every child process, fresh PostgreSQL databases; all released on any exit,
  Ctrl-C and SIGTERM included, and that clean-up is not cut short by a second Ctrl-C;
- measuring: wait for a quiet machine, measure, measure again while disturbed
  (`measure_until_undisturbed`); rounds over targets in rotating order (`measure_rounds`);
- wrk, the load generator of the ingress and burst benchmarks (`wrk_command`,
  `read_wrk_result`; `WrkOverEvents`: files of signed deliveries, each sent once);
- the report (`run`): the table the benchmark renders, its JSON summary, the full report in
  bench/results/<name>-<UTC time>.json (bench/reports.py); exit 0 if its targets are met, 1
  if not or if it could not run, 2 if a tool is missing, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import redis

from bench.cpu import wait_for_quiet
from bench.databases import claim_redis, fresh_database, postgres_url
from bench.events import EventFile, write_events
from bench.processes import (
    REPO,
    BenchError,
    Children,
    install_signal_handlers,
    missing_tool,
    work_dir,
)
from bench.reports import environment, write_report

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

WRK_EVENTS_SCRIPT = REPO / "bench" / "wrk_events.lua"
#: how the bench's wrk scripts start the JSON line they print in done()
WRK_RESULT_PREFIX = '{"bench_result"'
#: every `--*-cpu` option and its default: the ingress alone on CPU 0, the load on CPU 1
CPU_DEFAULTS = {"server": 0, "client": 1, "worker": 1}
CPU_HELP = {
    "server": "the CPU the server under test (the ingress) runs on",
    "client": "the CPU wrk runs on",
    "worker": "the CPU the workers run on during the burst",
}

BenchOptions = TypeVar("BenchOptions", bound="DataclassInstance")
Measured = TypeVar("Measured")


# --------------------------------------------------------------------------------------------
# the command line


def add_retry_options(parser: argparse.ArgumentParser, *, retries: int = 2) -> None:
    """--retries, --quiet-wait and --flush-redis: every benchmark has them."""
    again = "measure a disturbed run again, at most this often"
    parser.add_argument("--retries", type=int, default=retries, help=again)
    quiet = "before each measurement, wait at most this long (s) for other processes to go idle"
    parser.add_argument("--quiet-wait", type=float, default=180.0, help=quiet)
    flush = "allow flushing a REDIS_URL database that holds keys of something else"
    parser.add_argument("--flush-redis", action="store_true", help=flush)


def add_pin_options(parser: argparse.ArgumentParser, *roles: str) -> None:
    """--<role>-cpu for each of `roles` (server, client, worker) and --no-pin, which `parse`
    turns into None for every CPU."""
    for role in roles:
        parser.add_argument(
            f"--{role}-cpu", type=int, default=CPU_DEFAULTS[role], help=CPU_HELP[role]
        )
    parser.add_argument("--no-pin", action="store_true", help="do not use taskset")


def add_worker_options(parser: argparse.ArgumentParser, *, log_level_help: str) -> None:
    """The workers' shape: `traaaction worker`'s defaults, 2 processes x 8 threads."""
    parser.add_argument("--processes", type=int, default=2, help="WORKER_PROCESSES")
    parser.add_argument("--threads", type=int, default=8, help="WORKER_THREADS")
    parser.add_argument("--log-level", default="INFO", help=log_level_help)


def add_round_options(parser: argparse.ArgumentParser, targets: Sequence[str]) -> None:
    """--rounds (3) and --targets (all of `targets`, comma-separated; see `targets_of`)."""
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--targets", default=",".join(targets), help=f"comma-separated, of {', '.join(targets)}"
    )


def needed_tools(*, wrk: bool, pinned: bool) -> list[str]:
    """The tools a run needs: wrk if it loads a server with it, taskset unless --no-pin."""
    return [*(["wrk"] if wrk else []), *(["taskset"] if pinned else [])]


def parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The parsed command line, each --*-cpu None if --no-pin."""
    args = parser.parse_args(argv)
    if getattr(args, "no_pin", False):
        for role in CPU_DEFAULTS:
            if hasattr(args, f"{role}_cpu"):
                setattr(args, f"{role}_cpu", None)
    return args


def targets_of(
    parser: argparse.ArgumentParser, listed: str, known: Sequence[str], *, what: str = "target"
) -> tuple[str, ...]:
    """The comma-separated targets of an option, each one of `known`."""
    targets = tuple(t.strip() for t in listed.split(",") if t.strip())
    if unknown := [t for t in targets if t not in known]:
        parser.error(f"unknown {what}(s): {', '.join(unknown)}")
    return targets


def options_from(cls: type[BenchOptions], args: argparse.Namespace, **given: Any) -> BenchOptions:
    """A benchmark's options: each field the option of the same name, unless `given`."""
    names = [f.name for f in dataclasses.fields(cls)]
    return cls(**{name: given[name] if name in given else getattr(args, name) for name in names})


# --------------------------------------------------------------------------------------------
# the session: what a run owns, released on any exit


@dataclasses.dataclass
class Session:
    redis_url: str
    redis: redis.Redis  # a client of the run's Redis database
    children: Children
    work: Path  # scratch directory (event files, logs), removed at the end
    stack: ExitStack  # clean-ups, run in reverse when the session ends

    def fresh_database(self) -> str:
        """A fresh PostgreSQL database for the rest of the run, dropped when it ends."""
        return self.stack.enter_context(fresh_database(postgres_url()))


@contextmanager
def session(default_redis_url: str, *, flush_redis: bool) -> Iterator[Session]:
    """Claim Redis (REDIS_URL or the benchmark's default database) and a scratch directory; on
    exit, stop every child, flush Redis and remove the directory."""
    given = os.environ.get("REDIS_URL") or None
    redis_url = given or default_redis_url
    children = Children()
    with ExitStack() as stack:
        work = work_dir()
        stack.callback(shutil.rmtree, work, ignore_errors=True)
        stack.callback(children.stop_all)
        control = redis.Redis.from_url(redis_url)
        stack.callback(control.close)
        try:
            claim_redis(control, given=given is not None, force=flush_redis)
            stack.callback(control.flushdb)
            yield Session(redis_url, control, children, work, stack)
        finally:
            # Cleaning up (the stack, in reverse) must not be cut short by a second Ctrl-C.
            signal.signal(signal.SIGINT, signal.SIG_IGN)


# --------------------------------------------------------------------------------------------
# measuring


class RetryOptions(Protocol):
    @property
    def retries(self) -> int: ...

    @property
    def quiet_wait(self) -> float: ...


def measure_until_undisturbed(
    measure_once: Callable[[int], Measured],
    *,
    client: redis.Redis,
    opts: RetryOptions,
    again: Callable[[Measured], str | None],
) -> Measured:
    """Wait for a quiet machine, then `measure_once(attempt)`; while `again` gives a reason
    (disturbed, out of events), print it and measure again, at most --retries times. The last
    attempt is kept whatever it says (the report flags it)."""
    attempt = 1
    while True:
        wait_for_quiet(client, opts.quiet_wait)
        measured = measure_once(attempt)
        reason = again(measured)
        if reason is None or attempt > opts.retries:
            return measured
        print(f"    {reason}", flush=True)
        attempt += 1


def rotated(targets: Sequence[str], round_no: int) -> tuple[str, ...]:
    """Round n starts with the n-th target, so that no target always runs first (or, with
    two, always second on a machine warmed up by the other)."""
    shift = (round_no - 1) % len(targets)
    return (*targets[shift:], *targets[:shift])


def measure_rounds(
    rounds: int,
    targets: Sequence[str],
    measure: Callable[[str, int], Measured],
    describe: Callable[[Measured], str],
    *,
    label: str = "round",
) -> list[Measured]:
    """Every target in every round (`measure(target, round_no)`), printing each result."""
    out: list[Measured] = []
    for round_no in range(1, rounds + 1):
        for target in rotated(targets, round_no):
            print(f"  {label} {round_no}: {target} ...", flush=True)
            measured = measure(target, round_no)
            out.append(measured)
            print(f"    {describe(measured)}", flush=True)
    return out


# --------------------------------------------------------------------------------------------
# wrk: one thread, a file of signed deliveries walked once (bench/wrk_events.lua)


def wrk_command(
    script: Path,
    port: int,
    *,
    connections: int,
    duration: float,
    timeout: float,
    script_args: Sequence[Path],
) -> list[str]:
    """wrk with one thread: the bench's scripts walk their file from a single Lua state."""
    return [
        "wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", f"--timeout={timeout:g}s",
        "-s", str(script), f"http://127.0.0.1:{port}", "--", *(str(a) for a in script_args),
    ]  # fmt: skip


def read_wrk_result(log: Path) -> dict[str, Any] | None:
    """The last JSON line the bench's wrk scripts print in done(), None if there is none."""
    raw: dict[str, Any] | None = None
    for line in log.read_text(errors="replace").splitlines():
        if line.startswith(WRK_RESULT_PREFIX):
            raw = json.loads(line)
    return raw


@dataclasses.dataclass
class WrkRun:
    raw: dict[str, Any]  # the script's JSON line: counts, statuses, errors, latency
    answered_ids: list[str]  # the event ids answered 2xx, in order
    events: EventFile  # what there was to send

    @property
    def rps(self) -> float:
        return float(self.raw["ok"]) / (float(self.raw["duration_us"]) / 1e6)


@dataclasses.dataclass(kw_only=True)
class WrkOverEvents:
    """wrk against one server over files of fresh signed deliveries, each walked once, in
    order, by bench/wrk_events.lua: no delivery is sent twice (a load that repeats events would
    only exercise the dedupe path)."""

    session: Session
    port: int
    url_path: str
    secret: str
    connections: int
    timeout: float
    cpu: int | None  # wrk's
    files_written: int = 0

    def write(self, count: int) -> EventFile:
        """`count` distinct deliveries signed now (valid for the signature tolerance, 300 s)."""
        self.files_written += 1
        return write_events(
            self.session.work / f"events-{self.port}-{self.files_written}.req",
            count=count,
            host=f"127.0.0.1:{self.port}",
            url_path=self.url_path,
            secret=self.secret,
        )

    def send(self, events: EventFile, duration: float) -> WrkRun:
        """Send the file's deliveries for `duration` seconds; the file and wrk's outputs are
        removed afterwards."""
        children, work = self.session.children, self.session.work
        ids_path = events.path.with_suffix(".ids")
        argv = wrk_command(
            WRK_EVENTS_SCRIPT,
            self.port,
            connections=self.connections,
            duration=duration,
            timeout=self.timeout,
            script_args=(events.path, ids_path),
        )
        log = work / "wrk.log"
        proc = children.start(argv, env=dict(os.environ), log=log, cpu=self.cpu)
        try:
            proc.wait(duration + 120)
        finally:
            children.stop(proc)
        raw = read_wrk_result(log)
        log.unlink()
        if proc.returncode != 0 or raw is None:
            raise BenchError(f"wrk failed ({proc.returncode})")
        answered = ids_path.read_text().split()
        ids_path.unlink()
        events.path.unlink()
        return WrkRun(raw, answered, events)


# --------------------------------------------------------------------------------------------
# the report


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What a benchmark hands the harness once measured (after its session ended)."""

    options: dict[str, Any]  # the report's "options"
    packages: tuple[str, ...]  # whose versions go into its "environment"
    fields: dict[str, Any]  # the rest of the report, in order
    table: str  # printed first, for a human
    passed: bool  # every target met: exit status 0
    hidden: frozenset[str] = frozenset()  # report keys too bulky to print


def run(
    name: str,
    *,
    default_redis_url: str,
    flush_redis: bool,
    tools: Sequence[str],
    measure: Callable[[Session], Measured],
    conclude: Callable[[Measured], Outcome],
) -> int:
    """Run a benchmark: `measure` within a session, then `conclude` into its report, printed
    and written to bench/results/<name>-<UTC time>.json. Returns the exit status."""
    if (missing := missing_tool(*tools)) is not None:
        print(missing)
        return 2
    install_signal_handlers()
    started = datetime.now(UTC)
    try:
        with session(default_redis_url, flush_redis=flush_redis) as held:
            measured = measure(held)
    except KeyboardInterrupt:
        print("\nbench: interrupted; everything it started is stopped", file=sys.stderr)
        return 130
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    outcome = conclude(measured)
    report = {
        "started_at": started.isoformat(),
        "options": outcome.options,
        "environment": environment(outcome.packages, wrk="wrk" in tools),
        **outcome.fields,
    }
    out = write_report(name, started, report)
    print(outcome.table)
    shown = {k: v for k, v in report.items() if k not in outcome.hidden}
    print("\n" + json.dumps(shown, indent=2, default=str))
    print(f"\nwritten to {out.relative_to(REPO)}")
    return 0 if outcome.passed else 1


def command(main: Callable[[], int]) -> None:
    """`if __name__ == "__main__"` of a benchmark: exit with its status; a reader that went
    away (`| head`) is no error."""
    with suppress(BrokenPipeError):
        sys.exit(main())
