"""Prometheus metrics of the ingress, on a registry of its own (one per app instance)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response

#: seconds; webhook answers are expected in single milliseconds
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


class IngressMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.requests = Counter(
            "traaaction_ingress_requests",
            "Webhook deliveries by outcome (queued, duplicate, ignored, rejected_*, ...).",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "traaaction_ingress_request_seconds",
            "Time from request start to the answer, webhook route.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "traaaction_ingress_enqueue_batch_size",
            "Deliveries per coalesced Redis round trip.",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.enqueue_latency = Histogram(
            "traaaction_ingress_enqueue_seconds",
            "Duration of one coalesced dedupe-and-enqueue round trip to Redis.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._by_outcome: dict[str, Counter] = {}

    def count(self, outcome: str) -> None:
        counter = self._by_outcome.get(outcome)
        if counter is None:
            counter = self._by_outcome[outcome] = self.requests.labels(outcome=outcome)
        counter.inc()

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.enqueue_latency.observe(seconds)

    async def endpoint(self, _request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
