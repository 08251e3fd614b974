"""traaaction reconcile, through the console script, against a local stand-in for Stripe's
Events API and the real PostgreSQL and Redis: what it queues, what it skips, how it fails."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import dramatiq
import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from domain.programs import PercentReward, ProgramTerms
from ingress.app import create_app
from ingress.enqueue import delivery_item
from ingress.envelope import parse_envelope
from ingress.signature import sign
from storage.crypto import SecretBox
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Commission
from storage.repositories import api_keys, clicks, endpoints, partners, programs, workspaces
from tests.cli.conftest import RecordingCli
from tests.workers.stripe_standin import StandIn, stripe_standin
from traaaction import reconcile as reconciliation
from traaaction import stripe_payloads as ev
from traaaction.cli import reconcile as command
from workers import context
from workers.actors._declare import declare
from workers.broker import make_broker
from workers.contract import (
    EVENT_LOG_STREAM,
    IDEMPOTENCY_TTL,
    ROUTES,
    Delivery,
    idempotency_key,
    queue_key,
)
from workers.pipeline import process

KEY = "rk_test_51HreconcileAbCdEfGhIjKlMnOpQrStUv"
SECRET = "whsec_reconcile_MfKQ9r8GKYqrTwjUPD8ILPZIo2La"


@dataclass
class Merchant:
    engine: Engine
    workspace_id: str
    endpoint_id: str
    click_id: str

    def commissions(self) -> list[Commission]:
        with Session(self.engine) as session:
            query = select(Commission).where(Commission.workspace_id == self.workspace_id)
            return list(session.scalars(query))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with stripe_standin() as state:
        yield state


def new_merchant(engine: Engine, box: SecretBox, *, key: str | None = KEY) -> Merchant:
    """A workspace with a 10 % program, a partner's click, one endpoint and (maybe) a key."""
    with unit_of_work(make_session_factory(engine)) as session:
        ws = workspaces.create(session, name="Shop")
        program = programs.create(
            session, workspace_id=ws.id, name="P", terms=ProgramTerms(PercentReward(1000))
        )
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="J")
        click = clicks.create(session, partner_id=partner.id)
        ep = endpoints.create(session, workspace_id=ws.id)
        endpoints.add_secret(session, box, endpoint_id=ep.id, secret=SECRET)
        if key is not None:
            api_keys.set_key(session, box, workspace_id=ws.id, key=key)
        return Merchant(engine, ws.id, ep.id, click.id)


@pytest.fixture
def merchant(engine: Engine, secret_box: SecretBox) -> Merchant:
    return new_merchant(engine, secret_box)


def ago(**delta: float) -> int:
    return int((datetime.now(UTC) - timedelta(**delta)).timestamp())


def sale(m: Merchant, session: str, *, created: int | None = None) -> dict[str, Any]:
    body = ev.checkout_session_completed(
        session_id=session,
        click_id=m.click_id,
        amount=5_000,
        payment_intent=f"pi_{session}",
        created=created or ago(hours=1),
    ).text
    event: dict[str, Any] = json.loads(body)
    return event


def other(event_type: str, *, created: int | None = None) -> dict[str, Any]:
    event: dict[str, Any] = ev.event(
        event_type,
        {"id": "pi_x", "object": "payment_intent"},
        created=created or ago(hours=1),
        livemode=False,
        api_version=ev.BASIL,
    ).body
    return event


def run(cli: RecordingCli, m: Merchant, standin: StandIn, *args: str, since: str = "3d") -> Any:
    return cli.json(
        "reconcile", "--workspace", m.workspace_id, "--since", since, *args,
        STRIPE_API_BASE=standin.base,
    )  # fmt: skip


def queued(client: redis.Redis) -> list[dict[str, Any]]:
    """Every Dramatiq message on the handled queues, in queue order."""
    found = []
    for route in ROUTES.values():
        for mid in client.lrange(queue_key(route.queue_name), 0, -1):
            data = client.hget(f"{queue_key(route.queue_name)}.msgs", mid)
            assert isinstance(data, bytes)
            found.append(json.loads(data))
    return found


@contextmanager
def running_workers(redis_url: str) -> Iterator[None]:
    """The real actors on a real Dramatiq worker (as tests/test_end_to_end.py runs them)."""
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    for event_type in ROUTES:
        declare(event_type)
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    worker.start()
    try:
        yield
        for route in ROUTES.values():
            broker.join(route.queue_name, timeout=10_000)
    finally:
        worker.stop()
        broker.close()


