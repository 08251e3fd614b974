"""The burst's baselines, measured in the same run by the other benchmarks' own code.

An ingress round (bench/ingress.py's targets, --ingress-targets) before the burst and a
commissions round (bench/throughput.py's floor and real workers) after it, on the same machine
minutes apart, with the burst's connections, CPUs, processes and threads: the burst's figures
are reported as ratios to these (bench/burst_report.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bench import harness
from bench import ingress as ingress_benchmark
from bench import throughput as throughput_benchmark
from bench.databases import fresh_database, postgres_url

if TYPE_CHECKING:  # bench/burst.py imports this module: no cycle at run time
    from bench.burst import Options


def ingress_round(opts: Options, held: harness.Session) -> list[ingress_benchmark.Measurement]:
    """One round of bench/ingress.py's targets (--ingress-targets), as it measures them."""
    with fresh_database(postgres_url()) as database_url:
        bench = ingress_benchmark.IngressBench(
            ingress_benchmark.Options(
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
            ingress_benchmark.make_world(database_url, held.redis_url),
            held,
        )
        return harness.measure_rounds(
            1,
            opts.ingress_targets,
            bench.measure,
            ingress_benchmark.Measurement.describe,
            label="ingress benchmark, round",
        )


def commissions_round(
    opts: Options, held: harness.Session
) -> list[throughput_benchmark.Measurement]:
    """One round of bench/throughput.py: the floor and the real actors, as it measures them."""
    bench = throughput_benchmark.ThroughputBench(
        throughput_benchmark.Options(
            messages=opts.baseline_messages,
            rounds=1,
            processes=opts.processes,
            threads=opts.threads,
            log_level=opts.log_level,
            retries=opts.retries,
            quiet_wait=opts.quiet_wait,
            timeout=opts.drain_timeout,
            min_ratio=throughput_benchmark.MIN_RATIO,
        ),
        held,
    )
    return harness.measure_rounds(
        1,
        throughput_benchmark.TARGETS,
        bench.measure,
        throughput_benchmark.Measurement.describe,
        label="commissions benchmark, round",
    )
