"""Hostile input to the three parsers: Stripe-Signature, the ingress' envelope, the workers' events.

Whatever each is given, it returns its typed result or raises its one documented error
(SignatureError, EnvelopeError, EventParseError): no KeyError, TypeError, RecursionError,
OverflowError or bare ValueError escapes. What it returns is sane (types, ranges), and where
the ingress (orjson) and the workers (json) both accept a body they agree on what it says.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from domain.events import (
    ChargeRefunded,
    CheckoutSessionCompleted,
    EventParseError,
    InvoicePaid,
    StripeEvent,
    SubscriptionDeleted,
    parse_event,
)
from ingress.envelope import (
    MAX_API_VERSION_LENGTH,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    Envelope,
    EnvelopeError,
    EnvelopeFailure,
    parse_envelope,
)
from ingress.signature import (
    MAX_HEADER_LENGTH,
    MAX_SIGNATURES,
    SignatureError,
    SignatureFailure,
    compute_signature,
    parse_header,
    sign,
    verify,
)
from tests.hostile.fuzz import (
    CHEAP_EXAMPLES,
    PURE_EXAMPLES,
    dumps,
    fuzz,
    nasty_json,
    nasty_scalars,
    nasty_text,
)
from traaaction.stripe_payloads import stories as stripe

NOW = 1_700_000_000
TOLERANCE = 300
SECRETS = ["whsec_test_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_rolled_0ld5ecret"]
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: 3000-01-01T00:00:00Z: the latest time domain.events accepts
MAX_TIMESTAMP = 32_503_680_000
HANDLED = [
    "checkout.session.completed",
    "invoice.paid",
    "charge.refunded",
    "customer.subscription.deleted",
]


def fresh(name: str) -> dict[str, Any]:
    """A real event of traaaction/stripe_payloads/stories.py, deep-copied: some of its parts are
    module-level values shared between calls, which the mutations here must not change."""
    return copy.deepcopy(stripe.ALL[name]())


# --- Stripe-Signature ---------------------------------------------------------------------------

_schemes = st.sampled_from(["t", "v1", "v0", "v2", "V1", " v1", "v1 ", "", "t ", "T"]) | st.text(
    max_size=4
)
_values = st.one_of(
    st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    st.text(alphabet="0123456789abcdefABCDEF", max_size=70),
    st.integers(min_value=-(10**14), max_value=10**14).map(str),
    st.sampled_from(
        [
            "",
            "\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
            "0x10",
            "1e9",
            "+1700000000",
            " 1700000000",
            "=",
            "==",
        ]
    ),
    st.text(max_size=70),
)
_junk_items = st.one_of(st.builds("{}={}".format, _schemes, _values), st.text(max_size=20))
junk_headers = st.one_of(
    st.none(),
    st.text(max_size=150),
    st.lists(_junk_items, max_size=12).map(",".join),
    # what a latin-1 decode of arbitrary header bytes gives (the ingress decodes so)
    st.binary(max_size=120).map(lambda raw: raw.decode("latin-1")),
    st.integers(min_value=MAX_HEADER_LENGTH - 8, max_value=MAX_HEADER_LENGTH + 8).map(
        lambda n: ("t=1700000000,v1=" + "a" * n)[:n]
    ),
)


@fuzz(CHEAP_EXAMPLES)
@given(junk_headers)
def test_any_header_parses_to_a_bounded_result_or_raises_signature_error(
    header: str | None,
) -> None:
    try:
        parsed = parse_header(header)
    except SignatureError as exc:
        failure = exc.failure
        assert isinstance(failure, SignatureFailure)
        return
    assert header is not None
    assert len(header) <= MAX_HEADER_LENGTH
    assert type(parsed.timestamp) is int
    assert 0 <= parsed.timestamp < 10**12
    assert 1 <= len(parsed.signatures) <= MAX_SIGNATURES
    items = header.split(",")
    assert all(f"v1={signature}" in items for signature in parsed.signatures)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[str, bytes, list[str]]:
    """A header built of the right signature's pieces and noise, a body, the active secrets."""
    body = draw(st.binary(max_size=120) | nasty_json.map(dumps))
    secret = draw(st.sampled_from(SECRETS) | st.text(min_size=1, max_size=40))
    at = draw(st.integers(NOW - 2 * TOLERANCE, NOW + 2 * TOLERANCE) | st.integers(0, 10**12))
    good = compute_signature(secret, at, body)
    item = st.one_of(
        st.just(f"t={at}"),
        st.just(f"v1={good}"),
        st.sampled_from(
            [f"v0={good}", f"v1={good.upper()}", f" v1={good}", f"v1={good} ", f"v1={good[:-1]}"]
        ),
        st.sampled_from([f"t={at + 1}", f"t=0{at}", f"t= {at}", "t="]),
        _junk_items,
    )
    header = ",".join(draw(st.lists(item, max_size=10)))
    active = draw(
        st.lists(st.sampled_from([*SECRETS, secret, ""]) | st.text(max_size=12), max_size=3)
    )
    return header, body, active


