"""Reconciliation: queue the events Stripe has that this service never saw (issue #5).

Stripe keeps events for 30 days and lists them through its Events API. `reconcile_workspace`
lists a workspace's events of the handled types created since a given time, with the
workspace's own API key, and queues each one that neither the ingress (its idempotency key in
Redis, kept 4 days, under any endpoint of the workspace) nor the workers (`applied_events` in
PostgreSQL, kept for good) have seen. It queues through the ingress' own code, `delivery_item`
and the dedupe-and-enqueue script: a reconciled event is a delivery like any other (same queue,
same message, same idempotency key), so a webhook that arrives later is a duplicate, a webhook
that arrives meanwhile makes the script report it seen, and running the command twice queues
nothing the second time.

Events from the Events API carry no signature (only webhook deliveries are signed). They are
trusted because they come from Stripe itself, over TLS, in answer to a request authenticated
with the workspace's own key: the same trust as the workers' invoice lookups.

Each message's body is the event object exactly as the API returned it, serialised on its own
(compact JSON, keys in Stripe's order): a list answer holds many events, and the workers parse
JSON, not bytes. The API renders each event in the API version it was created with, so shapes
before and from `2025-03-31.basil` both occur; the workers parse both.

Pages (100 events) are processed as they come, each checked and queued before the next is
requested: memory stays flat, and an interrupted run has queued whole pages only. Stripe lists
newest first; the pipeline accepts events in any order (an invoice before its checkout is parked
until the checkout arrives).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import redis
import stripe
from redis.exceptions import RedisError
from sqlalchemy.orm import Session, sessionmaker

from config.logs import get_logger
from domain.secrets import last4
from ingress.enqueue import EnqueueOutcome, delivery_item, enqueue_sync
from ingress.envelope import Envelope, EnvelopeError, parse_envelope
from storage.crypto import SecretBox
from storage.db import unit_of_work
from storage.errors import NotFound
from storage.repositories import api_keys, applied_events, endpoints
from workers.contract import ROUTES, idempotency_key

if TYPE_CHECKING:
    from stripe.params import EventListParams

log = get_logger(__name__)

#: how long Stripe keeps events; the Events API lists nothing older
RETENTION = timedelta(days=30)
#: events per request (Stripe's maximum)
PAGE_SIZE = 100
#: seconds for one request to Stripe's API
TIMEOUT = 30.0
#: seconds to wait before each retry of a request that failed transiently (429, 5xx, network);
#: one attempt more than there are delays
RETRY_DELAYS: tuple[float, ...] = (0.5, 1.0, 2.0)
#: characters of an error message from Stripe kept in ours
_MAX_DETAIL = 200


class ReconcileError(Exception):
    """Raised with one line for the operator. Never carries more of a key than its last four."""


class Outcome(StrEnum):
    QUEUED = "queued"
    #: the ingress' idempotency key is set: queued before (by a webhook or an earlier run)
    ALREADY_QUEUED = "already_queued"
    #: in applied_events: the workers applied it (the idempotency key may have expired)
    ALREADY_APPLIED = "already_applied"
    #: not an event the ingress would queue (the reason says why); not queued
    INVALID = "invalid"


SEEN = (Outcome.ALREADY_QUEUED, Outcome.ALREADY_APPLIED)


@dataclass(frozen=True, slots=True)
class EventResult:
    id: str | None
    type: str | None
    created: int | None
    outcome: Outcome
    reason: str | None = None


@dataclass
class Report:
    workspace_id: str
    endpoint_id: str
    since: datetime
    events: list[EventResult] = field(default_factory=list)

    def count(self, *outcomes: Outcome) -> int:
        return sum(1 for e in self.events if e.outcome in outcomes)

    @property
    def listed(self) -> int:
        return len(self.events)

    @property
    def seen(self) -> int:
        return self.count(*SEEN)

    @property
    def queued(self) -> int:
        return self.count(Outcome.QUEUED)

    @property
    def invalid(self) -> int:
        return self.count(Outcome.INVALID)

    def as_dict(self) -> dict[str, Any]:
        return {
            "workspace_id": self.workspace_id,
            "endpoint_id": self.endpoint_id,
            "since": self.since,
            "listed": self.listed,
            "seen": self.seen,
            "queued": self.queued,
            "invalid": self.invalid,
            "events": [
                {
                    "id": e.id,
                    "type": e.type,
                    "created": e.created,
                    "outcome": e.outcome.value,
                    "reason": e.reason,
                }
                for e in self.events
            ],
        }


def choose_endpoint(
    workspace_id: str, known: Sequence[tuple[str, bool]], requested: str | None
) -> str:
    """The endpoint reconciled events are queued for: `known` is (id, enabled) of each.

    Events from the API do not say which endpoint they were sent to; a workspace normally has
    one. With several enabled, the operator names it."""
    if requested is not None:
        enabled = dict(known).get(requested)
        if enabled is None:
            raise NotFound("endpoint", requested, workspace_id=workspace_id)
        if not enabled:
            raise ReconcileError(
                f"endpoint {requested} is disabled; enable it first "
                f"(`traaaction endpoint enable {requested}`) or choose another with --endpoint"
            )
        return requested
    candidates = [endpoint_id for endpoint_id, enabled in known if enabled]
    if not candidates:
        raise ReconcileError(
            f"workspace {workspace_id} has no enabled endpoint; events are queued as deliveries "
            f"to one (`traaaction endpoint create --workspace {workspace_id}`)"
        )
    if len(candidates) > 1:
        raise ReconcileError(
            f"workspace {workspace_id} has {len(candidates)} enabled endpoints "
            f"({', '.join(candidates)}); name the one Stripe sends these events to with --endpoint"
        )
    return candidates[0]


class _Unavailable(Exception):
    """Stripe's API did not answer, after every attempt."""


