"""A local stand-in for the Stripe API calls the service makes: GET /v1/invoice_payments (the
workers' refund lookups) and GET /v1/events (`traaaction reconcile`)."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

#: Stripe's encodings of a list parameter: types[]=a&types[]=b, or types[0]=a&types[1]=b
_TYPES = re.compile(r"^types\[\d*\]$")


@dataclass
class StandIn:
    base: str
    #: payment intent -> invoice id
    invoices: dict[str, str] = field(default_factory=dict)
    #: the Authorization header and query of every request seen
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    status: int = 200
    #: the events GET /v1/events lists (any order given; listed newest first, as Stripe does)
    events: list[dict[str, Any]] = field(default_factory=list)
    #: the path of every request seen, in the order of `requests`
    paths: list[str] = field(default_factory=list)
    #: statuses for the next requests, one each, before `status` applies (200: answer normally)
    failures: list[int] = field(default_factory=list)
    #: the Stripe-Account header of every request seen (None: not sent), in the same order
    accounts: list[str | None] = field(default_factory=list)


def _error(status: int, message: str = "stand-in") -> dict[str, Any]:
    kind = "invalid_request_error" if status in (400, 404, 429) else "api_error"
    return {"error": {"type": kind, "message": message}}


def events_page(events: list[dict[str, Any]], query: dict[str, list[str]]) -> tuple[int, object]:
    """GET /v1/events: types[], created[gte], limit (default 10, at most 100), starting_after,
    newest first, with has_more."""
    types = {value for key, values in query.items() if _TYPES.match(key) for value in values}
    gte = int(query["created[gte]"][0]) if "created[gte]" in query else None
    limit = max(1, min(100, int(query.get("limit", ["10"])[0])))
    matching = [
        e
        for e in sorted(events, key=lambda e: e["created"], reverse=True)
        if (not types or e["type"] in types) and (gte is None or e["created"] >= gte)
    ]
    if "starting_after" in query:
        after = query["starting_after"][0]
        ids = [e["id"] for e in matching]
        if after not in ids:
            return 400, _error(400, f"No such event: '{after}'")
        matching = matching[ids.index(after) + 1 :]
    body = {
        "object": "list",
        "data": matching[:limit],
        "has_more": len(matching) > limit,
        "url": "/v1/events",
    }
    return 200, body


@contextmanager
def stripe_standin() -> Iterator[StandIn]:
    state = StandIn(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.requests.append((self.headers.get("Authorization", ""), query))
            state.paths.append(url.path)
            state.accounts.append(self.headers.get("Stripe-Account"))
            if state.failures and (status := state.failures.pop(0)) != 200:
                self._reply(status, _error(status))
                return
            if url.path == "/v1/events" and state.status == 200:
                self._reply(*events_page(state.events, query))
                return
            if url.path != "/v1/invoice_payments" or state.status != 200:
                self._reply(
                    state.status if state.status != 200 else 404,
                    {"error": {"type": "api_error", "message": "stand-in"}},
                )
                return
            intent = (query.get("payment[payment_intent]") or [""])[0]
            invoice = state.invoices.get(intent)
            data = (
                [
                    {
                        "id": "inpay_1",
                        "object": "invoice_payment",
                        "invoice": invoice,
                        "payment": {"type": "payment_intent", "payment_intent": intent},
                    }
                ]
                if invoice
                else []
            )
            self._reply(
                200,
                {"object": "list", "data": data, "has_more": False, "url": "/v1/invoice_payments"},
            )

        def _reply(self, status: int, body: object) -> None:
            raw = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        def log_message(self, *_args: object) -> None:  # keep test output clean
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