def _well_formed_and_signed(header: str, body: bytes, active: list[str]) -> bool:
    """Stripe's rules, written out independently of ingress/signature.py (the oracle)."""
    if not header or len(header) > MAX_HEADER_LENGTH:
        return False
    pairs = [item.partition("=") for item in header.split(",")]
    if any(not sep for _key, sep, _value in pairs):
        return False
    stamps = [value for key, _sep, value in pairs if key == "t"]
    if len(stamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", stamps[0]):
        return False
    at = int(stamps[0])
    v1 = [value for key, _sep, value in pairs if key == "v1"]
    if not 1 <= len(v1) <= MAX_SIGNATURES or abs(NOW - at) > TOLERANCE:
        return False
    return any(compute_signature(s, at, body) in v1 for s in active if s)


@fuzz(PURE_EXAMPLES)
@given(deliveries())
def test_verify_accepts_exactly_a_well_formed_header_with_the_hmac_of_an_active_secret(
    delivery: tuple[str, bytes, list[str]],
) -> None:
    header, body, active = delivery
    expected = _well_formed_and_signed(header, body, active)
    try:
        at = verify(header, body, active, now=NOW, tolerance=TOLERANCE)
    except SignatureError as exc:
        failure = exc.failure
        assert isinstance(failure, SignatureFailure)
        assert not expected, f"refused ({failure}) a header Stripe's rules accept"
        return
    assert expected, "accepted a header Stripe's rules refuse"
    assert abs(NOW - at) <= TOLERANCE


@fuzz(CHEAP_EXAMPLES)
@given(
    body=st.binary(max_size=160),
    secret=st.sampled_from(SECRETS) | st.text(min_size=1, max_size=40),
    in_header=st.booleans(),
    position=st.integers(min_value=0, max_value=10**6),
    replacement=st.characters(codec="utf-8") | st.sampled_from("0123456789abcdefABCDEF=, "),
)
def test_changing_one_character_of_a_valid_header_or_one_bit_of_its_body_never_verifies(
    body: bytes, secret: str, in_header: bool, position: int, replacement: str
) -> None:
    header = sign(secret, body, NOW)
    if in_header:
        index = position % len(header)
        assume(header[index] != replacement)
        header = header[:index] + replacement + header[index + 1 :]
    else:
        assume(body)
        index = position % (len(body) * 8)
        flipped = bytearray(body)
        flipped[index // 8] ^= 1 << (index % 8)
        body = bytes(flipped)
    with pytest.raises(SignatureError):
        verify(header, body, [secret], now=NOW, tolerance=TOLERANCE)


# --- the envelope (ingress, orjson) ------------------------------------------------------------


def _maybe(good: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly a plausible value, sometimes a hostile one."""
    return st.one_of(good, good, nasty_scalars)


#: the real events' `data`, built once (the envelope tests only read them)
_REAL_DATA = [fresh(name)["data"] for name in sorted(stripe.ALL)]
_objects = st.one_of(st.sampled_from(_REAL_DATA), nasty_json)
envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "id": _maybe(st.sampled_from(["evt_1", "evt_1NG8Du2eZvKYlo2CUI79vXWy", "e" * 255])),
        "object": _maybe(st.sampled_from(["event", "event", "v2.core.event", "Event"])),
        "type": _maybe(st.sampled_from([*HANDLED, "customer.created"])),
        "livemode": _maybe(st.booleans()),
        "created": _maybe(st.integers(min_value=0, max_value=2 * 10**9)),
        "api_version": _maybe(st.sampled_from([None, stripe.BASIL, stripe.PRE_BASIL])),
        "data": _objects,
        "account": _maybe(st.just("acct_1Nv0FGQ9RKHgCVdK")),
        "request": nasty_json,
    },
)


def _assert_sane_envelope(envelope: Envelope, sent: Any) -> None:
    assert isinstance(sent, dict)
    assert sent["object"] == "event"
    assert envelope.id == sent["id"]
    assert envelope.id.isprintable()
    assert 0 < len(envelope.id) <= MAX_EVENT_ID_LENGTH
    assert envelope.type == sent["type"]
    assert envelope.type.isprintable()
    assert 0 < len(envelope.type) <= MAX_EVENT_TYPE_LENGTH
    assert type(envelope.livemode) is bool
    assert envelope.livemode is sent["livemode"]
    assert type(envelope.created) is int
    assert envelope.created == sent["created"]
    assert envelope.created >= 0
    if envelope.api_version is not None:
        assert envelope.api_version.isprintable()
        assert 0 < len(envelope.api_version) <= MAX_API_VERSION_LENGTH


@fuzz(PURE_EXAMPLES)
@given(envelope_like)
def test_any_envelope_like_object_gives_a_sane_envelope_or_raises_envelope_error(
    sent: dict[str, Any],
) -> None:
    try:
        envelope = parse_envelope(dumps(sent))
    except EnvelopeError as exc:
        failure = exc.failure
        assert isinstance(failure, EnvelopeFailure)
        return
    _assert_sane_envelope(envelope, sent)


@st.composite
def damaged_bodies(draw: st.DrawFn) -> bytes:
    """Raw bytes: random ones, or a real event's bytes with a few bytes changed, cut or added."""
    if draw(st.booleans()):
        return draw(st.binary(max_size=300))
    raw = bytearray(dumps(draw(envelope_like)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(raw)))
        match draw(st.sampled_from(["replace", "insert", "delete", "truncate"])):
            case "replace" if at < len(raw):
                raw[at] = draw(st.integers(min_value=0, max_value=255))
            case "insert":
                raw[at:at] = draw(st.binary(min_size=1, max_size=4))
            case "delete":
                del raw[at : at + 1]
            case _:
                del raw[at:]
    return bytes(raw)


@fuzz(PURE_EXAMPLES)
@given(damaged_bodies())
def test_any_bytes_give_an_envelope_or_raise_envelope_error(body: bytes) -> None:
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        failure = exc.failure
        assert isinstance(failure, EnvelopeFailure)
        return
    # Whatever got through is a JSON object as both parsers read it.
    _assert_sane_envelope(envelope, json.loads(body))


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="array-100000-deep"),
        pytest.param(b'{"a":' * 100_000 + b"1" + b"}" * 100_000, id="object-100000-deep"),
        pytest.param(b'{"id":' + b"[" * 2000 + b"]" * 2000 + b"}", id="id-2000-deep"),
        pytest.param(b'{"created":' + b"9" * 5000 + b"}", id="5000-digit-integer"),
        pytest.param(b'{"created":1e400}', id="float-overflow"),
        pytest.param(b'{"created":NaN}', id="nan"),
        pytest.param(b'{"id":"\\ud800"}', id="lone-surrogate"),
        pytest.param(b'{"id":"evt\x00"}', id="raw-nul"),
        pytest.param(b'{"id":"evt_\xc3\x28"}', id="invalid-utf8"),
        pytest.param(b"\xef\xbb\xbf{}", id="utf8-bom"),
        pytest.param('{"id":"evt_1"}'.encode("utf-16"), id="utf16"),
        pytest.param(b"", id="empty"),
        pytest.param(b" \t\r\n", id="whitespace"),
    ],
)
def test_pathological_bodies_are_refused_as_invalid_json_by_both_parsers(body: bytes) -> None:
    with pytest.raises(EnvelopeError) as refused:
        parse_envelope(body)
    assert refused.value.failure is EnvelopeFailure.INVALID_JSON
    # (json reads 1e400 as infinity, a float, which is then refused where an integer is due)
    with pytest.raises(EventParseError):
        parse_event(body)


