"""The console refuses missing, wrong, replayed and expired credentials (issues #5 and #7)."""

from __future__ import annotations

import hashlib
from typing import cast

import httpx2
import pytest
import redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from tests.ops.conftest import AppFactory, Clock, sign_in
from tests.ops.world import TOKEN, Shop, csrf_of
from traaaction.ops.app import COOKIE
from traaaction.ops.auth import SESSION_PREFIX

PAGES = ["/ops/", "/ops/events", "/ops/dead-letters", "/ops/dead-letters/dl_x"]


def _cookie(client: TestClient) -> str:
    value = client.cookies.get(COOKIE)
    assert value, "no session cookie"
    return value


def _with_only(client: TestClient, cookie: str, path: str) -> int:
    """GET `path` with nothing but this cookie value (as an attacker replaying it would)."""
    client.cookies.clear()
    return client.get(path, headers={"cookie": f"{COOKIE}={cookie}"}).status_code


@pytest.mark.parametrize("path", PAGES)
def test_every_page_needs_credentials(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 401
    assert 'action="/ops/login"' in response.text
    assert 'name="token"' in response.text


def test_a_wrong_token_is_refused_without_detail(client: TestClient) -> None:
    response = client.post("/ops/login", data={"token": TOKEN[:-1] + "0"})
    assert response.status_code == 401
    assert "Sign-in failed." in response.text
    assert "set-cookie" not in response.headers
    assert client.get("/ops/").status_code == 401
    # Nothing says how it was wrong: missing, short, long or different all read the same.
    for wrong in ("", "x", TOKEN + "x", TOKEN.upper()):
        refused = client.post("/ops/login", data={"token": wrong})
        assert refused.status_code in {401, 429}
        if refused.status_code == 401:
            assert "Sign-in failed." in refused.text


def test_the_right_token_opens_a_session_in_a_strict_cookie(client: TestClient) -> None:
    response = client.post("/ops/login", data={"token": TOKEN})
    assert response.status_code == 303
    assert response.headers["location"] == "/ops/"
    cookie = response.headers["set-cookie"]
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path", "samesite", "max-age"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "path=/ops" in cookie.lower()
    assert "secure" not in attributes  # plain http here
    value = _cookie(client)
    assert TOKEN not in value
    assert value not in TOKEN
    page = client.get("/ops/")
    assert page.status_code == 200
    assert "Overview" in page.text


def test_over_https_the_cookie_is_secure(app: Starlette) -> None:
    with TestClient(app, base_url="https://ops.example.test", follow_redirects=False) as client:
        response = client.post("/ops/login", data={"token": TOKEN})
        assert response.status_code == 303
        assert "secure" in response.headers["set-cookie"].lower()


def test_sign_in_returns_to_the_page_asked_for_and_nowhere_else(client: TestClient) -> None:
    refused = client.get("/ops/events?outcome=failed")
    assert 'name="next" value="/ops/events?outcome=failed"' in refused.text
    back = client.post("/ops/login", data={"token": TOKEN, "next": "/ops/events?outcome=failed"})
    assert back.headers["location"] == "/ops/events?outcome=failed"
    for elsewhere in ("https://evil.example/", "//evil.example/ops/", "/ops/\\evil", "/other"):
        moved = client.post("/ops/login", data={"token": TOKEN, "next": elsewhere})
        assert moved.headers["location"] == "/ops/", elsewhere


def test_a_signed_out_cookie_is_refused_when_replayed(client: TestClient, signed_in: str) -> None:
    cookie = _cookie(client)
    out = client.post("/ops/logout", data={"csrf": signed_in})
    assert out.status_code == 303
    assert out.headers["location"] == "/ops/login"
    assert f"{COOKIE}=" in out.headers["set-cookie"]
    assert "max-age=0" in out.headers["set-cookie"].lower()
    for path in PAGES:
        assert _with_only(client, cookie, path) == 401


def test_signing_in_again_ends_the_previous_session(client: TestClient, signed_in: str) -> None:
    first = _cookie(client)
    sign_in(client)
    second = _cookie(client)
    assert second != first
    assert _with_only(client, first, "/ops/") == 401
    assert _with_only(client, second, "/ops/") == 200


def test_sessions_expire_after_their_lifetime(
    make_app: AppFactory, clock: Clock, redis_client: redis.Redis
) -> None:
    app = make_app(session_lifetime=600, session_idle=300)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client)
        for _ in range(4):  # active all along: the idle timeout never strikes
            clock.now += 140
            assert client.get("/ops/").status_code == 200
        clock.now += 41  # 601 s after signing in
        assert client.get("/ops/").status_code == 401
        assert client.get("/ops/").status_code == 401
    # The refused session is gone from Redis, not only refused.
    assert list(redis_client.scan_iter(f"{SESSION_PREFIX}*")) == []


