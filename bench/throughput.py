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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psycopg

from bench import harness
from bench.cpu import Meter, Postgres, disturbed
from bench.databases import conninfo, database_name, fresh_database, postgres_url
from bench.reports import checklist, median
from bench.stack import (
    Shop,
    check_ledger,
    checkout_messages,
    dead_letters,
    release_messages,
    seed_shop,
    service_env,
    store_messages,
    traaaction,
    wait_for_workers,
    wait_until_drained,
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

    def describe(self) -> str:
        """One line per measurement, as it is printed when measured."""
        return (
            f"{self.rate:,.0f} msg/s ({self.messages:,} in {self.seconds:.2f} s; "
            f"boot {self.boot_seconds:.1f} s), cpu {self.cpu}, "
            f"check {'ok' if self.check['ok'] else self.check}"
            + (" (disturbed)" if self.disturbed else "")
        )


class ThroughputBench:
    """Measures one target at a time, each on a fresh database and a flushed Redis."""

    def __init__(self, opts: Options, held: harness.Session) -> None:
        self.opts = opts
        self.redis_url = held.redis_url
        self.redis = held.redis
        self.children = held.children
        self.work = held.work

    def measure(self, target: str, round_no: int) -> Measurement:
        def once(attempt: int) -> Measurement:
            with fresh_database(postgres_url()) as database_url:
                return self._measure_once(target, round_no, attempt, database_url)

        return harness.measure_until_undisturbed(
            once,
            client=self.redis,
            opts=self.opts,
            again=lambda m: f"disturbed ({m.cpu}); measuring again" if m.disturbed else None,
        )

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
            wait_until_drained(self.redis, proc, log, timeout=opts.timeout)
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
        lines += checklist(summary["targets"])
    return "\n".join(lines)


def _parse(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.throughput",
        description="Drain queued checkout events: real actors against a one-INSERT floor.",
    )
    parser.add_argument("--messages", type=int, default=20_000)
    harness.add_round_options(parser, TARGETS)
    harness.add_worker_options(parser, log_level_help="LOG_LEVEL of the real worker")
    harness.add_retry_options(parser)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per drain, at most")
    parser.add_argument("--min-ratio", type=float, default=MIN_RATIO, help="target real/floor")
    args = harness.parse(parser, argv)
    args.targets = harness.targets_of(parser, args.targets, TARGETS)
    return harness.options_from(Options, args), args


def conclude(measurements: list[Measurement], opts: Options) -> harness.Outcome:
    summary = summarize(measurements, opts)
    return harness.Outcome(
        options=asdict(opts),
        packages=("dramatiq", "sqlalchemy", "psycopg", "redis"),
        fields={**summary, "measurements": [m.row() for m in measurements]},
        table=render(summary, opts),
        # without both targets there is no ratio to meet: not a passing run
        passed=summary.get("all_targets_met", False),
        hidden=frozenset({"measurements"}),
    )


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = _parse(argv)

    def measure(held: harness.Session) -> list[Measurement]:
        bench = ThroughputBench(opts, held)
        print(
            f"bench: {opts.rounds} round(s) x {', '.join(args.targets)}; "
            f"{opts.messages:,} messages each; Redis {held.redis_url}",
            flush=True,
        )
        return harness.measure_rounds(
            opts.rounds, args.targets, bench.measure, Measurement.describe
        )

    return harness.run(
        "throughput",
        default_redis_url=DEFAULT_REDIS_URL,
        flush_redis=args.flush_redis,
        tools=harness.needed_tools(wrk=False, pinned=False),
        measure=measure,
        conclude=lambda measurements: conclude(measurements, opts),
    )


if __name__ == "__main__":
    harness.command(main)
