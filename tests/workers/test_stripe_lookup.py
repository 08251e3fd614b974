"""Refunds of basil invoices that name no payment intent, matched through Stripe's API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from domain.months import add_months
from storage.crypto import SecretBox
from storage.db import make_session_factory
from storage.repositories import api_keys
from tests.workers.conftest import Shop, entries, ticking
from tests.workers.stripe_standin import StandIn, stripe_standin
from traaaction import stripe_payloads as ev
from workers import context
from workers.stripe_api import StripeUnavailable

T0 = 1_768_471_205
KEY = "rk_test_51Habcdefghijklmnopqrstuv"


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


def basil_month_two(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(
            session_id="cs_1",
            click_id=shop.click_id,
            mode="subscription",
            subscription="sub_1",
            created=T0,
            invoice=None,
        ).text
    )
    # Basil's default payload: no payments, so no payment intent on the commission.
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            api_version=ev.BASIL,
            service_start=add_months(T0, 1),
            payment_intent=None,
        ).text
    )


def with_key(shop: Shop, box: SecretBox) -> None:
    with Session(shop.engine) as session, session.begin():
        api_keys.set_key(session, box, workspace_id=shop.workspace_id, key=KEY)


def test_a_refund_is_matched_to_its_invoice_through_stripe(
    shop: Shop, standin: StandIn, secret_box: SecretBox
) -> None:
    basil_month_two(shop)
    with_key(shop, secret_box)
    standin.invoices["pi_2"] = "in_2"
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=5_000
        ).text
    )
    assert entries(shop)[1] == ("RECURRING", 2, "PENDING", 500, None)
    [(auth, query)] = standin.requests
    assert auth == f"Bearer {KEY}"
    assert query["payment[payment_intent]"] == ["pi_2"]
    # The payment is remembered: the next refund of that charge needs no lookup.
    shop.deliver(
        ev.charge_refunded(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=10_000
        ).text
    )
    assert len(standin.requests) == 1
    assert entries(shop)[1] == ("RECURRING", 2, "CANCELED", 500, "refunded")


def test_without_a_key_the_refund_is_unlinked(shop: Shop, standin: StandIn) -> None:
    basil_month_two(shop)
    outcome = shop.deliver(
        ev.charge_refunded(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=5_000
        ).text
    )
    assert outcome.reason == "unlinked_charge"
    assert standin.requests == []


def test_stripe_not_knowing_the_payment_leaves_it_unlinked(
    shop: Shop, standin: StandIn, secret_box: SecretBox
) -> None:
    basil_month_two(shop)
    with_key(shop, secret_box)
    outcome = shop.deliver(
        ev.charge_refunded(
            charge_id="ch_9", payment_intent="pi_9", amount=100, amount_refunded=100
        ).text
    )
    assert outcome.reason == "unlinked_charge"


def test_stripe_failing_makes_the_event_retry_and_changes_nothing(
    shop: Shop, standin: StandIn, secret_box: SecretBox
) -> None:
    basil_month_two(shop)
    with_key(shop, secret_box)
    standin.status = 503
    refund = ev.charge_refunded(
        charge_id="ch_2", payment_intent="pi_2", amount=10_000, amount_refunded=5_000
    ).text
    with pytest.raises(StripeUnavailable):
        shop.deliver(refund)
    standin.status, standin.invoices["pi_2"] = 200, "in_2"
    assert shop.deliver(refund).outcome == "processed"  # the retry: not a duplicate
    assert entries(shop)[1][3] == 500


def test_an_api_key_is_sealed_to_its_workspace(
    shop: Shop, flat_shop: Shop, secret_box: SecretBox
) -> None:
    from storage.crypto import DecryptionError
    from storage.models import WorkspaceApiKey

    with_key(shop, secret_box)
    with Session(shop.engine) as session, session.begin():
        row = session.get(WorkspaceApiKey, shop.workspace_id)
        assert row is not None
        assert KEY.encode() not in row.ciphertext
        assert api_keys.get_key(session, secret_box, shop.workspace_id) == KEY
        session.add(
            WorkspaceApiKey(
                workspace_id=flat_shop.workspace_id,
                key_id=row.key_id,
                nonce=row.nonce,
                ciphertext=row.ciphertext,
                last4=row.last4,
            )
        )
        session.flush()
        with pytest.raises(DecryptionError):
            api_keys.get_key(session, secret_box, flat_shop.workspace_id)
