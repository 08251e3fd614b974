"""Two workspaces, A and B, on one deployment: nothing of one acts on, or shows in, the other.

Stripe ids are not secrets (a customer can read their own subscription id; a merchant sees its
customers' payment intents), so a workspace must never be able to reach another's commissions
by naming its Stripe objects: clicks, customers, subscriptions, payment intents, event ids,
signing secrets and sealed ciphertexts all stay within the workspace they belong to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from domain.months import add_months
from domain.programs import PercentReward, ProgramTerms
from ingress.app import IngressOptions, create_app
from ingress.signature import sign
from storage.crypto import DecryptionError, SecretBox
from storage.db import make_session_factory, unit_of_work
from storage.models import Commission, EndpointSecret, ParkedEvent, WebhookEventLog
from storage.repositories import api_keys, endpoints
from tests.conftest import Cli, base_env
from tests.ingress.conftest import queued_messages
from tests.security.known import RESTRICTED_KEY, SIGNING_SECRET_A, SIGNING_SECRET_B
from tests.workers.conftest import Shop, make_shop, ticking
from traaaction import stripe_payloads as ev
from workers import context
from workers.pipeline import Outcome

T0 = 1_768_471_205


@dataclass
class Tenant:
    shop: Shop
    endpoint_id: str
    secret: str

    @property
    def workspace_id(self) -> str:
        return self.shop.workspace_id

    def deliver(self, body: str) -> Outcome:
        return self.shop.deliver(body)

    def commissions(self) -> list[tuple[str, int | None, str, int]]:
        return [(c.kind, c.month, c.status, c.amount) for c in self.shop.commissions()]

    def log(self) -> list[tuple[str, str | None]]:
        return [(r.outcome, r.reason) for r in self.shop.log()]


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    """The module's database (each test has workspaces of its own), the workers set up on it."""
    factory = make_session_factory(module_engine)
    context.configure(context.WorkerContext(factory=factory, clock=ticking()))
    return module_engine


def _tenant(engine: Engine, box: SecretBox, name: str, secret: str) -> Tenant:
    shop = make_shop(engine, ProgramTerms(PercentReward(1000), recurring_months=12), name)
    with unit_of_work(make_session_factory(engine)) as session:
        endpoint = endpoints.create(session, workspace_id=shop.workspace_id)
        endpoints.add_secret(session, box, endpoint_id=endpoint.id, secret=secret)
        return Tenant(shop, endpoint.id, secret)


@pytest.fixture
def a(engine: Engine, secret_box: SecretBox) -> Tenant:
    return _tenant(engine, secret_box, "A", SIGNING_SECRET_A)


@pytest.fixture
def b(engine: Engine, secret_box: SecretBox) -> Tenant:
    return _tenant(engine, secret_box, "B", SIGNING_SECRET_B)


def subscription_sale(tenant: Tenant, subscription: str, session: str) -> None:
    """A subscription sold through the tenant's click: RECURRING month 1, PENDING."""
    body = ev.checkout_session_completed(
        session_id=session, click_id=tenant.shop.click_id, mode="subscription",
        subscription=subscription, created=T0, invoice=None,
    ).patched(payment_intent=f"pi_{session}").text  # fmt: skip
    assert tenant.deliver(body).outcome == "processed"


def month_two(subscription: str, invoice: str) -> str:
    return ev.invoice_paid(
        invoice_id=invoice, subscription=subscription, payment_intent=f"pi_{invoice}",
        service_start=add_months(T0, 1),
        api_version=ev.PRE_BASIL,
    ).text  # fmt: skip


# --- clicks ------------------------------------------------------------------------------------


def test_a_click_of_another_workspace_is_an_unknown_click(a: Tenant, b: Tenant) -> None:
    for n, click in enumerate([b.shop.click_id, f" {b.shop.click_id} "]):
        outcome = a.deliver(
            ev.checkout_session_completed(session_id=f"cs_cross_{n}", click_id=click).text
        )
        assert (outcome.outcome, outcome.reason) == ("skipped", "unknown_click_id")
    assert a.commissions() == []
    assert b.commissions() == []
    assert b.log() == []


# --- signing secrets ---------------------------------------------------------------------------


@pytest.fixture
def client(engine: Engine, redis_url: str, secret_box: SecretBox, redis_client: redis.Redis
) -> Iterator[TestClient]:  # fmt: skip
    app = create_app(
        engine=engine,
        redis_url=redis_url,
        secret_box=secret_box,
        options=IngressOptions(enqueue_timeout=1.0),
    )
    with TestClient(app) as test_client:
        yield test_client


def _post(client: TestClient, endpoint_id: str, body: str, secret: str) -> tuple[int, Any]:
    headers = {"Stripe-Signature": sign(secret, body.encode(), int(time.time()))}
    response = client.post(f"/api/webhooks/{endpoint_id}", content=body, headers=headers)
    return response.status_code, response.json()


