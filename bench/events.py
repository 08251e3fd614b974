"""Distinct, freshly signed Stripe `checkout.session.completed` deliveries, for the benchmarks.

The bodies are traaaction.stripe_payloads' (a full snapshot event, API version
2025-03-31.basil, pretty-printed as Stripe sends it, about 3.7 KB). What this module adds is
what a benchmark needs on top: variety (buyers, cities, prices, taxes) from a seeded random
generator, ids distinct by construction (a per-file tag and a counter, so within a file and
across the files of one run), the request exactly as it goes on the wire, and files of
records `<8 decimal digits: length><request bytes>` that bench/wrk_events.lua walks once.
"""

from __future__ import annotations

import base64
import os
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import orjson

from traaaction import stripe_payloads as sp

API_VERSION = sp.BASIL
EVENT_TYPE = sp.CHECKOUT_COMPLETED
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
#: where the shop charges VAT (19 %, for simplicity)
_VAT_COUNTRIES = {"DE", "FR", "NL", "ES", "GB"}


@dataclass(frozen=True, slots=True)
class _Sale:
    """One buyer and what they pay."""

    buyer: sp.Buyer
    amount: int
    tax: int
    currency: str


def _token(rng_bytes: Callable[[int], bytes], n: int) -> str:
    """`n` random alphanumerics: far quicker than secrets.choice per character, which matters
    for the hundred thousand events of a run."""
    return base64.b64encode(rng_bytes(n * 3 // 4 + 3)).translate(_ALNUM)[:n].decode()


def _base62(value: int, width: int) -> str:
    out = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        out.append(_BASE62[digit])
    return "".join(reversed(out))


def _sale(rng: random.Random) -> _Sale:
    city, country, postal, state = rng.choice(_CITIES)
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    address = sp.Address(country, postal, city, f"{rng.randint(1, 250)} Market Street", None, state)
    email = f"{first.lower()}.{last.lower()}{rng.randint(1, 9999)}@example.com"
    subtotal = rng.choice(_PRICES)
    tax = subtotal * 19 // 100 if country in _VAT_COUNTRIES else 0
    currency = "usd" if country in {"US", "CA"} else "eur"
    return _Sale(sp.Buyer(f"{first} {last}", email, address), subtotal + tax, tax, currency)


def _encode(built: sp.BuiltEvent) -> bytes:
    """The bytes of BuiltEvent.encode() (pretty-printed, two spaces), written by orjson: the
    same for these ASCII bodies, and many times quicker than json's indenting encoder."""
    return orjson.dumps(built.body, option=orjson.OPT_INDENT_2)


def event_body(tag: str, counter: int, now: int, rng: random.Random) -> tuple[str, bytes]:
    """A subscription's first payment (its id and its JSON body). `tag` + `counter` make the
    id unique. The click is in the shop's own metadata keys, not in tracClickId: the ingress
    benchmark measures the ingress, not attribution."""
    rand = rng.randbytes
    event_id = f"evt_1{tag}{_base62(counter, 6)}{_token(rand, 12)}"
    sale = _sale(rng)
    created = now - rng.randint(1, 5)
    built = sp.checkout_session_completed(
        mode="subscription",
        amount=sale.amount,
        tax=sale.tax,
        currency=sale.currency,
        metadata={
            "traaaction_click_id": "clk_" + _token(rand, 26),
            "traaaction_partner": "prt_" + _token(rand, 20),
            "plan": "pro_monthly",
        },
        client_reference_id="usr_" + _token(rand, 16),
        customer="cus_" + _token(rand, 14),
        subscription="sub_1" + _token(rand, 23),
        invoice="in_1" + _token(rand, 23),
        session_id="cs_test_" + _token(rand, 58),
        event_id=event_id,
        created=now,
        opened_at=created - rng.randint(30, 900),
        buyer=sale.buyer,
        api_version=API_VERSION,
    )
    return event_id, _encode(built)


def payment_body(
    tag: str, counter: int, now: int, rng: random.Random, *, click_id: str
) -> tuple[str, str, bytes]:
    """A one-off payment's event (its id, its checkout session id and its JSON body), with
    `click_id` in metadata.tracClickId. `tag` + `counter` make the ids unique."""
    rand = rng.randbytes
    suffix = _base62(counter, 6)
    event_id = f"evt_1{tag}{suffix}{_token(rand, 12)}"
    session_id = f"cs_test_a1{tag}{suffix}{_token(rand, 50)}"
    sale = _sale(rng)
    created = now - rng.randint(1, 5)
    built = sp.checkout_session_completed(
        mode="payment",
        amount=sale.amount,
        tax=sale.tax,
        currency=sale.currency,
        click_id=click_id,
        metadata={"order": f"ord_{rng.randint(100000, 999999)}"},
        client_reference_id="usr_" + _token(rand, 16),
        customer="cus_" + _token(rand, 14),
        payment_intent=f"pi_3{tag}{suffix}{_token(rand, 15)}",
        session_id=session_id,
        event_id=event_id,
        created=now,
        opened_at=created - rng.randint(30, 900),
        buyer=sale.buyer,
        api_version=API_VERSION,
    )
    return event_id, session_id, _encode(built)


def http_request(host: str, path: str, secret: str, body: bytes, timestamp: int) -> bytes:
    """The request exactly as it goes on the wire, headers as Stripe sends them."""
    headers = "".join(
        f"{name}: {value}\r\n" for name, value in sp.stripe_headers(secret, body, timestamp)
    )
    return f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n".encode() + body


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
