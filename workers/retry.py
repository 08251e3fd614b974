"""Which failures are retried: transient ones, on a schedule; permanent ones never.

Schedule: Dramatiq's exponential backoff with jitter (dramatiq.common.compute_backoff). Retry
n (1-based) waits MIN_BACKOFF * 2**(n-1) times a random factor in [1, 2); once that passes
MAX_BACKOFF, a random 50-100 % of it. With 1 s and 10 min and MAX_RETRIES = 15 (16 attempts):

    retry    1     2     3     4      5      6      7       8       9        10-15
    waits    1-2s  2-4s  4-8s  8-16s  16-32s 32-64s 64-128s 128-256s 256-512s 5-10 min each

so an event is dead-lettered 39 to 77 minutes (58 expected) after its first failure: long
enough to ride out a PostgreSQL failover or a Stripe incident, short enough that an operator
sees it the same hour. docs/operations.md repeats the table.

Permanent failures go to the dead letters at once, without retries: waiting cannot fix them.
Each is named, never inferred from an assertion (which `python -O` would remove):
- a verified payload the parsers cannot read (EventParseError);
- whatever the code names as such: DeadLetterNow (workers/failures.py), MalformedDelivery (a
  message that is not a delivery of ours) among them;
- a broken invariant: the ledger answered what the rules rule out (InvariantViolation), the
  database refused a row (a CHECK, NOT NULL, foreign key or unique constraint:
  IntegrityError), or a value it cannot hold (DataError).

Everything else is retried (RetryLater says so by name): PostgreSQL or Redis unreachable,
serialization failures and deadlocks, Stripe's API answering 5xx or 429 or timing out, and
errors nobody foresaw (a bug fixed by a deploy within the hour lets the event through; a dead
letter would need an operator). Skips are not failures: the frame records them and returns.
"""

from __future__ import annotations

import psycopg
import sqlalchemy.exc

from domain.events import EventParseError
from storage.errors import InvariantViolation
from workers.failures import DeadLetterNow

MAX_RETRIES = 15
#: milliseconds
MIN_BACKOFF = 1_000
MAX_BACKOFF = 600_000

_PERMANENT_DRIVER_ERRORS = (psycopg.IntegrityError, psycopg.DataError)
_PERMANENT = (EventParseError, DeadLetterNow, InvariantViolation)


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, _PERMANENT):
        return True
    if isinstance(exc, sqlalchemy.exc.StatementError) and exc.orig is not None:
        exc = exc.orig
    return isinstance(exc, _PERMANENT_DRIVER_ERRORS)


def should_retry(retries_so_far: int, exc: BaseException) -> bool:
    """Dramatiq's `retry_when`: permanent failures go to the dead letters at once."""
    if is_permanent(exc):
        return False
    return retries_so_far < MAX_RETRIES
