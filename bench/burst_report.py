"""The burst's figures, summary and table (bench/burst.py).

`figures` and `timeline` turn what one burst observed into the report's "burst" and
"timeline"; `summarize` adds the baselines measured in the same run (bench/ingress.py's and
bench/throughput.py's measurements) and the ratios to them; `render` prints it all.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from bench import harness
from bench.burst_load import Resent, Sent, WrkBurst
from bench.burst_observe import LastAnswer, Sampler
from bench.cpu import disturbed
from bench.reports import checklist, median

if TYPE_CHECKING:  # the benchmarks import this module: no cycle at run time
    from bench.burst import Options
    from bench.ingress import Measurement as IngressMeasurement
    from bench.throughput import Measurement as ThroughputMeasurement

MB = 1024 * 1024
PACKAGES = ("dramatiq", "sqlalchemy", "psycopg", "redis", "uvicorn")


@dataclass(frozen=True)
class Observed:
    """Everything one burst noted, from which its figures are made."""

    opts: Options
    load: WrkBurst
    sent: list[Sent]
    missing: int  # events wrk did not get a 200 for
    resent: list[Resent]
    accepted: int  # events answered 200 in the end (wrk's or a resend's)
    boot_seconds: float
    left: LastAnswer
    last_200: float  # wall clock
    drained: float  # wall clock
    drain_cpus: list[int] | None  # the CPUs the workers drained on (None: left pinned)
    sampler: Sampler
    ingress_hwm_kb: int | None
    worker_peaks: list[dict[str, Any]]
    redis_before: int
    database_bytes: int


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


def _mb(value: float) -> float:
    return round(value / MB, 1)


def figures(o: Observed) -> dict[str, Any]:
    """The report's "burst": ingress, workers, queue and memory figures."""
    load = o.load
    raw = load.raw
    left = o.left
    drain_seconds = o.drained - o.last_200
    during = int(raw["ok"]) - left.unacked
    return {
        "events": o.opts.events,
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
            "resent": len(o.resent),
            "resends": [asdict(r) for r in o.resent[:50]],
            "lost": o.missing - sum(1 for r in o.resent if r.answered_at),
            "mean_body_bytes": round(sum(s.body_len for s in o.sent) / len(o.sent), 1),
            "per_second": per_second(raw.get("answers_per_100ms", [])),
        },
        "workers": {
            "processes": o.opts.processes,
            "threads": o.opts.threads,
            "boot_seconds": round(o.boot_seconds, 2),
            "done_during_burst": during,
            "rate_during_burst": round(during / load.seconds, 1) if load.seconds else None,
            "left_at_last_200": left.unacked,
            "drain_seconds": round(drain_seconds, 3),
            "drain_rate": round(left.unacked / drain_seconds, 1) if drain_seconds > 0 else None,
            "drain_cpus": o.drain_cpus,
            "first_request_to_drained_seconds": round(o.drained - load.first, 3),
            "end_to_end_rate": round(o.accepted / (o.drained - load.first), 1),
        },
        "queue": {
            "peak_ready": o.sampler.peak("ready"),
            "peak_unacknowledged": o.sampler.peak("unacked"),
            "ready_at_last_200": left.ready,
            "samples": len(o.sampler.samples),
            "sample_interval_ms": o.opts.sample_interval * 1000,
        },
        "memory": {
            "ingress_peak_rss_mb": round(o.ingress_hwm_kb / 1024, 1) if o.ingress_hwm_kb else None,
            "workers_peak_rss_mb": _mb(o.sampler.peak("workers_rss")),
            "workers_processes": o.worker_peaks,
            "workers_sum_of_process_peaks_mb": round(
                sum(p["peak_rss_mb"] for p in o.worker_peaks), 1
            ),
            "redis_used_memory_mb": {
                "before": _mb(o.redis_before),
                "peak": _mb(o.sampler.peak("redis_bytes")),
                "added": _mb(o.sampler.peak("redis_bytes") - o.redis_before),
            },
            "postgres_database_mb": _mb(o.database_bytes),
        },
    }


def timeline(o: Observed) -> dict[str, Any]:
    """Answers per 100 ms and every sample, in seconds from the first request."""
    return {
        "ingress_answers_per_100ms": o.load.raw.get("answers_per_100ms", []),
        "samples": [
            {
                "t": round(s.at - o.load.first, 2),
                "ready": s.ready,
                "unacked": s.unacked,
                "redis_mb": _mb(s.redis_bytes),
                "web_rss_mb": _mb(s.web_rss),
                "workers_rss_mb": _mb(s.workers_rss),
            }
            for s in o.sampler.samples
        ],
    }


def _per_core(rps: float, cores: float) -> float | None:
    return round(rps / cores, 1) if cores > 0 else None


def summarize(
    burst: Burst, ingress: list[IngressMeasurement], commissions: list[ThroughputMeasurement]
) -> dict[str, Any]:
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
    for c in commissions:
        baselines[c.target] = {
            "msg_per_s": round(c.rate, 1),
            "messages": c.messages,
            "check_ok": bool(c.check["ok"]),
            "disturbed": c.disturbed,
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


def placement(opts: Options) -> str:
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
        f"({placement(opts)}):",
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
    lines += checklist(summary["targets"])
    return "\n".join(lines)


@dataclass(frozen=True)
class BurstRun:
    """The burst and the baselines measured in the same run."""

    burst: Burst
    ingress: list[IngressMeasurement]
    commissions: list[ThroughputMeasurement]


def conclude(measured: BurstRun, opts: Options) -> harness.Outcome:
    summary = summarize(measured.burst, measured.ingress, measured.commissions)
    return harness.Outcome(
        options=asdict(opts),
        packages=PACKAGES,
        fields={
            **summary,
            "baseline_measurements": {
                "ingress": [m.row() for m in measured.ingress],
                "commissions": [m.row() for m in measured.commissions],
            },
            "timeline": measured.burst.timeline,
        },
        table=render(summary, opts),
        passed=summary["all_targets_met"],
        hidden=frozenset({"baseline_measurements", "timeline", "options", "environment"}),
    )
