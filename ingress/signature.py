"""Stripe-Signature verification: `t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.

Stricter than stripe-python's `verify_header`, on purpose (see the reference sheet):
- only `v1` counts; `v0` and unknown schemes are ignored (accepting them would be a downgrade);
- the timestamp must be within the tolerance in BOTH directions (stripe-python lets a future
  timestamp pass);
- an empty secret never verifies (stripe-python's does);
- items are split exactly as Stripe does, so `t=1, v1=...` (a space) has no `v1` and
  upper-case hex matches nothing, as with Stripe's own libraries.
The MAC is computed once per secret and compared with every `v1` in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

#: seconds; Stripe's default tolerance
DEFAULT_TOLERANCE = 300
#: characters; a real header is ~150 per secret; anything past this is not Stripe's
MAX_HEADER_LENGTH = 4096
#: `v1` entries; Stripe sends one per active secret
MAX_SIGNATURES = 16
_HEX_SHA256_LENGTH = 64


class SignatureFailure(StrEnum):
    MISSING_HEADER = "missing_signature_header"
    MALFORMED_HEADER = "malformed_signature_header"
    NO_V1 = "no_v1_signature"
    TIMESTAMP_OUT_OF_TOLERANCE = "timestamp_out_of_tolerance"
    NO_MATCH = "no_matching_signature"
    NO_ACTIVE_SECRET = "no_active_secret"  # noqa: S105 - a reason code


class SignatureError(Exception):
    """Raised when a request's signature does not verify; `failure` says why."""

    def __init__(self, failure: SignatureFailure) -> None:
        super().__init__(failure.value)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class ParsedHeader:
    timestamp: int
    signatures: tuple[str, ...]


def parse_header(header: str | None) -> ParsedHeader:
    if header is None or header == "":
        raise SignatureError(SignatureFailure.MISSING_HEADER)
    if len(header) > MAX_HEADER_LENGTH:
        raise SignatureError(SignatureFailure.MALFORMED_HEADER)
    timestamp: int | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, sep, value = item.partition("=")
        if not sep:
            raise SignatureError(SignatureFailure.MALFORMED_HEADER)
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise SignatureError(SignatureFailure.MALFORMED_HEADER)
            if len(value) > 12:
                raise SignatureError(SignatureFailure.MALFORMED_HEADER)
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise SignatureError(SignatureFailure.MALFORMED_HEADER)
    if not signatures:
        raise SignatureError(SignatureFailure.NO_V1)
    if len(signatures) > MAX_SIGNATURES:
        raise SignatureError(SignatureFailure.MALFORMED_HEADER)
    return ParsedHeader(timestamp, tuple(signatures))


def compute_signature(secret: str, timestamp: int, body: bytes) -> str:
    """The `v1` value Stripe would send for this secret, timestamp and raw body."""
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    header: str | None,
    body: bytes,
    secrets: Sequence[str],
    *,
    now: float,
    tolerance: int = DEFAULT_TOLERANCE,
) -> int:
    """Return the signed timestamp, or raise SignatureError. `secrets` are the active ones."""
    parsed = parse_header(header)
    if abs(now - parsed.timestamp) > tolerance:
        raise SignatureError(SignatureFailure.TIMESTAMP_OUT_OF_TOLERANCE)
    usable = [s for s in secrets if s]
    if not usable:
        raise SignatureError(SignatureFailure.NO_ACTIVE_SECRET)
    candidates = [s.encode() for s in parsed.signatures if len(s) == _HEX_SHA256_LENGTH]
    matched = False
    for secret in usable:
        expected = compute_signature(secret, parsed.timestamp, body).encode()
        for candidate in candidates:
            # Evaluate every comparison (no early exit) so timing says nothing of which matched.
            matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError(SignatureFailure.NO_MATCH)
    return parsed.timestamp


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """A Stripe-Signature header value (for tests, the benchmark and send-test-event)."""
    return f"t={timestamp},v1={compute_signature(secret, timestamp, body)}"
