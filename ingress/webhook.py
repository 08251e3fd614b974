"""POST /api/webhooks/{endpoint_id}: verify, dedupe and enqueue, answer.

A raw ASGI handler: this is the hot path, so it builds no Request object and precomputes its
answers. Order of checks, each answered as early as possible:

1. unknown or disabled endpoint: 404 (one body for both);
2. body over the cap: 413 (Content-Length checked first; never read past the cap); a body that
   arrives too slowly: 408;
3. signature (v1, active secrets, tolerance both ways): 400 naming the failure;
4. envelope (id, type, livemode, api_version, created; snapshot events only): 400 naming it;
5. dedupe + enqueue in one Redis script; 200 only after Redis confirmed; 503 with Retry-After
   if Redis did not answer in time (Stripe retries; the retry is deduplicated).
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson

from config.logs import get_logger
from ingress.directory import DirectoryUnavailable, EndpointDirectory, EndpointState
from ingress.enqueue import EnqueueOutcome, Enqueuer, EnqueueUnavailable, delivery_item
from ingress.envelope import EnvelopeError, parse_envelope
from ingress.metrics import IngressMetrics
from ingress.rejections import RejectionLog
from ingress.signature import SignatureError, SignatureFailure, verify

log = get_logger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_CONTENT_TYPE = (b"content-type", b"application/json")


@dataclass(frozen=True, slots=True)
class WebhookLimits:
    #: bytes
    max_body: int = 1024 * 1024
    #: seconds for the whole body to arrive
    body_timeout: float = 10.0
    #: seconds of clock difference accepted either way
    tolerance: int = 300
    #: seconds Stripe is asked to wait before retrying after a 503
    retry_after: int = 10


class _BodyTooLarge(Exception):
    pass


class _ClientGone(Exception):
    pass


async def _answer(
    send: Send, status: int, body: dict[str, Any], extra: list[Any] | None = None
) -> None:
    data = orjson.dumps(body)
    # With a Content-Length the server sends the body as is, rather than chunked.
    headers = [_CONTENT_TYPE, (b"content-length", b"%d" % len(data)), *(extra or ())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(scope: Scope) -> str:
    """The client's X-Request-Id when it is a sane token, else a new random one."""
    for key, value in scope["headers"]:
        if key == b"x-request-id" and _REQUEST_ID.match(value):
            return str(value.decode("ascii"))
    return "req_" + os.urandom(12).hex()


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None]:
    """Content-Length and Stripe-Signature (the first of each), in one pass."""
    length = signature = None
    for key, value in scope["headers"]:
        if key == b"content-length":
            if length is None:
                length = value
        elif key == b"stripe-signature" and signature is None:
            signature = value
    return length, signature


