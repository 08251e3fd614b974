"""Stripe Connect: one endpoint for a platform's connected accounts. Each event's `account`
is kept on its log row, its attribution and its commissions (clawbacks included), and the
refund lookup asks Stripe on that account (the Stripe-Account header), against PostgreSQL."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import dramatiq
import orjson
import pytest
import redis
from dramatiq.broker import MessageProxy
from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.months import add_months
from ingress.enqueue import delivery_item
from ingress.envelope import parse_envelope
from storage.crypto import SecretBox
from storage.db import make_session_factory
from storage.models import Attribution, Commission, WebhookEventLog
from storage.repositories import api_keys
from storage.repositories.ledger.context import account_of
from tests.workers.conftest import Shop, entries, ticking
from tests.workers.stripe_standin import StandIn, stripe_standin
from traaaction import stripe_payloads as ev
from workers import context
from workers.log_writer import LogWriter, entry_to_dead_letter, entry_to_row
from workers.outcomes import failure_record

T0 = 1_768_471_205
KEY = "rk_test_51Habcdefghijklmnopqrstuv"
ACCOUNT = "acct_1Nv0FGQ9RKHgCVdK"
OTHER = "acct_1OtherAccount22"


def connected(built: ev.BuiltEvent, account: str | None) -> str:
    """The event as a connected account's: Stripe puts `account` at the envelope's top."""
    body: dict[str, Any] = copy.deepcopy(built.body)
    if account is not None:
        body["account"] = account
    return json.dumps(body, indent=2)


def attributions(shop: Shop) -> list[Attribution]:
    with Session(shop.engine) as session:
        return list(
            session.scalars(
                select(Attribution).where(Attribution.workspace_id == shop.workspace_id)
            )
        )


def test_a_connected_accounts_sale_keeps_its_account_on_every_row(shop: Shop) -> None:
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id, amount=10_000)
    outcome = shop.deliver(connected(sale, ACCOUNT))
    assert outcome.outcome == "processed"
    [commission] = shop.commissions()
    assert commission.stripe_account == ACCOUNT
    assert [a.stripe_account for a in attributions(shop)] == [ACCOUNT]
    [row] = shop.log()
    assert (row.outcome, row.stripe_account) == ("processed", ACCOUNT)


def test_a_platforms_own_sale_has_no_account(shop: Shop) -> None:
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id, amount=10_000)
    shop.deliver(sale.text)
    [commission] = shop.commissions()
    assert commission.stripe_account is None
    assert [a.stripe_account for a in attributions(shop)] == [None]
    assert [row.stripe_account for row in shop.log()] == [None]


def test_skips_and_duplicates_keep_the_account_on_their_log_rows(shop: Shop) -> None:
    unknown = ev.checkout_session_completed(session_id="cs_9", click_id="clk_not_ours")
    body = connected(unknown, OTHER)
    assert shop.deliver(body).reason == "unknown_click_id"
    assert shop.deliver(body).outcome == "duplicate"
    assert [(r.outcome, r.stripe_account) for r in shop.log()] == [
        ("skipped", OTHER),
        ("duplicate", OTHER),
    ]


def test_a_clawback_is_on_the_account_of_the_sale_it_reverses(shop: Shop) -> None:
    sale = ev.checkout_session_completed(
        session_id="cs_1", click_id=shop.click_id, amount=10_000, payment_intent="pi_1"
    )
    shop.deliver(connected(sale, ACCOUNT))
    with Session(shop.engine) as session, session.begin():
        for commission in session.scalars(select(Commission)):
            commission.status = "PAID"
    refund = ev.charge_refunded(
        charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=5_000
    )
    shop.deliver(connected(refund, ACCOUNT))
    assert [(c.kind, c.amount, c.stripe_account) for c in shop.commissions()] == [
        ("SALE", 1000, ACCOUNT),
        ("CLAWBACK", -500, ACCOUNT),
    ]


def test_an_event_parked_for_its_sale_keeps_its_own_account_when_released(shop: Shop) -> None:
    refund = ev.charge_refunded(
        charge_id="ch_1", payment_intent="pi_1", amount=10_000, amount_refunded=10_000
    )
    assert shop.deliver(connected(refund, ACCOUNT)).reason == "unlinked_charge"
    sale = ev.checkout_session_completed(
        session_id="cs_1", click_id=shop.click_id, amount=10_000, payment_intent="pi_1"
    )
    shop.deliver(connected(sale, ACCOUNT))
    assert entries(shop) == [("SALE", None, "CANCELED", 1000, "refunded")]
    released = [r for r in shop.log() if r.reason == "released_by_payment_intent"]
    assert [r.stripe_account for r in released] == [ACCOUNT]


# --- the Stripe API fallback, on the event's account ------------------------------------------


@pytest.fixture
def standin(shop: Shop, secret_box: SecretBox) -> Iterator[StandIn]:
    with stripe_standin() as state:
        context.configure(
            context.WorkerContext(
                factory=make_session_factory(shop.engine),
                clock=ticking(),
                secret_box=secret_box,
                stripe_api_base=state.base,
            )
        )
        yield state


def _basil_month_two(shop: Shop, account: str | None) -> None:
    checkout = ev.checkout_session_completed(
        session_id="cs_1",
        click_id=shop.click_id,
        mode="subscription",
        subscription="sub_1",
        created=T0,
        invoice=None,
    )
    shop.deliver(connected(checkout, account))
    # Basil's default payload: no payments, so no payment intent on the commission.
    invoice = ev.invoice_paid(
        invoice_id="in_2",
        subscription="sub_1",
        api_version=ev.BASIL,
        service_start=add_months(T0, 1),
        payment_intent=None,
    )
    shop.deliver(connected(invoice, account))


@pytest.mark.parametrize("account", [ACCOUNT, None])
def test_the_refund_lookup_is_asked_on_the_events_account(
    shop: Shop, standin: StandIn, secret_box: SecretBox, account: str | None
) -> None:
    _basil_month_two(shop, account)
    with Session(shop.engine) as session, session.begin():
        api_keys.set_key(session, secret_box, workspace_id=shop.workspace_id, key=KEY)
    standin.invoices["pi_2"] = "in_2"
    refund = ev.charge_refunded(
        charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=5_000
    )
    shop.deliver(connected(refund, account))
    assert standin.paths == ["/v1/invoice_payments"]
    # A connected account's payment is found only on that account: Stripe-Account names it;
    # the platform's own is asked without the header.
    assert standin.accounts == [account]
    assert entries(shop)[1] == ("RECURRING", 2, "PENDING", 500, None)
    assert shop.commissions()[1].stripe_account == account


# --- failed attempts and dead letters ---------------------------------------------------------


def _message(body: str, *, failed: bool) -> Any:
    """A message as the middleware sees it (a proxy), given up on or to be retried."""
    kwargs = ev.delivery(body, workspace_id="ws_c")
    message: dramatiq.Message[Any] = dramatiq.Message(
        queue_name="checkout_session_completed",
        actor_name="checkout_session_completed",
        args=(),
        kwargs=kwargs,
        options={"retries": 2},
    )
    proxy = MessageProxy(message)
    if failed:
        proxy.fail()
    return proxy


@pytest.mark.parametrize("failed", [False, True])
def test_a_failed_attempt_and_a_dead_letter_keep_the_account(
    failed: bool, redis_client: redis.Redis, shop: Shop
) -> None:
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=None)
    found = failure_record(_message(connected(sale, ACCOUNT), failed=failed), RuntimeError("x"))
    assert found is not None
    outcome, record = found
    assert orjson.loads(record)["stripe_account"] == ACCOUNT
    fields = {b"o": outcome.encode(), b"r": record}
    if failed:
        parsed = entry_to_dead_letter("1-0", fields)
        row = parsed[0] if parsed is not None else None
    else:
        row = entry_to_row("1-0", fields)
    assert row is not None
    assert (row.outcome, row.stripe_account) == (outcome, ACCOUNT)
    # And through the log writer into PostgreSQL.
    stream = "traaaction:deadletters" if failed else "traaaction:eventlog"
    redis_client.xadd(stream, {b"o": outcome.encode(), b"r": record})
    LogWriter(redis_client, make_session_factory(shop.engine)).drain()
    with Session(shop.engine) as session:
        [stored] = session.scalars(
            select(WebhookEventLog).where(WebhookEventLog.outcome == outcome)
        ).all()
    assert stored.stripe_account == ACCOUNT


def test_a_record_without_an_account_or_with_a_bad_one_has_none() -> None:
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=None)
    found = failure_record(_message(sale.text, failed=False), RuntimeError("x"))
    assert found is not None
    assert orjson.loads(found[1])["stripe_account"] is None
    # A body the parsers refuse is dead-lettered all the same, without an account.
    broken = _message(sale.text, failed=True)
    broken.kwargs["body"] = "{not json"
    dead = failure_record(broken, RuntimeError("x"))
    assert dead is not None
    assert orjson.loads(dead[1])["stripe_account"] is None
    forged = {b"o": b"failed", b"r": orjson.dumps({"stripe_account": "not an account"})}
    row = entry_to_row("1-0", forged)
    assert row is not None
    assert row.stripe_account is None


def test_the_account_of_a_body_is_read_as_the_ingress_reads_it() -> None:
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=None)
    assert account_of(connected(sale, ACCOUNT)) == ACCOUNT
    assert account_of(sale.text) is None
    # A lone surrogate orjson refuses, read as the parsers' json reads it.
    odd = connected(sale, ACCOUNT).replace('"cs_1"', '"cs_\\ud800"')
    assert account_of(odd) == ACCOUNT


@pytest.mark.parametrize("event_type", ["payment_intent.created", "checkout.session.completed"])
def test_the_rows_the_ingress_writes_keep_the_account(event_type: str) -> None:
    """An ignored type, or a duplicate the ingress caught, is logged from the ingress' record."""
    sale = ev.checkout_session_completed(session_id="cs_1", click_id=None)
    body = json.loads(connected(sale, ACCOUNT))
    body["type"] = event_type
    raw = json.dumps(body).encode()
    item = delivery_item("ep_1", "ws_1", parse_envelope(raw), raw, 1)
    row = entry_to_row("1-0", {b"o": b"ignored", b"r": item.log_record})
    assert row is not None
    assert (row.stripe_event_id, row.stripe_account) == (sale.id, ACCOUNT)