# --- the workers' events (json) ----------------------------------------------------------------

_TIMES = {
    "created",
    "service_period_start",
    "period_end",
    "period_start",
    "ended_at",
    "canceled_at",
}
_NON_NEGATIVE = {
    "amount_total",
    "amount_tax",
    "amount_paid",
    "amount",
    "amount_refunded",
    "presentment_amount",
}
_SIGNED = {"total", "total_excluding_tax"}
_REQUIRED = {
    CheckoutSessionCompleted: {"session_id", "mode", "payment_status", "amount_tax"},
    InvoicePaid: {"invoice_id", "amount_paid", "total", "currency"},
    ChargeRefunded: {"charge_id", "amount", "amount_refunded", "currency"},
    SubscriptionDeleted: {"subscription_id"},
}


def _assert_sane_event(event: StripeEvent) -> None:
    """Every field of a parsed event has its declared type and range."""
    assert isinstance(
        event, CheckoutSessionCompleted | InvoicePaid | ChargeRefunded | SubscriptionDeleted
    )
    for name in _REQUIRED[type(event)] | {"event_id", "created", "livemode"}:
        assert getattr(event, name) is not None, name
    for field in dataclasses.fields(event):
        value = getattr(event, field.name)
        if value is None:
            continue
        if field.name in _TIMES | _NON_NEGATIVE | _SIGNED:
            assert type(value) is int, field.name
            low = INT64_MIN if field.name in _SIGNED else 0
            high = MAX_TIMESTAMP if field.name in _TIMES else INT64_MAX
            assert low <= value <= high, field.name
        elif field.name == "livemode":
            assert type(value) is bool
        elif field.name in {"currency", "presentment_currency"}:
            assert re.fullmatch(r"[a-z]{3}", value), value
        elif field.name in {"payment_intent_ids", "promotion_codes"}:
            assert type(value) is tuple, field.name
            assert all(type(v) is str and v for v in value)
            assert len(set(value)) == len(value)
        else:
            assert type(value) is str, field.name
            # a click id is as sent (blank or not): the rules judge it
            if field.name.endswith("_id") and field.name not in {
                "click_id",
                "subscription_click_id",
            }:
                assert value, field.name


