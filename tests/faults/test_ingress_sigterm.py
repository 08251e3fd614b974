"""Fault 4: SIGTERM to the ingress under load: in-flight requests finish; nothing accepted is
lost.

A Stripe-like sender keeps 32 connections busy with distinct events. A third of the way in,
the test opens 16 more deliveries that are provably in flight: their headers and half their
body are sent, and the server is reading the rest. Then it sends SIGTERM to the web process
(`traaaction serve`, which execs into uvicorn: same pid). uvicorn stops accepting, lets the
requests in progress finish (up to 25 s, traaaction/web.py) and closes idle keep-alive
connections. A second later the test sends the rest of the 16 bodies: each must be answered
200 `queued`. The sender retries whatever got no answer (refused, or a keep-alive connection
closed under it) against a new ingress started on the same port once the old one is gone, as
a rolling restart does. At the end, every event has exactly one commission.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable

import pytest

from ingress.signature import sign
from tests.faults.conftest import Stack
from tests.faults.harness import (
    Endpoint,
    Event,
    StripeLike,
    answers,
    assert_exactly_once,
    attempts_of,
    checkout_events,
    deliveries,
    read_ledger,
    wait_processed,
    wait_until,
)
from traaaction.web import GRACEFUL_SHUTDOWN

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EVENTS = 3000
SLOW = 16


class SlowDelivery:
    """A delivery whose body arrives in two halves, with a pause between them."""

    def __init__(self, port: int, endpoint: Endpoint, event: Event) -> None:
        self.event = event
        body = event.body
        self.half = len(body) // 2
        head = (
            f"POST {endpoint.path} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\n"
            "Content-Type: application/json; charset=utf-8\r\n"
            f"Content-Length: {len(body)}\r\n"
            f"Stripe-Signature: {sign(endpoint.secret, body, int(time.time()))}\r\n"
            "\r\n"
        ).encode()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.sock.sendall(head + body[: self.half])

    def finish(self) -> tuple[int, str]:
        """Send the rest of the body; (status, the answer's status field)."""
        try:
            self.sock.sendall(self.event.body[self.half :])
            response = http.client.HTTPResponse(self.sock)
            response.begin()
            data = response.read()
        finally:
            self.sock.close()
        answer = json.loads(data).get("status", "") if response.status == 200 else ""
        return response.status, str(answer)


def test_sigterm_to_the_ingress_under_load_finishes_in_flight_requests_and_loses_nothing(
    make_stack: Callable[..., Stack], database_url: str
) -> None:
    stack = make_stack(database_url)
    shop, client = stack.shop, stack.redis
    old = stack.processes.ingress(stack.port)
    stack.workers("workers")

    events = checkout_events(shop, EVENTS + SLOW)
    items = deliveries(events[:EVENTS], shop.endpoint)
    sender = StripeLike(stack.port, connections=32, retry=True, retry_delay=0.1)
    sending = sender.start(items)
    wait_until(lambda: sender.finished >= EVENTS // 3, 60, "a third of the load", None, 0.01)

    slow = [SlowDelivery(stack.port, shop.endpoint, event) for event in events[EVENTS:]]
    time.sleep(0.5)  # the server has their headers and half their bodies
    accepted_before = sum(1 for d in items if d.accepted)
    sigterm_at = time.monotonic()
    os.kill(old.pid, signal.SIGTERM)
    time.sleep(1.0)
    slow_answers = [delivery.finish() for delivery in slow]
    slow_done = time.monotonic() - sigterm_at

    code = old.wait(timeout=GRACEFUL_SHUTDOWN + 10)
    exited_after = time.monotonic() - sigterm_at
    new = stack.processes.ingress(stack.port)
    restarted_after = time.monotonic() - sigterm_at
    sender.join(sending)
    drained = wait_processed(shop, client, EVENTS + SLOW, 120, stack.processes)

    # The requests in progress at SIGTERM were answered, and their events queued.
    assert slow_answers == [(200, "queued")] * SLOW
    # uvicorn exits by re-raising the SIGTERM it handled once the shutdown is done.
    assert code in (0, -signal.SIGTERM), stack.processes.tails()
    assert exited_after < GRACEFUL_SHUTDOWN
    assert new.poll() is None
    # Every delivery got its 200 in the end; a retry of one whose first try was queued before
    # its connection went is a duplicate.
    assert all(d.accepted for d in items), answers(items)
    final = Counter(d.final.answer for d in items if d.final is not None)
    assert final["queued"] + final["duplicate"] == EVENTS

    # The sender's requests on the wire at SIGTERM: answered, or retried.
    in_flight = [a for a in attempts_of(items) if a.started < sigterm_at < a.ended]
    in_flight_answers = Counter(
        f"{a.status} {a.answer}" if a.status is not None else f"error {a.error}" for a in in_flight
    )
    ledger = read_ledger(shop.database_url, shop.workspace_id)
    assert_exactly_once(ledger, events, also_allowed=frozenset({"duplicate"}))
    assert ledger.rows("duplicate") == final["duplicate"]
    print(
        f"\nSIGTERM to the ingress after {accepted_before} of {EVENTS} events accepted:"
        f" {SLOW} half-sent requests all answered 200 queued {slow_done:.1f} s after SIGTERM;"
        f" {len(in_flight)} more requests on the wire at SIGTERM: {dict(in_flight_answers)};"
        f" old ingress exited {exited_after:.1f} s after SIGTERM (status {code}); new one ready"
        f" {restarted_after:.1f} s after SIGTERM; all attempts {dict(answers(items))};"
        f" final answers {dict(final)}; all {EVENTS + SLOW} processed (drain wait"
        f" {drained:.1f} s); commissions {sum(ledger.commissions.values())}"
    )
