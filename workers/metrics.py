"""The workers' Prometheus metrics: outcomes by reason, retries, dead letters, latency.

Dramatiq runs several worker processes; `traaaction worker` points them all at one fresh
PROMETHEUS_MULTIPROC_DIR before they start, so prometheus_client keeps each process's values
in files there, and the metrics server it starts beside them (traaaction/worker_metrics.py,
WORKER_METRICS_PORT) adds them up at every scrape, with the queues' depths read from Redis.
In a process without that directory (a test, the CLI's replays) the values stay in memory.

Names and labels are a contract with deploy/prometheus and deploy/grafana: a test checks
that every metric those files name exists.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: seconds, from the ingress' 200 to the commit of the event's effects
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 3600.0)

EVENTS = Counter(
    "traaaction_events_total",
    "Deliveries the workers finished, by event type, outcome and reason.",
    ["event_type", "outcome", "reason"],
)
FAILURES = Counter(
    "traaaction_event_failures_total",
    "Failed attempts, by event type, error class and whether they will be retried.",
    ["event_type", "error", "will_retry"],
)
DEAD_LETTERS = Counter(
    "traaaction_dead_letters_total",
    "Deliveries given up on (dead-lettered), by event type and error class.",
    ["event_type", "error"],
)
LATENCY = Histogram(
    "traaaction_event_latency_seconds",
    "From the ingress' answer to the commit of the event's effects (first attempts and "
    "retries alike), by event type and outcome.",
    ["event_type", "outcome"],
    buckets=LATENCY_BUCKETS,
)
PROCESSING = Histogram(
    "traaaction_event_processing_seconds",
    "Time one attempt spends in the pipeline (parse, lock, decide, apply, commit).",
    ["event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0),
)


def observe_outcome(
    event_type: str,
    outcome: str,
    reason: str | None,
    *,
    received_at_ms: int | None,
    now_ms: int,
    processing: float,
) -> None:
    EVENTS.labels(event_type, outcome, reason or "").inc()
    PROCESSING.labels(event_type).observe(processing)
    if received_at_ms:
        LATENCY.labels(event_type, outcome).observe(max(0.0, (now_ms - received_at_ms) / 1000))


def observe_failure(event_type: str, error: str, *, gave_up: bool) -> None:
    FAILURES.labels(event_type, error, "false" if gave_up else "true").inc()
    if gave_up:
        DEAD_LETTERS.labels(event_type, error).inc()