def test_an_event_never_seen_is_queued_once_as_the_ingress_queues_it_and_pays_a_commission(
    cli: RecordingCli,
    merchant: Merchant,
    standin: StandIn,
    redis_client: redis.Redis,
    redis_url: str,
) -> None:
    missed = sale(merchant, "cs_missed")
    standin.events = [
        missed,
        other("payment_intent.succeeded"),  # not a handled type: not even listed
        sale(merchant, "cs_old", created=ago(days=3, minutes=5)),  # before --since
    ]
    before_ms = int(time.time() * 1000)
    result = run(cli, merchant, standin)
    assert (result["listed"], result["seen"], result["queued"], result["invalid"]) == (1, 0, 1, 0)
    assert result["events"] == [
        {
            "id": missed["id"],
            "type": "checkout.session.completed",
            "created": missed["created"],
            "outcome": "queued",
            "reason": None,
        }
    ]
    assert (result["workspace_id"], result["endpoint_id"]) == (
        merchant.workspace_id,
        merchant.endpoint_id,
    )

    # What Stripe was asked: the four types, since 3 days ago, 100 a page, with the key.
    [(auth, query)] = standin.requests
    assert standin.paths == ["/v1/events"]
    assert auth == f"Bearer {KEY}"
    assert sorted(v for k, vs in query.items() if k.startswith("types[") for v in vs) == sorted(
        ROUTES
    )
    assert abs(int(query["created[gte]"][0]) - ago(days=3)) < 60
    assert query["limit"] == ["100"]

    # Queued exactly as the ingress queues a delivery of this event.
    [message] = queued(redis_client)
    body = message["kwargs"]["body"]
    assert json.loads(body) == missed  # the event as the API returned it
    kwargs = message["kwargs"]
    assert before_ms <= kwargs["received_at"] <= int(time.time() * 1000)
    item = delivery_item(
        merchant.endpoint_id,
        merchant.workspace_id,
        parse_envelope(body.encode()),
        body.encode(),
        kwargs["received_at"],
    )
    expected = json.loads(item.data)
    assert message.keys() == expected.keys()
    assert kwargs == expected["kwargs"]
    route = ROUTES["checkout.session.completed"]
    assert (message["queue_name"], message["actor_name"], message["args"]) == (
        route.queue_name,
        route.actor_name,
        [],
    )
    [mid] = redis_client.lrange(queue_key(route.queue_name), 0, -1)
    assert message["options"] == {"redis_message_id": mid.decode()}  # type: ignore[union-attr]
    key = idempotency_key(merchant.endpoint_id, missed["id"])
    assert 3 * 24 * 3600 < redis_client.ttl(key) <= IDEMPOTENCY_TTL

    # Run again before the workers got to it: the idempotency key says it is queued.
    again = run(cli, merchant, standin)
    assert (again["listed"], again["seen"], again["queued"]) == (1, 1, 0)
    assert again["events"][0]["outcome"] == "already_queued"
    assert len(queued(redis_client)) == 1

    # The real actors make it a commission.
    with running_workers(redis_url):
        pass
    [commission] = merchant.commissions()
    assert (commission.kind, commission.amount, commission.checkout_session_id) == (
        "SALE",
        500,
        "cs_missed",
    )

    # Days later the idempotency key has expired; applied_events still knows the event.
    redis_client.delete(key)
    later = run(cli, merchant, standin)
    assert (later["seen"], later["queued"]) == (1, 0)
    assert later["events"][0]["outcome"] == "already_applied"
    assert queued(redis_client) == []
    assert len(merchant.commissions()) == 1