def _parses_sanely_or_refuses(body: bytes) -> StripeEvent | None:
    """parse_event's result for body (checked), or None if refused with EventParseError.

    Also: bytes and text parse alike, and where the ingress' envelope accepts the same bytes,
    both read the same id, type, livemode and created."""
    try:
        event = parse_event(body)
    except EventParseError as exc:
        message = str(exc)
        assert message, "an error without a message"
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        with pytest.raises(EventParseError):
            parse_event(text)  # as a worker gets it from Redis
        return None
    _assert_sane_event(event)
    assert parse_event(body.decode()) == event
    try:
        envelope = parse_envelope(body)
    except EnvelopeError:
        return event  # the ingress is stricter (NUL in ids, lengths): it never queued this
    assert (envelope.id, envelope.livemode, envelope.created) == (
        event.event_id,
        event.livemode,
        event.created,
    )
    assert envelope.type == json.loads(body)["type"]
    return event


@fuzz(PURE_EXAMPLES)
@given(st.one_of(envelope_like.map(dumps), nasty_json.map(dumps), damaged_bodies()))
def test_any_body_parses_to_a_sane_event_or_raises_event_parse_error(body: bytes) -> None:
    _parses_sanely_or_refuses(body)


Path = tuple[str | int, ...]
DELETE = object()


def _paths(value: Any, prefix: Path = ()) -> list[Path]:
    children: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[Path] = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _dotted(path: Path) -> str:
    """A path as the parser's messages name it: `data.object.lines.data[2].period.start`."""
    return "".join(f"[{key}]" if isinstance(key, int) else f".{key}" for key in path)[1:]


def _parent(payload: Any, path: Path) -> Any:
    for key in path[:-1]:
        payload = payload[key]
    return payload


