"""Typed reading of a Stripe event's JSON: every value checked, every error naming its path.

The payload parsers (domain.events) read only through these readers, so that anything
malformed raises EventParseError naming the field and the problem, and nothing else escapes.
"""

from __future__ import annotations

import json
import re

from domain.errors import DomainError

#: Stripe's integers are 64-bit; anything beyond is not something Stripe sent
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
#: Unix seconds of 3000-01-01T00:00:00Z. Stripe's times are about now; a later one is not
#: something Stripe sent, and the date arithmetic on times (datetimes, month numbers) must not
#: overflow: such an event is refused here, once, rather than failing at every retry.
MAX_TIMESTAMP = 32_503_680_000
_CURRENCY = re.compile(r"[a-z]{3}")
#: characters of an unexpected value quoted in an error message
_QUOTE_LIMIT = 80


class EventParseError(DomainError):
    """The body is not an event this service can act on; the message names field and problem."""


def kind_of(value: object) -> str:
    """The name an error message gives a JSON value's type ("str", "bool", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def quote(text: str) -> str:
    return repr(text[:_QUOTE_LIMIT] + ("..." if len(text) > _QUOTE_LIMIT else ""))


class Fields:
    """A JSON object and its path from the event's root, with readers that check types.

    Required readers refuse a missing key and null alike; optional ones return None for both,
    since Stripe omits some nullable fields and sends null for others.
    """

    __slots__ = ("_path", "_values")

    def __init__(self, values: dict[str, object], path: str) -> None:
        self._values = values
        self._path = path

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, problem: str) -> EventParseError:
        return EventParseError(f"{self._where(key)}: {problem}")

    @property
    def values(self) -> dict[str, object]:
        """The object itself (for a reader's own checks; domain.envelope's fast path)."""
        return self._values

    def raw(self, key: str) -> object:
        return self._values.get(key)

    def has(self, key: str) -> bool:
        return key in self._values

    def _required(self, key: str) -> object:
        value = self._values.get(key)
        if value is None:
            raise self.error(key, "missing" if key not in self._values else "is null")
        return value

    def _check_int(self, key: str, value: object, minimum: int, maximum: int) -> int:
        # bool is an int subclass in Python: `true` must not pass for 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {kind_of(value)}")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.error(key, "integer outside the 64-bit range")
        if value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value}")
        if value > maximum:
            raise self.error(key, f"expected an integer <= {maximum}, got {value}")
        return value

    def integer(self, key: str, *, minimum: int = _INT64_MIN, maximum: int = _INT64_MAX) -> int:
        return self._check_int(key, self._required(key), minimum, maximum)

    def optional_integer(
        self, key: str, *, minimum: int = _INT64_MIN, maximum: int = _INT64_MAX
    ) -> int | None:
        value = self._values.get(key)
        return None if value is None else self._check_int(key, value, minimum, maximum)

    def timestamp(self, key: str) -> int:
        """Unix seconds, from 1970 to before the year 3000."""
        return self.integer(key, minimum=0, maximum=MAX_TIMESTAMP)

    def optional_timestamp(self, key: str) -> int | None:
        return self.optional_integer(key, minimum=0, maximum=MAX_TIMESTAMP)

    def _check_str(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {kind_of(value)}")
        return value

    def string(self, key: str) -> str:
        return self._check_str(key, self._required(key))

    def optional_string(self, key: str) -> str | None:
        value = self._values.get(key)
        return None if value is None else self._check_str(key, value)

    def identifier(self, key: str) -> str:
        value = self.string(key)
        if not value:
            raise self.error(key, "expected an id, got an empty string")
        return value

    def boolean(self, key: str) -> bool:
        value = self._required(key)
        if not isinstance(value, bool):
            raise self.error(key, f"expected a boolean, got {kind_of(value)}")
        return value

    def currency(self, key: str) -> str:
        value = self.string(key)
        if not _CURRENCY.fullmatch(value):
            raise self.error(key, f"expected a lower-case three-letter code, got {quote(value)}")
        return value

    def optional_currency(self, key: str) -> str | None:
        return None if self._values.get(key) is None else self.currency(key)

    def constant(self, key: str, expected: str) -> None:
        value = self.string(key)
        if value != expected:
            raise self.error(key, f"expected {expected!r}, got {quote(value)}")

    def _check_object(self, key: str, value: object) -> Fields:
        if not isinstance(value, dict):
            raise self.error(key, f"expected an object, got {kind_of(value)}")
        return Fields(value, self._where(key))

    def child(self, key: str) -> Fields:
        return self._check_object(key, self._required(key))

    def optional_child(self, key: str) -> Fields | None:
        value = self._values.get(key)
        return None if value is None else self._check_object(key, value)

    def children(self, key: str) -> list[Fields]:
        """A required array of objects, each named by its index ("lines.data[2]")."""
        value = self._required(key)
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {kind_of(value)}")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"expected an object, got {kind_of(item)}")
            items.append(Fields(item, self._where(f"{key}[{index}]")))
        return items

    def reference(self, key: str) -> str | None:
        """An optional id, given as a string or as the expanded object that has it as "id"."""
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            return self._check_object(key, value).identifier("id")
        if isinstance(value, str):
            return self.identifier(key)
        raise self.error(key, f"expected an id or an object, got {kind_of(value)}")


def _refuse_constant(name: str) -> object:
    # json accepts NaN and Infinity by default; they are not JSON and Stripe never sends them
    raise EventParseError(f"body: invalid JSON (the constant {name} is not JSON)")


def load(body: str | bytes) -> Fields:
    if isinstance(body, str):
        text = body
    else:
        try:
            # Stripe sends UTF-8; json's own detection would also accept UTF-16 and UTF-32
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise EventParseError(
                f"body: not UTF-8 ({error.reason} at byte {error.start})"
            ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except EventParseError:
        raise
    except RecursionError:
        raise EventParseError("body: invalid JSON (nested too deeply)") from None
    except ValueError as error:  # JSONDecodeError, and integers too long to convert
        raise EventParseError(f"body: invalid JSON ({error})") from None
    if not isinstance(value, dict):
        raise EventParseError(f"body: expected a JSON object, got {kind_of(value)}")
    return Fields(value, "")
