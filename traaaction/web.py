"""Building the ingress application from settings (for `traaaction serve` and ASGI servers)."""

from __future__ import annotations

from ingress.app import IngressOptions
from ingress.webhook import WebhookLimits
from traaaction.settings import Settings


def ingress_options(settings: Settings) -> IngressOptions:
    return IngressOptions(
        limits=WebhookLimits(
            max_body=settings.max_body_bytes,
            body_timeout=settings.body_timeout,
            tolerance=settings.signature_tolerance,
        ),
        readiness_timeout=settings.readiness_timeout,
        enqueue_timeout=settings.enqueue_timeout,
        endpoint_cache_ttl=settings.endpoint_cache_ttl,
    )
