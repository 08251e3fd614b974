"""The envelope of a verified body, for routing and dedupe; nothing else is interpreted.

The body is decoded with orjson (the ingress' hot path) and read by domain.envelope, the one
reader of envelopes, which the workers' parsers use too. See there for what is refused.
"""

from __future__ import annotations

import orjson

from domain.envelope import (
    MAX_API_VERSION_LENGTH,
    MAX_EVENT_ID_LENGTH,
    MAX_EVENT_TYPE_LENGTH,
    Envelope,
    EnvelopeError,
    EnvelopeFailure,
    read_envelope,
)
from domain.json_fields import Fields

__all__ = [
    "MAX_API_VERSION_LENGTH",
    "MAX_EVENT_ID_LENGTH",
    "MAX_EVENT_TYPE_LENGTH",
    "Envelope",
    "EnvelopeError",
    "EnvelopeFailure",
    "parse_envelope",
]


def parse_envelope(body: bytes) -> Envelope:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise EnvelopeError(EnvelopeFailure.INVALID_JSON) from None
    if not isinstance(data, dict):
        raise EnvelopeError(EnvelopeFailure.NOT_AN_OBJECT)
    return read_envelope(Fields(data, ""))
