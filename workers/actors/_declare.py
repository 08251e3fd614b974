"""The one way actors are declared: name and queue from workers.contract, shared policy."""

from __future__ import annotations

import dramatiq
import structlog
from dramatiq.middleware import CurrentMessage

from workers.contract import ROUTES, Delivery
from workers.pipeline import process
from workers.retry import MAX_BACKOFF, MAX_RETRIES, MIN_BACKOFF, should_retry


def current_attempt() -> int | None:
    message = CurrentMessage.get_current_message()
    if message is None:
        return None
    return int(message.options.get("retries", 0)) + 1


def declare(event_type: str) -> dramatiq.Actor[..., None]:
    route = ROUTES[event_type]

    def run(**kwargs: object) -> None:
        message = CurrentMessage.get_current_message()
        attempt = current_attempt()
        # Every log line while this message runs (ours, the libraries') carries these.
        with structlog.contextvars.bound_contextvars(
            actor=route.actor_name,
            message_id=message.message_id if message is not None else None,
            event_id=kwargs.get("event_id"),
            endpoint_id=kwargs.get("endpoint_id"),
            workspace_id=kwargs.get("workspace_id"),
            attempt=attempt,
        ):
            # MalformedDelivery (a dead letter at once) if the message is not one of ours.
            process(Delivery.from_kwargs(kwargs), attempt=attempt)

    run.__name__ = route.actor_name
    run.__doc__ = f"Apply a verified {event_type} delivery (see docs/commissions.md)."
    return dramatiq.actor(
        actor_name=route.actor_name,
        queue_name=route.queue_name,
        max_retries=MAX_RETRIES,
        min_backoff=MIN_BACKOFF,
        max_backoff=MAX_BACKOFF,
        retry_when=should_retry,
    )(run)
