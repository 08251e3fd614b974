"""Ids, API versions and the values a payload may carry, checked once for every builder.

An id parameter of a builder takes an id, None (the field is null, as Stripe sends it when
there is no such object) or AUTO, its default: a new random id in Stripe's format, so that
an event never collides with one sent before. Ids of the objects nobody passes (a price, a
balance transaction, an invoice payment) are derived from the id of the object they belong
to: a payload built from given ids is the same every time, and one built from random ids is
as unique as they are.
"""

from __future__ import annotations

import base64
import enum
import functools
import hashlib
import re
import secrets
import string
from datetime import datetime
from typing import Final, TypeAlias

#: the first API version with the basil payload shape
BASIL: Final = "2025-03-31.basil"
#: a recent version with the earlier shape
PRE_BASIL: Final = "2024-06-20"
DEFAULT_API_VERSION: Final = BASIL

#: the largest amount Stripe accepts is 8 digits for most currencies; this leaves room
MAX_AMOUNT: Final = 10**12

_API_VERSION = re.compile(r"(\d{4}-\d{2}-\d{2})(\.[a-z]+)?")
_CURRENCY = re.compile(r"[a-z]{3}")
_ALPHANUMERIC = string.ascii_letters + string.digits
_SYMBOLS = bytes.maketrans(b"+/", b"Zq")


class FixtureError(ValueError):
    """A value no real Stripe event would carry (a tax above the total, say)."""


class Auto(enum.Enum):
    """The type of AUTO: a value the builder makes up (a new id, a time derived from others)."""

    AUTO = "auto"


AUTO: Final = Auto.AUTO
#: an id parameter: the id, None for none (null), or AUTO for a new one
Ref: TypeAlias = str | Auto | None
#: a time parameter: Unix seconds, None for null, or AUTO for one derived from the others
Instant: TypeAlias = int | Auto | None

#: role -> (prefix, length after the underscore, leading characters), as Stripe writes them
SHAPES: Final[dict[str, tuple[str, int, str]]] = {
    "event": ("evt", 24, "1"),
    "checkout_session": ("cs_test", 58, "a1"),
    "customer": ("cus", 14, ""),
    "payment_intent": ("pi", 24, "3"),
    "subscription": ("sub", 24, "1"),
    "invoice": ("in", 24, "1"),
    "charge": ("ch", 24, "3"),
    "refund": ("re", 24, "3"),
    "dispute": ("dp", 24, "1"),
}


def stripe_id(prefix: str, length: int = 24, *, lead: str = "1") -> str:
    """A random id in Stripe's format: `evt_1Qb4...` (prefix, leading characters, alphanumerics)."""
    tail = "".join(secrets.choice(_ALPHANUMERIC) for _ in range(length - len(lead)))
    return f"{prefix}_{lead}{tail}"


def new_id(role: str, *, livemode: bool = False) -> str:
    """A new random id for one of SHAPES' roles (a live Checkout Session's is `cs_live_...`)."""
    prefix, length, lead = SHAPES[role]
    if livemode and prefix == "cs_test":
        prefix = "cs_live"
    return stripe_id(prefix, length, lead=lead)


def resolve(value: Ref, role: str, *, livemode: bool = False) -> str | None:
    """The id to write for an id parameter: AUTO becomes a new one."""
    return new_id(role, livemode=livemode) if value is AUTO else value


def own_id(value: str | Auto, role: str, *, livemode: bool = False) -> str:
    """The id of the object a builder makes (never null): AUTO becomes a new one."""
    return new_id(role, livemode=livemode) if value is AUTO else value


def derived_id(prefix: str, *seeds: object, length: int = 24, lead: str = "1") -> str:
    """An id in Stripe's format made from `seeds` (the ids it belongs to): the same seeds give
    the same id, so a payload built from given ids is reproducible."""
    digest = hashlib.sha256(repr(seeds).encode()).digest()
    # base64 of the digest with its two symbols swapped for letters: alphanumerics only
    tail = base64.b64encode(digest + digest).translate(_SYMBOLS).decode()
    return f"{prefix}_{lead}{tail[: length - len(lead)]}"


# --- checks -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def check_api_version(value: str) -> str:
    """`2025-03-31.basil`, `2024-06-20`: a date and an optional release name."""
    match = _API_VERSION.fullmatch(value)
    if match is None:
        raise FixtureError(
            f"API version {value!r} is not like {BASIL!r} or {PRE_BASIL!r} (a date, and the "
            "release name from 2024-09-30.acacia on)"
        )
    try:
        datetime.strptime(match.group(1), "%Y-%m-%d")
    except ValueError:
        raise FixtureError(f"API version {value!r}: {match.group(1)} is not a date") from None
    return value


def is_basil(api_version: str) -> bool:
    """Whether an API version has the basil payload shape (2025-03-31 or later)."""
    return check_api_version(api_version)[:10] >= BASIL[:10]


def check_currency(value: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise FixtureError(f"currency {value!r} is not a lower-case three-letter code (usd)")
    return value


def check_amount(name: str, value: int) -> int:
    """An amount in the currency's minor unit, as Stripe can charge it."""
    if not 0 <= value <= MAX_AMOUNT:
        raise FixtureError(f"{name} {value} is not between 0 and {MAX_AMOUNT}")
    return value


def check_part(name: str, part: int, amount: int) -> None:
    """A tax (or another part) cannot be more than the amount it is part of."""
    check_amount(name, part)
    if part > amount:
        raise FixtureError(f"{name} {part} is more than the amount {amount} it is part of")
