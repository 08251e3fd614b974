"""Adaptive Pricing against PostgreSQL: the commission is in the merchant's currency, tax
excluded in that currency, whatever the payload's shape; the customer's amount and currency
are kept beside it for display, and a same-currency sale keeps none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from storage.models import Commission
from tests.workers.conftest import Shop
from traaaction import stripe_payloads as ev

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
SHAPES = [
    "adaptive_pricing/currency_conversion.2024-06-20",
    "adaptive_pricing/currency_conversion.2025-03-31.basil",
    "adaptive_pricing/presentment_details.2025-03-31.basil",
    "2025-09-30.clover/checkout.session.completed",
]


def with_click(name: str, click_id: str) -> str:
    body = json.loads((FIXTURES / f"{name}.json").read_text())
    body["data"]["object"]["metadata"]["tracClickId"] = click_id
    return json.dumps(body)


@pytest.mark.parametrize("name", SHAPES)
def test_a_converted_sale_earns_in_the_merchants_currency_and_keeps_the_customers(
    shop: Shop, name: str
) -> None:
    assert shop.deliver(with_click(name, shop.click_id)).outcome == "processed"
    [commission] = shop.commissions()
    # USD 119.00 with USD 19.00 tax (EUR 17.30 before 2025-03-31, converted): 10 % of 100.00.
    assert (commission.sale_amount, commission.sale_currency) == (10_000, "usd")
    assert (commission.amount, commission.currency) == (1_000, "usd")
    assert (commission.presentment_amount, commission.presentment_currency) == (10_834, "eur")


def test_a_sale_in_the_merchants_own_currency_keeps_no_presentment(shop: Shop) -> None:
    shop.deliver(
        ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id, amount=5_000).text
    )
    [commission] = shop.commissions()
    assert (commission.presentment_amount, commission.presentment_currency) == (None, None)


def test_a_delayed_converted_payment_keeps_the_presentment_and_a_clawback_none(
    shop: Shop,
) -> None:
    body = json.loads(with_click(SHAPES[2], shop.click_id))
    body["data"]["object"]["payment_status"] = "unpaid"
    assert shop.deliver(json.dumps(body)).reason == "awaiting_payment"
    body["type"] = "checkout.session.async_payment_succeeded"
    body["id"] = "evt_1nEwAdApTiVeSuCcEeDeD1"
    body["data"]["object"]["payment_status"] = "paid"
    assert shop.deliver(json.dumps(body)).outcome == "processed"
    [sale] = shop.commissions()
    assert (sale.amount, sale.currency, sale.presentment_amount) == (1_000, "usd", 10_834)
    with Session(shop.engine) as session, session.begin():
        paid = session.get(Commission, sale.id)
        assert paid is not None
        paid.status = "PAID"
    refund = ev.charge_refunded(
        charge_id="ch_1",
        payment_intent=body["data"]["object"]["payment_intent"],
        amount=11_900,
        amount_refunded=11_900,
    )
    shop.deliver(refund.text)
    clawback = shop.commissions()[1]
    assert (clawback.kind, clawback.amount, clawback.currency) == ("CLAWBACK", -1_000, "usd")
    assert (clawback.presentment_amount, clawback.presentment_currency) == (None, None)
