"""The few envelope fields routing needs, from a verified body; nothing else is interpreted.

Stripe snapshot events are JSON objects with `object: "event"`. Thin events
(`object: "v2.core.event"`) belong on a different kind of endpoint and are refused clearly.
The id, type and API version are refused unless printable: Stripe's are plain ASCII, and a NUL
in them (JSON can carry one, escaped) is a value PostgreSQL cannot store: the event-log row or
dead letter of such an event could never be written, and would block the log writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import orjson

#: characters; Stripe event ids are ~30 (evt_ + 24..); generous, but bounded
MAX_EVENT_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 128
MAX_API_VERSION_LENGTH = 64


class EnvelopeFailure(StrEnum):
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_a_json_object"
    THIN_EVENT = "thin_event"
    NOT_AN_EVENT = "not_a_snapshot_event"
    BAD_ID = "missing_or_invalid_id"
    BAD_TYPE = "missing_or_invalid_type"
    BAD_LIVEMODE = "missing_or_invalid_livemode"
    BAD_CREATED = "missing_or_invalid_created"
    BAD_API_VERSION = "invalid_api_version"


class EnvelopeError(Exception):
    """Raised when a verified body is not a Stripe snapshot event; `failure` says why."""

    def __init__(self, failure: EnvelopeFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    livemode: bool
    api_version: str | None
    created: int


def _short_str(value: object, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def parse_envelope(body: bytes) -> Envelope:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise EnvelopeError(EnvelopeFailure.INVALID_JSON) from None
    if not isinstance(data, dict):
        raise EnvelopeError(EnvelopeFailure.NOT_AN_OBJECT)
    kind = data.get("object")
    if kind == "v2.core.event":
        raise EnvelopeError(EnvelopeFailure.THIN_EVENT)
    if kind != "event":
        raise EnvelopeError(EnvelopeFailure.NOT_AN_EVENT)
    event_id, event_type = data.get("id"), data.get("type")
    livemode, created = data.get("livemode"), data.get("created")
    api_version = data.get("api_version")
    if not _short_str(event_id, MAX_EVENT_ID_LENGTH):
        raise EnvelopeError(EnvelopeFailure.BAD_ID)
    if not _short_str(event_type, MAX_EVENT_TYPE_LENGTH):
        raise EnvelopeError(EnvelopeFailure.BAD_TYPE)
    if not isinstance(livemode, bool):
        raise EnvelopeError(EnvelopeFailure.BAD_LIVEMODE)
    # bool is an int in Python: refuse `true` as a timestamp.
    if not isinstance(created, int) or isinstance(created, bool) or created < 0:
        raise EnvelopeError(EnvelopeFailure.BAD_CREATED)
    if api_version is not None and not _short_str(api_version, MAX_API_VERSION_LENGTH):
        raise EnvelopeError(EnvelopeFailure.BAD_API_VERSION)
    assert isinstance(event_id, str)
    assert isinstance(event_type, str)
    return Envelope(event_id, event_type, livemode, api_version, created)
