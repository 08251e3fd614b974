"""The envelope of a Stripe event: its id, type, livemode, API version, time and account.

The one reader of those fields, wherever a body is read: the ingress (to route and dedupe,
on a body it decoded with orjson) and the workers' parsers (domain.events, on the same body).
One reader, so the two can never disagree about what an event says.

Stripe snapshot events are JSON objects with `object: "event"`. Thin events (`object:
"v2.core.event"`) belong on another kind of endpoint and are refused by name. The id, type
and API version must be printable and bounded: Stripe's are plain ASCII, and a NUL in them
(JSON can carry one, escaped) is a value PostgreSQL cannot store: the event-log row or dead
letter of such an event could never be written, and would block the log writer. `created`
is a time as domain.json_fields reads times: from 1970 to before the year 3000.

`account` is Stripe Connect's: an event about a connected account carries its id (`acct_`
and letters and digits) at the top level; a platform's own events have none (absent or
null). Anything else there is refused like any other malformed envelope field: Stripe never
sends it, and the account decides which account the workers' API calls act on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeGuard, TypeVar

from domain.json_fields import MAX_TIMESTAMP, EventParseError, Fields, kind_of, quote

#: characters; Stripe event ids are ~30 (evt_ + 24..); generous, but bounded
MAX_EVENT_ID_LENGTH = 255
MAX_EVENT_TYPE_LENGTH = 128
MAX_API_VERSION_LENGTH = 64
#: characters; Stripe account ids are acct_ + 16
MAX_ACCOUNT_LENGTH = 64
#: a connected account's id as Stripe writes it
ACCOUNT_PREFIX = "acct_"
_ALPHANUMERIC = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

_T = TypeVar("_T")


class EnvelopeFailure(StrEnum):
    """Why a body is not an event: the ingress answers 400 with this code."""

    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_a_json_object"
    THIN_EVENT = "thin_event"
    NOT_AN_EVENT = "not_a_snapshot_event"
    BAD_ID = "missing_or_invalid_id"
    BAD_TYPE = "missing_or_invalid_type"
    BAD_LIVEMODE = "missing_or_invalid_livemode"
    BAD_CREATED = "missing_or_invalid_created"
    BAD_API_VERSION = "invalid_api_version"
    BAD_ACCOUNT = "invalid_account"


class EnvelopeError(EventParseError):
    """The body is not a Stripe snapshot event: `failure` is the code, the message names the
    field and the problem as every EventParseError does."""

    def __init__(self, failure: EnvelopeFailure, message: str | None = None) -> None:
        super().__init__(message or failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Envelope:
    id: str
    type: str
    livemode: bool
    api_version: str | None
    created: int
    #: the Connect account the event is about (acct_...); None for the platform's own
    account: str | None = None


def _as(failure: EnvelopeFailure, read: Callable[[], _T]) -> _T:
    """Run a reader of domain.json_fields; its EventParseError becomes an EnvelopeError."""
    try:
        return read()
    except EventParseError as error:
        raise EnvelopeError(failure, str(error)) from None


def _bounded(failure: EnvelopeFailure, name: str, value: str, limit: int) -> str:
    if not value:
        raise EnvelopeError(failure, f"{name}: expected a value, got an empty string")
    if len(value) > limit:
        raise EnvelopeError(failure, f"{name}: longer than {limit} characters")
    if not value.isprintable():
        raise EnvelopeError(failure, f"{name}: not printable: {quote(value)}")
    return value


def _plain(value: object, limit: int) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= limit and value.isprintable()


def is_account_id(value: object) -> TypeGuard[str]:
    """`acct_` and 1+ ASCII letters or digits, at most MAX_ACCOUNT_LENGTH characters."""
    return (
        isinstance(value, str)
        and len(ACCOUNT_PREFIX) < len(value) <= MAX_ACCOUNT_LENGTH
        and value.startswith(ACCOUNT_PREFIX)
        and _ALPHANUMERIC.issuperset(value[len(ACCOUNT_PREFIX) :])
    )


def _fast(values: dict[str, object]) -> Envelope | None:
    """The envelope of a well-formed event, checked inline (the ingress' hot path: a third
    of the readers' cost); None when anything is off, for `read_envelope` to say what."""
    event_id, event_type = values.get("id"), values.get("type")
    livemode, created = values.get("livemode"), values.get("created")
    api_version, account = values.get("api_version"), values.get("account")
    if (
        values.get("object") == "event"
        and _plain(event_id, MAX_EVENT_ID_LENGTH)
        and _plain(event_type, MAX_EVENT_TYPE_LENGTH)
        and isinstance(livemode, bool)
        and type(created) is int  # bool is an int: `true` is no time
        and 0 <= created <= MAX_TIMESTAMP
        and (api_version is None or _plain(api_version, MAX_API_VERSION_LENGTH))
        and (account is None or is_account_id(account))
    ):
        return Envelope(event_id, event_type, livemode, api_version, created, account)
    return None


def _checked(root: Fields) -> Envelope:
    """Field by field, naming the first problem."""
    kind = root.raw("object")
    if kind == "v2.core.event":
        raise EnvelopeError(
            EnvelopeFailure.THIN_EVENT, "object: expected 'event', got 'v2.core.event'"
        )
    _as(EnvelopeFailure.NOT_AN_EVENT, lambda: root.constant("object", "event"))
    event_id = _as(EnvelopeFailure.BAD_ID, lambda: root.identifier("id"))
    _bounded(EnvelopeFailure.BAD_ID, "id", event_id, MAX_EVENT_ID_LENGTH)
    event_type = _as(EnvelopeFailure.BAD_TYPE, lambda: root.string("type"))
    _bounded(EnvelopeFailure.BAD_TYPE, "type", event_type, MAX_EVENT_TYPE_LENGTH)
    livemode = _as(EnvelopeFailure.BAD_LIVEMODE, lambda: root.boolean("livemode"))
    created = _as(EnvelopeFailure.BAD_CREATED, lambda: root.timestamp("created"))
    api_version = _as(EnvelopeFailure.BAD_API_VERSION, lambda: root.optional_string("api_version"))
    if api_version is not None:
        _bounded(
            EnvelopeFailure.BAD_API_VERSION, "api_version", api_version, MAX_API_VERSION_LENGTH
        )
    account = root.raw("account")
    if account is not None and not is_account_id(account):
        raise EnvelopeError(
            EnvelopeFailure.BAD_ACCOUNT,
            f"account: expected a Stripe account id ({ACCOUNT_PREFIX}...), got "
            + (quote(account) if isinstance(account, str) else kind_of(account)),
        )
    return Envelope(event_id, event_type, livemode, api_version, created, account)


def read_envelope(root: Fields) -> Envelope:
    """The envelope of a decoded event body (a JSON object); EnvelopeError for anything else.

    The same rules, checked inline for a well-formed event (`_fast`, the common case) and
    field by field, to name the first problem, for any other;
    tests/domain/test_envelope_reader.py holds the two to the same answers."""
    fast = _fast(root.values)
    return fast if fast is not None else _checked(root)
