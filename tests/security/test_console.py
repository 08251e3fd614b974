"""The operator console refuses missing, wrong and replayed credentials and cross-site posts.

tests/ops covers pages refused without credentials, wrong tokens, signed-out and expired
sessions replayed on pages, CSRF tokens and Origin/Referer/Sec-Fetch-Site. What is added here:
the state-changing posts themselves without credentials or with replayed ones (after sign-out,
after another sign-in), forged cookies, the token offered where it is not read, headers
crafted to look same-origin, and GETs on the action URLs.
"""

from __future__ import annotations

import hashlib
import urllib.parse

import pytest
import redis
from starlette.testclient import TestClient

from tests.ops.conftest import AppFactory, sign_in
from tests.ops.world import TOKEN, Shop, csrf_of
from traaaction.ops.app import COOKIE
from traaaction.ops.auth import SESSION_PREFIX


def _actions(dead_letter: str, csrf: str) -> list[tuple[str, dict[str, str]]]:
    path = f"/ops/dead-letters/{dead_letter}"
    return [
        (f"{path}/replay", {"csrf": csrf}),
        (f"{path}/replay", {"csrf": csrf, "dry_run": "1"}),
        (f"{path}/discard", {"csrf": csrf, "reason": "not ours"}),
    ]


def _unchanged(shop: Shop, dead_letter: str) -> None:
    assert shop.status(dead_letter) == ("open", None)
    assert shop.commissions() == []


