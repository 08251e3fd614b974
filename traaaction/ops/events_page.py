"""GET /events: the event log, filtered, newest first, a page at a time.

Filters: workspace, outcome, type, event (a Stripe event id), since, until; `limit` rows a
page; `before` is the cursor of the next (older) page, made from the last row shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from storage.models import LOG_OUTCOMES
from storage.repositories import event_log
from traaaction.ops import forms
from traaaction.ops.console import Caller, Console, base_path
from workers.contract import ROUTES

#: the query parameters the page's filter form fills in
EVENT_FILTERS = ("workspace", "outcome", "type", "event", "since", "until")


def search_event_log(
    console: Console, filters: event_log.LogFilters, limit: int, cursor: forms.Cursor | None
) -> list[Any]:
    """Up to limit + 1 rows (one more tells that there is an older page); blocking."""
    before = (cursor.created_at, cursor.row_id) if cursor else None
    with console.factory() as session:
        return list(event_log.search(session, filters, limit=limit + 1, before=before))


def _filters_of(query: Mapping[str, str]) -> event_log.LogFilters:
    """The filters asked for; FormError for one that cannot be used."""
    return event_log.LogFilters(
        workspace_id=forms.text(query.get("workspace"), "workspace"),
        outcome=forms.outcome(query.get("outcome")),
        event_type=forms.text(query.get("type"), "type"),
        stripe_event_id=forms.text(query.get("event"), "event"),
        since=forms.instant(query.get("since"), "since"),
        until=forms.instant(query.get("until"), "until"),
    )


async def event_log_page(console: Console, request: Request, caller: Caller) -> Response:
    q = request.query_params
    context: dict[str, Any] = {
        "q": {k: q.get(k, "") for k in EVENT_FILTERS},
        "outcomes": LOG_OUTCOMES,
        "types": sorted(ROUTES),
        "rows": [],
        "older": None,
        "newest": None,
        "error": None,
    }
    try:
        filters = _filters_of(q)
        limit = forms.page_size(q.get("limit"))
        cursor = forms.Cursor.decode(q.get("before"))
    except forms.FormError as exc:
        context["error"] = str(exc)
        return console.render(request, "events.html", context, caller=caller, status=400)
    rows = await console.blocking(search_event_log, console, filters, limit, cursor)
    here = f"{base_path(request)}/events"
    params = {k: v for k, v in q.items() if k != "before" and v}
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        after = forms.Cursor(last.created_at, last.id).encode()
        context["older"] = f"{here}?{urlencode({**params, 'before': after})}"
    if cursor is not None:
        context["newest"] = f"{here}?{urlencode(params)}"
    context["rows"] = rows
    return console.render(
        request, "events.html", context, caller=caller, flash=await console.flash(caller)
    )
