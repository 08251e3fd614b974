"""The ingress benchmark's summary: medians per target, ratios, targets, table (bench/ingress.py).

The targets (2-core machine, bench/README.md): the ingress at least 0.6 x the HMAC-only
baseline and 2 x the naive one (same run, medians), p99 at most 25 ms, no non-2xx answer,
every accepted event queued exactly once, peak RSS at most 100 MB.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bench import harness
from bench.reports import checklist, median

if TYPE_CHECKING:  # the benchmark imports this module: no cycle at run time
    from bench.ingress import Measurement, Options

MIN_RATIO_HMAC = 0.6
MIN_RATIO_NAIVE = 2.0
MAX_P99_MS = 25.0
MAX_RSS_MB = 100.0
PACKAGES = ("uvicorn", "uvloop", "httptools", "starlette", "redis", "orjson")


def summarize(measurements: list[Measurement], opts: Options) -> dict[str, Any]:
    by_target: dict[str, list[Measurement]] = {t: [] for t in opts.targets}
    for m in measurements:
        by_target[m.target].append(m)
    medians: dict[str, dict[str, Any]] = {
        target: {
            "rps": round(median([m.rps for m in ms]), 1),
            "p50_ms": round(median([m.p50_ms for m in ms]), 3),
            "p99_ms": round(median([m.p99_ms for m in ms]), 3),
            "rounds_rps": [round(m.rps, 1) for m in ms],
            "rounds_p99_ms": [round(m.p99_ms, 3) for m in ms],
            "non2xx": sum(m.non2xx for m in ms),
            "socket_errors": sum(sum(m.socket_errors.values()) for m in ms),
            "peak_rss_mb": max((m.peak_rss_mb or 0.0) for m in ms) if ms else None,
            "disturbed_rounds": sum(1 for m in ms if m.disturbed),
        }
        for target, ms in by_target.items()
        if ms
    }
    summary: dict[str, Any] = {"medians": medians}
    ingress = medians.get("ingress")
    if ingress is None:
        return summary
    ratios: dict[str, Any] = {}
    targets: dict[str, Any] = {}
    for base, minimum in (("hmac-only", MIN_RATIO_HMAC), ("naive", MIN_RATIO_NAIVE)):
        if base not in medians:
            continue
        ratio = ingress["rps"] / medians[base]["rps"]
        per_round = [
            round(i.rps / b.rps, 3)
            for i, b in zip(by_target["ingress"], by_target[base], strict=False)
        ]
        ratios[f"ingress/{base}"] = {"of_medians": round(ratio, 3), "per_round": per_round}
        targets[f"ingress >= {minimum:g} x {base}"] = ratio >= minimum
    checks = [m.check for m in by_target["ingress"]]
    targets[f"ingress p99 <= {MAX_P99_MS:g} ms"] = ingress["p99_ms"] <= MAX_P99_MS
    targets["ingress zero non-2xx"] = ingress["non2xx"] == 0 and ingress["socket_errors"] == 0
    targets["every accepted event queued exactly once"] = all(c.get("ok") for c in checks)
    rss = ingress["peak_rss_mb"]
    targets[f"ingress peak RSS <= {MAX_RSS_MB:g} MB"] = rss is not None and rss <= MAX_RSS_MB
    summary["ratios"] = ratios
    summary["exactly_once"] = checks
    summary["targets"] = targets
    summary["all_targets_met"] = all(targets.values())
    return summary


def render(summary: dict[str, Any], opts: Options) -> str:
    lines = [
        "",
        f"Medians over {opts.rounds} round(s) of {opts.duration:g} s, "
        f"{opts.connections} connections (server on CPU {opts.server_cpu}, wrk on CPU "
        f"{opts.client_cpu}):",
        "",
        f"  {'target':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
        f"{'peak RSS':>9}   req/s per round",
    ]
    for target, m in summary["medians"].items():
        rss = f"{m['peak_rss_mb']:.1f} MB" if m["peak_rss_mb"] else "-"
        rounds = ", ".join(f"{r:,.0f}" for r in m["rounds_rps"])
        failures = m["non2xx"] + m["socket_errors"]
        lines.append(
            f"  {target:<10} {m['rps']:>9,.0f} {m['p50_ms']:>8.2f} {m['p99_ms']:>8.2f} "
            f"{failures:>8} {rss:>9}   {rounds}"
            + (f"  ({m['disturbed_rounds']} disturbed)" if m["disturbed_rounds"] else "")
        )
    if "ratios" in summary:
        lines.append("")
        for name, ratio in summary["ratios"].items():
            per_round = ", ".join(f"{r:.2f}" for r in ratio["per_round"])
            lines.append(f"  {name:<18} {ratio['of_medians']:.2f}   (per round: {per_round})")
        lines.append("")
        for check in summary["exactly_once"]:
            lines.append(
                "  exactly-once: "
                + ("ok" if check["ok"] else "FAILED")
                + f" - {check['answered_200']:,} answered 200, {check['queued']:,} queued "
                f"({check['queued_not_answered']} in flight at stop), "
                f"{check['duplicates_in_queue']} duplicates, "
                f"{check['answered_not_queued']} answered but not queued"
            )
        lines.append("")
        lines += checklist(summary["targets"])
    return "\n".join(lines)


def conclude(measurements: list[Measurement], opts: Options) -> harness.Outcome:
    summary = summarize(measurements, opts)
    return harness.Outcome(
        options={
            "duration_s": opts.duration,
            "warmup_s": opts.warmup,
            "rounds": opts.rounds,
            "connections": opts.connections,
            "wrk_threads": 1,
            "server_cpu": opts.server_cpu,
            "client_cpu": opts.client_cpu,
        },
        packages=PACKAGES,
        fields={**summary, "measurements": [m.row() for m in measurements]},
        table=render(summary, opts),
        # a run without the ingress target has no targets: nothing missed
        passed=summary.get("all_targets_met", True),
        hidden=frozenset({"measurements"}),
    )
