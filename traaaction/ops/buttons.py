"""The dead-letter page's buttons: POST /dead-letters/{id}/replay (dry_run=1: only say what it
would do) and POST /dead-letters/{id}/discard (close it without replaying, with a reason).

They run through the console's Actions (actions.py: workers.replay, in this process). Their
outcome comes back as JSON to a script that asks for it, else as a flash on the dead letter's
page, where the browser is redirected.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import orjson
from starlette.requests import Request
from starlette.responses import Response

from config.logs import get_logger, redact
from traaaction.ops import ActionError, ReplayOutcome, forms
from traaaction.ops.console import Caller, Console, base_path, client_address

log = get_logger(__name__)


def dead_letter_url(request: Request, dead_letter_id: str) -> str:
    return f"{base_path(request)}/dead-letters/{quote(dead_letter_id, safe='')}"


def shown(value: object) -> str:
    """A planned command's field as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return str(value)


def replay_flash(dead_letter_id: str, result: ReplayOutcome, *, dry_run: bool) -> dict[str, Any]:
    """What a replay (or its dry run) did, as the flash and the JSON answer show it."""
    return {
        "kind": "dry_run" if dry_run else "replay",
        "dead_letter_id": dead_letter_id,
        "stripe_event_id": result.stripe_event_id,
        "event_type": result.event_type,
        "outcome": result.outcome,
        "reason": result.reason,
        "commission_ids": list(result.commission_ids),
        # What the domain decided, each value as text: shown, never interpreted.
        "planned": [{str(k): shown(v) for k, v in c.items()} for c in result.planned],
        "error": redact(result.error) if result.error else None,
    }


async def replay(
    console: Console, request: Request, caller: Caller, form: dict[str, str]
) -> Response:
    dead_letter_id: str = request.path_params["dead_letter_id"]
    dry_run = form.get("dry_run") == "1"
    flash: dict[str, Any]
    try:
        result = await console.blocking(console.actions.replay, dead_letter_id, dry_run=dry_run)
    except ActionError as exc:
        flash = {"kind": "error", "dead_letter_id": dead_letter_id, "error": str(exc)}
    except Exception as exc:
        log.exception("ops.replay_failed", dead_letter_id=dead_letter_id, dry_run=dry_run)
        flash = {
            "kind": "error",
            "dead_letter_id": dead_letter_id,
            "error": f"the replay raised {type(exc).__name__}",
        }
    else:
        flash = replay_flash(dead_letter_id, result, dry_run=dry_run)
        log.info(
            "ops.replayed",
            client=client_address(request),
            dead_letter_id=dead_letter_id,
            dry_run=dry_run,
            outcome=result.outcome,
            reason=result.reason,
        )
    return await console.done(request, caller, flash, dead_letter_url(request, dead_letter_id))


async def discard(
    console: Console, request: Request, caller: Caller, form: dict[str, str]
) -> Response:
    dead_letter_id: str = request.path_params["dead_letter_id"]
    back = dead_letter_url(request, dead_letter_id)
    try:
        reason = forms.text(form.get("reason"), "reason")
    except forms.FormError as exc:
        reason, problem = None, str(exc)
    else:
        problem = "a reason is required to discard"
    if reason is None:
        flash = {"kind": "error", "dead_letter_id": dead_letter_id, "error": problem}
        return await console.done(request, caller, flash, back)
    try:
        closed = await console.blocking(console.actions.discard, [dead_letter_id], reason)
    except ActionError as exc:
        flash = {"kind": "error", "dead_letter_id": dead_letter_id, "error": str(exc)}
        return await console.done(request, caller, flash, back)
    discarded = dead_letter_id in closed
    log.info(
        "ops.discarded",
        client=client_address(request),
        dead_letter_id=dead_letter_id,
        discarded=discarded,
    )
    flash = {
        "kind": "discard",
        "dead_letter_id": dead_letter_id,
        "outcome": "discarded" if discarded else "not_open",
        "reason": reason,
    }
    return await console.done(request, caller, flash, back)