def _failure(exc: stripe.StripeError) -> str:
    if isinstance(exc, stripe.APIConnectionError):
        return "no connection"
    if isinstance(exc, stripe.RateLimitError):
        return "HTTP 429, rate limited"
    return f"HTTP {exc.http_status}" if exc.http_status else "no readable answer"


def _retryable(exc: stripe.StripeError) -> bool:
    if isinstance(exc, (stripe.RateLimitError, stripe.APIConnectionError)):
        return True
    status = exc.http_status
    return isinstance(exc, stripe.APIError) and (status is None or status >= 500)


class EventsApi:
    """GET /v1/events with one workspace's key: the handled types, page by page, retried."""

    def __init__(
        self,
        api_key: str,
        *,
        api_base: str,
        workspace_id: str,
        retry_delays: Sequence[float] = RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            max_network_retries=0,  # retried here, 429 included, which the library does not retry
            http_client=stripe.RequestsClient(timeout=TIMEOUT),
        )
        self._key_hint = f"...{last4(api_key)}"
        self._workspace_id = workspace_id
        self._delays = tuple(retry_delays)
        self._sleep = sleep

    def pages(self, created_gte: int) -> Iterator[list[Any]]:
        """The events created at or after `created_gte` (Unix seconds), newest first."""
        starting_after: str | None = None
        while True:
            params: EventListParams = {
                "types": list(ROUTES),
                "created": {"gte": created_gte},
                "limit": PAGE_SIZE,
            }
            if starting_after is not None:
                params["starting_after"] = starting_after
            events, has_more = self._page(params)
            yield events
            if not has_more or not events:
                return
            last = events[-1]
            cursor = last.get("id") if isinstance(last, dict) else None
            if not isinstance(cursor, str):
                raise ReconcileError("Stripe's API listed an event without an id; cannot go on")
            starting_after = cursor

    def _page(self, params: EventListParams) -> tuple[list[Any], bool]:
        ws = self._workspace_id
        attempt = 0
        while True:
            attempt += 1
            try:
                page = self._client.v1.events.list(params=params)
            except stripe.AuthenticationError:
                # Stripe's message names the key (masked); ours names only its last four.
                raise ReconcileError(
                    f"Stripe rejected the API key of {ws} ({self._key_hint}, HTTP 401); "
                    f"store a valid one with `traaaction workspace set-stripe-key {ws}`"
                ) from None
            except stripe.PermissionError:
                raise ReconcileError(
                    f"the API key of {ws} ({self._key_hint}) may not list events (HTTP 403); "
                    f"give it read access to Events in Stripe, or store another with "
                    f"`traaaction workspace set-stripe-key {ws}`"
                ) from None
            except stripe.StripeError as exc:
                if not _retryable(exc):
                    detail = " ".join(str(exc.user_message or "").split())[:_MAX_DETAIL]
                    raise ReconcileError(
                        f"Stripe's API refused to list events ({_failure(exc)})"
                        + (f": {detail}" if detail else "")
                    ) from None
                if attempt > len(self._delays):
                    raise _Unavailable(
                        f"Stripe's API did not answer ({_failure(exc)}) after {attempt} attempts"
                    ) from None
                delay = self._delays[attempt - 1]
                log.info(
                    "reconcile.stripe_retry", failure=_failure(exc), attempt=attempt, delay=delay
                )
                self._sleep(delay)
                continue
            return _list_of(page)


def _list_of(page: stripe.ListObject[stripe.Event]) -> tuple[list[Any], bool]:
    """The answer's events as Stripe sent them (parsed JSON, not the library's objects)."""
    response = page.last_response
    raw = response.data if response is not None else None
    if not (
        isinstance(raw, dict)
        and isinstance(raw.get("data"), list)
        and isinstance(raw.get("has_more"), bool)
    ):
        raise ReconcileError("Stripe's API answered with something that is not a list of events")
    return raw["data"], raw["has_more"]


@dataclass(frozen=True, slots=True)
class _Candidate:
    index: int
    envelope: Envelope
    body: bytes


def _text(event: Any, name: str) -> str | None:
    value = event.get(name) if isinstance(event, dict) else None
    return value if isinstance(value, str) else None


