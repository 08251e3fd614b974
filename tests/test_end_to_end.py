"""Signed webhooks through the ingress, a real Dramatiq worker and the log writer, into the
ledger and the event log, read back with the CLI."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from domain.programs import PercentReward, ProgramTerms
from ingress.app import create_app
from ingress.signature import sign
from storage.crypto import SecretBox
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Commission, WebhookEventLog
from storage.repositories import clicks, endpoints, partners, programs, workspaces
from tests.conftest import Cli
from traaaction import stripe_payloads as ev
from workers import context
from workers.actors._declare import declare
from workers.broker import make_broker
from workers.contract import HANDLED_TYPES
from workers.log_writer import LogWriter

SECRET = "whsec_e2e_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def worker(redis_url: str, redis_client: redis.Redis, engine: Engine) -> Iterator[RedisBroker]:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    for event_type in ev_types():
        declare(event_type)
    running = dramatiq.Worker(broker, worker_timeout=50, worker_threads=2)
    running.start()
    try:
        yield broker
    finally:
        running.stop()
        broker.close()


def ev_types() -> list[str]:
    return list(HANDLED_TYPES)


def wait_for(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_a_signed_checkout_becomes_a_commission_and_every_delivery_a_log_row(
    engine: Engine,
    worker: RedisBroker,
    redis_url: str,
    redis_client: redis.Redis,
    secret_box: SecretBox,
    cli: Cli,
) -> None:
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ws = workspaces.create(session, name="Shop")
        program = programs.create(
            session, workspace_id=ws.id, name="P", terms=ProgramTerms(PercentReward(2000))
        )
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="J")
        click = clicks.create(session, partner_id=partner.id)
        ep = endpoints.create(session, workspace_id=ws.id)
        endpoints.add_secret(session, secret_box, endpoint_id=ep.id, secret=SECRET)
        workspace_id, endpoint_id, click_id = ws.id, ep.id, click.id

    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    path = f"/api/webhooks/{endpoint_id}"
    sale = ev.checkout_session_completed(
        session_id="cs_e2e", click_id=click_id, amount=5_000, payment_intent="pi_e2e"
    ).text
    ignored = ev.event(
        "payment_intent.created",
        {"id": "pi_e2e", "object": "payment_intent"},
        created=int(time.time()),
        livemode=False,
        api_version=ev.BASIL,
    ).text
    with TestClient(app) as client:

        def post(body: str, secret: str = SECRET) -> int:
            headers = {"Stripe-Signature": sign(secret, body.encode(), int(time.time()))}
            return client.post(path, content=body, headers=headers).status_code

        sent = time.monotonic()
        assert post(sale) == 200

        def committed() -> bool:
            with Session(engine) as session:
                return session.scalars(select(Commission)).first() is not None

        wait_for(committed)
        latency = time.monotonic() - sent
        assert post(sale) == 200  # Stripe's retry: a duplicate
        assert post(ignored) == 200
        assert post(sale, "whsec_wrong") == 400
        assert client.portal is not None
        client.portal.call(app.state.rejections.flush)

    assert latency < 2.0, f"commission after {latency:.2f} s"
    LogWriter(redis_client, factory).drain()

    commissions = cli.ok("commissions", "list", "--workspace", workspace_id, "--json").json()
    assert [(c["kind"], c["status"], c["amount"], c["partner_id"]) for c in commissions] == [
        ("SALE", "PENDING", 1_000, partner.id)
    ]
    log = cli.ok("events", "list", "--workspace", workspace_id, "--json").json()
    outcomes = sorted((row["outcome"], row["reason"] or "") for row in log)
    assert outcomes == [
        ("duplicate", ""),
        ("ignored", ""),
        ("processed", ""),
        ("rejected", "no_matching_signature"),
    ]
    processed = next(row for row in log if row["outcome"] == "processed")
    assert processed["commission_ids"] == [commissions[0]["id"]]
    assert processed["attempt"] == 1


def deliver_one_by_one(
    app: Any, engine: Engine, endpoint_id: str, flows: list[ev.BuiltEvent]
) -> None:
    """Each event signed and posted to the ingress, the next once the worker logged it."""
    with TestClient(app) as client:
        for built in flows:
            body = built.encode()
            headers = {"Stripe-Signature": sign(SECRET, body, int(time.time()))}
            answer = client.post(f"/api/webhooks/{endpoint_id}", content=body, headers=headers)
            assert answer.status_code == 200, answer.text

            def settled(event_id: str = built.id) -> bool:
                with Session(engine) as session:
                    found = session.scalars(
                        select(WebhookEventLog.id).where(
                            WebhookEventLog.stripe_event_id == event_id
                        )
                    ).first()
                return found is not None

            # One after the other, as a merchant's Stripe would send them over days.
            wait_for(settled)


def test_every_flow_of_stripe_goes_through_the_running_service(
    engine: Engine,
    worker: RedisBroker,
    redis_url: str,
    redis_client: redis.Redis,
    secret_box: SecretBox,
    cli: Cli,
) -> None:
    """A Payment Link sale, a delayed payment, a refund that fails, a dispute lost and one won:
    signed, through the ingress and the workers, read back with the CLI."""
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ws = workspaces.create(session, name="Shop")
        program = programs.create(
            session, workspace_id=ws.id, name="P", terms=ProgramTerms(PercentReward(3000))
        )
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="J")
        click = clicks.create(session, partner_id=partner.id)
        ep = endpoints.create(session, workspace_id=ws.id)
        endpoints.add_secret(session, secret_box, endpoint_id=ep.id, secret=SECRET)
        workspace_id, endpoint_id, click_id = ws.id, ep.id, click.id

    def sale(name: str, **fields: Any) -> ev.BuiltEvent:
        return ev.checkout_session_completed(
            session_id=f"cs_e2e_{name}", payment_intent=f"pi_{name}", amount=10_000, **fields
        )

    link = sale("link", client_reference_id=f"trac_{click_id}")
    unpaid = {"click_id": click_id, "payment_status": "unpaid"}
    delayed = sale("delayed", **unpaid)
    succeeded = ev.checkout_session_async_payment(
        succeeded=True, session_id="cs_e2e_delayed", payment_intent="pi_delayed",
        amount=10_000, click_id=click_id, customer=delayed.ids["customer"],
    )  # fmt: skip
    flows = [
        link,
        delayed,
        succeeded,
        sale("refund", click_id=click_id),
        ev.charge_refunded(
            amount=10_000, amount_refunded=5_000, charge_id="ch_refund", payment_intent="pi_refund"
        ),
        ev.charge_refund_updated(
            status="failed", amount=5_000, charge_id="ch_refund", payment_intent="pi_refund"
        ),
        sale("lost", click_id=click_id),
        ev.charge_dispute_created(payment_intent="pi_lost", dispute_id="dp_lost"),
        ev.charge_dispute_closed(status="lost", payment_intent="pi_lost", dispute_id="dp_lost"),
        sale("won", click_id=click_id),
        ev.charge_dispute_created(payment_intent="pi_won", dispute_id="dp_won"),
        ev.charge_dispute_closed(status="won", payment_intent="pi_won", dispute_id="dp_won"),
    ]
    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    deliver_one_by_one(app, engine, endpoint_id, flows)

    log = cli.ok("events", "list", "--workspace", workspace_id, "--json").json()
    verdicts = {r["stripe_event_id"]: (r["outcome"], r["reason"]) for r in log}
    assert [verdicts[b.id] for b in flows] == [
        ("processed", None),
        ("skipped", "awaiting_payment"),
        *[("processed", None)] * 10,
    ]
    commissions = cli.ok("commissions", "list", "--workspace", workspace_id, "--json").json()
    with Session(engine) as session:
        sources = dict(session.execute(select(Commission.id, Commission.attribution_source)).all())
    by_session = {c["checkout_session_id"]: c for c in commissions}
    view = {
        name: (c["status"], c["reason"], c["amount"], sources[c["id"]])
        for name in ("link", "delayed", "refund", "lost", "won")
        for c in [by_session[f"cs_e2e_{name}"]]
    }
    assert view == {
        "link": ("PENDING", None, 3_000, "client_reference_id"),
        "delayed": ("PENDING", None, 3_000, "click_metadata"),
        # refunded half, then the refund failed: all of it back
        "refund": ("PENDING", None, 3_000, "click_metadata"),
        "lost": ("CANCELED", "dispute_lost", 3_000, "click_metadata"),
        # held while the dispute was open, then back to PENDING inside the holding period
        "won": ("PENDING", None, 3_000, "click_metadata"),
    }
    assert len(commissions) == 5


def test_every_attribution_source_goes_through_the_running_service(
    engine: Engine,
    worker: RedisBroker,
    redis_url: str,
    redis_client: redis.Redis,
    secret_box: SecretBox,
    cli: Cli,
) -> None:
    """A partner's promotion code (registered with the CLI), the same customer's repeat
    purchase, and a subscription created through Stripe's API with the click in its
    metadata, its first invoice and a renewal: signed, through the ingress and the workers."""
    factory = make_session_factory(engine)
    with unit_of_work(factory) as session:
        ws = workspaces.create(session, name="Shop")
        program = programs.create(
            session, workspace_id=ws.id, name="P", terms=ProgramTerms(PercentReward(1000))
        )
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="J")
        click = clicks.create(session, partner_id=partner.id)
        ep = endpoints.create(session, workspace_id=ws.id)
        endpoints.add_secret(session, secret_box, endpoint_id=ep.id, secret=SECRET)
        workspace_id, endpoint_id, click_id, partner_id = ws.id, ep.id, click.id, partner.id
    cli.ok("partner", "add-promotion-code", partner_id, "promo_E2E")

    start = 1_767_225_600  # 2026-01-01
    flows = [
        ev.checkout_session_completed(
            session_id="cs_e2e_code", promotion_code="promo_E2E", customer="cus_e2e"
        ),
        ev.checkout_session_completed(session_id="cs_e2e_again", customer="cus_e2e", amount=5_000),
        ev.invoice_paid(
            invoice_id="in_e2e_1", subscription="sub_e2e_api", customer="cus_e2e_api",
            billing_reason="subscription_create", service_start=start,
            subscription_metadata={"tracClickId": click_id},
        ),
        ev.invoice_paid(
            invoice_id="in_e2e_2", subscription="sub_e2e_api", customer="cus_e2e_api",
            service_start=start + 31 * 86_400, subscription_metadata={"tracClickId": click_id},
        ),
    ]  # fmt: skip
    app = create_app(engine=engine, redis_url=redis_url, secret_box=secret_box)
    deliver_one_by_one(app, engine, endpoint_id, flows)

    log = cli.ok("events", "list", "--workspace", workspace_id, "--json").json()
    assert {r["outcome"] for r in log} == {"processed"}
    commissions = cli.ok("commissions", "list", "--workspace", workspace_id, "--json").json()
    with Session(engine) as session:
        sources = dict(session.execute(select(Commission.id, Commission.attribution_source)).all())
    view = sorted(
        (c["kind"], c["month"], c["amount"], c["partner_id"], sources[c["id"]]) for c in commissions
    )
    assert view == [
        ("RECURRING", 1, 1_000, partner_id, "subscription_metadata"),
        ("RECURRING", 2, 1_000, partner_id, "subscription_metadata"),
        ("SALE", None, 500, partner_id, "customer"),
        ("SALE", None, 1_000, partner_id, "promotion_code"),
    ]