@st.composite
def mutated_events(draw: st.DrawFn) -> bytes:
    """A real event with one to four values replaced by hostile ones, or keys removed."""
    payload = fresh(draw(st.sampled_from(sorted(stripe.ALL))))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(_paths(payload)))
        parent = _parent(payload, path)
        value = draw(st.just(DELETE) | nasty_scalars | nasty_json)
        if value is DELETE and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = None if value is DELETE else value
    return dumps(payload)


@fuzz(PURE_EXAMPLES)
@given(mutated_events())
def test_a_real_event_with_hostile_values_parses_sanely_or_raises_event_parse_error(
    body: bytes,
) -> None:
    _parses_sanely_or_refuses(body)


#: every kind of wrong value, each tried at every path of every fixture below
SWEEP: list[Any] = [
    DELETE,
    None,
    True,
    "100",
    "",
    "\x00",
    1.0,
    -1,
    10**30,
    2**63,
    [],
    {},
    {"id": "x"},
]


def _sweep() -> Iterator[tuple[str, Path, Any, bytes]]:
    """(fixture, path, value, body) for every path of every fixture and every SWEEP value;
    mutated in place and restored, which is much quicker than a copy per case."""
    for name in sorted(stripe.ALL):
        payload = fresh(name)
        for path in _paths(payload):
            parent = _parent(payload, path)
            key = path[-1]
            original = parent[key]
            for value in SWEEP:
                if value is DELETE and isinstance(parent, dict):
                    del parent[key]
                else:
                    parent[key] = None if value is DELETE else value
                yield name, path, value, dumps(payload)
                parent[key] = original


def test_every_field_of_every_real_event_replaced_by_every_kind_of_wrong_value() -> None:
    cases = refused = 0
    for _name, _path, _value, body in _sweep():
        cases += 1
        refused += _parses_sanely_or_refuses(body) is None
    # 8 real events, about 1,100 paths in all, 13 values each
    assert cases > 13_000
    assert 0 < refused < cases


# --- amounts: wrong types are refused by name, right ones read exactly -------------------------

CHECKOUT = ("data", "object")
#: fixture -> (path, attribute, minimum, optional); every amount the parsers read
AMOUNTS: dict[str, list[tuple[Path, str, int, bool]]] = {
    "checkout_pre_basil": [
        ((*CHECKOUT, "amount_total"), "amount_total", 0, True),
        ((*CHECKOUT, "total_details", "amount_tax"), "amount_tax", 0, True),
    ],
    "invoice_basil": [
        ((*CHECKOUT, "amount_paid"), "amount_paid", 0, False),
        ((*CHECKOUT, "total"), "total", INT64_MIN, False),
        ((*CHECKOUT, "total_excluding_tax"), "total_excluding_tax", INT64_MIN, True),
    ],
    "charge_pre_basil": [
        ((*CHECKOUT, "amount"), "amount", 0, False),
        ((*CHECKOUT, "amount_refunded"), "amount_refunded", 0, False),
    ],
}
AMOUNTS["checkout_basil"] = AMOUNTS["checkout_pre_basil"]
AMOUNTS["invoice_pre_basil"] = AMOUNTS["invoice_basil"]
AMOUNTS["charge_basil"] = AMOUNTS["charge_pre_basil"]

WRONG_AMOUNTS: list[Any] = [
    "100",
    "\uff11\uff10\uff10",
    "",
    "1e2",
    1.0,
    100.0,
    1.5,
    -0.0,
    1e300,
    True,
    False,
    [],
    [100],
    {},
    {"value": 100},
    10**30,
    -(10**30),
    2**63,
    -(2**63) - 1,
]
RIGHT_AMOUNTS = [0, 1, 99, 2**53 + 1, 2**63 - 1, -1, -(2**63)]


def _amount_cases() -> Iterator[Any]:
    for name, fields in sorted(AMOUNTS.items()):
        for path, attribute, minimum, optional in fields:
            for value in [*WRONG_AMOUNTS, *RIGHT_AMOUNTS, None, DELETE]:
                yield pytest.param(
                    name, path, attribute, minimum, optional, value,
                    id=f"{name}-{attribute}={value if value is not DELETE else 'absent'!r:.12}",
                )  # fmt: skip


