"""GET /dead-letters (the list, filtered, open ones by default) and GET /dead-letters/{id}
(one dead letter: its error, attempts, payload, and its event's rows in the event log).

Error messages, tracebacks and payloads are shown redacted (config.logs.redact), the payload
cut at MAX_BODY_SHOWN characters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from config.logs import redact
from storage.models import DeadLetter
from storage.repositories import dead_letters, event_log
from traaaction.ops import forms
from traaaction.ops.console import Caller, Console
from workers.contract import ROUTES

#: characters of a raw payload shown in the collapsed block of a dead letter's page
MAX_BODY_SHOWN = 64 * 1024
#: event-log rows shown on a dead letter's page
RELATED_ROWS = 20
#: the query parameters the list's filter form fills in
DEAD_LETTER_FILTERS = ("workspace", "type", "reason", "since", "status")


def search_dead_letters(
    console: Console, filters: dead_letters.Filters, limit: int
) -> list[DeadLetter]:
    """Up to limit + 1 dead letters (one more tells that there are more); blocking."""
    with console.factory() as session:
        return dead_letters.search(session, filters, limit=limit + 1)


def _filters_of(query: Mapping[str, str]) -> dead_letters.Filters:
    """The filters asked for; FormError for one that cannot be used."""
    return dead_letters.Filters(
        workspace_id=forms.text(query.get("workspace"), "workspace"),
        event_type=forms.text(query.get("type"), "type"),
        reason=forms.text(query.get("reason"), "reason"),
        since=forms.instant(query.get("since"), "since"),
        status=forms.status(query.get("status")),
    )


async def dead_letter_list_page(console: Console, request: Request, caller: Caller) -> Response:
    q = request.query_params
    context: dict[str, Any] = {
        "q": {k: q.get(k, "") for k in DEAD_LETTER_FILTERS},
        "statuses": forms.STATUS_CHOICES,
        "types": sorted(ROUTES),
        "rows": [],
        "more": False,
        "error": None,
    }
    try:
        filters = _filters_of(q)
        limit = forms.page_size(q.get("limit"))
    except forms.FormError as exc:
        context["error"] = str(exc)
        return console.render(request, "dead_letters.html", context, caller=caller, status=400)
    rows = await console.blocking(search_dead_letters, console, filters, limit)
    context["more"] = len(rows) > limit
    context["rows"] = rows[:limit]
    context["limit"] = limit
    return console.render(
        request, "dead_letters.html", context, caller=caller, flash=await console.flash(caller)
    )


def find_dead_letter(console: Console, dead_letter_id: str) -> tuple[DeadLetter | None, list[Any]]:
    """The dead letter (None if there is no such one) and its event's latest log rows."""
    with console.factory() as session:
        found = dead_letters.get(session, dead_letter_id)
        if found is None:
            return None, []
        related = event_log.search(
            session,
            event_log.LogFilters(
                workspace_id=found.workspace_id, stripe_event_id=found.stripe_event_id
            ),
            limit=RELATED_ROWS,
        )
        return found, related


async def dead_letter_page(console: Console, request: Request, caller: Caller) -> Response:
    dead_letter_id: str = request.path_params["dead_letter_id"]
    found, related = await console.blocking(find_dead_letter, console, dead_letter_id)
    flash = await console.flash(caller)
    if found is None:
        return console.render(
            request,
            "error.html",
            {"status": 404, "message": "No such dead letter."},
            caller=caller,
            status=404,
            flash=flash,
        )
    body = found.body
    context = {
        "d": found,
        "related": related,
        "body_size": len(body.encode()),
        "body_shown": redact(body[:MAX_BODY_SHOWN]),
        "body_cut": len(body) > MAX_BODY_SHOWN,
        "error_message": redact(found.error_message),
        "traceback": redact(found.traceback),
    }
    return console.render(request, "dead_letter.html", context, caller=caller, flash=flash)
