"""Sending a test event to an ingress and waiting for the workers' verdict on it.

The half of `traaaction send-test-event` that talks to the outside: it signs the body with
the endpoint's newest active secret, POSTs it as Stripe would, explains the ingress' refusals,
and polls the event log until the event settles.
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ingress.signature import sign
from storage.models import Commission, EndpointSecret, WebhookEventLog
from storage.repositories import endpoints
from traaaction.cli._common import CliError
from traaaction.cli.ledger import commission_view
from traaaction.stripe_payloads import STRIPE_USER_AGENT

#: seconds the ingress has to answer the POST
POST_TIMEOUT = 10.0
#: seconds between two looks at the event log
POLL_INTERVAL = 0.1
#: event-log outcomes that settle a delivery (`failed` will be retried; `rejected` never
#: names an event id)
SETTLED = ("processed", "skipped", "duplicate", "ignored", "dead_lettered")
USER_AGENT = f"{STRIPE_USER_AGENT} traaaction-send-test-event"

#: what an ingress' 4xx/5xx reason means for this command
_HINTS = {
    "no_matching_signature": (
        "it verifies with other secrets than endpoint {endpoint}'s in this command's database: "
        "does it run with the same DATABASE_URL and TRAAACTION_KEYS?"
    ),
    "no_active_secret": (
        "it knows no active secret of endpoint {endpoint}: does it run with the same DATABASE_URL?"
    ),
    "timestamp_out_of_tolerance": (
        "this machine's clock and the ingress' differ by more than its SIGNATURE_TOLERANCE"
    ),
    "unknown_endpoint": (
        "it does not know endpoint {endpoint}, or has it as disabled (an ingress trusts what "
        "it loaded for ENDPOINT_CACHE_TTL seconds): does it run with the same DATABASE_URL?"
    ),
    "temporarily_unavailable": "it could not queue the event: is its Redis up? (see /readyz)",
}


@dataclass
class Verdict:
    """What the event log says of the event, once settled (or the last failure, if not)."""

    outcome: str | None = None
    reason: str | None = None
    attempt: int | None = None
    commission_ids: list[str] = field(default_factory=list)
    detail: dict[str, Any] | None = None
    waited: float = 0.0


# --- signing and sending --------------------------------------------------------------------------


def newest_active_secret(session: Session, endpoint_id: str, now: datetime) -> EndpointSecret:
    active = [
        row
        for row in endpoints.secrets_of(session, endpoint_id)
        if row.expires_at is None or row.expires_at > now
    ]
    if not active:
        raise CliError(
            f"endpoint {endpoint_id} has no active signing secret: add Stripe's with "
            f"`traaaction endpoint add-secret {endpoint_id}`"
        )
    return active[-1]  # secrets_of orders by creation


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, not followed (urllib would turn the POST into a GET)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(url: str, body: bytes, signature: str) -> tuple[int, bytes, str | None]:
    """(status, body, Location) of the ingress' answer; CliError when it cannot be reached."""
    request = urllib.request.Request(  # noqa: S310 - the operator's own ingress URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": USER_AGENT,
        },
    )
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=POST_TIMEOUT) as response:
            return response.status, response.read(), None
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), exc.headers.get("Location")
    except (urllib.error.URLError, OSError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise CliError(
            f"cannot reach the ingress at {url} ({_why(cause)}): is `traaaction run` or "
            "`traaaction serve` running there? (the URL comes from PUBLIC_BASE_URL; --url "
            "sends elsewhere)"
        ) from None


def _why(cause: object) -> str:
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "unknown host"
    if isinstance(cause, TimeoutError | socket.timeout):
        return f"no answer within {POST_TIMEOUT:g} s"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(cause) or type(cause).__name__


def parsed_answer(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def refusal(status: int, raw: bytes, location: str | None, *, url: str, endpoint_id: str) -> str:
    """The error line for an answer other than 200."""
    answer = parsed_answer(raw)
    reason = answer.get("error") if isinstance(answer, dict) else None
    head = f"the ingress at {url} answered {status}"
    if location:
        return f"{head}, a redirect to {location}: send there with --url"
    if not isinstance(reason, str):
        text = " ".join(raw.decode("utf-8", "replace").split())[:120]
        return f"{head} ({text or 'no body'}): is that Traaaction's ingress?"
    hint = _HINTS.get(reason)
    return f"{head} {reason}" + (f": {hint.format(endpoint=endpoint_id)}" if hint else "")


def await_verdict(
    factory: sessionmaker[Session],
    *,
    workspace_id: str,
    endpoint_id: str,
    event_id: str,
    wait: float,
) -> Verdict:
    """Poll the event log until the event settles or `wait` seconds pass."""
    started = time.monotonic()
    query = (
        select(WebhookEventLog)
        .where(
            WebhookEventLog.workspace_id == workspace_id,
            WebhookEventLog.endpoint_id == endpoint_id,
            WebhookEventLog.stripe_event_id == event_id,
        )
        .order_by(WebhookEventLog.id)
    )
    while True:
        with factory() as session:
            rows = list(session.scalars(query))
        settled = [r for r in rows if r.outcome in SETTLED]
        latest = settled[-1] if settled else (rows[-1] if rows else None)
        elapsed = time.monotonic() - started
        if settled or elapsed >= wait:
            if latest is None:
                return Verdict(waited=elapsed)
            return Verdict(
                outcome=latest.outcome,
                reason=latest.reason,
                attempt=latest.attempt,
                commission_ids=list(latest.commission_ids),
                detail=latest.detail,
                waited=elapsed,
            )
        time.sleep(min(POLL_INTERVAL, max(0.0, wait - elapsed)))


def commissions_of(factory: sessionmaker[Session], ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    with factory() as session:
        rows = {c.id: c for c in session.scalars(select(Commission).where(Commission.id.in_(ids)))}
    return [commission_view(rows[i]) for i in ids if i in rows]


def sign_now(secret: str, body: bytes) -> str:
    """The Stripe-Signature header (v1: HMAC-SHA256 of `{timestamp}.{body}`), made now."""
    return sign(secret, body, int(time.time()))
