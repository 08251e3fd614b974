"""A refund or dispute that arrives before a basil invoice whose payload names no payment:
parked on the invoice Stripe's API names, applied when the invoice's commission is made."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain.months import add_months
from storage.crypto import SecretBox
from storage.db import make_session_factory
from tests.workers.conftest import Shop, entries, ticking
from tests.workers.stripe_standin import StandIn, stripe_standin
from tests.workers.test_stripe_lookup import T0, basil_month_two, with_key
from traaaction import stripe_payloads as ev
from workers import context


@pytest.fixture
def keyed(shop: Shop, secret_box: SecretBox) -> Iterator[StandIn]:
    """Stripe's stand-in, the workspace's key, and Stripe knowing pi_2 paid in_2."""
    with stripe_standin() as state:
        context.configure(
            context.WorkerContext(
                factory=make_session_factory(shop.engine),
                clock=ticking(),
                secret_box=secret_box,
                stripe_api_base=state.base,
            )
        )
        with_key(shop, secret_box)
        state.invoices["pi_2"] = "in_2"
        yield state


def checkout(shop: Shop) -> None:
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


def basil_invoice(shop: Shop) -> None:
    shop.deliver(
        ev.invoice_paid(
            invoice_id="in_2",
            subscription="sub_1",
            api_version=ev.BASIL,
            service_start=add_months(T0, 1),
            payment_intent=None,
        ).text
    )


def test_a_refund_before_its_basil_invoice_is_applied_when_the_invoice_arrives(
    shop: Shop, keyed: StandIn
) -> None:
    checkout(shop)
    early = shop.deliver(
        ev.charge_refunded(
            charge_id="ch_2",
            payment_intent="pi_2",
            amount=10_000,
            amount_refunded=5_000,
            api_version=ev.BASIL,
        ).text
    )
    assert (early.outcome, early.reason) == ("skipped", "unlinked_charge")
    basil_invoice(shop)
    assert entries(shop)[1] == ("RECURRING", 2, "PENDING", 500, None)
    released = [r for r in shop.log() if r.reason == "released_by_invoice"]
    assert [r.event_type for r in released] == ["charge.refunded"]


def test_a_dispute_before_its_basil_invoice_holds_it_when_the_invoice_arrives(
    shop: Shop, keyed: StandIn
) -> None:
    checkout(shop)
    shop.deliver(
        ev.charge_dispute_created(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, dispute_id="dp_2"
        ).text
    )
    basil_invoice(shop)
    assert entries(shop)[1] == ("RECURRING", 2, "ON_HOLD", 1_000, "disputed")
    shop.deliver(
        ev.charge_dispute_closed(
            status="lost", charge_id="ch_2", payment_intent="pi_2", dispute_id="dp_2"
        ).text
    )
    assert entries(shop)[1] == ("RECURRING", 2, "CANCELED", 1_000, "dispute_lost")


def test_the_invoice_made_first_still_links_through_stripe(shop: Shop, keyed: StandIn) -> None:
    basil_month_two(shop)
    shop.deliver(
        ev.charge_dispute_created(
            charge_id="ch_2", payment_intent="pi_2", amount=10_000, dispute_id="dp_2"
        ).text
    )
    assert entries(shop)[1] == ("RECURRING", 2, "ON_HOLD", 1_000, "disputed")