def test_events_the_ingress_or_the_workers_saw_are_not_queued(
    cli: RecordingCli,
    engine: Engine,
    merchant: Merchant,
    standin: StandIn,
    redis_client: redis.Redis,
    redis_url: str,
    secret_box: SecretBox,
) -> None:
    delivered, applied, elsewhere, missed = (sale(merchant, f"cs_{n}") for n in range(4))
    standin.events = [delivered, applied, elsewhere, missed]

    # `delivered` came as a webhook through the ingress (and is still queued).
    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    with TestClient(app) as client:
        raw = json.dumps(delivered)
        headers = {"Stripe-Signature": sign(SECRET, raw.encode(), int(time.time()))}
        path = f"/api/webhooks/{merchant.endpoint_id}"
        assert client.post(path, content=raw, headers=headers).json()["status"] == "queued"
    # `applied` was applied by the workers more than 4 days ago: no idempotency key is left.
    assert process(
        Delivery.from_kwargs(ev.delivery(json.dumps(applied), workspace_id=merchant.workspace_id))
    ).outcome
    # `elsewhere` went to another endpoint of the workspace, since disabled.
    with unit_of_work(make_session_factory(engine)) as session:
        old = endpoints.create(session, workspace_id=merchant.workspace_id)
        endpoints.set_enabled(session, old.id, False)
    redis_client.set(idempotency_key(old.id, elsewhere["id"]), "x")
    queued_before = queued(redis_client)
    assert len(queued_before) == 1

    result = run(cli, merchant, standin)
    outcomes = {e["id"]: e["outcome"] for e in result["events"]}
    assert outcomes == {
        delivered["id"]: "already_queued",
        applied["id"]: "already_applied",
        elsewhere["id"]: "already_queued",
        missed["id"]: "queued",
    }
    assert (result["listed"], result["seen"], result["queued"]) == (4, 3, 1)
    after = queued(redis_client)
    assert after[:1] == queued_before
    assert [m["kwargs"]["event_id"] for m in after[1:]] == [missed["id"]]
    # Seen events were skipped before the script: no `duplicate` rows in the event log.
    assert redis_client.xlen(EVENT_LOG_STREAM) == 0


def test_every_page_is_listed_and_a_second_run_queues_nothing(
    cli: RecordingCli, merchant: Merchant, standin: StandIn, redis_client: redis.Redis
) -> None:

    def event(n: int) -> dict[str, Any]:
        """One of the handled types, in turn, a second apart (the charge events' too)."""
        at = ago(hours=1, seconds=n)
        if n % 9 == 6:
            body = ev.charge_refund_updated(charge_id=f"ch_{n}", created=at).text
            return dict(json.loads(body))
        if n % 9 in (7, 8):
            build = ev.charge_dispute_created if n % 9 == 7 else ev.charge_dispute_closed
            return dict(json.loads(build(charge_id=f"ch_{n}", created=at).text))
        kind = n % 9  # 0..5 as before the charge events; 6, 7, 8 above
        if kind == 0:
            return sale(merchant, f"cs_{n}", created=at)
        if kind in (4, 5):  # a delayed payment's success or failure
            body = ev.checkout_session_async_payment(
                succeeded=kind == 4, session_id=f"cs_{n}", created=at
            ).text
        elif kind == 1:  # created an hour after the period starts
            body = ev.invoice_paid(
                invoice_id=f"in_{n}",
                subscription=f"sub_{n}",
                service_start=at - 3600,
                api_version=ev.PRE_BASIL,
            ).text
        elif kind == 2:
            body = ev.charge_refunded(
                charge_id=f"ch_{n}", payment_intent=None, amount=9, amount_refunded=9, created=at
            ).text
        else:
            body = ev.customer_subscription_deleted(
                subscription=f"sub_{n}", ended_at=at, created=at
            ).text
        parsed: dict[str, Any] = json.loads(body)
        return parsed

    standin.events = [event(n) for n in range(250)]

    result = run(cli, merchant, standin)
    assert (result["listed"], result["seen"], result["queued"]) == (250, 0, 250)
    assert {e["id"] for e in result["events"]} == {e["id"] for e in standin.events}
    messages = queued(redis_client)
    assert sorted(m["kwargs"]["event_id"] for m in messages) == sorted(
        e["id"] for e in standin.events
    )
    assert {m["queue_name"] for m in messages} == {r.queue_name for r in ROUTES.values()}

    # Three pages of 100, 100 and 50, each after the last event of the page before.
    listed = [e["id"] for e in result["events"]]
    afters = [query.get("starting_after") for _auth, query in standin.requests]
    assert afters == [None, [listed[99]], [listed[199]]]
    assert all(query["limit"] == ["100"] for _auth, query in standin.requests)

    again = run(cli, merchant, standin)
    assert (again["listed"], again["seen"], again["queued"]) == (250, 250, 0)
    assert len(queued(redis_client)) == 250


