"""Which failures are retried: transient ones, on a schedule; never a malformed payload.

Schedule (Dramatiq's exponential backoff with jitter): 1 s doubling up to 10 min, at most
MAX_RETRIES retries: about an hour in all. docs/operations.md has the table.
"""

from __future__ import annotations

from domain.events import EventParseError

MAX_RETRIES = 12
#: milliseconds
MIN_BACKOFF = 1_000
MAX_BACKOFF = 600_000


def should_retry(retries_so_far: int, exc: BaseException) -> bool:
    """Dramatiq's `retry_when`: permanent failures go to the dead letters at once."""
    if isinstance(exc, EventParseError):
        return False
    return retries_so_far < MAX_RETRIES
