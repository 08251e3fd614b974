"""What every page and button of the console stands on: its state, rendering and credentials.

A Console holds what one mounted console shares (the Redis client, sessions, the sign-in
limiter, PostgreSQL sessions, the Actions behind the buttons, the Jinja2 templates and the
Content-Security-Policy that admits its stylesheet), and wraps handlers into endpoints:

- `page(handler)`: a GET that needs a session or `Authorization: Bearer <token>`; without
  them the answer is 401 with the sign-in form;
- `action(handler)`: a POST that is also refused when it comes from another site, or, with a
  session, without that session's CSRF token; the handler gets the form's fields;
- `public(handler)`: no credentials needed (the sign-in itself).

Handlers are plain functions taking the Console first (overview.py, events_page.py,
dead_letter_pages.py, buttons.py, signin.py). See auth.py for sessions, CSRF and cross-site
checks. Blocking work (PostgreSQL, Redis, replays) runs in the console's worker threads.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import anyio
import redis
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from config.logs import get_logger
from storage.db import make_session_factory
from traaaction.ops import Actions, ConsoleConfig, forms
from traaaction.ops.auth import (
    FailureLimiter,
    Session,
    SessionStore,
    TokenCheck,
    cross_site,
    same_secret,
)
from traaaction.ops.template_filters import TEMPLATE_FILTERS

log = get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
#: the session cookie's name
COOKIE = "traaaction_ops"
#: worker threads the console may occupy at once (its own share: the ingress' lookups and
#: readiness checks keep theirs however slow a replay or a query is)
CONSOLE_THREADS = 4

#: which navigation link a page highlights
_NAV = {
    "overview.html": "overview",
    "events.html": "events",
    "dead_letters.html": "dead_letters",
    "dead_letter.html": "dead_letters",
}

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking: a browser session, or a script with the bearer token (session None)."""

    session: Session | None
    cookie: str | None = None


#: what Starlette routes to
Endpoint = Callable[[Request], Awaitable[Response]]
#: a page: GET, credentials checked
PageHandler = Callable[["Console", Request, Caller], Awaitable[Response]]
#: a button: POST, credentials, origin and CSRF token checked, with the form's fields
FormHandler = Callable[["Console", Request, Caller, dict[str, str]], Awaitable[Response]]
#: no credentials needed
PublicHandler = Callable[["Console", Request], Awaitable[Response]]


def base_path(request: Request) -> str:
    """Where the console is mounted ("/ops"): every link and redirect starts with it."""
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def wants_json(request: Request) -> bool:
    """A script asking for JSON (Accept: application/json), not a browser."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


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
        self.env.filters.update(TEMPLATE_FILTERS)
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
                "base": base_path(request),
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
        """The sign-in form; it returns to the page asked for (a GET's) once signed in."""
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

    def too_many(self, request: Request, wait: float) -> Response:
        """429 for a client that failed to sign in too often; Retry-After: seconds to wait."""
        response = self.login_page(
            request, status=429, message="Too many failed attempts; wait a moment."
        )
        response.headers["Retry-After"] = str(max(1, int(wait + 0.999)))
        return response

    # --- credentials ---

    async def caller(self, request: Request) -> Caller | Response | None:
        """The caller, None without valid credentials, or a response (too many failures)."""
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            client = client_address(request)
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

    def page(self, handler: PageHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            caller = await self.caller(request)
            if isinstance(caller, Response):
                return caller
            if caller is None:
                return self.login_page(request, status=401)
            return await handler(self, request, caller)

        return endpoint

    def action(self, handler: FormHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            if cross_site(request.headers):
                log.warning(
                    "ops.cross_site_post", client=client_address(request), path=request.url.path
                )
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
                log.warning(
                    "ops.csrf_refused", client=client_address(request), path=request.url.path
                )
                return self.refusal(request, 403, "Stale or missing form token; reload the page.")
            return await handler(self, request, caller, form)

        return endpoint

    def public(self, handler: PublicHandler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            return await handler(self, request)

        return endpoint

    # --- after a button ---

    async def flash(self, caller: Caller) -> dict[str, Any] | None:
        """The outcome of the session's last button, shown once on the next page."""
        if caller.session is None:
            return None
        return await self.blocking(self.sessions.pop_flash, caller.session)

    async def done(
        self, request: Request, caller: Caller, flash: dict[str, Any], location: str
    ) -> Response:
        """After an action: its outcome as JSON for scripts, else a redirect with a flash."""
        if wants_json(request):
            return JSONResponse(flash)
        if caller.session is not None:
            await self.blocking(self.sessions.set_flash, caller.session, flash)
        return RedirectResponse(location, status_code=303)

    # --- failures of the dependencies ---

    async def unavailable(self, request: Request, exc: Exception) -> Response:
        what = "Redis" if isinstance(exc, redis.RedisError) else "PostgreSQL"
        log.warning("ops.dependency_failed", dependency=what, error=type(exc).__name__)
        return self.refusal(request, 503, f"{what} is unavailable; try again shortly.")