def _amount_mutated(name: str, path: Path, value: Any) -> bytes:
    payload = fresh(name)
    parent = _parent(payload, path)
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return dumps(payload)


@pytest.mark.parametrize(
    ("name", "path", "attribute", "minimum", "optional", "value"), list(_amount_cases())
)
def test_an_amount_is_read_exactly_or_refused_naming_its_field(
    name: str, path: Path, attribute: str, minimum: int, optional: bool, value: Any
) -> None:
    body = _amount_mutated(name, path, value)
    dotted = _dotted(path)
    if value is None or value is DELETE:
        if optional:
            event = parse_event(body)
            assert getattr(event, attribute) == (0 if attribute == "amount_tax" else None)
        else:
            with pytest.raises(EventParseError, match=rf"^{re.escape(dotted)}: (missing|is null)"):
                parse_event(body)
        return
    if type(value) is int and minimum <= value <= INT64_MAX:
        event = parse_event(body)
        assert getattr(event, attribute) == value
        assert type(getattr(event, attribute)) is int
        return
    with pytest.raises(EventParseError, match=rf"^{re.escape(dotted)}: ") as refused:
        parse_event(body)
    assert len(str(refused.value)) < 200


# --- timestamps: inside the calendar the ledger can store, or refused --------------------------

TIMES: dict[str, list[Path]] = {
    "checkout_basil": [("created",)],
    "invoice_pre_basil": [
        ("created",),
        (*CHECKOUT, "period_start"),
        (*CHECKOUT, "period_end"),
        (*CHECKOUT, "lines", "data", 2, "period", "start"),
    ],
    "subscription_basil": [(*CHECKOUT, "ended_at"), (*CHECKOUT, "canceled_at")],
}


@pytest.mark.parametrize(
    ("name", "path"), [(name, path) for name, paths in sorted(TIMES.items()) for path in paths]
)
@pytest.mark.parametrize(
    "value", [MAX_TIMESTAMP + 1, 253402300800, 2**62, 2**63 - 1, 10**30, -1, 1.7e9, "1700000000"]
)
def test_a_time_beyond_the_year_3000_or_before_1970_is_refused_naming_its_field(
    name: str, path: Path, value: Any
) -> None:
    """Such a time used to pass the parser and fail later, in datetime arithmetic, with an
    OSError or ValueError that the workers retry for an hour instead of dead-lettering."""
    dotted = _dotted(path)
    with pytest.raises(EventParseError, match=rf"^{re.escape(dotted)}: "):
        parse_event(_amount_mutated(name, path, value))


def test_the_last_second_before_the_year_3000_is_a_time() -> None:
    body = _amount_mutated("subscription_basil", (*CHECKOUT, "ended_at"), MAX_TIMESTAMP)
    event = parse_event(body)
    assert isinstance(event, SubscriptionDeleted)
    assert event.ended_at == MAX_TIMESTAMP


# --- unicode and control characters in metadata ------------------------------------------------


@fuzz(PURE_EXAMPLES)
@given(
    name=st.sampled_from(["checkout_pre_basil", "checkout_basil"]),
    metadata=st.dictionaries(nasty_text, nasty_scalars | nasty_json, max_size=6),
    click=st.one_of(st.just(DELETE), nasty_scalars),
)
def test_any_metadata_leaves_the_rest_of_a_checkout_unchanged(
    name: str, metadata: dict[str, Any], click: Any
) -> None:
    payload = fresh(name)
    original = parse_event(dumps(payload))
    assert isinstance(original, CheckoutSessionCompleted)
    if click is not DELETE:
        metadata = {**metadata, "tracClickId": click}
    else:
        metadata.pop("tracClickId", None)
    payload["data"]["object"]["metadata"] = metadata
    event = parse_event(dumps(payload))
    assert isinstance(event, CheckoutSessionCompleted)
    # The click id is kept exactly as sent if a string (the rules judge it), else dropped.
    assert event.click_id == (click if isinstance(click, str) else None)
    assert dataclasses.replace(event, click_id=original.click_id) == original