class WebhookHandler:
    def __init__(
        self,
        *,
        directory: EndpointDirectory,
        enqueuer: Enqueuer,
        rejections: RejectionLog,
        metrics: IngressMetrics,
        limits: WebhookLimits,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._enqueuer = enqueuer
        self._rejections = rejections
        self._metrics = metrics
        self._limits = limits
        self._clock = clock
        self._retry_after = [(b"retry-after", str(limits.retry_after).encode())]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """As an ASGI endpoint of a route with an `endpoint_id` path parameter."""
        await self.handle(scope["path_params"]["endpoint_id"], scope, receive, send)

    async def handle(self, endpoint_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        outcome = await self._handle(endpoint_id, scope, receive, send)
        self._metrics.count(outcome)
        self._metrics.latency.observe(time.perf_counter() - started)

    def _reject(
        self, scope: Scope, state: EndpointState | None, endpoint_id: str | None, reason: str
    ) -> None:
        client = scope.get("client")
        self._rejections.record(
            endpoint_id=endpoint_id,
            workspace_id=state.workspace_id if state else None,
            reason=reason,
            client=client[0] if client else None,
        )

    async def _unavailable(
        self,
        send: Send,
        scope: Scope,
        reason: str,
        *,
        endpoint_id: str,
        workspace_id: str | None = None,
        event_id: str | None = None,
    ) -> None:
        """A 503 (Stripe retries it): the one answer of ours an operator must hear about. Its
        log line and its X-Request-Id header carry the same id (the client's, if it sent one)."""
        request_id = _request_id(scope)
        log.warning(
            "webhook.unavailable",
            reason=reason,
            request_id=request_id,
            endpoint_id=endpoint_id,
            workspace_id=workspace_id,
            event_id=event_id,
        )
        extra = [*self._retry_after, (b"x-request-id", request_id.encode())]
        await _answer(send, 503, {"error": "temporarily_unavailable"}, extra)

    async def _handle(self, endpoint_id: str, scope: Scope, receive: Receive, send: Send) -> str:
        try:
            state = await self._directory.get(endpoint_id)
        except DirectoryUnavailable:
            await self._unavailable(send, scope, "directory", endpoint_id=endpoint_id)
            return "unavailable_directory"
        if state is None or not state.enabled:
            # One answer for unknown and disabled: it tells a prober nothing.
            self._reject(scope, None, None, "unknown_endpoint")
            await _answer(send, 404, {"error": "unknown_endpoint"})
            return "rejected_unknown_endpoint"

        declared, header = _headers(scope)
        try:
            body = await self._read_body(declared, receive)
        except _BodyTooLarge:
            self._reject(scope, state, endpoint_id, "body_too_large")
            await _answer(
                send, 413, {"error": "body_too_large", "max_bytes": self._limits.max_body}
            )
            return "rejected_body_too_large"
        except TimeoutError:
            self._reject(scope, state, endpoint_id, "body_timeout")
            await _answer(send, 408, {"error": "body_timeout"})
            return "rejected_body_timeout"
        except _ClientGone:
            return "client_disconnected"

        signature = header.decode("latin-1") if header is not None else None
        failure = self._check(signature, body, state)
        if failure in (SignatureFailure.NO_MATCH, SignatureFailure.NO_ACTIVE_SECRET):
            # Maybe a secret was added since the entry was cached: look again (rate-limited).
            fresh = await self._directory.refresh_now(endpoint_id)
            if fresh is not None and fresh.enabled and fresh is not state:
                state, failure = fresh, self._check(signature, body, fresh)
        if failure is not None:
            self._reject(scope, state, endpoint_id, failure.value)
            await _answer(send, 400, {"error": failure.value})
            return f"rejected_{failure.value}"

        try:
            envelope = parse_envelope(body)
        except EnvelopeError as exc:
            self._reject(scope, state, endpoint_id, exc.failure.value)
            await _answer(send, 400, {"error": exc.failure.value})
            return f"rejected_{exc.failure.value}"

        # The message carries the verified raw body, exactly as Stripe sent it.
        item = delivery_item(
            endpoint_id, state.workspace_id, envelope, body, int(self._clock() * 1000)
        )
        try:
            result = await self._enqueuer.submit(item)
        except EnqueueUnavailable:
            await self._unavailable(
                send, scope, "queue", endpoint_id=endpoint_id,
                workspace_id=state.workspace_id, event_id=envelope.id,
            )  # fmt: skip
            return "unavailable_queue"
        await _answer(send, 200, {"received": True, "id": envelope.id, "status": result.value})
        return result.value

    def _check(
        self, signature: str | None, body: bytes, state: EndpointState
    ) -> SignatureFailure | None:
        now = self._clock()
        try:
            verify(
                signature,
                body,
                state.active_secrets(now),
                now=now,
                tolerance=self._limits.tolerance,
            )
        except SignatureError as exc:
            return exc.failure
        return None

    async def _read_body(self, declared: bytes | None, receive: Receive) -> bytes:
        if declared is not None:
            try:
                if int(declared) > self._limits.max_body:
                    raise _BodyTooLarge
            except ValueError:
                pass  # the server rejects malformed lengths; the running count below still caps
        chunks: list[bytes] = []
        size = 0
        # asyncio's own timeout costs less than half of anyio.fail_after, on every request.
        async with asyncio.timeout(self._limits.body_timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise _ClientGone
                chunk: bytes = message.get("body", b"")
                size += len(chunk)
                if size > self._limits.max_body:
                    raise _BodyTooLarge
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        return b"".join(chunks)


__all__ = ["EnqueueOutcome", "WebhookHandler", "WebhookLimits"]
