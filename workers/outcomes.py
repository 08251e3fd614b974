"""Failed attempts in the event log: `failed` (will retry) and `dead_lettered` (gave up).

A failed attempt rolled its transaction back, so its row cannot be written there: this
middleware adds it to the event-log stream, which the log writer moves to PostgreSQL. It runs
after Dramatiq's Retries middleware has decided, so it knows whether the message will be
retried and how many attempts were made.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
import redis
from dramatiq import Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import Retries

from traaaction.logs import redact
from traaaction.queues import EVENT_LOG_MAXLEN, EVENT_LOG_STREAM

#: characters of an error message kept in the log row's detail
MAX_ERROR = 300


def failure_record(message: Any, exception: BaseException) -> tuple[str, bytes] | None:
    """(outcome, record) for a failed attempt of one of our actors' messages."""
    kwargs = message.kwargs or {}
    if "event_id" not in kwargs:
        return None
    gave_up = bool(getattr(message, "failed", False))
    text = redact(" ".join(str(exception).split()))[:MAX_ERROR]
    record = {
        "workspace_id": kwargs.get("workspace_id"),
        "endpoint_id": kwargs.get("endpoint_id"),
        "stripe_event_id": kwargs.get("event_id"),
        "event_type": kwargs.get("event_type"),
        "livemode": kwargs.get("livemode"),
        "reason": type(exception).__name__,
        "attempt": int(message.options.get("retries", 1)),
        "detail": {"will_retry": not gave_up, "error": text},
        "at": int(time.time() * 1000),
    }
    return ("dead_lettered" if gave_up else "failed"), orjson.dumps(record)


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
        client: redis.Redis = broker.client
        client.xadd(
            EVENT_LOG_STREAM,
            {"o": outcome, "r": record},
            maxlen=EVENT_LOG_MAXLEN,
            approximate=True,
        )


def install(broker: RedisBroker) -> None:
    # Before Retries in the list: "after" hooks run in reverse, so this sees its decision.
    broker.add_middleware(OutcomeLog(), before=Retries)
