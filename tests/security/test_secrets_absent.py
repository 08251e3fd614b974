"""Secrets and key material never show: not in logs, metrics, error pages, nor CLI output.

Flows run with known secret values at LOG_LEVEL=DEBUG, successes and failures alike, and every
byte they print or answer is searched for those values, raw and encoded (tests/security/known.py).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.orm import Session

from config.logs import configure_logging
from config.settings import ConfigError, LogFormat, load_settings
from domain.programs import PercentReward, ProgramTerms
from ingress.directory import EndpointState
from ingress.signature import sign
from storage.crypto import SecretBox, format_master_key, generate_master_key, parse_master_keys
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import api_keys, endpoints, workspaces
from tests.conftest import Cli, CliResult
from tests.hostile.web import WebProcess, read_response
from tests.security.known import (
    OPS_TOKEN,
    RESTRICTED_KEY,
    SIGNING_SECRET_A,
    SIGNING_SECRET_B,
    forms,
    leaks,
)
from tests.workers.conftest import make_shop, ticking
from tests.workers.stripe_standin import stripe_standin
from traaaction import stripe_payloads as ev
from workers import context
from workers.contract import Delivery
from workers.pipeline import process

pytestmark = pytest.mark.slow


def test_the_search_finds_every_form_it_lists() -> None:
    """A search that could find nothing would prove nothing."""
    master = "k1:" + base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    for secret in (SIGNING_SECRET_A, RESTRICTED_KEY, OPS_TOKEN, master):
        assert len(forms(secret)) >= 4
        for form in forms(secret):
            assert form in leaks(f"prefix {form} suffix", [secret])
    assert bytes(range(32)).hex() in forms(master)
    assert leaks("ep_abc sec_123 ...LaSw last4 XK3B", [SIGNING_SECRET_A]) == []


class Transcript:
    """Everything a flow printed or answered, to be searched at the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[str, str]] = []

    def add(self, what: str, text: str) -> None:
        self.parts.append((what, text))

    def cli(self, what: str, result: CliResult) -> CliResult:
        self.add(f"cli {what} (exit {result.code})", result.stdout + result.stderr)
        return result

    def http(
        self,
        what: str,
        url: str,
        *,
        data: bytes | None = None,
        headers: dict[str, str] | None = None,
        method: str | None = None,
    ) -> int:
        request = urllib.request.Request(  # noqa: S310 - a local test server
            url, data=data, headers=headers or {}, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status, body, answer_headers = response.status, response.read(), response.headers
        except urllib.error.HTTPError as error:
            status, body, answer_headers = error.code, error.read(), error.headers
        self.add(f"http {what} ({status})", f"{answer_headers}\n{body.decode(errors='replace')}")
        return int(status)

    def leaks(self, secrets: list[str]) -> list[tuple[str, list[str]]]:
        return [(what, found) for what, text in self.parts if (found := leaks(text, secrets))]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None


def test_no_output_of_the_cli_the_web_process_or_its_pages_shows_a_secret(
    cli: Cli, database_url: str, redis_url: str, master_key_value: str, tmp_path: Path
) -> None:
    transcript = Transcript()
    debug = {"LOG_LEVEL": "DEBUG"}

    def run(what: str, *args: str, stdin: str | None = None, **env: str) -> CliResult:
        return transcript.cli(what, cli(*args, stdin=stdin, **{**debug, **env}))

    def ok_json(what: str, *args: str, stdin: str | None = None) -> dict[str, str]:
        result = run(what, *args, "--json", stdin=stdin)
        assert result.code == 0, result.stderr
        loaded: dict[str, str] = json.loads(result.stdout)
        return loaded

    # --- the CLI, with the secrets given to it (tests/cli covers each command on its own) ---
    engine = make_engine(database_url)
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            workspace = workspaces.create(session, name="Acme").id
            endpoint = endpoints.create(session, workspace_id=workspace).id
            other = endpoints.create(session, workspace_id=workspace).id
            box = SecretBox(parse_master_keys(master_key_value))
            endpoints.add_secret(session, box, endpoint_id=other, secret=SIGNING_SECRET_B)
    finally:
        engine.dispose()
    ok_json("add-secret", "endpoint", "add-secret", endpoint, stdin=SIGNING_SECRET_A + "\n")
    ok_json("set-stripe-key", "workspace", "set-stripe-key", workspace, stdin=RESTRICTED_KEY)
    # Refused secrets: the errors say why without repeating them.
    bad_secret = SIGNING_SECRET_A[:-6] + " x!y%z"
    mistyped_key = RESTRICTED_KEY + "-"
    refused = run("add-secret refused", "endpoint", "add-secret", endpoint, stdin=bad_secret)
    assert refused.code != 0
    refused = run(
        "set-stripe-key refused", "workspace", "set-stripe-key", workspace, stdin=mistyped_key
    )
    assert refused.code != 0
    # Configuration refused: a corrupted master key, an operator token too short. (What the
    # CLI prints is `traaaction: error: ` and this message, as tests/cli/test_errors.py checks.)
    corrupted = master_key_value[:-3] + "!!!"
    short_token = OPS_TOKEN[:24]
    for variable, value in (("TRAAACTION_KEYS", corrupted), ("OPS_TOKEN", short_token)):
        with pytest.raises(ConfigError) as refused_setting:
            load_settings(**{variable: value})
        transcript.add(f"bad {variable}", str(refused_setting.value))

    # --- an endpoint whose stored secret is another row's ciphertext (it cannot decrypt) ---
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(
                text(
                    "UPDATE endpoint_secrets AS b SET key_id = a.key_id, nonce = a.nonce, "
                    "ciphertext = a.ciphertext FROM endpoint_secrets AS a "
                    "WHERE a.endpoint_id = :a AND b.endpoint_id = :b"
                ),
                {"a": endpoint, "b": other},
            )
    finally:
        engine.dispose()

    # --- the web process, at DEBUG, with the console on ---
    web = WebProcess.start(
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "TRAAACTION_KEYS": master_key_value,
            "OPS_TOKEN": OPS_TOKEN,
            "LOG_LEVEL": "DEBUG",
        },
        tmp_path / "web.log",
    )
    try:
        hook = f"{web.base}/api/webhooks/{endpoint}"
        body = ev.checkout_session_completed(session_id="cs_secret", click_id=None).encode()

        def signature(secret: str) -> dict[str, str]:
            return {"Stripe-Signature": sign(secret, body, int(time.time()))}

        assert transcript.http("good", hook, data=body, headers=signature(SIGNING_SECRET_A)) == 200
        assert transcript.http("wrong", hook, data=body, headers=signature(SIGNING_SECRET_B)) == 400
        unreadable = f"{web.base}/api/webhooks/{other}"
        assert (
            transcript.http(
                "unreadable", unreadable, data=body, headers=signature(SIGNING_SECRET_A)
            )
            == 400
        )
        unknown = f"{web.base}/api/webhooks/ep_{'a' * 32}"
        assert transcript.http("unknown", unknown, data=body, headers=signature("whsec_x")) == 404
        with web.connect() as sock:  # (urllib would send the body the server refuses to read)
            sock.sendall(
                f"POST /api/webhooks/{endpoint} HTTP/1.1\r\nHost: x\r\n"
                f"Content-Length: {2 * 1024 * 1024}\r\n\r\n".encode()
            )
            status, raw = read_response(sock)
        assert status == 413
        transcript.add("too large", raw.decode(errors="replace"))
        assert transcript.http("GET hook", hook) == 405
        for path in ("/metrics", "/healthz", "/readyz"):
            assert transcript.http(path, web.base + path) == 200
        # The console: refused, signed in by form and by bearer, pages with data.
        assert transcript.http("/ops/", f"{web.base}/ops/") == 401
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        wrong = b"token=" + OPS_TOKEN[:-1].encode() + b"0"
        assert (
            transcript.http("login wrong", f"{web.base}/ops/login", data=wrong, headers=form) == 401
        )
        opener = urllib.request.build_opener(_NoRedirect)
        request = urllib.request.Request(  # noqa: S310
            f"{web.base}/ops/login", data=f"token={OPS_TOKEN}".encode(), headers=form
        )
        with pytest.raises(urllib.error.HTTPError) as redirected:  # (not followed: an error)
            opener.open(request, timeout=10)
        answer = redirected.value
        assert answer.code == 303
        transcript.add("login right", f"{answer.headers}\n{answer.read().decode()}")
        cookie = answer.headers["set-cookie"].split(";")[0]
        for page in ("/ops/", "/ops/events", "/ops/dead-letters", "/ops/dead-letters/dl_x"):
            transcript.http(f"{page} cookie", web.base + page, headers={"Cookie": cookie})
            bearer = {"Authorization": f"Bearer {OPS_TOKEN}"}
            transcript.http(f"{page} bearer", web.base + page, headers=bearer)
        transcript.http("bearer wrong", f"{web.base}/ops/", headers={"Authorization": "Bearer x"})

        # --- CLI commands that use the stored secrets against the running service ---
        run(
            "send-test-event",
            "send-test-event", endpoint, "--type", "checkout.session.completed",
            "--url", hook, "--wait", "0",
        )  # fmt: skip
        # Stripe's API here is the web process: it answers 404, as a wrong base URL would.
        run("reconcile", "reconcile", "--workspace", workspace, "--since", "1h",
            STRIPE_API_BASE=web.base)  # fmt: skip
    finally:
        # Stopping flushes the rejection log, which logs what it flushes.
        transcript.add("web process log", web.stop())

    # --- key rotation (which refuses a row that does not decrypt), then the old key is gone ---
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(
                text("DELETE FROM endpoint_secrets WHERE endpoint_id = :b"), {"b": other}
            )
    finally:
        engine.dispose()
    new_key = format_master_key(generate_master_key("k2"))
    both = f"{new_key},{master_key_value}"
    assert run("keys rotate", "keys", "rotate", "--json", TRAAACTION_KEYS=both).code == 0

    log = dict(transcript.parts)["web process log"]
    assert "endpoint.secret_unreadable" in log  # the copied ciphertext was refused, by id
    assert "webhook.rejected" in log
    secrets = [
        SIGNING_SECRET_A, SIGNING_SECRET_B, RESTRICTED_KEY, OPS_TOKEN, master_key_value,
        new_key, bad_secret, mistyped_key, corrupted, short_token,
    ]  # fmt: skip
    assert transcript.leaks(secrets) == []
    assert len(transcript.parts) > 25


