"""GET /: the overview. Queue depths and the log writer's backlog (Redis), the open dead
letters grouped by event type and error, and the held commissions with their reason
(PostgreSQL).

Redis trouble does not take the page down: the queues' table says Redis did not answer.
"""

from __future__ import annotations

from typing import Any

import redis
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response

from config.logs import get_logger
from storage.models import Commission, DeadLetter
from traaaction.ops.console import Caller, Console
from traaaction.ops.depths import QueueDepth, handled_queues, read_backlogs, read_depths

log = get_logger(__name__)

#: held commissions shown at most (the newest holds first; `traaaction commissions list
#: --status ON_HOLD` lists them all)
HELD_SHOWN = 50


def read_overview(console: Console) -> dict[str, Any]:
    """The overview template's context (blocking: Redis, then PostgreSQL)."""
    depths: list[QueueDepth] | None
    backlogs: list[tuple[str, int]] | None
    now_ms = int(console.config.clock() * 1000)
    try:
        depths = read_depths(console.redis, handled_queues(), now_ms=now_ms)
        backlogs = read_backlogs(console.redis)
    except redis.RedisError as exc:
        log.warning("ops.queue_depths_failed", error=type(exc).__name__)
        depths = backlogs = None
    with console.factory() as session:
        groups = session.execute(
            select(
                DeadLetter.event_type,
                DeadLetter.error_class,
                func.count(),
                func.min(DeadLetter.last_failed_at),
                func.max(DeadLetter.last_failed_at),
            )
            .where(DeadLetter.status == "open")
            .group_by(DeadLetter.event_type, DeadLetter.error_class)
            .order_by(func.count().desc(), DeadLetter.event_type, DeadLetter.error_class)
        ).all()
        held = session.execute(
            select(
                Commission.id,
                Commission.workspace_id,
                Commission.kind,
                Commission.amount,
                Commission.currency,
                Commission.reason,
                Commission.updated_at,
            )
            .where(Commission.status == "ON_HOLD")
            .order_by(Commission.updated_at.desc(), Commission.id)
            .limit(HELD_SHOWN)
        ).all()
        held_total = session.scalar(
            select(func.count()).select_from(Commission).where(Commission.status == "ON_HOLD")
        )
    return {
        "held": [tuple(row) for row in held],
        "held_total": held_total or 0,
        "depths": depths,
        "backlogs": backlogs,
        "groups": [tuple(row) for row in groups],
        "open_total": sum(row[2] for row in groups),
    }


async def overview_page(console: Console, request: Request, caller: Caller) -> Response:
    data = await console.blocking(read_overview, console)
    return console.render(
        request, "overview.html", data, caller=caller, flash=await console.flash(caller)
    )
