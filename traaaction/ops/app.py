"""The operator console's pages and buttons (Starlette + Jinja2, plain HTML, no JavaScript).

GET  /                          overview: queue depths, open dead letters
GET  /events                    the event log, filtered, newest first, paginated
GET  /dead-letters              dead letters, filtered (open ones by default)
GET  /dead-letters/{id}         one dead letter: its error, attempts, payload, event log
POST /dead-letters/{id}/replay  replay it (dry_run=1: only say what it would do)
POST /dead-letters/{id}/discard close it without replaying (with a reason)
GET  /login, POST /login        sign in with the operator token; POST /logout signs out

Every page needs a session (from signing in) or `Authorization: Bearer <token>`; without
them the answer is 401 with the sign-in form. See auth.py for sessions, CSRF and cross-site
checks. Blocking work (PostgreSQL, Redis, replays) runs in worker threads.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import quote, urlencode

import anyio
import orjson
import redis
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.logs import get_logger, redact
from storage.db import make_session_factory
from storage.models import LOG_OUTCOMES, DeadLetter
from storage.repositories import dead_letters, event_log
from traaaction.ops import ActionError, Actions, ConsoleConfig, ReplayOutcome, forms
from traaaction.ops.auth import (
    FailureLimiter,
    Session,
    SessionStore,
    TokenCheck,
    cross_site,
    same_secret,
)
from traaaction.ops.depths import QueueDepth, handled_queues, read_backlogs, read_depths
from workers.contract import ROUTES

log = get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
COOKIE = "traaaction_ops"
#: characters of a raw payload shown in the collapsed block of a dead letter's page
MAX_BODY_SHOWN = 64 * 1024
#: event-log rows shown on a dead letter's page
RELATED_ROWS = 20
#: worker threads the console may occupy at once (its own share: the ingress' lookups and
#: readiness checks keep theirs however slow a replay or a query is)
CONSOLE_THREADS = 4

P = ParamSpec("P")
T = TypeVar("T")


_EVENT_FILTERS = ("workspace", "outcome", "type", "event", "since", "until")
#: which navigation link a page highlights
_NAV = {
    "overview.html": "overview",
    "events.html": "events",
    "dead_letters.html": "dead_letters",
    "dead_letter.html": "dead_letters",
}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a browser session, or a script with the bearer token (session None)."""

    session: Session | None
    cookie: str | None = None


Handler = Callable[[Request, Caller], Awaitable[Response]]
FormHandler = Callable[[Request, Caller, dict[str, str]], Awaitable[Response]]


class _SecurityHeaders:
    """Headers on every console response: nothing cached, framed, sniffed or scripted."""

    def __init__(self, app: ASGIApp, csp: str) -> None:
        self._app = app
        self._headers = [
            (b"content-security-policy", csp.encode()),
            (b"cache-control", b"no-store"),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self._headers]
            await send(message)

        await self._app(scope, receive, send_with_headers)