def test_objects_that_hold_secrets_show_none_in_their_repr(master_key_value: str) -> None:
    keys = parse_master_keys(master_key_value)
    settings = load_settings(
        TRAAACTION_KEYS=master_key_value,
        OPS_TOKEN=OPS_TOKEN,
        DATABASE_URL="postgresql://u@h/db",
        REDIS_URL="redis://h/0",
    )
    state = EndpointState("ep_x", "ws_x", True, ((SIGNING_SECRET_A, None),))
    active = endpoints.ActiveSecret("sec_x", SIGNING_SECRET_A, None)
    shown = " ".join(
        repr(thing)
        for thing in (keys, SecretBox(keys), settings, state, active, SecretStr(OPS_TOKEN))
    )
    shown += str(settings) + str(SecretStr(OPS_TOKEN))
    assert leaks(shown, [master_key_value, OPS_TOKEN, SIGNING_SECRET_A]) == []


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[pytest.CaptureFixture[str]]:
    configure_logging("DEBUG", LogFormat.JSON)
    try:
        yield capsys
    finally:
        logging.getLogger().handlers.clear()


def test_a_refused_or_failing_stripe_api_key_is_logged_without_the_key(
    database_url: str, secret_box: SecretBox, json_logs: pytest.CaptureFixture[str]
) -> None:
    engine = make_engine(database_url)
    shop = make_shop(engine, ProgramTerms(PercentReward(1000)))
    with Session(engine) as session, session.begin():
        api_keys.set_key(session, secret_box, workspace_id=shop.workspace_id, key=RESTRICTED_KEY)
    seen: list[str] = []
    try:
        with stripe_standin() as standin:
            context.configure(
                context.WorkerContext(
                    factory=make_session_factory(engine),
                    clock=ticking(),
                    secret_box=secret_box,
                    stripe_api_base=standin.base,
                )
            )
            for number, status in enumerate((401, 403, 503, 500)):
                standin.status = status
                refund = ev.charge_refunded(
                    charge_id=f"ch_{number}", payment_intent=f"pi_{number}", amount=100,
                    amount_refunded=100,
                ).text  # fmt: skip
                try:
                    process(
                        Delivery.from_kwargs(ev.delivery(refund, workspace_id=shop.workspace_id)),
                        attempt=1,
                    )
                except Exception as exc:  # StripeUnavailable: retried; what does it say?
                    seen.append(f"{type(exc).__name__}: {exc} {exc.__cause__!r}")
            # Stripe's API was really asked, with the key.
            assert {auth for auth, _query in standin.requests} == {f"Bearer {RESTRICTED_KEY}"}
    finally:
        engine.dispose()
    captured = json_logs.readouterr()
    assert "stripe_api.key_refused" in captured.err
    assert len(seen) == 2
    everything = captured.out + captured.err + "\n".join(seen)
    assert leaks(everything, [RESTRICTED_KEY]) == []
