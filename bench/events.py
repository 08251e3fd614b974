"""Realistic, distinct, freshly signed Stripe `checkout.session.completed` deliveries.

Each delivery is written as one complete HTTP/1.1 request (headers as Stripe sends them, the
`Stripe-Signature` computed with `ingress.signature.sign`) into a file of records
`<8 decimal digits: length><request bytes>` that bench/wrk_events.lua walks once, in order.

The body is a full snapshot event shaped like the one Stripe sends for a completed Checkout
Session (API version 2025-03-31.basil), about 3.3 KB. Every identifier, amount, customer and
timestamp varies per event; event ids carry a per-file tag and a counter, so they are distinct
by construction (within a file and across files of one run).
"""

from __future__ import annotations

import base64
import os
import random
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ingress.signature import sign

API_VERSION = "2025-03-31.basil"
EVENT_TYPE = "checkout.session.completed"
#: the fields the generator fills in, each a placeholder in the serialized template
_PLACEHOLDER = re.compile(rb'"@@([a-z_]+)@@"')
_ALNUM = bytes.maketrans(b"+/", b"Xq")
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

_CITIES = [
    ("Berlin", "DE", "10115", None),
    ("Paris", "FR", "75011", None),
    ("Amsterdam", "NL", "1012 AB", None),
    ("Austin", "US", "78701", "TX"),
    ("Brooklyn", "US", "11201", "NY"),
    ("Toronto", "CA", "M5V 2T6", "ON"),
    ("Madrid", "ES", "28004", None),
    ("London", "GB", "EC1V 9HX", None),
]
_FIRST = ["Alice", "Bruno", "Chloe", "Dmitri", "Emma", "Farid", "Greta", "Hiro", "Ines", "Jonas"]
_LAST = ["Martin", "Schmidt", "Rossi", "Nguyen", "Garcia", "Smith", "Kowalski", "Dubois"]
_PRICES = [1900, 2900, 4900, 9900, 14900, 29900]