def _when(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


def _base(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _shown(value: object) -> str:
    """A planned command's field as text: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return str(value)


def _flash_of(dead_letter_id: str, result: ReplayOutcome, *, dry_run: bool) -> dict[str, Any]:
    return {
        "kind": "dry_run" if dry_run else "replay",
        "dead_letter_id": dead_letter_id,
        "stripe_event_id": result.stripe_event_id,
        "event_type": result.event_type,
        "outcome": result.outcome,
        "reason": result.reason,
        "commission_ids": list(result.commission_ids),
        # What the domain decided, each value as text: shown, never interpreted.
        "planned": [{str(k): _shown(v) for k, v in c.items()} for c in result.planned],
        "error": redact(result.error) if result.error else None,
    }


class Console:
    def __init__(self, config: ConsoleConfig) -> None:
        self.config = config
        self.redis = redis.Redis.from_url(
            config.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0
        )
        self.token = TokenCheck(config.token.get_secret_value())
        self.sessions = SessionStore(
            self.redis,
            binding=self.token.binding,
            lifetime=config.session_lifetime,
            idle=config.session_idle,
            clock=config.clock,
        )
        self.limiter = FailureLimiter(
            burst=config.login_burst, refill=config.login_refill, clock=config.clock
        )
        self.factory = make_session_factory(config.engine)
        self.actions: Actions
        if config.actions is not None:
            self.actions = config.actions
        else:
            from traaaction.ops.actions import PipelineActions

            self.actions = PipelineActions(
                config.engine,
                secret_box=config.secret_box,
                stripe_api_base=config.stripe_api_base,
            )
        self._threads: anyio.CapacityLimiter | None = None
        self.env = Environment(
            loader=FileSystemLoader(TEMPLATES),
            autoescape=True,
            undefined=StrictUndefined,
            auto_reload=False,
        )
        self.env.filters.update(when=_when, age=_age, size=_size)
        #: our own stylesheet, inlined (base.html marks it safe); the CSP admits its hash only
        self.style = style = self.env.get_template("style.css").render()
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        self.csp = (
            f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'"
        )

    def close(self) -> None:
        self.redis.close()

    async def blocking(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a blocking call (PostgreSQL, Redis, a replay) in one of the console's threads."""
        if self._threads is None:
            self._threads = anyio.CapacityLimiter(CONSOLE_THREADS)
        call = functools.partial(fn, *args, **kwargs)
        return await anyio.to_thread.run_sync(call, limiter=self._threads)

    # --- rendering ---

    def render(
        self,
        request: Request,
        template: str,
        context: Mapping[str, Any],
        *,
        caller: Caller | None,
        status: int = 200,
        flash: Mapping[str, Any] | None = None,
    ) -> HTMLResponse:
        session = caller.session if caller else None
        page = self.env.get_template(template).render(
            {
                "nav": _NAV.get(template, ""),
                "base": _base(request),
                "style": self.style,
                "signed_in": caller is not None,
                "csrf": session.csrf if session else "",
                "flash": flash,
                **context,
            }
        )
        return HTMLResponse(page, status_code=status)

    def login_page(
        self, request: Request, *, status: int, message: str | None = None, after: str = ""
    ) -> HTMLResponse:
        if not after and request.method == "GET" and not request.url.path.endswith("/login"):
            after = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return self.render(
            request,
            "login.html",
            {"message": message, "next": after},
            caller=None,
            status=status,
        )

    def refusal(self, request: Request, status: int, message: str) -> HTMLResponse:
        context = {"status": status, "message": message}
        return self.render(request, "error.html", context, caller=None, status=status)

    # --- credentials ---

    async def caller(self, request: Request) -> Caller | Response | None:
        """The caller, None without valid credentials, or a response (too many failures)."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            client = _client(request)
            wait = self.limiter.retry_after(client)
            if wait > 0:
                return self.too_many(request, wait)
            if self.token.matches(value.strip()):
                return Caller(session=None)
            self.limiter.failed(client)
            log.warning("ops.auth_failed", client=client, via="bearer")
            return None
        cookie = request.cookies.get(COOKIE)
        if not cookie:
            return None
        session = await self.blocking(self.sessions.load, cookie)
        return Caller(session, cookie) if session is not None else None

    def too_many(self, request: Request, wait: float) -> Response:
        response = self.login_page(
            request, status=429, message="Too many failed attempts; wait a moment."
        )
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return response

    def page(self, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            caller = await self.caller(request)
            if isinstance(caller, Response):
                return caller
            if caller is None:
                return self.login_page(request, status=401)
            return await handler(request, caller)

        return endpoint

    def action(self, handler: FormHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            if cross_site(request.headers):
                log.warning("ops.cross_site_post", client=_client(request), path=request.url.path)
                return self.refusal(request, 403, "Cross-site request refused.")
            caller = await self.caller(request)
            if isinstance(caller, Response):
                return caller
            if caller is None:
                return self.login_page(request, status=401)
            try:
                form = await forms.read_form(request)
            except forms.FormError as exc:
                return self.refusal(request, 400, str(exc))
            if caller.session is not None and not same_secret(
                form.get("csrf", ""), caller.session.csrf
            ):
                log.warning("ops.csrf_refused", client=_client(request), path=request.url.path)
                return self.refusal(request, 403, "Stale or missing form token; reload the page.")
            return await handler(request, caller, form)

        return endpoint

    async def flash(self, caller: Caller) -> dict[str, Any] | None:
        if caller.session is None:
            return None
        return await self.blocking(self.sessions.pop_flash, caller.session)

    async def done(
        self, request: Request, caller: Caller, flash: dict[str, Any], location: str
    ) -> Response:
        """After an action: its outcome as JSON for scripts, else a redirect with a flash."""
        if _wants_json(request):
            return JSONResponse(flash)
        if caller.session is not None:
            await self.blocking(self.sessions.set_flash, caller.session, flash)
        return RedirectResponse(location, status_code=303)

    # --- sign-in ---

    async def login_form(self, request: Request) -> Response:
        return self.login_page(request, status=200)

    def _after_login(self, request: Request, wanted: str) -> str:
        base = _base(request)
        safe = (
            wanted.startswith(base + "/")
            and "//" not in wanted
            and "\\" not in wanted
            and wanted.isprintable()
        )
        return wanted if safe else base + "/"

    async def login(self, request: Request) -> Response:
        client = _client(request)
        if cross_site(request.headers):
            log.warning("ops.cross_site_post", client=client, path=request.url.path)
            return self.refusal(request, 403, "Cross-site request refused.")
        wait = self.limiter.retry_after(client)
        if wait > 0:
            return self.too_many(request, wait)
        try:
            form = await forms.read_form(request)
        except forms.FormError:
            form = {}
        after = form.get("next", "")
        if not self.token.matches(form.get("token", "")):
            self.limiter.failed(client)
            log.warning("ops.auth_failed", client=client, via="form")
            return self.login_page(request, status=401, message="Sign-in failed.", after=after)
        old = request.cookies.get(COOKIE)
        if old:
            await self.blocking(self.sessions.delete, old)
        cookie, _session = await self.blocking(self.sessions.create)
        log.info("ops.signed_in", client=client)
        response = RedirectResponse(self._after_login(request, after), status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(self.config.session_lifetime),
            path=_base(request) or "/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    async def logout(self, request: Request, caller: Caller, _form: dict[str, str]) -> Response:
        if caller.cookie is not None:
            await self.blocking(self.sessions.delete, caller.cookie)
            log.info("ops.signed_out", client=_client(request))
        response = RedirectResponse(f"{_base(request)}/login", status_code=303)
        response.delete_cookie(
            COOKIE,
            path=_base(request) or "/",
            secure=request.url.scheme == "https",
            httponly=True,
            samesite="strict",
        )
        return response

    # --- pages ---

    def _overview(self) -> dict[str, Any]:
        depths: list[QueueDepth] | None
        backlogs: list[tuple[str, int]] | None
        now_ms = int(self.config.clock() * 1000)
        try:
            depths = read_depths(self.redis, handled_queues(), now_ms=now_ms)
            backlogs = read_backlogs(self.redis)
        except redis.RedisError as exc:
            log.warning("ops.queue_depths_failed", error=type(exc).__name__)
            depths = backlogs = None
        with self.factory() as session:
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
        return {
            "depths": depths,
            "backlogs": backlogs,
            "groups": [tuple(row) for row in groups],
            "open_total": sum(row[2] for row in groups),
        }

    async def overview(self, request: Request, caller: Caller) -> Response:
        data = await self.blocking(self._overview)
        return self.render(
            request, "overview.html", data, caller=caller, flash=await self.flash(caller)
        )

    def _events(
        self, filters: event_log.LogFilters, limit: int, cursor: forms.Cursor | None
    ) -> list[Any]:
        before = (cursor.created_at, cursor.row_id) if cursor else None
        with self.factory() as session:
            return list(event_log.search(session, filters, limit=limit + 1, before=before))

    async def events(self, request: Request, caller: Caller) -> Response:
        q = request.query_params
        context: dict[str, Any] = {
            "q": {k: q.get(k, "") for k in _EVENT_FILTERS},
            "outcomes": LOG_OUTCOMES,
            "types": sorted(ROUTES),
            "rows": [],
            "older": None,
            "newest": None,
            "error": None,
        }
        try:
            filters = event_log.LogFilters(
                workspace_id=forms.text(q.get("workspace"), "workspace"),
                outcome=forms.outcome(q.get("outcome")),
                event_type=forms.text(q.get("type"), "type"),
                stripe_event_id=forms.text(q.get("event"), "event"),
                since=forms.instant(q.get("since"), "since"),
                until=forms.instant(q.get("until"), "until"),
            )
            limit = forms.page_size(q.get("limit"))
            cursor = forms.Cursor.decode(q.get("before"))
        except forms.FormError as exc:
            context["error"] = str(exc)
            return self.render(request, "events.html", context, caller=caller, status=400)
        rows = await self.blocking(self._events, filters, limit, cursor)
        here = f"{_base(request)}/events"
        params = {k: v for k, v in q.items() if k != "before" and v}
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            after = forms.Cursor(last.created_at, last.id).encode()
            context["older"] = f"{here}?{urlencode({**params, 'before': after})}"
        if cursor is not None:
            context["newest"] = f"{here}?{urlencode(params)}"
        context["rows"] = rows
        return self.render(
            request, "events.html", context, caller=caller, flash=await self.flash(caller)
        )

    def _dead_letters(self, filters: dead_letters.Filters, limit: int) -> list[DeadLetter]:
        with self.factory() as session:
            return dead_letters.search(session, filters, limit=limit + 1)

    async def dead_letter_list(self, request: Request, caller: Caller) -> Response:
        q = request.query_params
        context: dict[str, Any] = {
            "q": {k: q.get(k, "") for k in ("workspace", "type", "reason", "since", "status")},
            "statuses": forms.STATUS_CHOICES,
            "types": sorted(ROUTES),
            "rows": [],
            "more": False,
            "error": None,
        }
        try:
            filters = dead_letters.Filters(
                workspace_id=forms.text(q.get("workspace"), "workspace"),
                event_type=forms.text(q.get("type"), "type"),
                reason=forms.text(q.get("reason"), "reason"),
                since=forms.instant(q.get("since"), "since"),
                status=forms.status(q.get("status")),
            )
            limit = forms.page_size(q.get("limit"))
        except forms.FormError as exc:
            context["error"] = str(exc)
            return self.render(request, "dead_letters.html", context, caller=caller, status=400)
        rows = await self.blocking(self._dead_letters, filters, limit)
        context["more"] = len(rows) > limit
        context["rows"] = rows[:limit]
        context["limit"] = limit
        return self.render(
            request, "dead_letters.html", context, caller=caller, flash=await self.flash(caller)
        )

    def _dead_letter(self, dead_letter_id: str) -> tuple[DeadLetter | None, list[Any]]:
        with self.factory() as session:
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

    async def dead_letter(self, request: Request, caller: Caller) -> Response:
        dead_letter_id: str = request.path_params["dead_letter_id"]
        found, related = await self.blocking(self._dead_letter, dead_letter_id)
        flash = await self.flash(caller)
        if found is None:
            return self.render(
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
        return self.render(request, "dead_letter.html", context, caller=caller, flash=flash)

    # --- buttons ---

    def _back(self, request: Request, dead_letter_id: str) -> str:
        return f"{_base(request)}/dead-letters/{quote(dead_letter_id, safe='')}"

    async def replay(self, request: Request, caller: Caller, form: dict[str, str]) -> Response:
        dead_letter_id: str = request.path_params["dead_letter_id"]
        dry_run = form.get("dry_run") == "1"
        flash: dict[str, Any]
        try:
            result = await self.blocking(self.actions.replay, dead_letter_id, dry_run=dry_run)
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
            flash = _flash_of(dead_letter_id, result, dry_run=dry_run)
            log.info(
                "ops.replayed",
                client=_client(request),
                dead_letter_id=dead_letter_id,
                dry_run=dry_run,
                outcome=result.outcome,
                reason=result.reason,
            )
        return await self.done(request, caller, flash, self._back(request, dead_letter_id))

    async def discard(self, request: Request, caller: Caller, form: dict[str, str]) -> Response:
        dead_letter_id: str = request.path_params["dead_letter_id"]
        back = self._back(request, dead_letter_id)
        try:
            reason = forms.text(form.get("reason"), "reason")
        except forms.FormError as exc:
            reason, problem = None, str(exc)
        else:
            problem = "a reason is required to discard"
        if reason is None:
            flash = {"kind": "error", "dead_letter_id": dead_letter_id, "error": problem}
            return await self.done(request, caller, flash, back)
        try:
            closed = await self.blocking(self.actions.discard, [dead_letter_id], reason)
        except ActionError as exc:
            flash = {"kind": "error", "dead_letter_id": dead_letter_id, "error": str(exc)}
            return await self.done(request, caller, flash, back)
        discarded = dead_letter_id in closed
        log.info(
            "ops.discarded",
            client=_client(request),
            dead_letter_id=dead_letter_id,
            discarded=discarded,
        )
        flash = {
            "kind": "discard",
            "dead_letter_id": dead_letter_id,
            "outcome": "discarded" if discarded else "not_open",
            "reason": reason,
        }
        return await self.done(request, caller, flash, back)

    # --- failures of the dependencies ---

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        what = "Redis" if isinstance(exc, redis.RedisError) else "PostgreSQL"
        log.warning("ops.dependency_failed", dependency=what, error=type(exc).__name__)
        return self.refusal(request, 503, f"{what} is unavailable; try again shortly.")


def create_ops_app(config: ConsoleConfig) -> Starlette:
    """The console as an ASGI app, meant to be mounted (its links follow its root_path)."""
    console = Console(config)
    routes = [
        Route("/", console.page(console.overview), methods=["GET"]),
        Route("/login", console.login_form, methods=["GET"]),
        Route("/login", console.login, methods=["POST"]),
        Route("/logout", console.action(console.logout), methods=["POST"]),
        Route("/events", console.page(console.events), methods=["GET"]),
        Route("/dead-letters", console.page(console.dead_letter_list), methods=["GET"]),
        Route(
            "/dead-letters/{dead_letter_id}",
            console.page(console.dead_letter),
            methods=["GET"],
        ),
        Route(
            "/dead-letters/{dead_letter_id}/replay",
            console.action(console.replay),
            methods=["POST"],
        ),
        Route(
            "/dead-letters/{dead_letter_id}/discard",
            console.action(console.discard),
            methods=["POST"],
        ),
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={
            redis.RedisError: console.unavailable,
            DBAPIError: console.unavailable,
        },
    )
    app.add_middleware(_SecurityHeaders, csp=console.csp)
    app.state.close = console.close
    app.state.console = console
    return app
