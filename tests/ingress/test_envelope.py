from __future__ import annotations

import contextlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingress.envelope import EnvelopeError, EnvelopeFailure, parse_envelope

GOOD = {
    "id": "evt_1",
    "object": "event",
    "type": "invoice.paid",
    "livemode": True,
    "api_version": "2024-06-20",
    "created": 1_700_000_000,
}


def failure_of(body: bytes) -> EnvelopeFailure:
    with pytest.raises(EnvelopeError) as raised:
        parse_envelope(body)
    return raised.value.failure


def test_a_snapshot_event_gives_its_routing_fields() -> None:
    envelope = parse_envelope(orjson.dumps({**GOOD, "data": {"object": {"id": "in_1"}}}))
    assert (envelope.id, envelope.type, envelope.livemode) == ("evt_1", "invoice.paid", True)
    assert (envelope.api_version, envelope.created) == ("2024-06-20", 1_700_000_000)


def test_a_null_api_version_is_accepted() -> None:
    assert parse_envelope(orjson.dumps({**GOOD, "api_version": None})).api_version is None


def test_a_thin_event_is_refused_by_name() -> None:
    thin = {
        "id": "evt_234",
        "object": "v2.core.event",
        "type": "v1.billing.meter.error_report_triggered",
        "livemode": True,
        "created": "2022-02-15T00:27:45.330Z",
    }
    assert failure_of(orjson.dumps(thin)) is EnvelopeFailure.THIN_EVENT


@pytest.mark.parametrize(
    ("body", "failure"),
    [
        (b"", EnvelopeFailure.INVALID_JSON),
        (b"{", EnvelopeFailure.INVALID_JSON),
        (b"\xff\xfe", EnvelopeFailure.INVALID_JSON),
        (b"[1,2]", EnvelopeFailure.NOT_AN_OBJECT),
        (b'"event"', EnvelopeFailure.NOT_AN_OBJECT),
        (b"[" * 5000 + b"]" * 5000, EnvelopeFailure.INVALID_JSON),
        (orjson.dumps({**GOOD, "object": "charge"}), EnvelopeFailure.NOT_AN_EVENT),
        (orjson.dumps({**GOOD, "id": 5}), EnvelopeFailure.BAD_ID),
        (orjson.dumps({**GOOD, "id": ""}), EnvelopeFailure.BAD_ID),
        (orjson.dumps({**GOOD, "id": "e" * 256}), EnvelopeFailure.BAD_ID),
        (orjson.dumps({**GOOD, "type": None}), EnvelopeFailure.BAD_TYPE),
        (orjson.dumps({**GOOD, "livemode": "true"}), EnvelopeFailure.BAD_LIVEMODE),
        (orjson.dumps({**GOOD, "created": True}), EnvelopeFailure.BAD_CREATED),
        (orjson.dumps({**GOOD, "created": 1.5}), EnvelopeFailure.BAD_CREATED),
        (orjson.dumps({**GOOD, "created": -1}), EnvelopeFailure.BAD_CREATED),
        (
            b'{"id":"evt_1","object":"event","type":"x","livemode":true,"created":1'
            + b"0" * 40
            + b"}",
            EnvelopeFailure.BAD_CREATED,
        ),
        (orjson.dumps({**GOOD, "api_version": 2024}), EnvelopeFailure.BAD_API_VERSION),
    ],
)
def test_malformed_envelopes_are_refused_with_their_reason(
    body: bytes, failure: EnvelopeFailure
) -> None:
    assert failure_of(body) is failure


@given(st.binary(max_size=500))
def test_any_bytes_parse_or_raise_envelope_error(body: bytes) -> None:
    with contextlib.suppress(EnvelopeError):
        parse_envelope(body)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=10),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=20,
    )
)
def test_any_json_value_parses_or_raises_envelope_error(value: object) -> None:
    try:
        envelope = parse_envelope(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    except (EnvelopeError, orjson.JSONEncodeError):
        return
    assert isinstance(value, dict)
    assert value.get("object") == "event"
    assert envelope.id == value["id"]
