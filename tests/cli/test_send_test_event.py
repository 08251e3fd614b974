"""`traaaction send-test-event`, through the console script.

Fast tests send to a stand-in HTTP server that records what it gets (the signature, the body)
and answers what the test asks for. Slow ones run the real thing: `traaaction serve` and
`traaaction worker` processes on a database of their own, and the scenarios an operator
would try: a sale and its refund, a subscription and its renewal (both payload shapes), a
checkout without a click, an ingress nobody works for.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from domain.events import CheckoutSessionCompleted, parse_event
from domain.programs import PercentReward, ProgramTerms
from ingress.signature import SignatureError, verify
from storage.crypto import SecretBox
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import clicks, endpoints, partners, programs, workspaces
from tests.cli.conftest import RecordingCli, assert_error, secret_fragments
from tests.conftest import DatabaseFactory, base_env, free_port
from traaaction import stripe_payloads as fx
from traaaction.cli._test_events import next_steps
from traaaction.cli.send_test_event import human
from traaaction.embedded import EmbeddedRedis

SECRET = "whsec_sendtest_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_sendtest_old_Zq3LkW0aXbVn5Cy8Ue1RtPo7"
TRAAACTION = str(Path(sys.executable).parent / "traaaction")
#: seconds the slow tests let the command wait for the worker (it answers in milliseconds)
WAIT = "30"


@dataclass
class Shop:
    workspace_id: str
    endpoint_id: str
    partner_id: str
    click_id: str


def make_shop(
    database_url: str,
    box: SecretBox,
    *,
    percent_bps: int = 2000,
    secrets: tuple[str, ...] = (SECRET,),
    enabled: bool = True,
) -> Shop:
    """A workspace with an endpoint and its signing secrets (added in this order, one
    transaction each, as `endpoint add-secret` would), a program, a partner and a click.

    Made in this process: the console script costs a second or more per call."""
    engine = make_engine(database_url, pool_size=1)
    factory = make_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            ws = workspaces.create(session, name="Shop")
            terms = ProgramTerms(PercentReward(percent_bps))
            program = programs.create(session, workspace_id=ws.id, name="Launch", terms=terms)
            partner = partners.create(session, workspace_id=ws.id, program_id=program.id,
                                      name="Jane")  # fmt: skip
            click = clicks.create(session, partner_id=partner.id)
            ep = endpoints.create(session, workspace_id=ws.id)
            shop = Shop(ws.id, ep.id, partner.id, click.id)
        for secret in secrets:
            with unit_of_work(factory) as session:
                endpoints.add_secret(session, box, endpoint_id=shop.endpoint_id, secret=secret)
        if not enabled:
            with unit_of_work(factory) as session:
                endpoints.set_enabled(session, shop.endpoint_id, False)
        return shop
    finally:
        engine.dispose()


def assert_no_secret_printed(cli: RecordingCli) -> None:
    for call in cli.calls:
        for secret in (SECRET, OLD_SECRET):
            for fragment in secret_fragments(secret):
                assert fragment not in call.output, f"{call.args} printed a signing secret"


# --- a stand-in for the ingress -----------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class StandIn:
    """An HTTP server that records each POST and answers `status`, `body` (and `headers`)."""

    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 200
    body: bytes = b'{"received": true, "status": "queued"}'
    headers: dict[str, str] = field(default_factory=dict)


@pytest.fixture
def stand_in() -> Iterator[StandIn]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    state = StandIn(url=f"http://127.0.0.1:{server.server_address[1]}")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            state.received.append(Received(self.path, dict(self.headers), self.rfile.read(length)))
            self.send_response(state.status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.body)))
            self.end_headers()
            self.wfile.write(state.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def test_the_event_is_signed_with_the_newest_active_secret_and_posted_to_the_endpoint(
    cli: RecordingCli, stand_in: StandIn, database_url: str, secret_box: SecretBox
) -> None:
    endpoint_id = make_shop(database_url, secret_box, secrets=(OLD_SECRET, SECRET)).endpoint_id
    out = cli.json("send-test-event", endpoint_id, "--type", "checkout.session.completed",
                   "--click-id", "clk_abc", "--amount", "4900", "--tax", "400", "--wait", "0",
                   PUBLIC_BASE_URL=stand_in.url)  # fmt: skip

    [request] = stand_in.received
    assert request.path == f"/api/webhooks/{endpoint_id}"
    assert request.headers["Content-Type"].startswith("application/json")
    header = request.headers["Stripe-Signature"]
    assert verify(header, request.body, [SECRET], now=time.time()) > 0
    with pytest.raises(SignatureError):
        verify(header, request.body, [OLD_SECRET], now=time.time())
    event = parse_event(request.body)
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.click_id, event.amount_total, event.amount_tax) == ("clk_abc", 4900, 400)
    assert event.livemode is False
    assert out["event_id"] == event.event_id == out["ids"]["event"]
    assert out["ids"]["payment_intent"] == event.payment_intent_id
    assert out["url"] == f"{stand_in.url}/api/webhooks/{endpoint_id}"
    assert (out["status_code"], out["ingress_status"], out["outcome"]) == (200, "queued", None)
    assert out["secret_last4"] == SECRET[-4:]
    assert out["commissions"] == []
    refund, dispute = out["next"]
    assert shlex.split(refund)[3:7] == ["--type", "charge.refunded", "--payment-intent",
                                        event.payment_intent_id]  # fmt: skip
    assert shlex.split(dispute)[3:7] == ["--type", "charge.dispute.created", "--payment-intent",
                                         event.payment_intent_id]  # fmt: skip


def test_url_sends_elsewhere_and_the_api_version_picks_the_payload_shape(
    cli: RecordingCli, stand_in: StandIn, database_url: str, secret_box: SecretBox
) -> None:
    endpoint_id = make_shop(database_url, secret_box).endpoint_id
    out = cli.json("send-test-event", endpoint_id, "--type", "invoice.paid", "--subscription",
                   "sub_given", "--api-version", fx.PRE_BASIL, "--url", stand_in.url + "/hook",
                   "--wait", "0")  # fmt: skip
    [request] = stand_in.received
    assert request.path == "/hook"
    body = json.loads(request.body)
    assert body["api_version"] == fx.PRE_BASIL
    assert body["data"]["object"]["subscription"] == "sub_given"
    # The next commands keep --url and --api-version.
    for step in out["next"]:
        assert f"--url {stand_in.url}/hook --api-version {fx.PRE_BASIL}" in step


@pytest.mark.parametrize(
    ("status", "body", "headers", "expected"),
    [
        (400, b'{"error": "no_matching_signature"}', {},
         "answered 400 no_matching_signature: it verifies with other secrets than endpoint {ep}'s "
         "in this command's database: does it run with the same DATABASE_URL and "
         "TRAAACTION_KEYS?"),
        (400, b'{"error": "timestamp_out_of_tolerance"}', {},
         "answered 400 timestamp_out_of_tolerance: this machine's clock and the ingress' differ"),
        (404, b'{"error": "unknown_endpoint"}', {},
         "answered 404 unknown_endpoint: it does not know endpoint {ep}"),
        (503, b'{"error": "temporarily_unavailable"}', {"Retry-After": "10"},
         "answered 503 temporarily_unavailable: it could not queue the event: is its Redis up?"),
        (413, b'{"error": "body_too_large"}', {}, "answered 413 body_too_large"),
        (404, b"<h1>Not Found</h1>", {},
         "answered 404 (<h1>Not Found</h1>): is that Traaaction's ingress?"),
        (308, b"", {"Location": "https://hooks.example.com/x"},
         "answered 308, a redirect to https://hooks.example.com/x: send there with --url"),
    ],
)  # fmt: skip
def test_an_answer_other_than_200_is_one_clear_error(
    cli: RecordingCli,
    stand_in: StandIn,
    status: int,
    body: bytes,
    headers: dict[str, str],
    expected: str,
    database_url: str,
    secret_box: SecretBox,
) -> None:
    endpoint_id = make_shop(database_url, secret_box).endpoint_id
    stand_in.status, stand_in.body, stand_in.headers = status, body, headers
    message = cli.fails("send-test-event", endpoint_id, "--type", "charge.refunded", "--json",
                        PUBLIC_BASE_URL=stand_in.url)  # fmt: skip
    url = f"{stand_in.url}/api/webhooks/{endpoint_id}"
    assert message.startswith(f"the ingress at {url} " + expected.format(ep=endpoint_id))
    assert len(stand_in.received) == 1  # a redirect is reported, not followed


def test_a_closed_port_says_to_start_the_service(
    cli: RecordingCli, database_url: str, secret_box: SecretBox
) -> None:
    endpoint_id = make_shop(database_url, secret_box).endpoint_id
    url = f"http://127.0.0.1:{free_port()}"
    message = cli.fails("send-test-event", endpoint_id, "--type", "checkout.session.completed",
                        "--url", url)  # fmt: skip
    assert message == (
        f"cannot reach the ingress at {url} (connection refused): is `traaaction run` or "
        "`traaaction serve` running there? (the URL comes from PUBLIC_BASE_URL; --url sends "
        "elsewhere)"
    )


def test_an_endpoint_it_cannot_sign_for_is_a_clear_error(
    cli: RecordingCli, database_url: str, secret_box: SecretBox
) -> None:
    message = cli.fails("send-test-event", "ep_nope", "--type", "invoice.paid", "--json")
    assert message == (
        "endpoint 'ep_nope' not found (`traaaction endpoint list --workspace WS` lists a "
        "workspace's)"
    )
    endpoint_id = make_shop(database_url, secret_box, secrets=()).endpoint_id
    message = cli.fails("send-test-event", endpoint_id, "--type", "invoice.paid")
    assert message == (
        f"endpoint {endpoint_id} has no active signing secret: add Stripe's with "
        f"`traaaction endpoint add-secret {endpoint_id}`"
    )
    endpoint_id = make_shop(database_url, secret_box, enabled=False).endpoint_id
    message = cli.fails("send-test-event", endpoint_id, "--type", "invoice.paid")
    assert message == (
        f"endpoint {endpoint_id} is disabled (the ingress answers 404): "
        f"`traaaction endpoint enable {endpoint_id}`"
    )


@pytest.mark.parametrize(
    ("args", "code", "expected"),
    [
        (["--type", "invoice.paid", "--click-id", "clk_1"], 2,
         "--click-id does not go with --type invoice.paid (only checkout.session.completed, "
         "checkout.session.async_payment_succeeded, checkout.session.async_payment_failed)"),
        (["--type", "charge.dispute.created", "--status", "won"], 2,
         "--status won does not go with --type charge.dispute.created (it takes "
         "needs_response, warning_needs_response, under_review, warning_under_review)"),
        (["--type", "charge.refunded", "--status", "failed"], 2,
         "--status does not go with --type charge.refunded (only charge.refund.updated, "
         "charge.dispute.created, charge.dispute.closed)"),
        (["--type", "checkout.session.completed", "--refunded", "5"], 2,
         "--refunded does not go with --type checkout.session.completed (only charge.refunded)"),
        (["--type", "customer.subscription.deleted", "--amount", "5"], 2,
         "--amount does not go with --type customer.subscription.deleted (only "
         "checkout.session.completed, checkout.session.async_payment_succeeded, "
         "checkout.session.async_payment_failed, invoice.paid, charge.refunded, "
         "charge.refund.updated, charge.dispute.created, charge.dispute.closed)"),
        (["--type", "refund"], 2, "Invalid value for '--type'"),
        ([], 2, "Missing option '--type'"),
        (["--type", "checkout.session.completed", "--amount", "4", "--tax", "5"], 1,
         "tax 5 is more than the amount 4 it is part of"),
        (["--type", "charge.refunded", "--amount", "10", "--refunded", "11"], 1,
         "amount refunded 11 is more than the charge's 10"),
        (["--type", "invoice.paid", "--currency", "EURO"], 1,
         "--currency: 'EURO' is not a three-letter ISO code (usd)"),
        (["--type", "invoice.paid", "--api-version", "basil"], 1, "API version 'basil' is not"),
        (["--type", "checkout.session.completed", "--mode", "subscription", "--payment-intent",
          "pi_1"], 1, "a checkout in subscription mode has no payment intent (its invoice has)"),
        (["--type", "invoice.paid", "--url", "hooks.example.com"], 1,
         "--url: 'hooks.example.com' is not an http:// or https:// URL"),
    ],
)  # fmt: skip
def test_options_that_make_no_sense_are_refused_before_anything_is_sent(
    cli: RecordingCli, args: list[str], code: int, expected: str
) -> None:
    message = cli.fails("send-test-event", "ep_whatever", *args, "--json", code=code)
    assert message.startswith(expected)


# --- the real service ---------------------------------------------------------------------------


@dataclass
class Service:
    env: dict[str, str]
    base_url: str


def _wait_until(predicate: Any, what: str, logs: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    tails = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(logs.glob("*.log")))
    raise AssertionError(f"timed out waiting for {what}\n{tails}")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own server
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def processes(env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """Started `traaaction ...` processes, each in its own group, stopped at the end."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for proc in started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def start(started: list[subprocess.Popen[bytes]], env: dict[str, str], log: Path,
          *args: str) -> None:  # fmt: skip
    with log.open("wb") as out:
        started.append(
            subprocess.Popen(
                [TRAAACTION, *args],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )


@pytest.fixture(scope="module")
def service(
    databases: DatabaseFactory,
    migrated_template: str,
    redis_url: str,
    master_key_value: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Service]:
    """`traaaction serve` and `traaaction worker` on a database of their own, for the module."""
    logs = tmp_path_factory.mktemp("send-test-event")
    port = free_port()
    env = {
        **base_env(),
        "DATABASE_URL": databases.create(template=migrated_template),
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "LOG_FORMAT": "json",
        "TRAAACTION_DATA_DIR": str(logs / "data"),
        "WORKER_PROCESSES": "1",
        "WORKER_THREADS": "2",
    }
    with processes(env, logs) as started:
        start(started, env, logs / "serve.log", "serve", "--port", str(port))
        start(started, env, logs / "worker.log", "worker")
        worker_log = logs / "worker.log"
        _wait_until(lambda: _answers(f"http://127.0.0.1:{port}/readyz"), "the ingress", logs)
        _wait_until(lambda: "ready for action" in worker_log.read_text(), "the worker", logs)
        yield Service(env, f"http://127.0.0.1:{port}")


@pytest.fixture
def live(service: Service, tmp_path: Path) -> Iterator[RecordingCli]:
    """The console script with the service's settings; checks no call printed a secret."""
    recorder = RecordingCli(service.env, tmp_path)
    yield recorder
    recorder.assert_nothing_secret_printed()
    assert_no_secret_printed(recorder)


@pytest.fixture
def shop_of(service: Service, secret_box: SecretBox) -> Callable[..., Shop]:
    def make(percent_bps: int = 2000) -> Shop:
        return make_shop(service.env["DATABASE_URL"], secret_box, percent_bps=percent_bps)

    return make


def send(cli: RecordingCli, *args: str) -> dict[str, Any]:
    result: dict[str, Any] = cli.json("send-test-event", *args, "--wait", WAIT)
    return result


def run_next(cli: RecordingCli, step: str) -> dict[str, Any]:
    """Run a command from a result's "next", as an operator would paste it."""
    argv = shlex.split(step)
    assert argv[:2] == ["traaaction", "send-test-event"]
    return send(cli, *argv[2:])


def view(commission: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("kind", "month", "status", "amount", "currency", "sale_amount", "reason", "livemode")
    return tuple(commission[k] for k in keys)


@pytest.mark.slow
def test_a_sale_becomes_a_commission_and_its_refund_cancels_it(
    live: RecordingCli, shop_of: Callable[..., Shop]
) -> None:
    shop = shop_of(2000)
    sale = send(live, shop.endpoint_id, "--type", "checkout.session.completed",
                "--click-id", shop.click_id, "--amount", "5000", "--tax", "500")  # fmt: skip
    assert (sale["status_code"], sale["outcome"], sale["reason"]) == (200, "processed", None)
    assert {"event_id", "type", "status_code", "outcome", "reason", "commissions", "ids"} <= set(
        sale
    )
    [commission] = sale["commissions"]
    # 20 % of the amount without tax
    assert view(commission) == ("SALE", None, "PENDING", 900, "usd", 4500, None, False)
    assert commission["partner_id"] == shop.partner_id
    assert commission["payment_intent_id"] == sale["ids"]["payment_intent"]
    assert sale["commission_ids"] == [commission["id"]]

    refund_step, _dispute_step = sale["next"]
    refund = run_next(live, refund_step)
    assert refund["type"] == "charge.refunded"
    assert refund["outcome"] == "processed"
    [canceled] = refund["commissions"]
    assert canceled["id"] == commission["id"]
    assert view(canceled) == ("SALE", None, "CANCELED", 900, "usd", 4500, "refunded", False)
    ledger = live.json("commissions", "list", "--workspace", shop.workspace_id)
    assert [(c["id"], c["status"]) for c in ledger] == [(commission["id"], "CANCELED")]


@pytest.mark.slow
def test_a_dispute_holds_the_sale_and_a_lost_one_cancels_it(
    live: RecordingCli, shop_of: Callable[..., Shop]
) -> None:
    shop = shop_of(2000)
    sale = send(live, shop.endpoint_id, "--type", "checkout.session.completed",
                "--click-id", shop.click_id, "--amount", "5000")  # fmt: skip
    [commission] = sale["commissions"]
    _refund_step, dispute_step = sale["next"]
    opened = run_next(live, dispute_step)
    assert (opened["type"], opened["outcome"]) == ("charge.dispute.created", "processed")
    [held] = opened["commissions"]
    assert (held["id"], held["status"], held["reason"]) == (commission["id"], "ON_HOLD",
                                                            "disputed")  # fmt: skip
    won_step, lost_step = opened["next"]
    assert "--status won" in won_step
    lost = run_next(live, lost_step)
    assert (lost["type"], lost["outcome"]) == ("charge.dispute.closed", "processed")
    [canceled] = lost["commissions"]
    assert view(canceled) == ("SALE", None, "CANCELED", 1000, "usd", 5000, "dispute_lost", False)


@pytest.mark.slow
def test_a_delayed_payment_earns_when_it_succeeds(
    live: RecordingCli, shop_of: Callable[..., Shop]
) -> None:
    shop = shop_of(2000)
    unpaid = send(live, shop.endpoint_id, "--type", "checkout.session.completed",
                  "--click-id", shop.click_id, "--amount", "3000",
                  "--payment-status", "unpaid")  # fmt: skip
    assert (unpaid["outcome"], unpaid["reason"], unpaid["commissions"]) == (
        "skipped",
        "awaiting_payment",
        [],
    )
    succeeded_step, failed_step = unpaid["next"]
    assert "async_payment_failed" in failed_step
    paid = run_next(live, succeeded_step)
    assert (paid["type"], paid["outcome"]) == ("checkout.session.async_payment_succeeded",
                                               "processed")  # fmt: skip
    [commission] = paid["commissions"]
    assert view(commission) == ("SALE", None, "PENDING", 600, "usd", 3000, None, False)


@pytest.mark.slow
@pytest.mark.parametrize("api", [fx.BASIL, fx.PRE_BASIL])
def test_a_subscription_then_its_renewal_earn_months_one_and_two(
    live: RecordingCli, shop_of: Callable[..., Shop], api: str
) -> None:
    shop = shop_of(1000)
    first = send(live, shop.endpoint_id, "--type", "checkout.session.completed", "--mode",
                 "subscription", "--click-id", shop.click_id, "--amount", "2900",
                 "--api-version", api)  # fmt: skip
    assert first["outcome"] == "processed"
    [month_1] = first["commissions"]
    assert view(month_1) == ("RECURRING", 1, "PENDING", 290, "usd", 2900, None, False)
    assert month_1["subscription_id"] == first["ids"]["subscription"]

    renewal_step, deletion_step = first["next"]
    assert f"--subscription {first['ids']['subscription']} --month 2" in renewal_step
    renewal = run_next(live, renewal_step)
    assert (renewal["type"], renewal["api_version"], renewal["outcome"]) == (
        "invoice.paid", api, "processed",
    )  # fmt: skip
    [month_2] = renewal["commissions"]
    assert view(month_2) == ("RECURRING", 2, "PENDING", 290, "usd", 2900, None, False)
    assert month_2["invoice_id"] == renewal["ids"]["invoice"]

    deletion = run_next(live, deletion_step)
    assert deletion["outcome"] == "processed"
    assert sorted((c["month"], c["status"], c["reason"]) for c in deletion["commissions"]) == [
        (1, "CANCELED", "subscription_canceled"),
        (2, "CANCELED", "subscription_canceled"),
    ]


@pytest.mark.slow
def test_a_checkout_without_a_click_is_skipped_and_said_so(
    live: RecordingCli, shop_of: Callable[..., Shop]
) -> None:
    shop = shop_of()
    result = live("send-test-event", shop.endpoint_id, "--type", "checkout.session.completed",
                  "--wait", WAIT)  # fmt: skip
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    url = f"{live.env['PUBLIC_BASE_URL']}/api/webhooks/{shop.endpoint_id}"
    assert lines[0].startswith("sent checkout.session.completed evt_")
    assert lines[0].endswith(f" to {url}")
    assert lines[1].startswith(
        "  test mode (livemode false), API version 2025-03-31.basil, signed with secret sec_"
    )
    assert lines[1].endswith(f" (...{SECRET[-4:]})")
    assert lines[3] == "ingress: 200 queued"
    assert lines[4].startswith("outcome: skipped missing_click_id (after ")
    assert lines[5] == "  no --click-id: `traaaction click create --partner PRT` makes one"
    for fragment in secret_fragments(SECRET):
        assert fragment not in result.stdout + result.stderr
    logged = live.json("events", "list", "--workspace", shop.workspace_id)
    assert [(e["outcome"], e["reason"]) for e in logged] == [("skipped", "missing_click_id")]


@pytest.mark.slow
def test_the_real_ingress_refusing_is_one_clear_error(
    live: RecordingCli, service: Service, shop_of: Callable[..., Shop]
) -> None:
    shop = shop_of()
    other = f"{service.base_url}/api/webhooks/ep_someone_else"
    message = live.fails("send-test-event", shop.endpoint_id, "--type", "invoice.paid",
                         "--url", other)  # fmt: skip
    assert message.startswith(f"the ingress at {other} answered 404 unknown_endpoint: ")
    nowhere = f"{service.base_url}/nowhere"
    message = live.fails("send-test-event", shop.endpoint_id, "--type", "invoice.paid",
                         "--url", nowhere, "--json")  # fmt: skip
    assert message == (
        f"the ingress at {nowhere} answered 404 (Not Found): is that Traaaction's ingress?"
    )


@pytest.mark.slow
def test_an_ingress_no_worker_serves_is_named_after_the_wait(
    live: RecordingCli, service: Service, shop_of: Callable[..., Shop], tmp_path: Path
) -> None:
    shop = shop_of()
    redis_server = EmbeddedRedis(tmp_path / "redis")
    redis_server.attach()
    try:
        port = free_port()
        env = {**service.env, "REDIS_URL": redis_server.url}
        with processes(env, tmp_path) as started:
            start(started, env, tmp_path / "lonely.log", "serve", "--port", str(port))
            _wait_until(lambda: _answers(f"http://127.0.0.1:{port}/readyz"), "it", tmp_path)
            url = f"http://127.0.0.1:{port}/api/webhooks/{shop.endpoint_id}"
            args = ("send-test-event", shop.endpoint_id, "--type", "checkout.session.completed",
                    "--click-id", shop.click_id, "--url", url, "--wait", "1")  # fmt: skip
            as_json = live(*args, "--json")
    finally:
        redis_server.detach()
    assert as_json.code == 1
    assert as_json.stderr == ""
    data = json.loads(as_json.stdout)
    assert (data["status_code"], data["ingress_status"], data["outcome"]) == (200, "queued", None)
    assert data["commissions"] == []


def test_the_error_contract_holds_for_a_failed_send(cli: RecordingCli) -> None:
    """With --json, a refused send prints {"error"} alone (the contract of every command)."""
    result = cli("send-test-event", "ep_nope", "--type", "invoice.paid", "--json")
    assert_error(result, ("send-test-event", "--json"))


# --- what it prints -----------------------------------------------------------------------------


def result(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "event_id": "evt_1", "type": "checkout.session.completed", "api_version": fx.BASIL,
        "endpoint_id": "ep_1", "workspace_id": "ws_1", "url": "http://127.0.0.1/api/webhooks/ep_1",
        "secret_id": "sec_1", "secret_last4": "LaSw", "status_code": 200,
        "ingress_status": "queued",
        "outcome": "processed", "reason": None, "attempt": 1, "detail": None, "waited": 0.25,
        "commissions": [], "ids": {"event": "evt_1", "payment_intent": "pi_1"}, "next": [],
    }  # fmt: skip
    return data | overrides


def test_the_outcome_line_says_what_to_do_when_the_event_did_not_settle() -> None:
    assert human(result(outcome=None, waited=10.02), 10).splitlines()[-1] == (
        "outcome: none after 10 s: the ingress accepted the event, but no worker has processed "
        "it: is `traaaction worker` (or `traaaction run`) running, with the same DATABASE_URL "
        "and REDIS_URL as the ingress?"
    )
    detail = {"will_retry": True, "error": "server closed the connection"}
    failed = result(outcome="failed", reason="OperationalError", attempt=2, detail=detail)
    assert human(failed | {"waited": 10.0}, 10).splitlines()[-1] == (
        "outcome: failed, attempt 2 (OperationalError: server closed the connection), still "
        "unsettled after 10 s; it is retried with backoff (see `traaaction events list "
        "--workspace ws_1` and `traaaction dlq list`)"
    )
    dead = human(result(outcome="dead_lettered", reason="EventParseError"), 10).splitlines()
    assert dead[-2:] == [
        "outcome: dead_lettered EventParseError (after 0.2 s)",
        "  the workers gave up on it: see `traaaction dlq list`",
    ]
    assert human(result(outcome=None), 0).splitlines()[-1] == (
        "outcome: not waited for (--wait 0); see `traaaction events list --workspace ws_1`"
    )
    assert human(result(), 10).splitlines()[-2:] == [
        "outcome: processed (after 0.2 s)",
        "  no commission changed",
    ]


def test_after_an_invoice_come_its_refund_the_next_month_and_the_deletion() -> None:
    built = fx.invoice_paid(subscription="sub_1", customer="cus_1", payment_intent="pi_1",
                            amount=2000, tax=200, currency="eur", service_start=fx_now(),
                            created=fx_now())  # fmt: skip
    options = {"month": 4, "billing_reason": None}
    steps = next_steps(built, options, endpoint_id="ep_1", extra=["--url", "http://x/y z"])
    tail = "--customer cus_1 --url 'http://x/y z'"
    assert steps == [
        f"traaaction send-test-event ep_1 --type charge.refunded --payment-intent pi_1 "
        f"--amount 2000 --currency eur {tail}",
        "traaaction send-test-event ep_1 --type charge.dispute.created --payment-intent pi_1 "
        "--amount 2000 --currency eur --url 'http://x/y z'",
        f"traaaction send-test-event ep_1 --type invoice.paid --subscription sub_1 --month 5 "
        f"--amount 2000 --currency eur --tax 200 {tail}",
        f"traaaction send-test-event ep_1 --type customer.subscription.deleted "
        f"--subscription sub_1 {tail}",
    ]
    deletion = fx.customer_subscription_deleted(subscription="sub_1", created=fx_now())
    assert next_steps(deletion, {}, endpoint_id="ep_1", extra=[]) == []


def test_after_a_refund_comes_its_failure_and_after_a_dispute_its_two_ends() -> None:
    refund = fx.charge_refunded(charge_id="ch_1", payment_intent="pi_1", amount=3000,
                                amount_refunded=1200, created=fx_now())  # fmt: skip
    assert next_steps(refund, {}, endpoint_id="ep_1", extra=[]) == [
        "traaaction send-test-event ep_1 --type charge.refund.updated --charge ch_1 "
        "--payment-intent pi_1 --amount 1200 --status failed"
    ]
    dispute = fx.charge_dispute_created(dispute_id="dp_1", charge_id="ch_1", payment_intent="pi_1",
                                        amount=3000, currency="eur")  # fmt: skip
    assert next_steps(dispute, {}, endpoint_id="ep_1", extra=[]) == [
        "traaaction send-test-event ep_1 --type charge.dispute.closed --dispute dp_1 "
        f"--charge ch_1 --payment-intent pi_1 --amount 3000 --currency eur --status {outcome}"
        for outcome in ("won", "lost")
    ]


def test_an_unpaid_checkout_is_followed_by_its_outcome_on_the_same_session() -> None:
    built = fx.checkout_session_completed(payment_status="unpaid", session_id="cs_test_1",
                                          payment_intent="pi_1", customer="cus_1", amount=900,
                                          click_id="clk_1")  # fmt: skip
    steps = next_steps(built, {"click_id": "clk_1"}, endpoint_id="ep_1", extra=[])
    assert steps == [
        f"traaaction send-test-event ep_1 --type checkout.session.async_payment_{outcome} "
        "--session cs_test_1 --mode payment --amount 900 --customer cus_1 "
        "--payment-intent pi_1 --click-id clk_1"
        for outcome in ("succeeded", "failed")
    ]


def fx_now() -> int:
    return int(time.time())
