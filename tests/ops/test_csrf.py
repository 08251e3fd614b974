"""Posts need the session's CSRF token and must not come from another site (issue #7)."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.ops.conftest import sign_in
from tests.ops.world import TOKEN, Shop

CROSS_SITE = [
    {"origin": "https://evil.example"},
    {"origin": "http://testserver.evil.example"},
    {"origin": "http://testserver:8080"},
    {"origin": "null"},
    {"referer": "https://evil.example/page"},
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},
    {"sec-fetch-site": "cross-site", "origin": "http://testserver"},
]


def _replay(client: TestClient, dead_letter: str, **form: str) -> int:
    return client.post(f"/ops/dead-letters/{dead_letter}/replay", data=form).status_code


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_1"))
    assert _replay(client, dead_letter) == 403
    assert _replay(client, dead_letter, csrf="") == 403
    # One character changed (never to itself: a token ending in "A" made this test pass the
    # real token about once in 64 runs).
    tampered = signed_in[:-1] + ("B" if signed_in.endswith("A") else "A")
    assert _replay(client, dead_letter, csrf=tampered) == 403
    assert _replay(client, dead_letter, csrf=TOKEN) == 403
    discard = client.post(
        f"/ops/dead-letters/{dead_letter}/discard", data={"reason": "no", "csrf": "x"}
    )
    assert discard.status_code == 403
    assert shop.status(dead_letter) == ("open", None)
    assert shop.commissions() == []
    # The same post with the token goes through.
    assert _replay(client, dead_letter, csrf=signed_in) == 303
    assert shop.status(dead_letter)[0] == "replayed"


def test_the_csrf_token_is_the_session_s_own(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_2"))
    old = signed_in
    fresh = sign_in(client)  # a new session, a new token
    assert fresh != old
    assert _replay(client, dead_letter, csrf=old) == 403
    assert _replay(client, dead_letter, csrf=fresh) == 303


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_cross_site_posts_are_refused(
    client: TestClient, signed_in: str, shop: Shop, headers: dict[str, str]
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_3"))
    path = f"/ops/dead-letters/{dead_letter}"
    posts = [
        (f"{path}/replay", {"csrf": signed_in}),
        (f"{path}/replay", {"csrf": signed_in, "dry_run": "1"}),
        (f"{path}/discard", {"csrf": signed_in, "reason": "cross-site"}),
        ("/ops/logout", {"csrf": signed_in}),
        ("/ops/login", {"token": TOKEN}),
    ]
    for url, form in posts:
        response = client.post(url, data=form, headers=headers)
        assert response.status_code == 403, (url, response.status_code)
        assert "set-cookie" not in response.headers
    # Bearer credentials do not make a cross-site post acceptable either.
    bearer = {**headers, "authorization": f"Bearer {TOKEN}"}
    assert client.post(f"{path}/replay", data={}, headers=bearer).status_code == 403
    assert shop.status(dead_letter) == ("open", None)
    assert client.get("/ops/").status_code == 200  # the session survived the logout attempt


def test_same_origin_posts_pass(client: TestClient, signed_in: str, shop: Shop) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_4"))
    headers = {
        "origin": "http://testserver",
        "referer": f"http://testserver/ops/dead-letters/{dead_letter}",
        "sec-fetch-site": "same-origin",
    }
    response = client.post(
        f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in}, headers=headers
    )
    assert response.status_code == 303


def test_behind_a_tls_proxy_an_https_origin_matches_a_portless_host(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_5"))
    headers = {"host": "ops.example.test", "origin": "https://ops.example.test"}
    response = client.post(
        f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in}, headers=headers
    )
    assert response.status_code == 303
    wrong_port = {"host": "ops.example.test", "origin": "https://ops.example.test:8443"}
    response = client.post(
        f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in}, headers=wrong_port
    )
    assert response.status_code == 403


def test_scripts_with_the_bearer_token_need_no_csrf_token(client: TestClient, shop: Shop) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_csrf_6"))
    response = client.post(
        f"/ops/dead-letters/{dead_letter}/replay",
        data={},
        headers={"authorization": f"Bearer {TOKEN}", "accept": "application/json"},
    )
    assert response.status_code == 200
    result = response.json()
    assert result["outcome"] == "processed"
    assert result["commission_ids"] == [c.id for c in shop.commissions()]


def test_a_post_that_is_not_a_small_form_is_refused(client: TestClient, signed_in: str) -> None:
    url = "/ops/dead-letters/dl_x/replay"
    as_json = client.post(url, json={"csrf": signed_in})
    assert as_json.status_code == 400
    huge = client.post(url, data={"csrf": signed_in, "pad": "x" * 20_000})
    assert huge.status_code == 400


def test_pages_tell_browsers_to_keep_them_to_themselves(client: TestClient) -> None:
    response = client.get("/ops/login")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "form-action 'self'" in csp
    assert "script-src" not in csp  # no script at all (default-src 'none')