def _reconcile_page(
    events: list[Any],
    *,
    factory: sessionmaker[Session],
    client: redis.Redis,
    workspace_id: str,
    endpoint_id: str,
    all_endpoint_ids: Sequence[str],
    received_ms: int,
) -> list[EventResult]:
    results: list[EventResult | None] = [None] * len(events)
    candidates: list[_Candidate] = []
    for index, event in enumerate(events):
        # No signature to verify: the event is Stripe's own answer, over TLS, to a request made
        # with the workspace's key (see the module's docstring). What follows are the checks
        # the ingress makes of a verified body.
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        try:
            envelope = parse_envelope(body)
        except EnvelopeError as exc:
            results[index] = EventResult(
                _text(event, "id"), _text(event, "type"), None, Outcome.INVALID, exc.failure.value
            )
            continue
        if envelope.type not in ROUTES:  # asked for the handled types only; never queued
            results[index] = EventResult(
                envelope.id, envelope.type, envelope.created, Outcome.INVALID, "unhandled_type"
            )
            continue
        candidates.append(_Candidate(index, envelope, body))

    def settle(candidate: _Candidate, outcome: Outcome) -> None:
        envelope = candidate.envelope
        results[candidate.index] = EventResult(
            envelope.id, envelope.type, envelope.created, outcome
        )

    # Applied by the workers (the record that does not expire)?
    with factory() as session:
        applied = applied_events.applied_among(
            session, workspace_id, {c.envelope.id for c in candidates}
        )
    rest = []
    for candidate in candidates:
        if candidate.envelope.id in applied:
            settle(candidate, Outcome.ALREADY_APPLIED)
        else:
            rest.append(candidate)

    # Accepted by the ingress (or an earlier run) under any endpoint of the workspace, in the
    # last 4 days? Checked first, rather than left to the script, so that events seen before are
    # not logged as duplicates at every run.
    keys = [idempotency_key(ep, c.envelope.id) for c in rest for ep in all_endpoint_ids]
    values = client.mget(keys) if keys else []
    per = len(all_endpoint_ids)
    fresh = []
    for position, candidate in enumerate(rest):
        if any(v is not None for v in values[position * per : (position + 1) * per]):
            settle(candidate, Outcome.ALREADY_QUEUED)
        else:
            fresh.append(candidate)

    items = [
        delivery_item(endpoint_id, workspace_id, c.envelope, c.body, received_ms) for c in fresh
    ]
    for candidate, outcome in zip(fresh, enqueue_sync(client, items), strict=True):
        # DUPLICATE: a webhook of this event was accepted since the check above.
        settle(
            candidate,
            Outcome.QUEUED if outcome is EnqueueOutcome.QUEUED else Outcome.ALREADY_QUEUED,
        )
    done = [r for r in results if r is not None]
    if len(done) != len(events):  # every candidate is settled above
        raise RuntimeError(f"reconcile settled {len(done)} of {len(events)} events")
    return done


def reconcile_workspace(
    *,
    factory: sessionmaker[Session],
    box: SecretBox,
    client: redis.Redis,
    api_base: str,
    workspace_id: str,
    since: datetime,
    endpoint_id: str | None = None,
    on_page: Callable[[int, Report], None] | None = None,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    clock: Callable[[], float] = time.time,
) -> Report:
    """List the workspace's handled events created at or after `since` (within RETENTION) and
    queue those never seen; `on_page(listed, report)` after each page."""
    with unit_of_work(factory) as session:
        known = [(e.id, e.enabled) for e in endpoints.list_for_workspace(session, workspace_id)]
        key = api_keys.get_key(session, box, workspace_id)
    if key is None:
        raise ReconcileError(
            f"workspace {workspace_id} has no Stripe API key; store a restricted key with read "
            f"access to events with `traaaction workspace set-stripe-key {workspace_id}`"
        )
    chosen = choose_endpoint(workspace_id, known, endpoint_id)
    every_endpoint = [known_id for known_id, _enabled in known]
    report = Report(workspace_id, chosen, since)
    api = EventsApi(key, api_base=api_base, workspace_id=workspace_id, retry_delays=retry_delays)
    try:
        for events in api.pages(int(since.timestamp())):
            report.events += _reconcile_page(
                events,
                factory=factory,
                client=client,
                workspace_id=workspace_id,
                endpoint_id=chosen,
                all_endpoint_ids=every_endpoint,
                received_ms=int(clock() * 1000),
            )
            if on_page is not None:
                on_page(len(events), report)
    except _Unavailable as exc:
        raise ReconcileError(
            f"{exc}; {report.queued} event(s) were queued before that; run the command again: "
            "nothing is queued twice"
        ) from None
    except RedisError as exc:
        raise ReconcileError(
            f"cannot reach Redis ({type(exc).__name__}); {report.queued} event(s) were queued "
            "before that; run the command again: nothing is queued twice"
        ) from None
    log.info(
        "reconcile.done",
        workspace_id=workspace_id,
        endpoint_id=chosen,
        listed=report.listed,
        seen=report.seen,
        queued=report.queued,
        invalid=report.invalid,
    )
    return report
