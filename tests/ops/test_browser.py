"""End to end in headless Chromium: the real web process, the console, a replay click.

Debian's `chromium` driven by Playwright through its `executable_path` (Playwright's own
browser downloads are never used). Without /usr/bin/chromium the test fails under CI (the CI
script installs it) and is skipped elsewhere.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from storage.db import make_engine
from tests.conftest import base_env, free_port
from tests.ops.world import TOKEN, Shop, count_commissions, make_shop

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: seconds the web process gets to answer /healthz
START_TIMEOUT = 60.0


def _chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture
def server(
    database_url: str, redis_url: str, master_key_value: str, tmp_path: Path
) -> Iterator[Server]:
    """`python -m traaaction.web` (what `traaaction serve` runs) with OPS_TOKEN set."""
    port = free_port()
    env = {
        **base_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "OPS_TOKEN": TOKEN,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
    }
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "traaaction.web", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, f"the web process exited:\n{log.read_text()}"
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:  # noqa: S310
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            assert time.monotonic() < deadline, f"no answer on {url}:\n{log.read_text()}"
            time.sleep(0.1)
        yield Server(url, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser() -> Iterator[Browser]:
    executable = _chromium()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    engine = make_engine(database_url, pool_size=1)
    try:
        yield make_shop(engine)
    finally:
        engine.dispose()


def _sign_in(page: Page, server: Server) -> None:
    response = page.goto(f"{server.url}/ops/")
    assert response is not None
    assert response.status == 401
    page.get_by_label("Operator token").fill(TOKEN)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()


@pytest.mark.slow
def test_an_operator_replays_a_dead_letter_with_a_click(
    server: Server, browser: Browser, shop: Shop
) -> None:
    dead_letter = shop.dead_letter(shop.checkout_body("cs_browser_1"))
    # No JavaScript: the console is plain HTML forms and links.
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        _sign_in(page, server)
        expect(page.locator("#open-total")).to_have_text("1")

        page.get_by_role("link", name="Dead letters").click()
        row = page.locator(f"#row-{dead_letter}")
        expect(row).to_contain_text("OperationalError")
        row.get_by_role("button", name="Replay").click()

        expect(page).to_have_url(f"{server.url}/ops/dead-letters/{dead_letter}")
        expect(page.locator("#flash-outcome")).to_have_text("processed")
        [commission] = shop.commissions()
        expect(page.locator(".flash .commission")).to_have_text([commission.id])
        expect(page.locator("#status")).to_contain_text("replayed")

        # A second click changes nothing: the dead letter is closed, the commission is one.
        page.locator("#replay").click()
        expect(page.locator("#flash-outcome")).to_have_text("not_open")
        assert [c.id for c in shop.commissions()] == [commission.id]
        assert count_commissions(shop.engine) == 1

        page.get_by_role("link", name="Dead letters").click()
        expect(page.locator("#no-dead-letters")).to_be_visible()
        page.get_by_role("link", name="Event log").click()
        expect(page.locator("#events")).to_contain_text(commission.id)

        assert TOKEN not in page.content()
        page.get_by_role("button", name="Sign out").click()
        expect(page.get_by_label("Operator token")).to_be_visible()
        response = page.goto(f"{server.url}/ops/dead-letters")
        assert response is not None
        assert response.status == 401
    finally:
        context.close()
    assert TOKEN not in server.log.read_text()


def test_without_chromium_the_browser_test_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", Path("/nonexistent/chromium"))
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="install Debian's chromium"):
        _chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception):
        _chromium()