def test_the_key_goes_to_stripe_as_a_bearer_token_and_is_never_printed(
    cli: RecordingCli, engine: Engine, secret_box: SecretBox, standin: StandIn
) -> None:
    m = new_merchant(engine, secret_box, key=None)
    # Stored as an operator does; the recording CLI then checks no call prints it.
    cli.ok("workspace", "set-stripe-key", m.workspace_id, stdin=KEY)
    standin.events = [sale(m, "cs_k")]
    results = [
        cli("reconcile", "--workspace", m.workspace_id, "--since", "2h", *extra,
            STRIPE_API_BASE=standin.base, LOG_LEVEL="DEBUG")
        for extra in ((), ("--json",))
    ]  # fmt: skip
    assert [r.code for r in results] == [0, 0]
    assert "1 event(s) listed" in results[0].stdout
    assert {auth for auth, _query in standin.requests} == {f"Bearer {KEY}"}

    standin.status = 401
    message = cli.fails("reconcile", "--workspace", m.workspace_id, "--since", "2h", "--json",
                        STRIPE_API_BASE=standin.base)  # fmt: skip
    assert message == (
        f"Stripe rejected the API key of {m.workspace_id} (...{KEY[-4:]}, HTTP 401); "
        f"store a valid one with `traaaction workspace set-stripe-key {m.workspace_id}`"
    )
    standin.status = 403
    message = cli.fails("reconcile", "--workspace", m.workspace_id, "--since", "2h",
                        STRIPE_API_BASE=standin.base)  # fmt: skip
    assert "may not list events (HTTP 403)" in message
    for call in cli.calls:
        assert KEY not in call.output
        assert KEY.removeprefix("rk_test_") not in call.output


def test_without_a_key_it_says_how_to_store_one(
    cli: RecordingCli, engine: Engine, secret_box: SecretBox, standin: StandIn
) -> None:
    m = new_merchant(engine, secret_box, key=None)
    message = cli.fails("reconcile", "--workspace", m.workspace_id, "--since", "3d", "--json",
                        STRIPE_API_BASE=standin.base)  # fmt: skip
    assert message == (
        f"workspace {m.workspace_id} has no Stripe API key; store a restricted key with read "
        f"access to events with `traaaction workspace set-stripe-key {m.workspace_id}`"
    )
    assert standin.requests == []
    message = cli.fails("reconcile", "--workspace", "ws_nope", "--since", "3d")
    assert message == "workspace 'ws_nope' not found"


@pytest.mark.parametrize(
    ("since", "expected"),
    [
        pytest.param("31d", "--since: 31d reaches past the 30 days Stripe keeps events", id="31d"),
        pytest.param("721h", "--since: 721h reaches past the 30 days", id="hours"),
        pytest.param(
            "2020-01-01T00:00:00Z",
            "--since: 2020-01-01T00:00:00Z is more than 30 days",
            id="old-instant",
        ),
        pytest.param(
            "2999-01-01T00:00:00Z", "--since: 2999-01-01T00:00:00Z is in the future", id="future"
        ),
        pytest.param(
            "2026-01-01T00:00:00", "--since: '2026-01-01T00:00:00' has no time zone", id="no-zone"
        ),
        pytest.param("yesterday", "--since: 'yesterday' is neither a duration", id="garbage"),
        pytest.param("0d", "--since: '0d' is no time at all", id="zero"),
    ],
)
def test_since_is_refused_beyond_stripes_thirty_days_or_when_malformed(
    cli: RecordingCli, since: str, expected: str
) -> None:
    message = cli.fails("reconcile", "--workspace", "ws_any", "--since", since, "--json")
    assert message.startswith(expected), message


def test_since_takes_thirty_days_or_an_instant(
    cli: RecordingCli, merchant: Merchant, standin: StandIn, redis_client: redis.Redis
) -> None:
    run(cli, merchant, standin, since="30d")
    at = datetime.now(UTC) - timedelta(days=2)
    result = run(cli, merchant, standin, since=at.isoformat())
    assert result["since"] == at.isoformat()
    queries = [query for _auth, query in standin.requests]
    assert abs(int(queries[0]["created[gte]"][0]) - ago(days=30)) < 60
    assert queries[1]["created[gte]"] == [str(int(at.timestamp()))]
    assert reconciliation.RETENTION.days == command.RETENTION_DAYS