def test_a_signing_secret_of_one_workspace_verifies_nothing_for_another(
    client: TestClient, a: Tenant, b: Tenant, redis_client: redis.Redis
) -> None:
    body = ev.checkout_session_completed(session_id="cs_sig", click_id=a.shop.click_id).text
    assert _post(client, b.endpoint_id, body, a.secret) == (400, {"error": "no_matching_signature"})
    # Both secrets in one header: only B's own counts at B's endpoint, and it is not there.
    both = sign(a.secret, body.encode(), int(time.time())) + ",v1=" + "0" * 64
    response = client.post(
        f"/api/webhooks/{b.endpoint_id}", content=body, headers={"Stripe-Signature": both}
    )
    assert response.status_code == 400
    assert queued_messages(redis_client) == []
    assert _post(client, a.endpoint_id, body, a.secret)[0] == 200  # (where it does verify)
    [message] = queued_messages(redis_client)
    assert message["kwargs"]["workspace_id"] == a.workspace_id


def test_an_event_id_seen_in_one_workspace_is_new_in_another(
    client: TestClient, a: Tenant, b: Tenant, redis_client: redis.Redis
) -> None:
    """Event ids are not secrets either: B sending A's (future) event id first must neither
    make A's delivery a duplicate at the ingress nor an `already_applied` in the workers."""
    b_body = ev.checkout_session_completed(session_id="cs_b_first", click_id=b.shop.click_id).body
    a_body = ev.checkout_session_completed(session_id="cs_a_later", click_id=a.shop.click_id).body
    b_body["id"] = a_body["id"] = "evt_1SharedAcrossWorkspaces"
    assert _post(client, b.endpoint_id, json.dumps(b_body), b.secret)[1]["status"] == "queued"
    assert _post(client, a.endpoint_id, json.dumps(a_body), a.secret)[1]["status"] == "queued"
    assert b.deliver(json.dumps(b_body)).outcome == "processed"
    assert a.deliver(json.dumps(a_body)).outcome == "processed"
    assert [c[:3] for c in a.commissions()] == [("SALE", None, "PENDING")]
    assert [c[:3] for c in b.commissions()] == [("SALE", None, "PENDING")]


# --- payment intents, customers, subscriptions -------------------------------------------------


def test_a_refund_in_one_workspace_never_touches_another_s_commission(a: Tenant, b: Tenant) -> None:
    sale = ev.checkout_session_completed(
        session_id="cs_a_sale", click_id=a.shop.click_id, payment_intent="pi_a_sale"
    ).text
    assert a.deliver(sale).outcome == "processed"
    before = a.commissions()
    refund = ev.charge_refunded(
        charge_id="ch_a_sale", payment_intent="pi_a_sale", amount=10_000, amount_refunded=10_000
    ).text
    outcome = b.deliver(refund)
    assert (outcome.outcome, outcome.reason) == ("skipped", "unlinked_charge")
    assert a.commissions() == before == [("SALE", None, "PENDING", 1_000)]
    assert a.log() == [("processed", None)]
    # The same refund in A, where the payment intent is A's, cancels it (the control).
    assert a.deliver(refund).outcome == "processed"
    assert a.commissions() == [("SALE", None, "CANCELED", 1_000)]


def test_an_invoice_in_one_workspace_is_not_attributed_from_another(a: Tenant, b: Tenant) -> None:
    subscription_sale(a, "sub_a", "cs_a_sub")
    # B is sent A's subscription's month 2, customer and payment intent included.
    outcome = b.deliver(month_two("sub_a", "in_a_2"))
    assert (outcome.outcome, outcome.reason) == ("skipped", "unattributed")
    assert a.commissions() == [("RECURRING", 1, "PENDING", 1_000)]
    assert b.commissions() == []
    # A's own month 2 (the control).
    assert a.deliver(month_two("sub_a", "in_a_2")).outcome == "processed"
    assert [c[:3] for c in a.commissions()] == [
        ("RECURRING", 1, "PENDING"),
        ("RECURRING", 2, "PENDING"),
    ]


def test_a_subscription_deleted_in_one_workspace_is_not_canceled_in_another(
    a: Tenant, b: Tenant
) -> None:
    subscription_sale(a, "sub_a", "cs_a_sub")
    b.deliver(ev.customer_subscription_deleted(subscription="sub_a", ended_at=T0 + 86_400).text)
    assert a.commissions() == [("RECURRING", 1, "PENDING", 1_000)]
    # B's record of the end is B's: A's month 2 still earns.
    assert a.deliver(month_two("sub_a", "in_a_2")).outcome == "processed"
    assert len(a.commissions()) == 2
    # An end recorded in B before A's checkout does not make A's sale look canceled either.
    b.deliver(ev.customer_subscription_deleted(subscription="sub_a_new", ended_at=T0 - 1).text)
    subscription_sale(a, "sub_a_new", "cs_a_new")
    assert len(a.commissions()) == 3