def test_every_action_without_credentials_is_refused_and_changes_nothing(
    client: TestClient, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_none"))
    for url, form in _actions(dead_letter, "x"):
        response = client.post(url, data=form)
        assert response.status_code == 401, url
        assert "set-cookie" not in response.headers
    assert client.post("/ops/logout", data={"csrf": "x"}).status_code == 401
    _unchanged(shop, dead_letter)


def test_a_captured_post_replayed_after_sign_out_is_refused(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_replay"))
    cookie = client.cookies[COOKIE]
    assert client.post("/ops/logout", data={"csrf": signed_in}).status_code == 303
    client.cookies.clear()
    for url, form in _actions(dead_letter, signed_in):
        # Exactly what the browser sent before: same cookie, same form token.
        response = client.post(url, data=form, headers={"cookie": f"{COOKIE}={cookie}"})
        assert response.status_code == 401, url
    _unchanged(shop, dead_letter)


def test_a_captured_post_replayed_after_a_new_sign_in_is_refused(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_resign"))
    old_cookie, old_csrf = client.cookies[COOKIE], signed_in
    new_csrf = sign_in(client)  # the same browser signs in again: the old session ends
    new_cookie = client.cookies[COOKIE]
    client.cookies.clear()
    for cookie, csrf in ((old_cookie, old_csrf), (old_cookie, new_csrf), (new_cookie, old_csrf)):
        for url, form in _actions(dead_letter, csrf):
            response = client.post(url, data=form, headers={"cookie": f"{COOKIE}={cookie}"})
            assert response.status_code in {401, 403}, (url, cookie == new_cookie)
    _unchanged(shop, dead_letter)


def test_forged_cookies_are_refused(
    client: TestClient, signed_in: str, shop: Shop, redis_client: redis.Redis
) -> None:
    real = client.cookies[COOKIE]
    stored_key = next(iter(redis_client.scan_iter(f"{SESSION_PREFIX}*"))).decode()
    client.cookies.clear()
    forged = [
        "",
        "x",
        real[:-1] + ("A" if real[-1] != "A" else "B"),  # one character off
        real + "A",
        real.upper(),
        stored_key,  # what a copy of Redis shows
        stored_key.removeprefix(SESSION_PREFIX),
        hashlib.sha256(real.encode()).hexdigest(),
        signed_in,  # the session's CSRF token
        TOKEN,  # the operator token itself is not a cookie
        "A" * 43,
        "A" * 10_000,
        urllib.parse.quote("é" * 43),
        "%00" * 43,
    ]
    for value in forged:
        response = client.get("/ops/", headers={"cookie": f"{COOKIE}={value}"})
        assert response.status_code == 401, value[:50]


def test_the_token_is_read_from_the_sign_in_form_and_the_bearer_header_only(
    make_app: AppFactory, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_where"))
    elsewhere = [
        {"headers": {"x-ops-token": TOKEN}},
        {"headers": {"authorization": f"Token {TOKEN}"}},
        {"headers": {"authorization": TOKEN}},
        {"headers": {"authorization": f"Bearer{TOKEN}"}},
        {"headers": {"authorization": f"Bearer {TOKEN[:-1]}"}},
        {"headers": {"authorization": f"Bearer {TOKEN}0"}},
        {"headers": {"authorization": f"Bearer {TOKEN.upper()}"}},
        {"headers": {"authorization": f"Bearer {'x' * 100_000}"}},
        {"headers": {"cookie": f"{COOKIE}={TOKEN}"}},
        {"data": {"token": TOKEN}},  # a sign-in field on an action
        {"params": {"token": TOKEN}},
    ]
    for number, extra in enumerate(elsewhere):
        url = f"/ops/dead-letters/{dead_letter}/replay"
        # (each from its own address, so that the failed-attempt limit never answers instead)
        with TestClient(make_app(), client=(f"198.51.100.{number}", 5000)) as fresh:
            response = fresh.post(url, **extra)  # type: ignore[arg-type]
        assert response.status_code == 401, extra
    _unchanged(shop, dead_letter)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://testserver@evil.example"},
        {"origin": "http://evil.example#@testserver"},
        {"origin": "http://testserver.evil.example"},
        {"origin": "http://testserver."},
        {"origin": "file://testserver"},
        {"origin": ""},
        {"referer": "http://evil.example/?next=http://testserver/ops/"},
        {"referer": "http://testserver@evil.example/ops/"},
        {"referer": "//evil.example/ops/"},
        {"sec-fetch-site": "SAME-ORIGIN"},
        {"sec-fetch-site": "same-origin", "origin": "http://evil.example"},
        {"sec-fetch-site": "none", "referer": "http://evil.example/"},
    ],
)
def test_origins_made_to_look_same_site_are_still_cross_site(
    client: TestClient, signed_in: str, shop: Shop, headers: dict[str, str]
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_origin"))
    for url, form in _actions(dead_letter, signed_in):
        response = client.post(url, data=form, headers=headers)
        assert response.status_code == 403, (url, headers)
    bearer = {**headers, "authorization": f"Bearer {TOKEN}"}
    assert client.post(f"/ops/dead-letters/{dead_letter}/replay", headers=bearer).status_code == 403
    _unchanged(shop, dead_letter)


def test_a_cross_site_sign_in_gets_no_session(client: TestClient) -> None:
    """Login CSRF: another site must not sign a victim's browser in (even with the token)."""
    response = client.post(
        "/ops/login", data={"token": TOKEN}, headers={"origin": "http://evil.example"}
    )
    assert response.status_code == 403
    assert "set-cookie" not in response.headers
    assert client.get("/ops/").status_code == 401


def test_the_action_urls_do_nothing_on_get(client: TestClient, signed_in: str, shop: Shop) -> None:
    """A link or an image on another site can make a GET: actions answer only POST."""
    dead_letter = shop.dead_letter(shop.checkout_body("cs_sec_get"))
    for url, form in _actions(dead_letter, signed_in):
        response = client.get(url, params=form)
        assert response.status_code == 405, url
    assert client.get("/ops/logout").status_code == 405
    _unchanged(shop, dead_letter)
    assert client.get("/ops/").status_code == 200  # still signed in


def test_a_session_page_carries_a_csrf_token_that_is_neither_the_cookie_nor_the_token(
    client: TestClient, signed_in: str
) -> None:
    page = client.get("/ops/").text
    csrf = csrf_of(page)
    cookie = client.cookies[COOKIE]
    assert csrf == signed_in
    assert len(csrf) >= 32
    assert csrf not in (cookie, TOKEN)
    assert cookie not in page
    assert TOKEN not in page
