"""API 2025-09-30.clover and Adaptive Pricing: a fixture per payload shape
(tests/fixtures/stripe/, made by make_fixtures.py there), each parsed field by field, and
property tests of the currency rule: the sale is the merchant's, tax-free in the merchant's
currency; the customer's amount is kept beside it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.adaptive_pricing import sale_amounts
from domain.charge_events import (
    parse_charge_dispute_closed,
    parse_charge_dispute_created,
    parse_charge_refund_updated,
)
from domain.envelope import read_envelope
from domain.events import (
    ChargeRefunded,
    CheckoutSessionCompleted,
    InvoicePaid,
    SubscriptionDeleted,
    parse_event,
)
from domain.json_fields import EventParseError, Fields, load
from domain.money import checkout_commissionable, converted_part
from traaaction import stripe_payloads as fx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "stripe"
CLOVER = FIXTURES / "2025-09-30.clover"
ADAPTIVE = FIXTURES / "adaptive_pricing"
T0 = 1_768_471_205
CLICK = "clk_01JH8Q4W6ZK3V2B9N7M5X1C0DE"


def fixture(path: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(path.read_text())
    return value


def raw(path: Path) -> str:
    return path.read_text()


# --- clover: one fixture per handled type ------------------------------------------------------


def test_every_clover_fixture_is_a_clover_event_without_currency_conversion() -> None:
    paths = sorted(CLOVER.glob("*.json"))
    assert len(paths) == 9
    for path in paths:
        body = fixture(path)
        assert body["api_version"] == "2025-09-30.clover", path.name
        assert body["type"] == path.name.removesuffix(".json").removesuffix(".connect")
        assert "currency_conversion" not in body["data"]["object"], path.name


def test_a_clover_checkout_is_the_merchants_sale_and_the_customers_presentment() -> None:
    event = parse_event(raw(CLOVER / "checkout.session.completed.json"))
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.mode, event.payment_status, event.created) == ("payment", "paid", T0)
    assert (event.amount_total, event.amount_tax, event.currency) == (11_900, 1_900, "usd")
    assert (event.presentment_amount, event.presentment_currency) == (10_834, "eur")
    assert event.click_id == CLICK
    assert event.payment_intent_id == "pi_3CLoVeRcHeCkOuT0000001"
    assert checkout_commissionable(11_900, event.amount_tax) == 10_000


def test_a_clover_delayed_payment_parses_like_its_completion() -> None:
    body = raw(CLOVER / "checkout.session.async_payment_succeeded.json")
    event = parse_event(body)
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.payment_status, event.amount_total, event.currency) == ("paid", 5_000, "eur")
    # A basil-and-later session in the merchant's own currency: no presentment to keep.
    assert (event.presentment_amount, event.presentment_currency) == (None, None)


def test_a_clover_renewal_invoice_parses_with_its_parent_subscription() -> None:
    event = parse_event(raw(CLOVER / "invoice.paid.json"))
    assert isinstance(event, InvoicePaid)
    assert event.invoice_id == "in_1CLoVeRiNvOiCe00000001"
    assert event.subscription_id == "sub_1CLoVeRsUbScRiPt000001"
    assert (event.billing_reason, event.amount_paid, event.total) == (
        "subscription_cycle",
        2_900,
        2_900,
    )
    assert (event.total_excluding_tax, event.currency) == (2_900, "usd")
    assert event.service_period_start == T0 + 31 * 86_400
    assert event.charge_id is None  # basil's shape: no charge on the invoice


def test_a_clover_refund_is_in_the_charges_currency_whatever_its_presentment() -> None:
    event = parse_event(raw(CLOVER / "charge.refunded.json"))
    assert isinstance(event, ChargeRefunded)
    assert (event.charge_id, event.payment_intent_id) == (
        "ch_3CLoVeRcHaRgE000000001",
        "pi_3CLoVeRcHeCkOuT0000001",
    )
    assert (event.amount, event.amount_refunded, event.currency) == (11_900, 5_950, "usd")
    assert event.invoice_id is None


def test_a_clover_flexible_billing_subscription_deletion_parses() -> None:
    event = parse_event(raw(CLOVER / "customer.subscription.deleted.json"))
    assert isinstance(event, SubscriptionDeleted)
    assert event.subscription_id == "sub_1CLoVeRsUbScRiPt000001"
    assert (event.ended_at, event.canceled_at) == (T0 + 62 * 86_400, T0 + 60 * 86_400)
    billing_mode = fixture(CLOVER / "customer.subscription.deleted.json")["data"]["object"]
    assert billing_mode["billing_mode"]["type"] == "flexible"


def test_clover_refund_updates_and_disputes_parse() -> None:
    refund = parse_charge_refund_updated(raw(CLOVER / "charge.refund.updated.json"))
    assert (refund.refund_id, refund.status, refund.amount) == (
        "re_3CLoVeRrEfUnD000000001",
        "failed",
        5_950,
    )
    assert refund.charge_id == "ch_3CLoVeRcHaRgE000000001"
    opened = parse_charge_dispute_created(raw(CLOVER / "charge.dispute.created.json"))
    closed = parse_charge_dispute_closed(raw(CLOVER / "charge.dispute.closed.json"))
    assert opened.dispute_id == closed.dispute_id == "dp_1CLoVeRdIsPuTe00000001"
    assert (opened.closed, closed.closed, closed.status) == (False, True, "lost")
    assert closed.amount == 11_900


def test_a_connected_accounts_clover_checkout_names_its_account() -> None:
    body = raw(CLOVER / "checkout.session.completed.connect.json")
    assert read_envelope(load(body)).account == "acct_1Nv0FGQ9RKHgCVdK"
    assert read_envelope(load(raw(CLOVER / "checkout.session.completed.json"))).account is None
    event = parse_event(body)
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.amount_total, event.presentment_currency) == (11_900, "eur")


# --- Adaptive Pricing: each shape ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "currency_conversion.2024-06-20",
        "currency_conversion.2025-03-31.basil",
        "presentment_details.2025-03-31.basil",
    ],
)
def test_every_adaptive_pricing_shape_gives_the_merchants_sale_and_the_customers_amount(
    name: str,
) -> None:
    """The same sale in the three shapes: USD 119.00 with USD 19.00 tax for the merchant, EUR
    108.34 (tax EUR 17.30) for the customer."""
    event = parse_event(raw(ADAPTIVE / f"{name}.json"))
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.amount_total, event.currency) == (11_900, "usd")
    # Before 2025-03-31 the tax is the customer's: 1730 EUR * 11900 / 10834 = 1900.26 -> 1900.
    assert event.amount_tax == 1_900
    assert (event.presentment_amount, event.presentment_currency) == (10_834, "eur")
    assert checkout_commissionable(11_900, event.amount_tax) == 10_000


def test_currency_conversion_wins_when_both_are_present() -> None:
    body = fixture(ADAPTIVE / "currency_conversion.2025-03-31.basil.json")
    body["data"]["object"]["presentment_details"] = {
        "presentment_amount": 1,
        "presentment_currency": "gbp",
    }
    event = parse_event(json.dumps(body))
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.amount_total, event.currency, event.presentment_currency) == (
        11_900,
        "usd",
        "eur",
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("currency_conversion", "amount_total"), None, "currency_conversion.amount_total"),
        (("currency_conversion", "amount_total"), -1, "currency_conversion.amount_total"),
        (("currency_conversion", "source_currency"), "USD", "currency_conversion.source_currency"),
        (("currency_conversion",), "usd", "currency_conversion: expected an object"),
    ],
)
def test_a_malformed_currency_conversion_is_refused_naming_its_field(
    path: tuple[str, ...], value: object, message: str
) -> None:
    body = fixture(ADAPTIVE / "currency_conversion.2024-06-20.json")
    target = body["data"]["object"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(EventParseError, match=message.replace(".", r"\.")):
        parse_event(json.dumps(body))


@pytest.mark.parametrize(
    ("key", "value"),
    [("presentment_amount", None), ("presentment_amount", "10"), ("presentment_currency", "EU")],
)
def test_a_malformed_presentment_is_refused_naming_its_field(key: str, value: object) -> None:
    body = fixture(ADAPTIVE / "presentment_details.2025-03-31.basil.json")
    body["data"]["object"]["presentment_details"][key] = value
    with pytest.raises(EventParseError, match=rf"presentment_details\.{key}"):
        parse_event(json.dumps(body))


def test_a_presentment_in_the_merchants_own_currency_is_no_presentment() -> None:
    # Basil payloads carry presentment_details on every session, the merchant's currency
    # included: nothing was converted.
    event = parse_event(fx.checkout_session_completed(amount=5_000, currency="jpy").text)
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.presentment_amount, event.presentment_currency) == (None, None)


# --- properties ---------------------------------------------------------------------------------

amounts = st.integers(0, fx.MAX_AMOUNT)


@st.composite
def conversions(draw: st.DrawFn) -> tuple[int, int, int]:
    """(customer total, customer tax <= total, merchant total)."""
    total = draw(amounts)
    return total, draw(st.integers(0, total)), draw(amounts)


def _session(values: dict[str, Any]) -> Fields:
    return Fields(values, "data.object")


@settings(max_examples=300, deadline=None)
@given(conversions())
def test_the_merchants_tax_is_the_same_share_of_the_merchants_total(
    money: tuple[int, int, int],
) -> None:
    total, tax, merchant_total = money
    sale = sale_amounts(
        _session(
            {
                "amount_total": total,
                "currency": "eur",
                "currency_conversion": {
                    "amount_total": merchant_total,
                    "amount_subtotal": merchant_total,
                    "fx_rate": "1.0",
                    "source_currency": "usd",
                },
            }
        ),
        tax,
    )
    assert sale.amount_total == merchant_total
    assert sale.currency == "usd"
    assert 0 <= sale.amount_tax <= merchant_total
    commissionable = checkout_commissionable(merchant_total, sale.amount_tax)
    assert 0 <= commissionable <= merchant_total
    if total:
        # Within half a minor unit of the exact share (rounding half up, once).
        exact_twice = 2 * tax * merchant_total
        assert abs(2 * sale.amount_tax * total - exact_twice) <= total
    if tax == 0:
        assert commissionable == merchant_total
    if total and tax == total:
        assert commissionable == 0
    assert (sale.presentment_amount, sale.presentment_currency) == (total, "eur")


@settings(max_examples=200, deadline=None)
@given(part=amounts, whole=amounts, other=amounts, more=amounts)
def test_a_converted_part_grows_with_the_part_and_never_exceeds_the_converted_whole(
    part: int, whole: int, other: int, more: int
) -> None:
    share = converted_part(part, whole, other)
    assert 0 <= share <= other
    assert converted_part(part + more, whole, other) >= share
    assert converted_part(whole, whole, other) == (other if whole else 0)


def test_a_converted_part_refuses_negative_amounts() -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        converted_part(-1, 10, 10)
    with pytest.raises(ValueError, match="must be >= 0"):
        converted_part(1, 10, -10)


@settings(max_examples=40, deadline=None)
@given(
    total=st.integers(1, 10**9),
    currency=st.sampled_from(["usd", "eur", "jpy", "kwd"]),
    api=st.sampled_from([fx.BASIL, "2025-09-30.clover", "2026-02-25.clover"]),
)
def test_a_sessions_clover_shape_parses_as_its_basil_shape(
    total: int, currency: str, api: str
) -> None:
    """Clover dropped currency_conversion (null in basil payloads of later sessions): the
    key's absence changes nothing."""
    built = fx.checkout_session_completed(amount=total, currency=currency, api_version=api)
    basil = parse_event(built.encode())
    body = copy.deepcopy(built.body)
    del body["data"]["object"]["currency_conversion"]
    clover = parse_event(json.dumps(body))
    assert clover == basil


