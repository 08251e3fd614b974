"""The operator console's routes (Starlette + Jinja2, plain HTML, no JavaScript).

overview.py:
  GET  /                          queue depths, the log writer's backlog, open dead letters
events_page.py:
  GET  /events                    the event log, filtered, newest first, paginated
dead_letter_pages.py:
  GET  /dead-letters              dead letters, filtered (open ones by default)
  GET  /dead-letters/{id}         one dead letter: its error, attempts, payload, event log
buttons.py:
  POST /dead-letters/{id}/replay  replay it (dry_run=1: only say what it would do)
  POST /dead-letters/{id}/discard close it without replaying (with a reason)
signin.py:
  GET  /login, POST /login        sign in with the operator token; POST /logout signs out

Every page needs a session (from signing in) or `Authorization: Bearer <token>`; without
them the answer is 401 with the sign-in form (console.py wraps the handlers; see auth.py for
sessions, CSRF and cross-site checks). Blocking work (PostgreSQL, Redis, replays) runs in
worker threads. Every response carries the headers of security_headers.py.
"""

from __future__ import annotations

import redis
from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.routing import Route

from traaaction.ops import ConsoleConfig
from traaaction.ops.buttons import discard, replay
from traaaction.ops.console import COOKIE, Caller, Console
from traaaction.ops.dead_letter_pages import dead_letter_list_page, dead_letter_page
from traaaction.ops.events_page import event_log_page
from traaaction.ops.overview import overview_page
from traaaction.ops.security_headers import SecurityHeaders
from traaaction.ops.signin import sign_in, sign_in_form, sign_out

__all__ = ["COOKIE", "Caller", "Console", "create_ops_app", "routes"]


def routes(console: Console) -> list[Route]:
    return [
        Route("/", console.page(overview_page), methods=["GET"]),
        Route("/login", console.public(sign_in_form), methods=["GET"]),
        Route("/login", console.public(sign_in), methods=["POST"]),
        Route("/logout", console.action(sign_out), methods=["POST"]),
        Route("/events", console.page(event_log_page), methods=["GET"]),
        Route("/dead-letters", console.page(dead_letter_list_page), methods=["GET"]),
        Route(
            "/dead-letters/{dead_letter_id}",
            console.page(dead_letter_page),
            methods=["GET"],
        ),
        Route(
            "/dead-letters/{dead_letter_id}/replay",
            console.action(replay),
            methods=["POST"],
        ),
        Route(
            "/dead-letters/{dead_letter_id}/discard",
            console.action(discard),
            methods=["POST"],
        ),
    ]


def create_ops_app(config: ConsoleConfig) -> Starlette:
    """The console as an ASGI app, meant to be mounted (its links follow its root_path)."""
    console = Console(config)
    app = Starlette(
        routes=routes(console),
        exception_handlers={
            redis.RedisError: console.unavailable,
            DBAPIError: console.unavailable,
        },
    )
    app.add_middleware(SecurityHeaders, csp=console.csp)
    app.state.close = console.close
    app.state.console = console
    return app