def test_events_parked_in_one_workspace_are_never_released_by_another(
    engine: Engine, a: Tenant, b: Tenant
) -> None:
    """An invoice that arrives before its checkout is parked; the checkout releases it. A
    checkout in A must not release, into A, an invoice parked in B for the same subscription."""
    outcome = b.deliver(month_two("sub_x", "in_x_2"))
    assert (outcome.outcome, outcome.reason) == ("skipped", "unattributed")
    subscription_sale(a, "sub_x", "cs_a_x")
    assert [c[:2] for c in a.commissions()] == [("RECURRING", 1)]
    with Session(engine) as session:
        parked = session.scalars(
            select(ParkedEvent.workspace_id).where(
                ParkedEvent.workspace_id.in_([a.workspace_id, b.workspace_id])
            )
        ).all()
    assert parked == [b.workspace_id]
    # B's own checkout releases it, in B (the control).
    subscription_sale(b, "sub_x", "cs_b_x")
    assert sorted(c[:2] for c in b.commissions()) == [("RECURRING", 1), ("RECURRING", 2)]
    assert [c[:2] for c in a.commissions()] == [("RECURRING", 1)]


# --- sealed secrets ----------------------------------------------------------------------------


def _copy_sealed(engine: Engine, table: str, key: str, source: str, target: str) -> None:
    """Copy the ciphertext (key id, nonce, ciphertext) of one row into another, as someone
    with write access to the database might, to have the other workspace use a secret."""
    with Session(engine) as session, session.begin():
        session.execute(
            text(
                f"UPDATE {table} AS t SET key_id = s.key_id, nonce = s.nonce, "  # noqa: S608
                f"ciphertext = s.ciphertext FROM {table} AS s "
                f"WHERE s.{key} = :source AND t.{key} = :target"
            ),
            {"source": source, "target": target},
        )


def test_a_sealed_secret_copied_into_another_row_does_not_decrypt(
    engine: Engine, secret_box: SecretBox, a: Tenant, b: Tenant, client: TestClient
) -> None:
    with unit_of_work(make_session_factory(engine)) as session:
        second = endpoints.create(session, workspace_id=a.workspace_id).id
        endpoints.add_secret(session, secret_box, endpoint_id=second, secret=SIGNING_SECRET_B)
        for workspace_id in (a.workspace_id, b.workspace_id):
            api_keys.set_key(session, secret_box, workspace_id=workspace_id, key=RESTRICTED_KEY)
    # Into another workspace's endpoint, and into another endpoint of the same workspace.
    for target in (b.endpoint_id, second):
        _copy_sealed(engine, "endpoint_secrets", "endpoint_id", a.endpoint_id, target)
        with Session(engine) as session:
            [row] = session.scalars(
                select(EndpointSecret).where(EndpointSecret.endpoint_id == target)
            ).all()
            with pytest.raises(DecryptionError, match="does not decrypt for this row"):
                endpoints.open_secret(row, secret_box)
    _copy_sealed(engine, "workspace_api_keys", "workspace_id", a.workspace_id, b.workspace_id)
    with Session(engine) as session:
        assert api_keys.get_key(session, secret_box, a.workspace_id) == RESTRICTED_KEY
        with pytest.raises(DecryptionError):
            api_keys.get_key(session, secret_box, b.workspace_id)
    # At the ingress, B's endpoint now has no secret it can read: A's signature gets nowhere.
    body = ev.checkout_session_completed(session_id="cs_copied", click_id=b.shop.click_id).text
    assert _post(client, b.endpoint_id, body, a.secret) == (400, {"error": "no_active_secret"})
    assert _post(client, a.endpoint_id, body, a.secret)[0] == 200


# --- the operator CLI --------------------------------------------------------------------------


def test_cli_listings_for_one_workspace_show_none_of_the_other_s_rows(
    engine: Engine,
    a: Tenant,
    b: Tenant,
    module_database_url: str,
    redis_url: str,
    master_key_value: str,
    tmp_path: Path,
) -> None:
    env = {
        **base_env(),
        "DATABASE_URL": module_database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "LOG_FORMAT": "json",
        "TRAAACTION_DATA_DIR": str(tmp_path / "data"),
    }
    cli = Cli(env, tmp_path)
    subscription_sale(a, "sub_a", "cs_a_sub")
    subscription_sale(b, "sub_b", "cs_b_sub")
    b.deliver(month_two("sub_a", "in_a_2"))  # skipped in B
    with Session(engine) as session:
        owner = {
            row.id: row.workspace_id
            for row in session.execute(select(Commission.id, Commission.workspace_id))
        }
        logged = {
            r.stripe_event_id: r.workspace_id for r in session.scalars(select(WebhookEventLog))
        }
    # Both workspaces have rows of each kind (and other tests' workspaces too); each listing
    # shows its own only.
    assert {a.workspace_id, b.workspace_id} <= set(owner.values()) & set(logged.values())
    listed = cli.ok("commissions", "list", "--workspace", a.workspace_id, "--json").json()
    assert listed
    assert {owner[row["id"]] for row in listed} == {a.workspace_id}
    events = cli.ok("events", "list", "--workspace", b.workspace_id, "--json").json()
    assert events
    assert {logged[e["stripe_event_id"]] for e in events} == {b.workspace_id}
    shown = cli.ok("endpoint", "list", "--workspace", a.workspace_id, "--json").json()
    assert [e["id"] for e in shown] == [a.endpoint_id]
