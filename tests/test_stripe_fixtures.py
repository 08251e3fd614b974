"""The one builder of Stripe payloads (traaaction/stripe_payloads/), as `send-test-event`, the
tests, the benchmarks and the parser's stories use it: every event it builds is one the
ingress routes and the rules parse, in both payload shapes, with the values asked for."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.events import (
    ChargeRefunded,
    CheckoutSessionCompleted,
    InvoicePaid,
    SubscriptionDeleted,
    parse_event,
)
from domain.months import add_months, month_number
from ingress.envelope import parse_envelope
from traaaction import stripe_payloads as fx
from traaaction.stripe_payloads import stories
from traaaction.stripe_payloads.invoice_lines import LineKind
from workers.contract import Delivery

NOW = int(datetime(2026, 1, 31, 10, 0, tzinfo=UTC).timestamp())
API_VERSIONS = [fx.BASIL, fx.PRE_BASIL, "2025-09-30.clover", "2024-09-30.acacia"]

api_versions = st.sampled_from(API_VERSIONS)
currencies = st.sampled_from(["usd", "eur", "jpy", "kwd", "gbp"])
amounts = st.integers(0, fx.MAX_AMOUNT)
instants = st.integers(NOW - 3 * 365 * 86_400, NOW + 3 * 365 * 86_400)


def amount_and_tax() -> st.SearchStrategy[tuple[int, int]]:
    return amounts.flatmap(lambda total: st.tuples(st.just(total), st.integers(0, total)))


def routed(built: fx.BuiltEvent) -> None:
    """What the ingress reads of it: a snapshot event with its id, type, mode and version."""
    envelope = parse_envelope(built.encode())
    assert (envelope.id, envelope.type, envelope.livemode) == (built.id, built.type, False)
    assert envelope.api_version == built.body["api_version"]
    assert built.ids["event"] == built.id


@settings(max_examples=60, deadline=None)
@given(
    api=api_versions,
    money=amount_and_tax(),
    currency=currencies,
    click=st.none() | st.from_regex(r"clk_[a-z0-9]{26}", fullmatch=True),
    created=instants,
)
def test_a_sale_checkout_parses_with_its_amounts_click_and_payment_intent(
    api: str, money: tuple[int, int], currency: str, click: str | None, created: int
) -> None:
    amount, tax = money
    built = fx.checkout_session_completed(
        amount=amount, tax=tax, currency=currency, click_id=click, created=created, api_version=api
    )
    routed(built)
    event = parse_event(built.encode())
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.mode, event.payment_status, event.livemode) == ("payment", "paid", False)
    assert (event.amount_total, event.amount_tax, event.currency) == (amount, tax, currency)
    assert (event.click_id, event.created) == (click, created)
    assert event.payment_intent_id == built.ids["payment_intent"]
    assert event.session_id == built.ids["checkout_session"]
    assert event.customer_id == built.ids["customer"]
    assert (event.subscription_id, event.invoice_id) == (None, None)


@settings(max_examples=30, deadline=None)
@given(api=api_versions, money=amount_and_tax(), currency=currencies)
def test_a_subscription_checkout_carries_its_subscription_and_first_invoice(
    api: str, money: tuple[int, int], currency: str
) -> None:
    amount, tax = money
    built = fx.checkout_session_completed(
        mode="subscription", amount=amount, tax=tax, currency=currency, click_id="clk_1",
        subscription="sub_given", customer="cus_given", created=NOW, api_version=api,
    )  # fmt: skip
    routed(built)
    event = parse_event(built.encode())
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.mode, event.subscription_id, event.customer_id) == (
        "subscription", "sub_given", "cus_given",
    )  # fmt: skip
    assert event.invoice_id == built.ids["invoice"]
    assert event.payment_intent_id is None
    assert (event.amount_total, event.amount_tax) == (amount, tax)


@settings(max_examples=60, deadline=None)
@given(
    api=api_versions,
    money=amount_and_tax(),
    currency=currencies,
    reason=st.sampled_from(fx.BILLING_REASONS),
    month=st.integers(1, 36),
)
def test_an_invoice_parses_in_either_shape_and_pays_for_the_month_asked(
    api: str, money: tuple[int, int], currency: str, reason: str, month: int
) -> None:
    amount, tax = money
    service_start = add_months(NOW, month - 1)
    built = fx.invoice_paid(
        subscription="sub_x", amount=amount, tax=tax, currency=currency, billing_reason=reason,
        service_start=service_start, payment_intent="pi_x", created=NOW, api_version=api,
    )  # fmt: skip
    routed(built)
    event = parse_event(built.encode())
    assert isinstance(event, InvoicePaid)
    assert (event.subscription_id, event.billing_reason, event.currency) == ("sub_x", reason,
                                                                             currency)  # fmt: skip
    assert (event.amount_paid, event.total, event.total_excluding_tax) == (
        amount, amount, amount - tax,
    )  # fmt: skip
    assert event.payment_intent_ids == ("pi_x",)
    assert event.invoice_id == built.ids["invoice"]
    assert event.service_period_start == service_start
    # A subscription whose checkout was at NOW: this invoice is its month `month`.
    assert month_number(NOW, service_start) == month
    if reason != "subscription_create":
        assert (event.period_start, event.period_end) == (
            add_months(service_start, -1), service_start,
        )  # fmt: skip


@pytest.mark.parametrize("api", [fx.BASIL, fx.PRE_BASIL])
def test_the_invoice_shape_follows_the_api_version(api: str) -> None:
    obj = fx.invoice_paid(subscription="sub_x", service_start=NOW, created=NOW,
                          api_version=api).body["data"]["object"]  # fmt: skip
    line = obj["lines"]["data"][0]
    if api == fx.BASIL:
        assert "subscription" not in obj
        assert "payment_intent" not in obj
        assert obj["parent"]["subscription_details"]["subscription"] == "sub_x"
        assert line["parent"]["subscription_item_details"]["proration"] is False
    else:
        assert obj["subscription"] == "sub_x"
        assert "parent" not in obj
        assert (line["type"], line["proration"]) == ("subscription", False)


@settings(max_examples=60, deadline=None)
@given(
    api=api_versions,
    charged=amounts.flatmap(lambda a: st.tuples(st.just(a), st.integers(0, a))),
    currency=currencies,
)
def test_a_refund_parses_with_the_charge_and_cumulative_refunded_amounts(
    api: str, charged: tuple[int, int], currency: str
) -> None:
    amount, refunded = charged
    built = fx.charge_refunded(payment_intent="pi_sale", amount=amount, amount_refunded=refunded,
                               currency=currency, created=NOW, api_version=api)  # fmt: skip
    routed(built)
    event = parse_event(built.encode())
    assert isinstance(event, ChargeRefunded)
    assert (event.payment_intent_id, event.amount, event.amount_refunded) == (
        "pi_sale", amount, refunded,
    )  # fmt: skip
    assert (event.charge_id, event.currency, event.invoice_id) == (
        built.ids["charge"], currency, None,
    )  # fmt: skip
    assert built.body["data"]["object"]["refunded"] is (refunded == amount)
    assert ("invoice" in built.body["data"]["object"]) is (not fx.is_basil(api))


def test_a_refund_is_of_the_whole_charge_by_default() -> None:
    event = parse_event(fx.charge_refunded(amount=4_900, created=NOW).encode())
    assert isinstance(event, ChargeRefunded)
    assert event.amount_refunded == 4_900


@pytest.mark.parametrize("api", API_VERSIONS)
def test_a_subscription_deletion_parses_with_its_end(api: str) -> None:
    built = fx.customer_subscription_deleted(subscription="sub_x", created=NOW, api_version=api)
    routed(built)
    event = parse_event(built.encode())
    assert isinstance(event, SubscriptionDeleted)
    assert (event.subscription_id, event.ended_at, event.canceled_at) == ("sub_x", NOW, NOW)
    obj = built.body["data"]["object"]
    assert ("current_period_end" in obj) is (not fx.is_basil(api))


def test_ids_are_random_and_shaped_like_stripes() -> None:
    shapes = {
        "event": r"evt_1[A-Za-z0-9]{23}",
        "checkout_session": r"cs_test_a1[A-Za-z0-9]{56}",
        "customer": r"cus_[A-Za-z0-9]{14}",
        "payment_intent": r"pi_3[A-Za-z0-9]{23}",
    }
    first = fx.checkout_session_completed(created=NOW).ids
    second = fx.checkout_session_completed(created=NOW).ids
    for role, shape in shapes.items():
        assert re.fullmatch(shape, first[role]), first[role]
        assert first[role] != second[role]
    sub = fx.checkout_session_completed(mode="subscription", created=NOW).ids
    assert re.fullmatch(r"sub_1[A-Za-z0-9]{23}", sub["subscription"])
    assert re.fullmatch(r"in_1[A-Za-z0-9]{23}", sub["invoice"])
    assert re.fullmatch(r"ch_3[A-Za-z0-9]{23}", fx.charge_refunded(created=NOW).ids["charge"])


def test_bodies_are_stripes_pretty_printed_json_with_id_and_object_first() -> None:
    built = fx.invoice_paid(service_start=NOW, created=NOW)
    text = built.encode().decode()
    assert text.startswith('{\n  "id": "evt_')
    assert json.loads(text) == built.body
    assert list(built.body["data"]["object"])[:2] == ["id", "object"]


@pytest.mark.parametrize(
    ("version", "basil"),
    [("2025-03-31.basil", True), ("2025-09-30.clover", True), ("2024-06-20", False),
     ("2025-02-24.acacia", False)],
)  # fmt: skip
def test_the_payload_shape_is_read_from_the_version_date(version: str, basil: bool) -> None:
    assert fx.is_basil(version) is basil


@pytest.mark.parametrize("version", ["basil", "2025-13-01", "2025-03-31.Basil", ""])
def test_a_malformed_api_version_is_refused(version: str) -> None:
    with pytest.raises(fx.FixtureError, match="API version"):
        fx.checkout_session_completed(created=NOW, api_version=version)


def test_values_no_stripe_event_carries_are_refused() -> None:
    with pytest.raises(fx.FixtureError, match="tax 5 is more than the amount 4"):
        fx.checkout_session_completed(amount=4, tax=5, created=NOW)
    with pytest.raises(fx.FixtureError, match="amount refunded 11 is more than the charge's 10"):
        fx.charge_refunded(amount=10, amount_refunded=11, created=NOW)
    with pytest.raises(fx.FixtureError, match="currency 'USD'"):
        fx.invoice_paid(currency="USD", service_start=NOW, created=NOW)
    with pytest.raises(fx.FixtureError, match="payment mode has no subscription"):
        fx.checkout_session_completed(subscription="sub_1", created=NOW)
    with pytest.raises(fx.FixtureError, match="subscription mode has no payment intent"):
        fx.checkout_session_completed(mode="subscription", payment_intent="pi_1", created=NOW)


# --- any payload the builder makes parses, in both shapes ---------------------------------------

ids = st.from_regex(r"[a-z]{2,4}_[A-Za-z0-9]{1,24}", fullmatch=True)
refs = ids | st.just(fx.AUTO) | st.none()  # an id parameter: given, a new one, or null
names = st.text(min_size=1, max_size=20)
buyers = st.builds(
    fx.Buyer, names, st.emails(), st.builds(fx.Address, st.sampled_from(["US", "DE", "JP"]))
)
common = {"api_version": api_versions, "livemode": st.booleans(), "created": instants}


def _id(built: fx.BuiltEvent, role: str, given: object) -> str | None:
    """The id the parser must read for a parameter: the given one, the new one, or none."""
    return built.ids.get(role) if given is fx.AUTO else cast(str | None, given)


@st.composite
def checkouts(draw: st.DrawFn) -> tuple[fx.BuiltEvent, CheckoutSessionCompleted]:
    mode = draw(st.sampled_from(fx.MODES))
    amount, tax = (None, 0) if mode == "setup" else draw(amount_and_tax())
    args: dict[str, Any] = draw(st.fixed_dictionaries(
        {"customer": refs, "click_id": st.none() | st.text(max_size=30), "buyer": buyers,
         "payment_status": st.sampled_from(["paid", "unpaid", "no_payment_required"]),
         "currency": currencies, **common},
        optional={"metadata": st.dictionaries(names, st.text(max_size=10), max_size=3)},
    ))  # fmt: skip
    built = fx.checkout_session_completed(mode=mode, amount=amount, tax=tax, **args)
    expected = CheckoutSessionCompleted(
        event_id=built.id, created=args["created"], livemode=args["livemode"],
        session_id=built.ids["checkout_session"], mode=mode,
        payment_status=args["payment_status"], amount_total=amount, amount_tax=tax,
        currency=None if mode == "setup" else args["currency"],
        customer_id=_id(built, "customer", args["customer"]),
        subscription_id=built.ids.get("subscription"),
        payment_intent_id=built.ids.get("payment_intent"), invoice_id=built.ids.get("invoice"),
        click_id=args["click_id"],
    )  # fmt: skip
    return built, expected


@st.composite
def invoices(draw: st.DrawFn) -> tuple[fx.BuiltEvent, InvoicePaid]:
    amount, tax = draw(amount_and_tax())
    start = draw(instants)
    parts = draw(st.lists(st.integers(-(10**6), 10**6), max_size=3))  # the last line: the rest
    kinds: list[LineKind] = draw(st.lists(st.sampled_from(["subscription", "invoice_item"]),
                                          min_size=4))  # fmt: skip
    prorations = draw(st.lists(st.booleans(), min_size=4))
    lines = [
        fx.Line(part, (start - 86_400 * n, start), kind, proration=proration)
        for n, (part, kind, proration) in enumerate(zip([*parts, amount - tax - sum(parts)],
                                                        kinds, prorations, strict=False))
    ]  # fmt: skip
    reason = draw(st.sampled_from(fx.BILLING_REASONS))
    args: dict[str, Any] = draw(st.fixed_dictionaries(
        {"customer": refs, "payment_intent": refs, "currency": currencies, "buyer": buyers,
         "amount_paid": st.integers(0, amount), **common}
    ))  # fmt: skip
    built = fx.invoice_paid(amount=amount, tax=tax, billing_reason=reason, service_start=start,
                            lines=lines, **args)  # fmt: skip
    intent = _id(built, "payment_intent", args["payment_intent"])
    services = [line.period[0] for line in lines if line.kind == "subscription"
                and not line.proration]  # fmt: skip
    expected = InvoicePaid(
        event_id=built.id, created=args["created"], livemode=args["livemode"],
        invoice_id=built.ids["invoice"], billing_reason=reason, amount_paid=args["amount_paid"],
        total=amount, total_excluding_tax=amount - tax, currency=args["currency"],
        customer_id=_id(built, "customer", args["customer"]),
        subscription_id=built.ids["subscription"], payment_intent_ids=(intent,) if intent else (),
        charge_id=built.ids.get("charge"), service_period_start=min(services, default=None),
        period_end=start,
        period_start=start if reason == "subscription_create" else add_months(start, -1),
    )  # fmt: skip
    return built, expected


@st.composite
def refunds(draw: st.DrawFn) -> tuple[fx.BuiltEvent, ChargeRefunded]:
    amount, refunded = draw(amount_and_tax())
    args: dict[str, Any] = draw(st.fixed_dictionaries(
        {"customer": refs, "payment_intent": refs, "currency": currencies, "buyer": buyers,
         "refunded_before": st.integers(0, refunded), **common}
    ))  # fmt: skip
    invoice = None if fx.is_basil(args["api_version"]) else draw(st.none() | ids)
    built = fx.charge_refunded(amount=amount, amount_refunded=refunded, invoice=invoice, **args)
    expected = ChargeRefunded(
        event_id=built.id, created=args["created"], livemode=args["livemode"],
        charge_id=built.ids["charge"],
        payment_intent_id=_id(built, "payment_intent", args["payment_intent"]), amount=amount,
        amount_refunded=refunded, currency=args["currency"],
        customer_id=_id(built, "customer", args["customer"]), invoice_id=invoice,
    )  # fmt: skip
    return built, expected


@st.composite
def deletions(draw: st.DrawFn) -> tuple[fx.BuiltEvent, SubscriptionDeleted]:
    ended, canceled = draw(st.none() | instants), draw(st.just(fx.AUTO) | st.none() | instants)
    args: dict[str, Any] = draw(st.fixed_dictionaries(
        {"customer": refs, "currency": currencies, "at_period_end": st.booleans(), **common}
    ))  # fmt: skip
    built = fx.customer_subscription_deleted(ended_at=ended, canceled_at=canceled, **args)
    expected = SubscriptionDeleted(
        event_id=built.id, created=args["created"], livemode=args["livemode"],
        subscription_id=built.ids["subscription"],
        customer_id=_id(built, "customer", args["customer"]), ended_at=ended,
        canceled_at=ended if canceled is fx.AUTO else canceled,
    )  # fmt: skip
    return built, expected


@settings(max_examples=200, deadline=None)
@given(st.one_of(checkouts(), invoices(), refunds(), deletions()))
def test_every_payload_the_builder_makes_parses_to_what_it_was_asked_for(
    case: tuple[fx.BuiltEvent, Any],
) -> None:
    built, expected = case
    api, obj = built.body["api_version"], built.body["data"]["object"]
    envelope = parse_envelope(built.encode())
    assert (envelope.id, envelope.type, envelope.api_version) == (built.id, built.type, api)
    assert envelope.livemode is built.body["livemode"]
    assert parse_event(built.encode()) == parse_event(built.text) == expected
    # the shape is the API version's: basil's invoice has a parent, its charge no invoice
    if built.type == fx.INVOICE_PAID:
        assert ("parent" in obj, "subscription" in obj) == (fx.is_basil(api), not fx.is_basil(api))
    if built.type == fx.CHARGE_REFUNDED:
        assert ("invoice" in obj) is not fx.is_basil(api)


@pytest.mark.parametrize("name", sorted(stories.ALL))
def test_the_stories_parse_and_are_the_same_at_every_call(name: str) -> None:
    payload = stories.ALL[name]()
    assert payload == stories.ALL[name]()
    assert parse_event(json.dumps(payload)).event_id == payload["id"]
    assert payload["api_version"] == (stories.PRE_BASIL if "pre_basil" in name else stories.BASIL)


def test_a_patched_payload_is_a_copy_with_what_stripe_would_not_send() -> None:
    built = fx.checkout_session_completed(mode="subscription", created=NOW)
    patched = built.patched(payment_intent="pi_1")
    assert built.body["data"]["object"]["payment_intent"] is None
    event = parse_event(patched.encode())
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.payment_intent_id, event.subscription_id) == ("pi_1", built.ids["subscription"])


def test_a_delivery_is_what_the_workers_read_back() -> None:
    built = fx.invoice_paid(service_start=NOW, api_version=fx.PRE_BASIL)
    kwargs = fx.delivery(built.text, workspace_id="ws_1")
    assert Delivery.from_kwargs(kwargs) == Delivery(
        endpoint_id="ep_test", workspace_id="ws_1", event_id=built.id, event_type=built.type,
        livemode=False, body=built.text, api_version=fx.PRE_BASIL, received_at=0,
    )  # fmt: skip
