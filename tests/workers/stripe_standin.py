"""A local stand-in for the one Stripe API call the workers make (GET /v1/invoice_payments)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse


@dataclass
class StandIn:
    base: str
    #: payment intent -> invoice id
    invoices: dict[str, str] = field(default_factory=dict)
    #: the Authorization header and query of every request seen
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)
    status: int = 200


@contextmanager
def stripe_standin() -> Iterator[StandIn]:
    state = StandIn(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            state.requests.append((self.headers.get("Authorization", ""), query))
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