def test_stripe_failing_is_retried_then_reported_and_a_rerun_finishes_the_job(
    cli: RecordingCli, merchant: Merchant, standin: StandIn, redis_client: redis.Redis
) -> None:
    standin.events = [
        sale(merchant, f"cs_{n}", created=ago(hours=1, seconds=n)) for n in range(150)
    ]
    # A 503 and a 429 before the first page: retried.
    standin.failures = [503, 429]
    first = run(cli, merchant, standin, "--endpoint", merchant.endpoint_id)
    assert (first["listed"], first["queued"]) == (150, 150)
    assert len(standin.requests) == 4

    # The second page never answers: the first is queued, and the message says so.
    redis_client.flushdb()
    standin.requests.clear()
    standin.failures = [200, 503, 502, 500, 503]
    message = cli.fails("reconcile", "--workspace", merchant.workspace_id, "--since", "3d",
                        STRIPE_API_BASE=standin.base)  # fmt: skip
    assert message == (
        "Stripe's API did not answer (HTTP 503) after 4 attempts; 100 event(s) were queued "
        "before that; run the command again: nothing is queued twice"
    )
    assert len(standin.requests) == 5
    assert len(queued(redis_client)) == 100
    rerun = run(cli, merchant, standin)
    assert (rerun["listed"], rerun["seen"], rerun["queued"]) == (150, 100, 50)
    assert len(queued(redis_client)) == 150

    # Stripe refusing the request (4xx other than 401/403/429) is not retried.
    standin.requests.clear()
    standin.status = 400
    message = cli.fails("reconcile", "--workspace", merchant.workspace_id, "--since", "3d",
                        STRIPE_API_BASE=standin.base)  # fmt: skip
    assert message == "Stripe's API refused to list events (HTTP 400): stand-in"
    assert len(standin.requests) == 1


def test_the_endpoint_is_named_when_the_workspace_has_several(
    cli: RecordingCli,
    engine: Engine,
    merchant: Merchant,
    standin: StandIn,
    redis_client: redis.Redis,
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        second = endpoints.create(session, workspace_id=merchant.workspace_id).id
    standin.events = [sale(merchant, "cs_two")]
    args = ("reconcile", "--workspace", merchant.workspace_id, "--since", "3d")
    message = cli.fails(*args, "--json", STRIPE_API_BASE=standin.base)
    assert message == (
        f"workspace {merchant.workspace_id} has 2 enabled endpoints "
        f"({merchant.endpoint_id}, {second}); name the one Stripe sends these events to "
        "with --endpoint"
    )
    assert standin.requests == []

    result = run(cli, merchant, standin, "--endpoint", second)
    assert result["endpoint_id"] == second
    [message_] = queued(redis_client)
    assert message_["kwargs"]["endpoint_id"] == second
    assert redis_client.exists(idempotency_key(second, standin.events[0]["id"])) == 1
    # Seen under the other endpoint counts too: nothing queued through the first.
    assert run(cli, merchant, standin, "--endpoint", merchant.endpoint_id)["queued"] == 0

    with unit_of_work(make_session_factory(engine)) as session:
        endpoints.set_enabled(session, second, False)
    message = cli.fails(*args, "--endpoint", second, STRIPE_API_BASE=standin.base)
    assert message.startswith(f"endpoint {second} is disabled")
    message = cli.fails(*args, "--endpoint", "ep_nope", STRIPE_API_BASE=standin.base)
    assert message == f"endpoint 'ep_nope' not found in workspace {merchant.workspace_id}"


def test_an_event_the_ingress_would_refuse_is_reported_not_queued(
    cli: RecordingCli, merchant: Merchant, standin: StandIn, redis_client: redis.Redis
) -> None:
    broken = sale(merchant, "cs_broken")
    del broken["livemode"]
    good = sale(merchant, "cs_good")
    standin.events = [broken, good]
    result = run(cli, merchant, standin)
    assert (result["listed"], result["queued"], result["invalid"]) == (2, 1, 1)
    by_id = {e["id"]: e for e in result["events"]}
    assert by_id[broken["id"]]["outcome"] == "invalid"
    assert by_id[broken["id"]]["reason"] == "missing_or_invalid_livemode"
    assert [m["kwargs"]["event_id"] for m in queued(redis_client)] == [good["id"]]
    human = cli.ok("reconcile", "--workspace", merchant.workspace_id, "--since", "3d",
                   STRIPE_API_BASE=standin.base).stdout  # fmt: skip
    lines = human.splitlines()
    assert lines[0].startswith("2 event(s) listed since ")
    assert "1 already seen, 0 queued, 1 invalid (not queued)" in lines[0]
    assert lines[1:] == [
        f"invalid (missing_or_invalid_livemode)  checkout.session.completed  {broken['id']}"
    ]
