"""Signing in with the operator token (GET and POST /login) and signing out (POST /logout).

A sign-in is refused from another site and rate-limited per client (auth.FailureLimiter); it
replaces the browser's previous session, if any, and returns to the page first asked for,
when that is a page of the console.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from config.logs import get_logger
from traaaction.ops import forms
from traaaction.ops.auth import cross_site
from traaaction.ops.console import COOKIE, Caller, Console, base_path, client_address

log = get_logger(__name__)


async def sign_in_form(console: Console, request: Request) -> Response:
    return console.login_page(request, status=200)


def page_after_sign_in(request: Request, wanted: str) -> str:
    """`wanted` if it is a path of the console (no other host, no odd characters), else its
    overview: the form's `next` field must not send the operator elsewhere."""
    base = base_path(request)
    safe = (
        wanted.startswith(base + "/")
        and "//" not in wanted
        and "\\" not in wanted
        and wanted.isprintable()
    )
    return wanted if safe else base + "/"


async def sign_in(console: Console, request: Request) -> Response:
    client = client_address(request)
    if cross_site(request.headers):
        log.warning("ops.cross_site_post", client=client, path=request.url.path)
        return console.refusal(request, 403, "Cross-site request refused.")
    wait = console.limiter.retry_after(client)
    if wait > 0:
        return console.too_many(request, wait)
    try:
        form = await forms.read_form(request)
    except forms.FormError:
        form = {}
    after = form.get("next", "")
    if not console.token.matches(form.get("token", "")):
        console.limiter.failed(client)
        log.warning("ops.auth_failed", client=client, via="form")
        return console.login_page(request, status=401, message="Sign-in failed.", after=after)
    old = request.cookies.get(COOKIE)
    if old:
        await console.blocking(console.sessions.delete, old)
    cookie, _session = await console.blocking(console.sessions.create)
    log.info("ops.signed_in", client=client)
    response = RedirectResponse(page_after_sign_in(request, after), status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(console.config.session_lifetime),
        path=base_path(request) or "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


async def sign_out(
    console: Console, request: Request, caller: Caller, _form: dict[str, str]
) -> Response:
    if caller.cookie is not None:
        await console.blocking(console.sessions.delete, caller.cookie)
        log.info("ops.signed_out", client=client_address(request))
    response = RedirectResponse(f"{base_path(request)}/login", status_code=303)
    response.delete_cookie(
        COOKIE,
        path=base_path(request) or "/",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response