def _template() -> dict[str, Any]:
    """A checkout.session.completed event as Stripe delivers it, with placeholders."""

    def p(name: str) -> str:
        return f"@@{name}@@"

    address = {
        "city": p("city"),
        "country": p("country"),
        "line1": p("line1"),
        "line2": None,
        "postal_code": p("postal_code"),
        "state": p("state"),
    }
    session: dict[str, Any] = {
        "id": p("session_id"),
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": True},
        "after_expiration": None,
        "allow_promotion_codes": True,
        "amount_subtotal": p("amount_subtotal"),
        "amount_total": p("amount_total"),
        "automatic_tax": {
            "enabled": True,
            "liability": {"type": "self"},
            "provider": "stripe",
            "status": "complete",
        },
        "billing_address_collection": "required",
        "cancel_url": "https://shop.example.com/pricing?canceled=1",
        "client_reference_id": p("client_reference_id"),
        "client_secret": None,
        "collected_information": {"shipping_details": None},
        "consent": None,
        "consent_collection": None,
        "created": p("session_created"),
        "currency": p("currency"),
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": p("customer"),
        "customer_creation": "always",
        "customer_details": {
            "address": address,
            "email": p("email"),
            "name": p("name"),
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "discounts": [],
        "expires_at": p("expires_at"),
        "invoice": p("invoice"),
        "invoice_creation": None,
        "livemode": False,
        "locale": "auto",
        "metadata": {
            "traaaction_click_id": p("click_id"),
            "traaaction_partner": p("partner"),
            "plan": "pro_monthly",
        },
        "mode": "subscription",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "always",
        "payment_method_configuration_details": {
            "id": "pmc_1PqWZkLqX7sT3mJ4xYd2eB9F",
            "parent": None,
        },
        "payment_method_options": {"card": {"request_three_d_secure": "automatic"}},
        "payment_method_types": ["card", "link", "sepa_debit"],
        "payment_status": "paid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "presentment_details": {
            "presentment_amount": p("amount_total"),
            "presentment_currency": p("currency"),
        },
        "recovered_from": None,
        "saved_payment_method_options": {
            "allow_redisplay_filters": ["always"],
            "payment_method_remove": "disabled",
            "payment_method_save": None,
        },
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "complete",
        "submit_type": None,
        "subscription": p("subscription"),
        "success_url": "https://shop.example.com/welcome?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {
            "amount_discount": 0,
            "amount_shipping": 0,
            "amount_tax": p("amount_tax"),
        },
        "ui_mode": "hosted",
        "url": None,
        "wallet_options": None,
    }
    return {
        "id": p("event_id"),
        "object": "event",
        "api_version": API_VERSION,
        "created": p("created"),
        "data": {"object": session},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": EVENT_TYPE,
    }


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A serialized template: literal JSON pieces interleaved with placeholder names."""

    literals: list[bytes]
    fields: list[str]

    @classmethod
    def of(cls, template: dict[str, Any]) -> _Compiled:
        # indented as Stripe sends it (two spaces), which is part of the realistic size
        parts = _PLACEHOLDER.split(orjson.dumps(template, option=orjson.OPT_INDENT_2))
        return cls(parts[0::2], [name.decode() for name in parts[1::2]])

    def render(self, values: dict[str, bytes]) -> bytes:
        chunks = [self.literals[0]]
        for name, literal in zip(self.fields, self.literals[1:], strict=True):
            chunks.append(values[name])
            chunks.append(literal)
        return b"".join(chunks)


def _payment_template() -> dict[str, Any]:
    """The same event for a one-off payment (mode "payment"), its click in tracClickId."""
    event = _template()
    session = event["data"]["object"]
    session.update(
        mode="payment",
        customer_creation="if_required",
        invoice=None,
        invoice_creation={"enabled": False, "invoice_data": None},
        payment_intent="@@payment_intent@@",
        payment_method_collection="if_required",
        subscription=None,
        metadata={"tracClickId": "@@click_id@@", "order": "@@order@@"},
    )
    return event


_SUBSCRIPTION = _Compiled.of(_template())
_PAYMENT = _Compiled.of(_payment_template())


def _token(rng_bytes: Callable[[int], bytes], n: int) -> str:
    return base64.b64encode(rng_bytes(n * 3 // 4 + 3)).translate(_ALNUM)[:n].decode()


def _base62(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(_BASE62[digit])
    return "".join(reversed(out))


def _quoted(value: str) -> bytes:
    return b'"' + value.encode() + b'"'


def event_body(tag: str, counter: int, now: int, rng: random.Random) -> tuple[str, bytes]:
    """One event (its id and its JSON body). `tag` + `counter` make the id unique."""
    rand = rng.randbytes
    event_id = f"evt_1{tag}{_base62(counter, 6)}{_token(rand, 12)}"
    city, country, postal, state = rng.choice(_CITIES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    subtotal = rng.choice(_PRICES)
    tax = subtotal * 19 // 100 if country in {"DE", "FR", "NL", "ES", "GB"} else 0
    currency = "usd" if country in {"US", "CA"} else "eur"
    created = now - rng.randint(1, 5)
    values: dict[str, bytes] = {
        "event_id": _quoted(event_id),
        "created": str(now).encode(),
        "session_id": _quoted("cs_test_" + _token(rand, 58)),
        "amount_subtotal": str(subtotal).encode(),
        "amount_total": str(subtotal + tax).encode(),
        "amount_tax": str(tax).encode(),
        "client_reference_id": _quoted("usr_" + _token(rand, 16)),
        "session_created": str(created - rng.randint(30, 900)).encode(),
        "currency": _quoted(currency),
        "customer": _quoted("cus_" + _token(rand, 14)),
        "city": _quoted(city),
        "country": _quoted(country),
        "line1": _quoted(f"{rng.randint(1, 250)} Market Street"),
        "postal_code": _quoted(postal),
        "state": _quoted(state) if state else b"null",
        "email": _quoted(f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@example.com"),
        "name": _quoted(f"{first} {last}"),
        "expires_at": str(created + 86400).encode(),
        "invoice": _quoted("in_1" + _token(rand, 23)),
        "click_id": _quoted("clk_" + _token(rand, 26)),
        "partner": _quoted("prt_" + _token(rand, 20)),
        "subscription": _quoted("sub_1" + _token(rand, 23)),
    }
    return event_id, _SUBSCRIPTION.render(values)


def payment_body(
    tag: str, counter: int, now: int, rng: random.Random, *, click_id: str
) -> tuple[str, str, bytes]:
    """A one-off payment's event (its id, its checkout session id and its JSON body), with
    `click_id` in metadata.tracClickId. `tag` + `counter` make the ids unique."""
    rand = rng.randbytes
    suffix = _base62(counter, 6)
    event_id = f"evt_1{tag}{suffix}{_token(rand, 12)}"
    session_id = f"cs_test_a1{tag}{suffix}{_token(rand, 50)}"
    city, country, postal, state = rng.choice(_CITIES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    subtotal = rng.choice(_PRICES)
    tax = subtotal * 19 // 100 if country in {"DE", "FR", "NL", "ES", "GB"} else 0
    currency = "usd" if country in {"US", "CA"} else "eur"
    created = now - rng.randint(1, 5)
    values: dict[str, bytes] = {
        "event_id": _quoted(event_id),
        "created": str(now).encode(),
        "session_id": _quoted(session_id),
        "amount_subtotal": str(subtotal).encode(),
        "amount_total": str(subtotal + tax).encode(),
        "amount_tax": str(tax).encode(),
        "client_reference_id": _quoted("usr_" + _token(rand, 16)),
        "session_created": str(created - rng.randint(30, 900)).encode(),
        "currency": _quoted(currency),
        "customer": _quoted("cus_" + _token(rand, 14)),
        "city": _quoted(city),
        "country": _quoted(country),
        "line1": _quoted(f"{rng.randint(1, 250)} Market Street"),
        "postal_code": _quoted(postal),
        "state": _quoted(state) if state else b"null",
        "email": _quoted(f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@example.com"),
        "name": _quoted(f"{first} {last}"),
        "expires_at": str(created + 86400).encode(),
        "payment_intent": _quoted(f"pi_3{tag}{suffix}{_token(rand, 15)}"),
        "click_id": _quoted(click_id),
        "order": _quoted(f"ord_{rng.randint(100000, 999999)}"),
    }
    return event_id, session_id, _PAYMENT.render(values)


def http_request(host: str, path: str, secret: str, body: bytes, timestamp: int) -> bytes:
    """The request exactly as it goes on the wire, headers as Stripe sends them."""
    head = (
        f"POST {path} HTTP/1.1\r\n"
        f"Host: {host}\r\n"
        "User-Agent: Stripe/1.0 (+https://stripe.com/docs/webhooks)\r\n"
        "Accept: */*; q=0.5, application/xml\r\n"
        "Cache-Control: no-cache\r\n"
        "Content-Type: application/json; charset=utf-8\r\n"
        f"Stripe-Signature: {sign(secret, body, timestamp)}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "\r\n"
    )
    return head.encode() + body


@dataclass(frozen=True, slots=True)
class EventFile:
    path: Path
    count: int
    event_ids: frozenset[str]
    mean_body_bytes: float


def write_events(path: Path, *, count: int, host: str, url_path: str, secret: str) -> EventFile:
    """Write `count` distinct deliveries signed now (valid for the signature tolerance)."""
    tag = _base62(int.from_bytes(os.urandom(5)), 6)
    rng = random.Random(uuid.uuid4().int)  # noqa: S311 - realistic variety, not secrecy
    ids: list[str] = []
    body_bytes = 0
    now = int(time.time())
    with path.open("wb", buffering=1024 * 1024) as out:
        for counter in range(count):
            event_id, body = event_body(tag, counter, now, rng)
            request = http_request(host, url_path, secret, body, now)
            out.write(b"%08d" % len(request))
            out.write(request)
            ids.append(event_id)
            body_bytes += len(body)
    event_ids = frozenset(ids)
    if len(event_ids) != count:
        raise AssertionError("generated event ids are not distinct")
    return EventFile(path, count, event_ids, body_bytes / count if count else 0.0)
