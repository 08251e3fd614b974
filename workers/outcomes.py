"""Failed attempts in the event log (`failed`, `dead_lettered`) and dead letters in PostgreSQL.

A failed attempt rolled its transaction back, so nothing about it can be written there. The
OutcomeLog middleware runs after Dramatiq's Retries middleware has decided whether the message
will be retried, and hands the outcome to the log writer through Redis:

- a failed attempt that will be retried: a `failed` record on the event-log stream;
- a message given up on (retries exhausted, or a permanent failure): a record on the
  dead-letter stream with everything needed to replay it (the message and its raw body, the
  error and a traceback summary, attempts, first and last failure). The log writer turns it
  into a `dead_letters` row and a `dead_lettered` log row in one transaction.

FirstFailure stamps the time of a message's first failure into its options, which Dramatiq
keeps across retries, so the dead letter can tell how long the event has been failing.

Redis unreachable when an attempt fails: Dramatiq runs these hooks (and the retry's enqueue)
once, logs what raises, and acknowledges the message all the same once Redis is back. So the
writes a failed attempt depends on wait for Redis (`until_written`), as Dramatiq's own ack
does: a dead letter's record is never lost, nor is a retry (workers/broker.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
import redis
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import Retries

from config.logs import get_logger, redact
from domain.json_fields import EventParseError
from storage.repositories.ledger.context import account_of
from workers import metrics
from workers.contract import DEAD_LETTER_STREAM, EVENT_LOG_MAXLEN, EVENT_LOG_STREAM

#: characters of an error message kept in the log row's detail and the dead letter
MAX_ERROR = 300
#: characters of a traceback kept in a dead letter (its last frames: where it failed)
MAX_TRACEBACK = 4_000
FIRST_FAILED_AT = "first_failed_at"
#: seconds between two tries of a write that waits for Redis (`until_written`)
REDIS_RETRY_INTERVAL = 1.0
#: what Redis being away raises (redis-py has retried the command for a few seconds by then)
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError, BrokerConnectionError)

log = get_logger(__name__)
T = TypeVar("T")


def until_written(write: Callable[[], T], what: str) -> T:
    """Run a Redis write a failed attempt depends on until Redis takes it, in the worker
    thread: Dramatiq acknowledges the message next, and would lose whatever was not written.
    Should the process die meanwhile, the message is still unacknowledged and goes back to
    its queue (workers/broker.py)."""
    while True:
        try:
            return write()
        except REDIS_DOWN as exc:
            log.warning("broker.redis_unavailable", writing=what, error=type(exc).__name__)
            time.sleep(REDIS_RETRY_INTERVAL)


def _now_ms() -> int:
    return int(time.time() * 1000)


def _error_text(exception: BaseException) -> str:
    return redact(" ".join(str(exception).split()))[:MAX_ERROR]


def _traceback_summary(message: Any) -> str:
    text = str(message.options.get("traceback") or "")
    return redact(text[-MAX_TRACEBACK:])


def _account(kwargs: dict[str, Any]) -> str | None:
    """The Connect account of the message's body; None when it has none or is no event (a
    body the parsers refused is dead-lettered all the same)."""
    body = kwargs.get("body")
    try:
        return account_of(body) if isinstance(body, str) else None
    except EventParseError:
        return None


def failure_record(message: Any, exception: BaseException) -> tuple[str, bytes] | None:
    """(outcome, record) for a failed attempt of one of our actors' messages.

    `failed`: an event-log record. `dead_lettered`: a dead-letter record (the log writer
    derives the log row from it)."""
    kwargs = message.kwargs or {}
    if "event_id" not in kwargs:
        return None
    gave_up = bool(getattr(message, "failed", False))
    now = _now_ms()
    text = _error_text(exception)
    record: dict[str, Any] = {
        "workspace_id": kwargs.get("workspace_id"),
        "endpoint_id": kwargs.get("endpoint_id"),
        "stripe_event_id": kwargs.get("event_id"),
        "event_type": kwargs.get("event_type"),
        "livemode": kwargs.get("livemode"),
        "stripe_account": _account(kwargs),
        "reason": type(exception).__name__,
        "attempt": int(message.options.get("retries", 1)),
        "detail": {"will_retry": not gave_up, "error": text},
        "at": now,
    }
    if not gave_up:
        return "failed", orjson.dumps(record)
    replay = kwargs.get("replay")
    if isinstance(replay, dict) and replay.get("dead_letter_id"):
        record["detail"]["replay_of"] = replay["dead_letter_id"]
    message_dict = message.asdict()
    body = message_dict["kwargs"].get("body", "")
    message_dict["kwargs"] = {k: v for k, v in message_dict["kwargs"].items() if k != "body"}
    message_dict["options"] = {k: v for k, v in message_dict["options"].items() if k != "traceback"}
    record.update(
        actor_name=message.actor_name,
        queue_name=message.queue_name,
        message_id=message.message_id,
        message=message_dict,
        body=body,
        error_message=text,
        traceback=_traceback_summary(message),
        first_failed_at=int(message.options.get(FIRST_FAILED_AT) or now),
    )
    return "dead_lettered", orjson.dumps(record)


class OutcomeLog(Middleware):
    def after_process_message(
        self,
        broker: Any,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        found = failure_record(message, exception)
        if found is None:
            return
        outcome, record = found
        metrics.observe_failure(
            str(message.kwargs.get("event_type")),
            type(exception).__name__,
            gave_up=outcome == "dead_lettered",
        )
        client: redis.Redis = broker.client
        if outcome == "dead_lettered":
            until_written(
                lambda: client.xadd(DEAD_LETTER_STREAM, {"o": outcome, "r": record}), outcome
            )
        else:
            until_written(
                lambda: client.xadd(
                    EVENT_LOG_STREAM,
                    {"o": outcome, "r": record},
                    maxlen=EVENT_LOG_MAXLEN,
                    approximate=True,
                ),
                outcome,
            )


class FirstFailure(Middleware):
    """Stamps a message's first failure time into its options (kept across retries)."""

    def after_process_message(
        self,
        broker: Any,
        message: Any,
        *,
        result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is not None:
            message.options.setdefault(FIRST_FAILED_AT, _now_ms())


def install(broker: RedisBroker) -> None:
    # "after" hooks run in reverse order of the list. OutcomeLog goes before Retries, so it
    # runs after Retries decided (retried or given up); FirstFailure goes last, so it runs
    # before Retries re-enqueues the message with its options.
    broker.add_middleware(OutcomeLog(), before=Retries)
    broker.add_middleware(FirstFailure())
