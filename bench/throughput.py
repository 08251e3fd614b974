"""Worker throughput: the real actors against a bare one-INSERT actor, in one run (bench/README.md).

`.venv/bin/python -m bench.throughput [--messages 20000 --rounds 3]`

For every round and target (floor, real; the order alternates between rounds):

0. wait until no other process keeps the CPUs busy (this machine may be shared);
1. a fresh database (migrated, one shop with its clicks, and the floor's table); Redis flushed;
2. --messages distinct checkout.session.completed messages (payment mode, each naming a real
   click), built with workers.contract.encode_message exactly as the ingress queues them,
   stored in the queue's hash but not yet listed;
3. start the target: `traaaction worker` (real) or `dramatiq bench.floor_worker` (floor), both
   --processes x --threads with dramatiq's idle poll at 100 ms, and wait until every worker
   process polls Redis;
4. list every message in one RPUSH (the clock starts) and poll Redis every 10 ms until no
   message of the queue is left unacknowledged (Dramatiq acknowledges after the actor returned,
   so after its transaction committed): the clock stops;
5. check PostgreSQL: real, exactly one commission and one `processed` log row per event;
   floor, one row per event. A measurement disturbed by another process is repeated.

msg/s = messages / (last acknowledgement - the RPUSH); the workers' start-up is not in it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import redis

from bench.common import (
    BenchError,
    Children,
    Meter,
    Postgres,
    bench_session,
    conninfo,
    database_name,
    disturbed,
    environment,
    fresh_database,
    install_signal_handlers,
    median,
    postgres_url,
    protect_cleanup,
    publish,
    run_guarded,
    tail,
    wait_for_quiet,
)
from bench.stack import (
    Shop,
    check_ledger,
    checkout_messages,
    dead_letters,
    pending_messages,
    release_messages,
    seed_shop,
    service_env,
    store_messages,
    traaaction,
    wait_for_workers,
)

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
TARGETS = ("floor", "real")
#: what bench/floor_worker.py inserts into, one row per message
FLOOR_TABLE = """
CREATE TABLE bench_floor (
    event_id text PRIMARY KEY,
    workspace_id text NOT NULL,
    endpoint_id text NOT NULL,
    event_type text NOT NULL,
    received_at bigint NOT NULL,
    inserted_at timestamptz NOT NULL DEFAULT now()
)
"""
#: the real actors must reach at least this fraction of the floor's msg/s (medians)
MIN_RATIO = 0.6


@dataclass(frozen=True, slots=True)
class Options:
    messages: int
    rounds: int
    processes: int
    threads: int
    log_level: str
    retries: int
    quiet_wait: float
    timeout: float
    min_ratio: float


@dataclass
class Measurement:
    target: str
    round: int
    attempt: int
    messages: int
    seconds: float
    boot_seconds: float
    cpu: dict[str, float]
    check: dict[str, Any]

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    @property
    def disturbed(self) -> bool:
        return disturbed(self.cpu)

    def row(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "round": self.round,
            "attempt": self.attempt,
            "messages": self.messages,
            "seconds": round(self.seconds, 3),
            "msg_per_s": round(self.rate, 1),
            "boot_seconds": round(self.boot_seconds, 2),
            "cpu": self.cpu,
            "disturbed": self.disturbed,
            "check": self.check,
        }


class Bench:
    def __init__(
        self, opts: Options, redis_url: str, server_url: str, children: Children, work: Path
    ) -> None:
        self.opts = opts
        self.redis_url = redis_url
        self.redis = redis.Redis.from_url(redis_url)
        self.server_url = server_url
        self.children = children
        self.work = work

    def measure(self, target: str, round_no: int) -> Measurement:
        for attempt in range(1, self.opts.retries + 2):
            wait_for_quiet(self.redis, self.opts.quiet_wait)
            with fresh_database(self.server_url) as database_url:
                m = self._measure_once(target, round_no, attempt, database_url)
            if m.disturbed and attempt <= self.opts.retries:
                print(f"    disturbed ({m.cpu}); measuring again", flush=True)
                continue
            return m
        raise AssertionError("unreachable")

    def _start(self, target: str, shop: Shop, log: Path) -> subprocess.Popen[bytes]:
        opts = self.opts
        env = service_env(
            shop,
            self.redis_url,
            log_level=opts.log_level,
            processes=opts.processes,
            threads=opts.threads,
        )
        if target == "real":
            return self.children.start(traaaction("worker"), env=env, log=log)
        # What `traaaction worker` runs, with the floor's module instead of workers.main.
        env["dramatiq_worker_timeout"] = "100"
        argv = [
            sys.executable, "-m", "dramatiq", "bench.floor_worker",
            "--processes", str(opts.processes), "--threads", str(opts.threads),
        ]  # fmt: skip
        return self.children.start(argv, env=env, log=log)

    def _measure_once(
        self, target: str, round_no: int, attempt: int, database_url: str
    ) -> Measurement:
        opts = self.opts
        shop = seed_shop(database_url)
        with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
            conn.execute(FLOOR_TABLE)
        meter = Meter(self.redis, Postgres(conninfo(database_url), database_name(database_url)))
        self.redis.flushdb()
        messages = checkout_messages(shop, opts.messages)
        store_messages(self.redis, messages)
        log = self.work / f"{target}-{round_no}-{attempt}.log"
        proc = self._start(target, shop, log)
        try:
            boot = wait_for_workers(self.redis, opts.processes, proc, log)
            before = meter.snapshot()
            started = time.monotonic()
            release_messages(self.redis, messages)
            deadline = started + opts.timeout
            while pending_messages(self.redis):
                if proc.poll() is not None:
                    raise BenchError(f"the {target} worker exited:\n{tail(log)}")
                if time.monotonic() > deadline:
                    raise BenchError(
                        f"{pending_messages(self.redis)} messages left after "
                        f"{opts.timeout:g} s:\n{tail(log)}"
                    )
                time.sleep(0.01)
            seconds = time.monotonic() - started
            after = meter.snapshot()
        finally:
            self.children.stop(proc)
        check = self._check(target, shop, {m.session_id for m in messages})
        return Measurement(
            target=target,
            round=round_no,
            attempt=attempt,
            messages=opts.messages,
            seconds=seconds,
            boot_seconds=boot,
            cpu=Meter.report(before, after),
            check=check,
        )

    def _check(self, target: str, shop: Shop, session_ids: set[str]) -> dict[str, Any]:
        dead = dead_letters(self.redis)
        if target == "real":
            check = check_ledger(shop.database_url, shop.workspace_id, session_ids)
        else:
            with psycopg.connect(conninfo(shop.database_url), autocommit=True) as conn:
                row = conn.execute("SELECT count(*), count(DISTINCT event_id) FROM bench_floor")
                rows, distinct = row.fetchone() or (0, 0)
            check = {"rows": rows, "distinct": distinct, "ok": rows == distinct == len(session_ids)}
        check["dead_letters"] = dead
        check["ok"] = bool(check["ok"]) and dead == 0
        return check


def summarize(measurements: list[Measurement], opts: Options) -> dict[str, Any]:
    by_target = {t: [m for m in measurements if m.target == t] for t in TARGETS}
    medians: dict[str, dict[str, Any]] = {
        target: {
            "msg_per_s": round(median([m.rate for m in ms]), 1),
            "rounds_msg_per_s": [round(m.rate, 1) for m in ms],
            "rounds_seconds": [round(m.seconds, 2) for m in ms],
            "cores": {
                key: round(median([m.cpu[key] for m in ms]), 3)
                for key in ("bench_processes_cores", "postgres_cores", "redis_cores")
            },
            "disturbed_rounds": sum(1 for m in ms if m.disturbed),
            "checks_ok": all(m.check["ok"] for m in ms),
        }
        for target, ms in by_target.items()
        if ms
    }
    summary: dict[str, Any] = {"medians": medians}
    if "floor" in medians and "real" in medians:
        ratio = medians["real"]["msg_per_s"] / medians["floor"]["msg_per_s"]
        per_round = [
            round(r.rate / f.rate, 3)
            for r, f in zip(by_target["real"], by_target["floor"], strict=False)
        ]
        summary["ratio_real_to_floor"] = {"of_medians": round(ratio, 3), "per_round": per_round}
        targets = {
            f"real >= {opts.min_ratio:g} x floor": ratio >= opts.min_ratio,
            "every message applied exactly once": all(m.check["ok"] for m in measurements),
        }
        summary["targets"] = targets
        summary["all_targets_met"] = all(targets.values())
    return summary


def render(summary: dict[str, Any], opts: Options) -> str:
    lines = [
        "",
        f"Medians over {opts.rounds} round(s) of {opts.messages:,} queued checkout messages, "
        f"{opts.processes} processes x {opts.threads} threads:",
        "",
        f"  {'target':<7} {'msg/s':>8}   {'cores: workers+bench':>20} {'postgres':>9} "
        f"{'redis':>6}   msg/s per round",
    ]
    for target, m in summary["medians"].items():
        rounds = ", ".join(f"{r:,.0f}" for r in m["rounds_msg_per_s"])
        cores = m["cores"]
        lines.append(
            f"  {target:<7} {m['msg_per_s']:>8,.0f}   {cores['bench_processes_cores']:>20.2f} "
            f"{cores['postgres_cores']:>9.2f} {cores['redis_cores']:>6.2f}   {rounds}"
            + (f"  ({m['disturbed_rounds']} disturbed)" if m["disturbed_rounds"] else "")
            + ("" if m["checks_ok"] else "  CHECK FAILED")
        )
    if "ratio_real_to_floor" in summary:
        ratio = summary["ratio_real_to_floor"]
        per_round = ", ".join(f"{r:.2f}" for r in ratio["per_round"])
        lines += ["", f"  real / floor  {ratio['of_medians']:.2f}   (per round: {per_round})", ""]
        for name, met in summary["targets"].items():
            lines.append(f"  [{'x' if met else ' '}] {name}")
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="Drain queued checkout events: real actors against a one-INSERT floor.",
    )
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--targets", default=",".join(TARGETS), help=f"comma-separated, of {', '.join(TARGETS)}"
    )
    parser.add_argument("--processes", type=int, default=2, help="WORKER_PROCESSES")
    parser.add_argument("--threads", type=int, default=8, help="WORKER_THREADS")
    parser.add_argument("--log-level", default="INFO", help="LOG_LEVEL of the real worker")
    parser.add_argument("--retries", type=int, default=2, help="measure a disturbed run again")
    parser.add_argument("--quiet-wait", type=float, default=180.0, help="seconds, at most")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per drain, at most")
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO, help="target real/floor")
    parser.add_argument(
        "--flush-redis",
        action="store_true",
        help="allow flushing a REDIS_URL database that holds keys of something else",
    )
    args = parser.parse_args(argv)
    targets = tuple(t.strip() for t in args.targets.split(",") if t.strip())
    if unknown := [t for t in targets if t not in TARGETS]:
        parser.error(f"unknown target(s): {', '.join(unknown)}")
    args.targets = targets
    return (
        Options(
            messages=args.messages,
            rounds=args.rounds,
            processes=args.processes,
            threads=args.threads,
            log_level=args.log_level,
            retries=args.retries,
            quiet_wait=args.quiet_wait,
            timeout=args.timeout,
            min_ratio=args.min_ratio,
        ),
        args,
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)
    install_signal_handlers()
    started = datetime.now(UTC)
    measurements: list[Measurement] = []

    def measure_all() -> int:
        with bench_session(DEFAULT_REDIS_URL, flush_redis=args.flush_redis) as (stack, run):
            bench = Bench(opts, run.redis_url, postgres_url(), run.children, run.work)
            protect_cleanup(stack)
            print(
                f"bench: {opts.rounds} round(s) x {', '.join(args.targets)}; "
                f"{opts.messages:,} messages each; Redis {run.redis_url}",
                flush=True,
            )
            for round_no in range(1, opts.rounds + 1):
                order = args.targets if round_no % 2 else tuple(reversed(args.targets))
                for target in order:
                    print(f"  round {round_no}: {target} ...", flush=True)
                    m = bench.measure(target, round_no)
                    measurements.append(m)
                    print(
                        f"    {m.rate:,.0f} msg/s ({m.messages:,} in {m.seconds:.2f} s; "
                        f"boot {m.boot_seconds:.1f} s), cpu {m.cpu}, "
                        f"check {'ok' if m.check['ok'] else m.check}",
                        flush=True,
                    )
        return 0

    if (failed := run_guarded(measure_all)) != 0:
        return failed
    summary = summarize(measurements, opts)
    report = {
        "started_at": started.isoformat(),
        "options": asdict(opts),
        "environment": environment(("dramatiq", "sqlalchemy", "psycopg", "redis")),
        **summary,
        "measurements": [m.row() for m in measurements],
    }
    print(render(summary, opts))
    publish("throughput", started, report, hide={"measurements"})
    return 0 if summary.get("all_targets_met", False) else 1


if __name__ == "__main__":
    with suppress(BrokenPipeError):
        sys.exit(main())
