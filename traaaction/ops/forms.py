"""Form bodies and filter parameters: parsed and checked before anything reads them.

Form bodies are small `application/x-www-form-urlencoded` documents read up to a cap and
parsed with the standard library (Starlette's form parser would need python-multipart).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

from starlette.requests import Request

from storage.models import DEAD_LETTER_STATUSES, LOG_OUTCOMES

#: bytes; every console form is a few hundred
MAX_FORM_BYTES = 16 * 1024
#: characters of a free-text filter or field
MAX_FIELD = 500
DEFAULT_PAGE = 50
MAX_PAGE = 500


class FormError(ValueError):
    """A form or a filter that cannot be used; the message is safe to show."""


async def read_form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded body (the first value of each; none for an empty body);
    FormError if unusable."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise FormError("form too large")
    if not body:
        return {}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise FormError("expected a form")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, strict_parsing=False, max_num_fields=20
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormError("malformed form") from exc
    fields: dict[str, str] = {}
    for name, value in pairs:
        fields.setdefault(name, value)
    return fields


def text(value: str | None, name: str) -> str | None:
    """A trimmed free-text value; None when empty."""
    if value is None:
        return None
    value = value.strip()
    if len(value) > MAX_FIELD:
        raise FormError(f"{name}: too long")
    return value or None


def instant(value: str | None, name: str) -> datetime | None:
    """ISO 8601 (what <input type=datetime-local> sends); without an offset, UTC."""
    value = text(value, name)
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FormError(f"{name}: not a date and time (YYYY-MM-DDTHH:MM, UTC)") from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def page_size(value: str | None) -> int:
    if not value:
        return DEFAULT_PAGE
    try:
        size = int(value)
    except ValueError:
        raise FormError("limit: not a number") from None
    if not 1 <= size <= MAX_PAGE:
        raise FormError(f"limit: between 1 and {MAX_PAGE}")
    return size


def choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    value = text(value, name)
    if value is not None and value not in allowed:
        raise FormError(f"{name}: one of {', '.join(allowed)}")
    return value


def outcome(value: str | None) -> str | None:
    return choice(value, "outcome", LOG_OUTCOMES)


#: the status filter of the dead letters page; "any" shows all
STATUS_CHOICES = (*DEAD_LETTER_STATUSES, "any")


def status(value: str | None) -> str | None:
    """The dead letters' status filter: open by default, None for any."""
    chosen = choice(value, "status", STATUS_CHOICES) or "open"
    return None if chosen == "any" else chosen


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where a page of the event log ends: its last row's created_at and id."""

    created_at: datetime
    row_id: int

    def encode(self) -> str:
        micros = (self.created_at - _EPOCH) // _MICROSECOND
        return f"{micros}_{self.row_id}"

    @classmethod
    def decode(cls, value: str | None) -> Cursor | None:
        if not value:
            return None
        try:
            micros, row_id = value.split("_", 1)
            return cls(_EPOCH + int(micros) * _MICROSECOND, int(row_id))
        except (ValueError, OverflowError, OSError):
            raise FormError("before: not a page cursor") from None