def test_idle_sessions_expire(make_app: AppFactory, clock: Clock) -> None:
    app = make_app(session_lifetime=3600, session_idle=300)
    with TestClient(app, follow_redirects=False) as client:
        sign_in(client)
        clock.now += 299
        assert client.get("/ops/").status_code == 200
        clock.now += 301
        assert client.get("/ops/").status_code == 401


def test_a_new_token_ends_the_sessions_of_the_old_one(make_app: AppFactory) -> None:
    with TestClient(make_app(), follow_redirects=False) as client:
        sign_in(client)
        cookie = _cookie(client)
    rotated = make_app(token="9" * 64)
    with TestClient(rotated, follow_redirects=False) as client:
        assert _with_only(client, cookie, "/ops/") == 401


def test_redis_keeps_no_usable_cookie(
    client: TestClient, signed_in: str, redis_client: redis.Redis
) -> None:
    cookie = _cookie(client)
    keys = [k.decode() for k in redis_client.scan_iter(f"{SESSION_PREFIX}*")]
    assert keys == [SESSION_PREFIX + hashlib.sha256(cookie.encode()).hexdigest()]
    fields = cast(dict[bytes, bytes], redis_client.hgetall(keys[0]))
    stored = b" ".join(b"%s=%s" % kv for kv in fields.items())
    assert cookie.encode() not in stored
    assert TOKEN.encode() not in stored


def test_a_bearer_token_works_for_scripts(client: TestClient) -> None:
    for path in PAGES[:3]:
        assert client.get(path, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/ops/", headers={"authorization": "Bearer nope"}).status_code == 401
    assert client.get("/ops/", headers={"authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/ops/", headers={"authorization": "Bearer "}).status_code == 401
    # The token is never accepted from a URL.
    assert client.get(f"/ops/?token={TOKEN}").status_code == 401


def test_a_wrong_bearer_token_is_not_rescued_by_a_session(
    client: TestClient, signed_in: str
) -> None:
    assert client.get("/ops/").status_code == 200
    assert client.get("/ops/", headers={"authorization": "Bearer wrong"}).status_code == 401


def test_failed_attempts_are_rate_limited_per_client(
    client: TestClient, clock: Clock, make_app: AppFactory
) -> None:
    for _ in range(5):
        assert client.post("/ops/login", data={"token": "wrong"}).status_code == 401
    # Out of attempts: even the right token waits, so guesses learn nothing meanwhile.
    blocked = client.post("/ops/login", data={"token": TOKEN})
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) >= 1
    headers = {"authorization": f"Bearer {TOKEN}"}
    assert client.get("/ops/", headers=headers).status_code == 429
    clock.now += 1.0
    assert client.post("/ops/login", data={"token": TOKEN}).status_code == 303
    # Another client is not held back by this one.
    with TestClient(make_app(), client=("203.0.113.9", 5000), follow_redirects=False) as other:
        assert other.post("/ops/login", data={"token": TOKEN}).status_code == 303


def test_no_page_header_or_log_line_carries_the_token(
    client: TestClient, shop: Shop, capsys: pytest.CaptureFixture[str]
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_token_check"))
    seen: list[str] = []

    def keep(response: httpx2.Response) -> None:
        seen.append(response.text)
        seen.extend(f"{k}: {v}" for k, v in response.headers.items())

    keep(client.get("/ops/"))
    keep(client.post("/ops/login", data={"token": "wrong"}))
    keep(client.post("/ops/login", data={"token": TOKEN}))
    for path in [*PAGES, f"/ops/dead-letters/{dead_letter}", "/ops/events?outcome=failed"]:
        keep(client.get(path))
        keep(client.get(path, headers={"authorization": f"Bearer {TOKEN}"}))
    csrf = csrf_of(client.get("/ops/").text)
    keep(client.post(f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": csrf}))
    keep(client.get(f"/ops/dead-letters/{dead_letter}"))
    keep(client.post("/ops/logout", data={"csrf": csrf}))
    captured = capsys.readouterr()
    assert all(TOKEN not in text for text in seen)
    assert TOKEN not in captured.out
    assert TOKEN not in captured.err
