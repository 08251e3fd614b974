"""Hostile deliveries through the real ingress app (PostgreSQL, Redis), signed where it matters.

The ingress never answers 5xx for a client's fault, and nothing of a refused body is queued,
remembered as seen, or logged as an event. Bodies that pass (whatever odd characters or
numbers they hold) are queued byte for byte: the workers judge them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import redis
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.hostile.fuzz import HTTP_EXAMPLES, dumps, fuzz, nasty_json, nasty_scalars
from tests.ingress.conftest import (
    Endpoint,
    log_records,
    queued_messages,
    signed,
    stream_entries,
)
from workers.contract import ROUTES, queue_key

CAP = 1024 * 1024


def event(event_id: str = "evt_hostile_1", **fields: Any) -> dict[str, Any]:
    """A snapshot checkout event; `fields` replace or add envelope fields."""
    envelope: dict[str, Any] = {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "livemode": False,
        "api_version": "2025-03-31.basil",
        "created": int(time.time()),
        "data": {"object": {"id": "cs_test_1", "object": "checkout.session", "metadata": {}}},
    }
    return {**envelope, **fields}


def deliver(client: TestClient, ep: Endpoint, body: bytes) -> tuple[int, dict[str, Any]]:
    response = client.post(ep.path, content=body, headers=signed(body, ep.secret))
    assert response.status_code < 500, response.text
    return response.status_code, response.json()


def queued_total(client: redis.Redis) -> int:
    return sum(int(client.llen(queue_key(r.queue_name))) for r in ROUTES.values())


def assert_nothing_kept(client: redis.Redis) -> None:
    """Nothing queued, nothing remembered as seen, no duplicate/ignored record."""
    assert queued_messages(client) == []
    assert client.keys("traaaction:seen:*") == []
    assert [o for o, _ in stream_entries(client) if o != "rejected"] == []


# --- depth, size, numbers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="array-100000-deep"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="object-100000-deep"),
        pytest.param(
            orjson.dumps(event())[:-1] + b',"x":' + b"[" * 1025 + b"]" * 1025 + b"}",
            id="event-with-a-1025-deep-field",
        ),
    ],
)
def test_signed_json_nested_too_deep_is_refused_as_invalid_json(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis, body: bytes
) -> None:
    assert deliver(client, ep, body) == (400, {"error": "invalid_json"})
    assert_nothing_kept(redis_client)


@pytest.mark.parametrize(
    ("created", "error"),
    [
        (b"1" + b"0" * 30, "missing_or_invalid_created"),
        (b"18446744073709551616", "missing_or_invalid_created"),  # 2**64: beyond orjson's ints
        (b"1e400", "invalid_json"),
        (b"9" * 5000, "invalid_json"),
        (b"-1", "missing_or_invalid_created"),
        (b"1700000000.0", "missing_or_invalid_created"),
        (b'"1700000000"', "missing_or_invalid_created"),
        (b"true", "missing_or_invalid_created"),
        (b"null", "missing_or_invalid_created"),
    ],
)
def test_a_huge_or_mistyped_created_is_refused_by_name(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis, created: bytes, error: str
) -> None:
    body = orjson.dumps(event()).replace(b'"created":', b'"created":' + created + b',"_":', 1)
    assert deliver(client, ep, body) == (400, {"error": error})
    assert_nothing_kept(redis_client)


def test_huge_and_mistyped_amounts_are_queued_verbatim_for_the_workers_to_judge(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis
) -> None:
    """The ingress reads the envelope only: an amount is the workers' business (they dead-letter
    it, tests/hostile/test_workers.py). The body is never re-serialised, so no digit is lost."""
    amounts = [b"1" + b"0" * 30, b"-5", b"1.5", b'"100"', b"true", b"[]", b"123456789012345678901"]
    for number, amount in enumerate(amounts):
        body = orjson.dumps(event(f"evt_amount_{number}")).replace(
            b'"object":"checkout.session"', b'"object":"checkout.session","amount_total":' + amount
        )
        assert deliver(client, ep, body)[0] == 200
    bodies = [m["kwargs"]["body"].encode() for m in queued_messages(redis_client)]
    assert len(bodies) == len(amounts)
    for amount in amounts:
        assert any(b'"amount_total":' + amount + b"," in b for b in bodies), amount


def test_a_body_at_the_cap_is_accepted_and_one_byte_more_is_refused_413(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis
) -> None:
    raw = orjson.dumps(event("evt_at_cap"))
    at_cap = raw + b" " * (CAP - len(raw))  # whitespace after the object is still JSON
    assert len(at_cap) == CAP
    assert deliver(client, ep, at_cap)[0] == 200
    over = at_cap + b" "
    status, answer = deliver(client, ep, over)
    assert (status, answer["error"]) == (413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for start in range(0, len(over), 65_536):
            yield over[start : start + 65_536]

    streamed = client.post(ep.path, content=chunks(), headers=signed(over, ep.secret))
    assert streamed.status_code == 413
    assert len(queued_messages(redis_client)) == 1  # the one at the cap


# --- characters ---------------------------------------------------------------------------------

ODD_TEXT = [
    "\x00",
    "\x07\x1b[31mred\x1b[0m",
    "line\r\nInjected: header",
    "\u202eevil\u202c",
    "zero\u200bwidth",
    "\u2028\u2029",
    "\U0001f600" * 50,
    "é" * 2000,
    "\ufeff",
    "\uffff",
    "\\",
    '"',
    "<script>alert(1)</script>",
]


def test_unicode_and_control_characters_in_metadata_are_queued_byte_for_byte(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis
) -> None:
    metadata = {f"k{n}": text for n, text in enumerate(ODD_TEXT)}
    metadata["tracClickId"] = "clk_\x00\u202e"
    escaped = dumps(event("evt_meta_escaped", data={"object": {"metadata": metadata}}))
    raw_utf8 = orjson.dumps(event("evt_meta_raw", data={"object": {"metadata": metadata}}))
    assert b"\\u0000" in escaped
    assert "é".encode() in raw_utf8
    for body in (escaped, raw_utf8):
        assert deliver(client, ep, body)[0] == 200
    queued = {m["kwargs"]["event_id"]: m["kwargs"]["body"] for m in queued_messages(redis_client)}
    assert queued == {"evt_meta_escaped": escaped.decode(), "evt_meta_raw": raw_utf8.decode()}


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("id", "evt_\x00", "missing_or_invalid_id"),
        ("id", "evt_1\n", "missing_or_invalid_id"),
        ("id", "evt_\u202e1", "missing_or_invalid_id"),
        ("id", "e" * 256, "missing_or_invalid_id"),
        ("type", "checkout.session.completed\x00", "missing_or_invalid_type"),
        ("type", "customer.created\x00", "missing_or_invalid_type"),
        ("api_version", "2025-03-31.basil\x00", "invalid_api_version"),
    ],
)
def test_a_nul_or_control_character_in_the_id_type_or_api_version_is_refused(
    client: TestClient,
    ep: Endpoint,
    redis_client: redis.Redis,
    field: str,
    value: str,
    error: str,
) -> None:
    """Found by this suite: a NUL in the event id or type used to be queued (or logged as
    ignored), and PostgreSQL cannot store a NUL, so the log writer failed on that entry at
    every attempt and every event-log row and dead letter behind it waited forever."""
    assert deliver(client, ep, dumps(event(**{field: value}))) == (400, {"error": error})
    assert_nothing_kept(redis_client)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(orjson.dumps(event())[:-2] + b'\xff"}', id="invalid-byte"),
        pytest.param(
            orjson.dumps(event()).replace(b"evt_hostile_1", b"evt_\xc0\xaf"), id="overlong"
        ),
        pytest.param(
            orjson.dumps(event()).replace(b"evt_hostile_1", b"evt_\xed\xa0\x80"), id="cesu"
        ),
        pytest.param(dumps(event(event_id="evt_\ud800")), id="lone-surrogate-escape"),
        pytest.param(b"\xef\xbb\xbf" + orjson.dumps(event()), id="utf8-bom"),
        pytest.param(orjson.dumps(event()).decode().encode("utf-16"), id="utf16"),
        pytest.param(orjson.dumps(event()).decode().encode("utf-32"), id="utf32"),
    ],
)
def test_a_signed_body_that_is_not_utf8_json_is_refused_as_invalid_json(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis, body: bytes
) -> None:
    assert deliver(client, ep, body) == (400, {"error": "invalid_json"})
    assert_nothing_kept(redis_client)


# --- kinds of event -----------------------------------------------------------------------------

#: a thin event as Stripe documents them (event destinations, API v2)
THIN_EVENT = {
    "id": "evt_test_65R9Ijk8cZVJ5EFSgKxJ7pN6HftF7T9rHHxK0DkIGOM9VCQA",
    "object": "v2.core.event",
    "type": "v1.billing.meter.error_report_triggered",
    "livemode": False,
    "created": "2024-09-17T06:20:52.246Z",
    "related_object": {
        "id": "mtr_test_61R9IjkkjGIOWpYrA41JxB6DqtxiGMXk",
        "type": "billing.meter",
        "url": "/v1/billing/meters/mtr_test_61R9IjkkjGIOWpYrA41JxB6DqtxiGMXk",
    },
}


def test_a_thin_event_is_refused_by_name(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis
) -> None:
    assert deliver(client, ep, orjson.dumps(THIN_EVENT)) == (400, {"error": "thin_event"})
    # Whatever else a thin event carries, its `object` decides.
    odd = {**event(), "object": "v2.core.event"}
    assert deliver(client, ep, orjson.dumps(odd)) == (400, {"error": "thin_event"})
    assert_nothing_kept(redis_client)


@pytest.mark.parametrize("account", ["acct_1Nv0FGQ9RKHgCVdK", None])
def test_a_connect_event_is_queued_for_the_endpoint_s_workspace_whatever_its_account(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis, account: object
) -> None:
    """What the ingress does with Connect (stripe-webhooks.md: `account` is set on events of
    connected accounts): it does not require `account`. An endpoint belongs to one workspace,
    and every event it verifies is that workspace's, whichever Stripe account it names: a
    platform that registers a Connect endpoint gets its connected accounts' sales attributed
    too (docs/operations.md, "Stripe Connect"). The body goes to the workers unchanged,
    `account` included: they read it from there (onto log rows and commissions)."""
    body = dumps(event("evt_connect", account=account))
    assert deliver(client, ep, body) == (
        200,
        {"received": True, "id": "evt_connect", "status": "queued"},
    )
    [message] = queued_messages(redis_client)
    assert message["kwargs"]["workspace_id"] == ep.workspace_id
    assert message["kwargs"]["body"] == body.decode()
    assert "account" not in message["kwargs"]


@pytest.mark.parametrize("account", [42, {"id": "acct_1"}, "acct_\x00", "cus_1", ""])
def test_a_signed_event_whose_account_is_not_an_account_id_is_refused_by_name(
    client: TestClient, ep: Endpoint, redis_client: redis.Redis, account: object
) -> None:
    """Stripe never sends such an `account`; the workers would store it on the ledger, so it
    is refused like any malformed envelope field: 400 with its code, nothing queued."""
    body = dumps(event("evt_connect", account=account))
    assert deliver(client, ep, body) == (400, {"error": "invalid_account"})
    assert queued_messages(redis_client) == []


# --- the route itself ---------------------------------------------------------------------------


def test_other_methods_and_odd_paths_get_4xx(client: TestClient, ep: Endpoint) -> None:
    body = orjson.dumps(event())
    for method in ("GET", "PUT", "PATCH", "DELETE", "OPTIONS"):
        response = client.request(method, ep.path, content=body, headers=signed(body))
        assert response.status_code == 405, method
    for path in [
        "/api/webhooks/",
        f"{ep.path}/extra",
        f"{ep.path}%00",
        f"{ep.path}%2F..",
        "/api/webhooks/" + "a" * 10_000,
        "/api/webhooks/ep_%C3%A9" + "a" * 30,
        "/api/webhooks/" + ep.endpoint_id.upper(),
        "/api/webhooks/..%2F..%2Fmetrics",
    ]:
        response = client.post(path, content=body, headers=signed(body, ep.secret))
        assert response.status_code in {404, 405}, path


def test_odd_signature_headers_are_refused_by_name(client: TestClient, ep: Endpoint) -> None:
    body = orjson.dumps(event())
    good = signed(body, ep.secret)["Stripe-Signature"]
    too_many = good + ",v1=" * 16 + "0" * 64  # 17 v1 entries: Stripe sends one per secret
    cases: list[tuple[list[tuple[bytes, bytes]], str]] = [
        ([(b"stripe-signature", "t=1,v1=é".encode())], "timestamp_out_of_tolerance"),
        ([(b"stripe-signature", b"\xff\xfe")], "malformed_signature_header"),
        ([(b"stripe-signature", b"x" * 8000)], "malformed_signature_header"),
        ([(b"stripe-signature", too_many.encode())], "malformed_signature_header"),
        ([(b"stripe-signature", b"")], "missing_signature_header"),
        ([(b"stripe-signature", good.upper().encode())], "malformed_signature_header"),
        # the first of two headers is the one read
        ([(b"stripe-signature", b"t=1"), (b"stripe-signature", good.encode())], "no_v1_signature"),
    ]  # fmt: skip
    for headers, error in cases:
        response = client.post(ep.path, content=body, headers=headers)
        assert (response.status_code, response.json()) == (400, {"error": error}), headers[0][1][
            :40
        ]


def test_the_first_of_two_signature_headers_when_it_is_the_good_one_verifies(
    client: TestClient, ep: Endpoint
) -> None:
    body = orjson.dumps(event())
    good = signed(body, ep.secret)["Stripe-Signature"].encode()
    headers = [(b"stripe-signature", good), (b"stripe-signature", b"t=1,v1=00")]
    assert client.post(ep.path, content=body, headers=headers).status_code == 200


# --- anything at all, signed --------------------------------------------------------------------

_bodies = st.one_of(
    nasty_json.map(dumps),
    st.fixed_dictionaries(
        {
            "id": st.sampled_from(["evt_f1", "evt_f2"]) | nasty_scalars,
            "object": st.sampled_from(["event", "v2.core.event"]) | nasty_scalars,
            "type": st.sampled_from([*ROUTES, "customer.created"]) | nasty_scalars,
            "livemode": st.booleans() | nasty_scalars,
            "created": st.just(1_700_000_000) | nasty_scalars,
        },
        optional={"api_version": nasty_scalars, "data": nasty_json, "account": nasty_scalars},
    ).map(dumps),
    st.binary(max_size=400),
)


def test_anything_signed_gets_200_or_400_and_only_what_is_accepted_is_kept(
    app: Starlette, client: TestClient, ep: Endpoint, redis_client: redis.Redis
) -> None:
    answered: dict[int, int] = {}

    @fuzz(HTTP_EXAMPLES)
    @given(body=_bodies)
    def deliver_one(body: bytes) -> None:
        before = (queued_total(redis_client), len(redis_client.keys("traaaction:seen:*")))
        status, answer = deliver(client, ep, body)
        answered[status] = answered.get(status, 0) + 1
        after = (queued_total(redis_client), len(redis_client.keys("traaaction:seen:*")))
        assert status in {200, 400}, (status, answer)
        if status == 400:
            assert after == before
            return
        assert answer["status"] in {"queued", "ignored", "duplicate"}
        grew = {"queued": (1, 1), "ignored": (0, 1), "duplicate": (0, 0)}[answer["status"]]
        assert (after[0] - before[0], after[1] - before[1]) == grew
        if answer["status"] == "queued":
            newest = queued_messages(redis_client)
            assert body.decode() in {m["kwargs"]["body"] for m in newest}

    deliver_one()
    assert answered.get(400, 0) > 0
    # The event log saw no ignored/duplicate record without its 200.
    logged = log_records(redis_client, "ignored") + log_records(redis_client, "duplicate")
    assert len(logged) <= answered.get(200, 0)
