"""What actors need at run time, set once per worker process by workers.main (or a test)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.crypto import SecretBox

#: Stripe's API; tests point this at a local stand-in
STRIPE_API_BASE = "https://api.stripe.com"


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class WorkerContext:
    factory: sessionmaker[Session]
    clock: Callable[[], datetime] = field(default=_utcnow)
    #: opens workspaces' Stripe API keys; None: no Stripe lookups (refunds match by payloads)
    secret_box: SecretBox | None = None
    stripe_api_base: str = STRIPE_API_BASE


_current: WorkerContext | None = None


def configure(context: WorkerContext) -> None:
    global _current  # noqa: PLW0603 - one context per process, set at boot
    _current = context


def current() -> WorkerContext:
    if _current is None:
        raise RuntimeError("workers.context.configure() was not called in this process")
    return _current
