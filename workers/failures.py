"""Named outcomes of a delivery that did not apply: what the retry policy acts on.

The pipeline says what it means instead of letting the retry policy infer it from whatever
was raised:

- `DeadLetterNow`: waiting cannot fix this delivery (a message that is not ours, say): straight
  to the dead letters, no retries. The domain's EventParseError and storage's
  InvariantViolation are its siblings below the workers (workers/retry.py lists all three).
- `RetryLater`: a transient condition the code recognised (Stripe's API busy, a row that
  another transaction is about to commit): retried on the usual schedule.

Anything else that escapes is retried too (see workers/retry.py for why). A skip is not a
failure: the event frame records it (Skip in the event log) and returns.
"""

from __future__ import annotations


class DeadLetterNow(Exception):
    """This delivery can never apply as it is: dead-letter it at once."""


class RetryLater(Exception):
    """A transient condition: run the delivery again later."""


class MalformedDelivery(DeadLetterNow):
    """A queued message that does not hold a delivery of ours (a field missing or mistyped)."""
