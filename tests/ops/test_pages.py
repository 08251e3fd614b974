"""The console's pages and buttons, through the web process' app (TestClient)."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.testclient import TestClient

from ingress.app import create_app
from storage.crypto import SecretBox
from storage.db import make_session_factory, unit_of_work
from storage.repositories.event_log import LogRow, insert_rows
from tests.ops.world import TOKEN, Shop, make_shop
from traaaction.web import mount_console

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _log(engine: Engine, rows: list[LogRow]) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        insert_rows(session, rows)


def _events_shown(page: str) -> list[str]:
    """The Stripe event ids of the event-log table, top to bottom."""
    table = page.split('id="events"', 1)[1] if 'id="events"' in page else ""
    return re.findall(r"<code>(evt_[a-z0-9_]+)</code>", table)


def _flash(page: str) -> str:
    found = re.search(r'<section class="flash[^"]*"[^>]*>(.*?)</section>', page, re.S)
    assert found is not None, "no flash message"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", found.group(1))).strip()


@pytest.fixture
def logged(engine: Engine, shop: Shop) -> Shop:
    """Event-log rows of two workspaces, a minute apart, newest last."""
    other = make_shop(engine, "Other")
    rows = [
        LogRow("processed", workspace_id=shop.workspace_id, stripe_event_id="evt_a1",
               event_type="checkout.session.completed", commission_ids=("com_1",),
               created_at=T0),
        LogRow("failed", workspace_id=shop.workspace_id, stripe_event_id="evt_a2",
               event_type="invoice.paid", reason="OperationalError", attempt=2,
               detail={"will_retry": True}, created_at=T0 + timedelta(minutes=1)),
        LogRow("skipped", workspace_id=shop.workspace_id, stripe_event_id="evt_a3",
               event_type="invoice.paid", reason="unattributed",
               created_at=T0 + timedelta(minutes=2)),
        LogRow("processed", workspace_id=other.workspace_id, stripe_event_id="evt_b1",
               event_type="charge.refunded", created_at=T0 + timedelta(minutes=3)),
        LogRow("duplicate", workspace_id=shop.workspace_id, stripe_event_id="evt_a4",
               event_type="checkout.session.completed", reason="already_applied",
               created_at=T0 + timedelta(minutes=4)),
    ]  # fmt: skip
    _log(engine, rows)
    return shop


def test_the_event_log_is_newest_first_and_filtered(
    client: TestClient, signed_in: str, logged: Shop
) -> None:
    def shown(query: str) -> list[str]:
        response = client.get(f"/ops/events?{query}")
        assert response.status_code == 200, response.text
        return _events_shown(response.text)

    assert shown("") == ["evt_a4", "evt_b1", "evt_a3", "evt_a2", "evt_a1"]
    assert shown(f"workspace={logged.workspace_id}") == ["evt_a4", "evt_a3", "evt_a2", "evt_a1"]
    assert shown("outcome=processed") == ["evt_b1", "evt_a1"]
    assert shown("type=invoice.paid") == ["evt_a3", "evt_a2"]
    assert shown("event=evt_a2") == ["evt_a2"]
    assert shown("since=2026-03-01T12:01&until=2026-03-01T12:03") == ["evt_a3", "evt_a2"]
    assert shown("since=2026-03-01T13:01:00%2B01:00") == ["evt_a4", "evt_b1", "evt_a3", "evt_a2"]
    both = f"workspace={logged.workspace_id}&outcome=processed"
    assert shown(both) == ["evt_a1"]
    assert shown("outcome=rejected") == []
    page = client.get("/ops/events?event=evt_a2").text
    assert "OperationalError" in page
    assert '<code>{"will_retry": true}</code>' in page


def test_the_event_log_pages_back_in_time(client: TestClient, signed_in: str, logged: Shop) -> None:
    first = client.get("/ops/events?limit=2&type=")
    assert _events_shown(first.text) == ["evt_a4", "evt_b1"]
    older = re.search(r'<a href="([^"]+)" id="older">', first.text)
    assert older is not None
    second = client.get(html.unescape(older.group(1)))
    assert _events_shown(second.text) == ["evt_a3", "evt_a2"]
    assert 'id="newest"' in second.text
    last_link = re.search(r'<a href="([^"]+)" id="older">', second.text)
    assert last_link is not None
    third = client.get(html.unescape(last_link.group(1)))
    assert _events_shown(third.text) == ["evt_a1"]
    assert 'id="older"' not in third.text
    # Filters are kept from page to page.
    filtered = client.get(f"/ops/events?limit=1&workspace={logged.workspace_id}&outcome=processed")
    assert 'id="older"' not in filtered.text
    assert _events_shown(filtered.text) == ["evt_a1"]


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("since=yesterday", "since: not a date"),
        ("until=2026-13-01", "until: not a date"),
        ("outcome=exploded", "outcome: one of"),
        ("limit=0", "limit: between"),
        ("limit=ten", "limit: not a number"),
        ("before=garbage", "before: not a page cursor"),
        (f"workspace={'w' * 600}", "workspace: too long"),
    ],
)
def test_bad_filters_are_named(
    client: TestClient, signed_in: str, query: str, problem: str
) -> None:
    response = client.get(f"/ops/events?{query}")
    assert response.status_code == 400
    assert problem in response.text


def test_dead_letters_are_listed_open_first_and_filtered(
    client: TestClient, signed_in: str, shop: Shop, engine: Engine
) -> None:
    other = make_shop(engine, "Other")
    a = shop.dead_letter(shop.checkout_body("cs_list_a"))
    b = shop.dead_letter(
        shop.checkout_body("cs_list_b"),
        error_class="StripeUnavailable",
        failed_at=T0 + timedelta(hours=1),
    )
    c = other.dead_letter(other.checkout_body("cs_list_c"), failed_at=T0 + timedelta(hours=2))

    def listed(query: str = "") -> list[str]:
        response = client.get(f"/ops/dead-letters?{query}")
        assert response.status_code == 200, response.text
        return re.findall(r'<tr class="dead-letter" id="row-(dl_[a-z0-9]+)"', response.text)

    assert listed() == [c, b, a]
    assert listed(f"workspace={shop.workspace_id}") == [b, a]
    assert listed("reason=StripeUnavailable") == [b]
    assert listed("type=checkout.session.completed&reason=OperationalError") == [c, a]
    assert listed("type=invoice.paid") == []
    assert listed("since=2026-03-01T12:30") == [c, b]
    assert listed("limit=1") == [c]
    csrf = re.findall(r'name="csrf" value="([^"]+)"', client.get("/ops/dead-letters").text)
    assert csrf
    assert set(csrf) == {signed_in}
    discarded = client.post(
        f"/ops/dead-letters/{a}/discard", data={"csrf": signed_in, "reason": "test order"}
    )
    assert discarded.status_code == 303
    assert listed() == [c, b]
    assert listed("status=discarded") == [a]
    assert listed("status=any") == [c, b, a]
    assert client.get("/ops/dead-letters?status=lost").status_code == 400


def test_the_overview_counts_open_dead_letters(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    shop.dead_letter(shop.checkout_body("cs_ov_1"))
    shop.dead_letter(shop.checkout_body("cs_ov_2"))
    shop.dead_letter(shop.checkout_body("cs_ov_3"), error_class="StripeUnavailable")
    page = client.get("/ops/").text
    assert '<span id="open-total">3</span>' in page
    groups = page.split('id="open-groups"', 1)[1]
    assert re.search(r"OperationalError</code></td>\s*<td class=\"num\">2<", groups)
    assert re.search(r"StripeUnavailable</code></td>\s*<td class=\"num\">1<", groups)


def test_a_dead_letter_s_page_shows_what_failed_and_escapes_everything(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    body = shop.checkout_body("cs_<script>alert(1)</script>")
    dead_letter = shop.dead_letter(
        body,
        error_class="OperationalError",
        error_message="<b>lost</b> connection; key whsec_abcdefghijklmnop leaked",
        traceback='File "x.py", line 3\n  <img src=x onerror=alert(1)>',
        attempts=12,
    )
    page = client.get(f"/ops/dead-letters/{dead_letter}")
    assert page.status_code == 200
    text = page.text
    assert "<script>alert(1)" not in text
    assert "<img src=x" not in text
    assert "<b>lost</b>" not in text
    assert "&lt;b&gt;lost&lt;/b&gt;" in text
    assert "whsec_abcdefghijklmnop" not in text  # redacted, as in logs
    assert "12</dd>" in text  # attempts
    assert "2026-03-01 11:30:00 UTC" in text
    assert "2026-03-01 12:00:00 UTC" in text
    assert f"{len(body.encode())} bytes" in text
    # The raw payload is there, collapsed and escaped, not rendered by default.
    assert re.search(r"<details>\s*<summary>Raw payload", text)
    payload = re.search(r'<pre id="payload">(.*?)</pre>', text, re.S)
    assert payload is not None
    assert html.unescape(payload.group(1)) == body
    assert "cs_&lt;script&gt;alert(1)&lt;/script&gt;" in payload.group(1)
    for button in ('id="replay"', 'id="dry-run"', 'id="discard"'):
        assert button in text


def test_an_unknown_dead_letter_is_404(client: TestClient, signed_in: str) -> None:
    assert client.get("/ops/dead-letters/dl_nope").status_code == 404
    response = client.post("/ops/dead-letters/dl_nope/replay", data={"csrf": signed_in})
    assert response.status_code == 303
    flash = _flash(client.get(response.headers["location"]).text)
    assert "no dead letter dl_nope" in flash


def test_replay_makes_the_commission_once(client: TestClient, signed_in: str, shop: Shop) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_replay_1"))
    response = client.post(f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in})
    assert response.status_code == 303
    assert response.headers["location"] == f"/ops/dead-letters/{dead_letter}"
    [commission] = shop.commissions()
    assert commission.amount == 1000  # 10 % of 100.00
    page = client.get(response.headers["location"]).text
    flash = _flash(page)
    assert "processed" in flash
    assert commission.id in flash
    assert shop.status(dead_letter)[0] == "replayed"
    # The flash shows once.
    assert 'class="flash' not in client.get(response.headers["location"]).text
    again = client.post(f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in})
    assert "not_open" in _flash(client.get(again.headers["location"]).text)
    assert len(shop.commissions()) == 1


def test_a_dry_run_shows_the_plan_and_writes_nothing(
    client: TestClient, signed_in: str, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_dry_1"))
    response = client.post(
        f"/ops/dead-letters/{dead_letter}/replay", data={"csrf": signed_in, "dry_run": "1"}
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    flash = _flash(page)
    assert flash.startswith("Dry run of")
    assert "planned" in flash
    assert 'class="planned"' in page
    assert shop.commissions() == []
    assert shop.status(dead_letter) == ("open", None)


def test_discard_needs_a_reason(client: TestClient, signed_in: str, shop: Shop) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_discard_1"))
    url = f"/ops/dead-letters/{dead_letter}/discard"
    response = client.post(url, data={"csrf": signed_in, "reason": "  "})
    assert "a reason is required" in _flash(client.get(response.headers["location"]).text)
    assert shop.status(dead_letter) == ("open", None)
    response = client.post(url, data={"csrf": signed_in, "reason": "test purchase"})
    assert "discarded" in _flash(client.get(response.headers["location"]).text)
    assert shop.status(dead_letter) == ("discarded", "test purchase")
    response = client.post(url, data={"csrf": signed_in, "reason": "again"})
    assert "not_open" in _flash(client.get(response.headers["location"]).text)
    assert shop.commissions() == []


def test_without_ops_token_there_is_no_console(
    engine: Engine, redis_url: str, secret_box: SecretBox
) -> None:
    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    mount_console(
        app,
        token=None,
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        stripe_api_base="https://api.stripe.com",
    )
    with TestClient(app, follow_redirects=False) as client:
        for path in ("/ops", "/ops/", "/ops/login", "/ops/events"):
            assert client.get(path).status_code == 404
        assert client.post("/ops/login", data={"token": TOKEN}).status_code == 404


def test_with_ops_token_the_web_process_serves_it_beside_the_webhooks(
    engine: Engine, redis_url: str, secret_box: SecretBox
) -> None:
    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    mount_console(
        app,
        token=SecretStr(TOKEN),
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        stripe_api_base="https://api.stripe.com",
    )
    with TestClient(app, follow_redirects=False) as client:
        assert client.get("/ops").headers["location"].endswith("/ops/")
        assert client.get("/ops/").status_code == 401
        assert client.post("/ops/login", data={"token": TOKEN}).status_code == 303
        assert client.get("/ops/").status_code == 200
        assert client.get("/healthz").status_code == 200
        webhook = client.post("/api/webhooks/ep_unknown", content=b"{}")
        assert webhook.status_code in {400, 404}
        assert "/ops" not in webhook.text