@settings(max_examples=30, deadline=None)
@given(
    amount=st.integers(1, 10**9),
    refunded=st.integers(0, 10**9),
    currency=st.sampled_from(["usd", "eur", "jpy"]),
    clover=st.sampled_from(["2025-09-30.clover", "2025-12-15.clover", "2026-02-25.clover"]),
)
def test_every_handled_type_parses_the_same_under_clover_as_under_basil(
    amount: int, refunded: int, currency: str, clover: str
) -> None:
    """The parsers read shapes from the fields present, never from api_version: the same
    objects under a clover version and under basil parse to the same values."""
    start = T0 + 31 * 86_400

    def built(api: str) -> list[str]:
        customer, subscription = "cus_SaMe000000001", "sub_1SaMe00000000000000001"
        return [
            fx.invoice_paid(
                invoice_id="in_1SaMe00000000000000001",
                payment_intent="pi_3SaMe00000000000000001",
                amount=amount,
                currency=currency,
                service_start=start,
                event_id="evt_1SaMeInVoIcE0000000001",
                api_version=api,
                customer=customer,
                subscription=subscription,
            ).text,
            fx.charge_refunded(
                charge_id="ch_3SaMe00000000000000001",
                payment_intent="pi_3SaMe00000000000000001",
                customer=customer,
                amount=amount,
                amount_refunded=min(refunded, amount),
                currency=currency,
                event_id="evt_1SaMeChArGe00000000001",
                api_version=api,
            ).text,
            fx.customer_subscription_deleted(
                subscription=subscription,
                customer=customer,
                latest_invoice="in_1SaMe00000000000000001",
                amount=amount,
                currency=currency,
                event_id="evt_1SaMeDeLeTe00000000001",
                api_version=api,
            ).text,
        ]

    for clover_body, basil_body in zip(built(clover), built(fx.BASIL), strict=True):
        assert parse_event(clover_body) == parse_event(basil_body)
