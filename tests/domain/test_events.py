from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.errors import DomainError
from domain.events import (
    ChargeRefunded,
    CheckoutSessionCompleted,
    EventParseError,
    InvoicePaid,
    SubscriptionDeleted,
    parse_event,
)
from traaaction.stripe_payloads import stories as stripe
from traaaction.stripe_payloads.stories import Payload

Path = tuple[str | int, ...]
DELETE = object()  # as a mutation's value: remove the key


def body(payload: Payload) -> str:
    return json.dumps(payload)


def mutated(payload: Payload, path: Path, value: object) -> Payload:
    """A copy of payload with the value at path replaced, or removed when value is DELETE."""
    result = copy.deepcopy(payload)
    parent: Any = result
    for key in path[:-1]:
        parent = parent[key]
    if value is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def parse_with(payload: Payload, path: Path, value: object) -> Any:
    """The mutated payload parsed; Any, as each test reads the fields of the type it expects."""
    return parse_event(body(mutated(payload, path, value)))


def parse_invoice(payload: Payload) -> InvoicePaid:
    event = parse_event(body(payload))
    assert isinstance(event, InvoicePaid)
    return event


CHECKOUT = ("data", "object")
INVOICE_LINES = ("data", "object", "lines", "data")


# --- each fixture parses to the expected value --------------------------------------------------


def test_a_pre_basil_one_off_checkout_parses_with_its_tax_payment_intent_and_click_id() -> None:
    payload = stripe.checkout_completed_pre_basil()
    assert parse_event(body(payload)) == CheckoutSessionCompleted(
        event_id="evt_1QdTz3LkdIwHu7ixc0LW4yTb",
        created=stripe.PRE_CHECKOUT_CREATED,
        livemode=False,
        session_id="cs_test_a1Vx3bQf0r9pZ2kLmN4oP6qR8sT0uVwXyZ1aB3cD5eF7gH9iJ",
        mode="payment",
        payment_status="paid",
        amount_total=11_900,
        amount_tax=1900,
        currency="eur",
        customer_id=stripe.PRE_CUSTOMER,
        subscription_id=None,
        payment_intent_id=stripe.PRE_CHECKOUT_INTENT,
        invoice_id=None,
        click_id=stripe.PRE_CLICK_ID,
    )


def test_a_basil_subscription_checkout_parses_with_its_subscription_and_first_invoice() -> None:
    payload = stripe.checkout_completed_basil()
    assert parse_event(body(payload)) == CheckoutSessionCompleted(
        event_id="evt_1SPbR0Hd8s9WqZ3kQy4pL0Xs",
        created=stripe.BASIL_CHECKOUT_CREATED,
        livemode=False,
        session_id="cs_test_b1Qw2Er3Ty4Ui5Op6As7Df8Gh9Jk0Lz1Xc2Vb3Nm4Qw5Er6Ty",
        mode="subscription",
        payment_status="paid",
        amount_total=2178,
        amount_tax=178,
        currency="usd",
        customer_id=stripe.BASIL_CUSTOMER,
        subscription_id=stripe.BASIL_SUBSCRIPTION,
        payment_intent_id=None,
        invoice_id=stripe.BASIL_FIRST_INVOICE,
        click_id=stripe.BASIL_CLICK_ID,
        # the merchant's own reference: read, and named no click (domain.attribution)
        client_reference_id="user_4821",
    )


def test_a_pre_basil_renewal_invoice_parses_with_the_subscription_lines_period_not_prorations() -> (
    None
):
    payload = stripe.invoice_paid_pre_basil()
    assert parse_event(body(payload)) == InvoicePaid(
        event_id="evt_1QsIc9LkdIwHu7ixpXq2Jd8V",
        created=stripe.PRE_RENEWAL_START + 3733,
        livemode=False,
        invoice_id=stripe.PRE_INVOICE,
        billing_reason="subscription_cycle",
        amount_paid=5509,
        total=5509,
        total_excluding_tax=4629,
        currency="eur",
        customer_id=stripe.PRE_CUSTOMER,
        subscription_id=stripe.PRE_SUBSCRIPTION,
        payment_intent_ids=(stripe.PRE_INVOICE_INTENT,),
        charge_id=stripe.PRE_INVOICE_CHARGE,
        service_period_start=stripe.PRE_RENEWAL_START,
        period_end=stripe.PRE_RENEWAL_START,
        period_start=stripe.PRE_PREVIOUS_START,
    )


def test_a_basil_renewal_invoice_parses_with_its_parent_subscription_and_payment_intent() -> None:
    payload = stripe.invoice_paid_basil()
    assert parse_event(body(payload)) == InvoicePaid(
        event_id="evt_1SlLn5Hd8s9WqZ3kJx2Cv7Bn",
        created=stripe.BASIL_RENEWAL_START + 3670,
        livemode=False,
        invoice_id=stripe.BASIL_INVOICE,
        billing_reason="subscription_cycle",
        amount_paid=7621,
        total=7621,
        total_excluding_tax=7000,
        currency="usd",
        customer_id=stripe.BASIL_CUSTOMER,
        subscription_id=stripe.BASIL_SUBSCRIPTION,
        payment_intent_ids=(stripe.BASIL_INVOICE_INTENT,),
        charge_id=None,
        # the invoice item's earlier period does not count: it is not a subscription line
        service_period_start=stripe.BASIL_RENEWAL_START,
        period_end=stripe.BASIL_RENEWAL_START,
        period_start=stripe.BASIL_PREVIOUS_START,
    )


def test_a_pre_basil_partial_refund_parses_with_its_cumulative_amount_and_invoice() -> None:
    payload = stripe.charge_refunded_pre_basil()
    assert parse_event(body(payload)) == ChargeRefunded(
        event_id="evt_3QsIc8LkdIwHu7ix1rEfNd01",
        created=1773825164,
        livemode=False,
        charge_id=stripe.PRE_INVOICE_CHARGE,
        payment_intent_id=stripe.PRE_INVOICE_INTENT,
        amount=5509,
        amount_refunded=2000,
        currency="eur",
        customer_id=stripe.PRE_CUSTOMER,
        invoice_id=stripe.PRE_INVOICE,
    )


def test_a_basil_full_refund_of_a_guest_yen_payment_parses_without_customer_or_invoice() -> None:
    payload = stripe.charge_refunded_basil()
    assert parse_event(body(payload)) == ChargeRefunded(
        event_id="evt_3SmAb1Hd8s9WqZ3k1rFnD002",
        created=1769629203,
        livemode=False,
        charge_id=stripe.BASIL_GUEST_CHARGE,
        payment_intent_id=stripe.BASIL_GUEST_INTENT,
        amount=3000,
        amount_refunded=3000,
        currency="jpy",
        customer_id=None,
        invoice_id=None,
    )


def test_a_pre_basil_immediate_cancellation_parses_with_equal_ended_and_canceled_times() -> None:
    payload = stripe.subscription_deleted_pre_basil()
    assert parse_event(body(payload)) == SubscriptionDeleted(
        event_id="evt_1RBcD4LkdIwHu7ixZt5Ur6Wq",
        created=stripe.PRE_CANCELED_AT + 2,
        livemode=False,
        subscription_id=stripe.PRE_SUBSCRIPTION,
        customer_id=stripe.PRE_CUSTOMER,
        ended_at=stripe.PRE_CANCELED_AT,
        canceled_at=stripe.PRE_CANCELED_AT,
    )


def test_a_basil_cancellation_at_period_end_parses_with_the_request_and_end_times() -> None:
    payload = stripe.subscription_deleted_basil()
    assert parse_event(body(payload)) == SubscriptionDeleted(
        event_id="evt_1SvNp0Hd8s9WqZ3kEnD3d0Xq",
        created=stripe.BASIL_RENEWAL_END + 1,
        livemode=False,
        subscription_id=stripe.BASIL_SUBSCRIPTION,
        customer_id=stripe.BASIL_CUSTOMER,
        ended_at=stripe.BASIL_RENEWAL_END,
        canceled_at=stripe.BASIL_CANCEL_REQUESTED,
    )


@pytest.mark.parametrize("name", sorted(stripe.ALL))
def test_a_body_given_as_utf8_bytes_parses_like_the_same_text(name: str) -> None:
    text = json.dumps(stripe.ALL[name](), ensure_ascii=False)
    assert parse_event(text.encode("utf-8")) == parse_event(text)


@pytest.mark.parametrize("name", sorted(stripe.ALL))
def test_a_parsed_event_is_frozen_and_has_no_instance_dict(name: str) -> None:
    event = parse_event(body(stripe.ALL[name]()))
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.livemode = True  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


def test_livemode_is_taken_from_the_envelope() -> None:
    event = parse_with(stripe.charge_refunded_basil(), ("livemode",), True)
    assert event.livemode is True


# --- expanded objects -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factory", "path", "field"),
    [
        (stripe.checkout_completed_basil, ("customer",), "customer_id"),
        (stripe.checkout_completed_basil, ("subscription",), "subscription_id"),
        (stripe.checkout_completed_basil, ("invoice",), "invoice_id"),
        (stripe.checkout_completed_pre_basil, ("payment_intent",), "payment_intent_id"),
        (stripe.invoice_paid_pre_basil, ("subscription",), "subscription_id"),
        (stripe.invoice_paid_pre_basil, ("charge",), "charge_id"),
        (stripe.invoice_paid_pre_basil, ("customer",), "customer_id"),
        (
            stripe.invoice_paid_basil,
            ("parent", "subscription_details", "subscription"),
            "subscription_id",
        ),
        (stripe.charge_refunded_pre_basil, ("payment_intent",), "payment_intent_id"),
        (stripe.charge_refunded_pre_basil, ("invoice",), "invoice_id"),
        (stripe.subscription_deleted_basil, ("customer",), "customer_id"),
    ],
)
def test_an_id_given_as_an_expanded_object_reads_as_its_id(
    factory: Callable[[], Payload], path: Path, field: str
) -> None:
    payload = factory()
    plain = parse_event(body(payload))
    node: Any = payload["data"]["object"]
    for key in path[:-1]:
        node = node[key]
    assert isinstance(node[path[-1]], str)
    node[path[-1]] = {"id": node[path[-1]], "object": "expanded", "livemode": False}
    assert parse_event(body(payload)) == plain


def test_an_expanded_payment_intent_in_a_basil_invoice_payment_reads_as_its_id() -> None:
    payload = stripe.invoice_paid_basil()
    path = (*CHECKOUT, "payments", "data", 0, "payment", "payment_intent")
    event = parse_with(payload, path, {"id": "pi_expanded", "object": "payment_intent"})
    assert event.payment_intent_ids == ("pi_expanded",)


# --- checkout details -------------------------------------------------------------------------


def test_a_setup_mode_checkout_parses_with_no_amount_and_no_currency() -> None:
    payload = stripe.checkout_completed_basil()
    session = payload["data"]["object"]
    session.update(
        mode="setup",
        payment_status="no_payment_required",
        amount_total=None,
        amount_subtotal=None,
        currency=None,
        total_details=None,
        subscription=None,
        invoice=None,
    )
    event = parse_event(body(payload))
    assert isinstance(event, CheckoutSessionCompleted)
    assert (event.mode, event.amount_total, event.amount_tax, event.currency) == (
        "setup",
        None,
        0,
        None,
    )


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("total_details",), DELETE),
        (("total_details",), None),
        (("total_details", "amount_tax"), None),
        (("total_details", "amount_tax"), DELETE),
    ],
)
def test_a_checkout_without_a_tax_amount_has_tax_zero(path: Path, value: object) -> None:
    event = parse_with(stripe.checkout_completed_pre_basil(), (*CHECKOUT, *path), value)
    assert event.amount_tax == 0


@pytest.mark.parametrize(
    "click_id",
    [
        "   ",
        "",
        "clk_\u0000\x1b[31m\u202e\n\t",
        "clk_日本語_🙂_é",
        "clk_" + "x" * 5000,
    ],
)
def test_a_click_id_is_kept_exactly_as_sent_blank_or_odd_characters_included(
    click_id: str,
) -> None:
    payload = mutated(
        stripe.checkout_completed_basil(), (*CHECKOUT, "metadata", "tracClickId"), click_id
    )
    escaped = json.dumps(payload)  # every non-ASCII character as a \u escape
    raw = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    for sent in (escaped, raw):
        event = parse_event(sent)
        assert isinstance(event, CheckoutSessionCompleted)
        assert event.click_id == click_id


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("metadata", "tracClickId"), DELETE),
        (("metadata", "tracClickId"), None),
        (("metadata", "tracClickId"), 12345),
        (("metadata", "tracClickId"), ["clk_1"]),
        (("metadata", "tracClickId"), {"id": "clk_1"}),
        (("metadata",), {}),
        (("metadata",), None),
        (("metadata",), DELETE),
    ],
)
def test_a_click_id_that_is_absent_or_not_a_string_reads_as_none(path: Path, value: object) -> None:
    assert parse_with(stripe.checkout_completed_basil(), (*CHECKOUT, *path), value).click_id is None


# --- invoice details --------------------------------------------------------------------------


def test_a_pre_basil_subscription_line_marked_as_proration_is_not_the_service_period() -> None:
    payload = stripe.invoice_paid_pre_basil()
    # a proration of type "subscription" from the earlier period, besides the real line
    payload["data"]["object"]["lines"]["data"][0]["type"] = "subscription"
    assert parse_invoice(payload).service_period_start == stripe.PRE_RENEWAL_START
    payload["data"]["object"]["lines"]["data"][0]["proration"] = False
    assert parse_invoice(payload).service_period_start == stripe.PRE_UPGRADE_AT


def test_a_basil_subscription_line_marked_as_proration_is_not_the_service_period() -> None:
    payload = stripe.invoice_paid_basil()
    details = ("parent", "subscription_item_details", "proration")
    event = parse_with(payload, (*INVOICE_LINES, 1, *details), True)
    assert event.service_period_start is None


def test_the_earliest_of_several_subscription_lines_is_the_service_period_start() -> None:
    payload = stripe.invoice_paid_basil()
    lines = payload["data"]["object"]["lines"]["data"]
    later = copy.deepcopy(lines[1])
    later["period"]["start"] = stripe.BASIL_RENEWAL_START + 3600
    lines.insert(0, later)
    assert parse_invoice(payload).service_period_start == stripe.BASIL_RENEWAL_START


@pytest.mark.parametrize("factory", [stripe.invoice_paid_pre_basil, stripe.invoice_paid_basil])
def test_an_invoice_without_subscription_lines_has_no_service_period_but_keeps_its_own(
    factory: Callable[[], Payload],
) -> None:
    payload = factory()
    lines = payload["data"]["object"]["lines"]["data"]
    payload["data"]["object"]["lines"]["data"] = lines[:1]  # the first line is not one
    event = parse_invoice(payload)
    assert event.service_period_start is None
    assert event.period_end == payload["data"]["object"]["period_end"]


def test_an_invoice_without_a_lines_list_has_no_service_period() -> None:
    event = parse_with(stripe.invoice_paid_basil(), (*CHECKOUT, "lines"), DELETE)
    assert event.service_period_start is None


def test_a_basil_line_without_a_parent_is_not_a_subscription_line() -> None:
    event = parse_with(stripe.invoice_paid_basil(), (*INVOICE_LINES, 1, "parent"), None)
    assert event.service_period_start is None


@pytest.mark.parametrize(
    ("path", "value"),
    [(("payments",), DELETE), (("payments",), None), (("payments", "data"), [])],
)
def test_a_basil_invoice_without_included_payments_has_no_payment_intents(
    path: Path, value: object
) -> None:
    event = parse_with(stripe.invoice_paid_basil(), (*CHECKOUT, *path), value)
    assert event.payment_intent_ids == ()


def test_a_basil_invoice_lists_each_payment_intent_once_in_payment_order() -> None:
    payload = stripe.invoice_paid_basil()
    payments = payload["data"]["object"]["payments"]["data"]
    failed = copy.deepcopy(payments[0])
    failed["payment"]["payment_intent"] = "pi_earlier_attempt"
    payments.insert(0, failed)
    payments.append(copy.deepcopy(payments[1]))
    out_of_band = copy.deepcopy(payments[1])
    out_of_band["payment"] = {"type": "charge", "charge": "ch_1", "payment_intent": None}
    payments.append(out_of_band)
    event = parse_invoice(payload)
    assert event.payment_intent_ids == ("pi_earlier_attempt", stripe.BASIL_INVOICE_INTENT)


@pytest.mark.parametrize(
    ("path", "value"),
    [(("parent",), None), (("parent", "subscription_details"), None), (("parent",), DELETE)],
)
def test_a_basil_invoice_without_a_subscription_parent_has_no_subscription(
    path: Path, value: object
) -> None:
    assert (
        parse_with(stripe.invoice_paid_basil(), (*CHECKOUT, *path), value).subscription_id is None
    )


def test_a_pre_basil_invoice_with_a_null_subscription_has_no_subscription() -> None:
    event = parse_with(stripe.invoice_paid_pre_basil(), (*CHECKOUT, "subscription"), None)
    assert event.subscription_id is None


def test_an_invoice_total_may_be_negative_and_total_excluding_tax_absent() -> None:
    payload = stripe.invoice_paid_basil()
    payload["data"]["object"].update(total=-500, amount_paid=0)
    del payload["data"]["object"]["total_excluding_tax"]
    event = parse_invoice(payload)
    assert (event.total, event.amount_paid, event.total_excluding_tax) == (-500, 0, None)


@pytest.mark.parametrize("total", [2**63 - 1, -(2**63)])
def test_the_64_bit_extremes_are_accepted(total: int) -> None:
    assert parse_with(stripe.invoice_paid_basil(), (*CHECKOUT, "total"), total).total == total


# --- malformed events -------------------------------------------------------------------------

MALFORMED: list[Any] = [
    # wrong types, with the field named
    (
        stripe.checkout_completed_pre_basil,
        (*CHECKOUT, "amount_total"),
        "11900",
        "data.object.amount_total: expected an integer, got str",
    ),
    (
        stripe.checkout_completed_pre_basil,
        (*CHECKOUT, "amount_total"),
        True,
        "data.object.amount_total: expected an integer, got bool",
    ),
    (
        stripe.charge_refunded_basil,
        (*CHECKOUT, "amount"),
        False,
        "data.object.amount: expected an integer, got bool",
    ),
    (
        stripe.checkout_completed_pre_basil,
        (*CHECKOUT, "amount_total"),
        11900.0,
        "data.object.amount_total: expected an integer, got float",
    ),
    (
        stripe.invoice_paid_basil,
        ("created",),
        "1767432100",
        "created: expected an integer, got str",
    ),
    (stripe.invoice_paid_basil, ("livemode",), "false", "livemode: expected a boolean, got str"),
    (stripe.invoice_paid_basil, ("livemode",), 0, "livemode: expected a boolean, got int"),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "mode"),
        1,
        "data.object.mode: expected a string, got int",
    ),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "metadata"),
        "clk_1",
        "data.object.metadata: expected an object, got str",
    ),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "total_details"),
        [],
        "data.object.total_details: expected an object, got array",
    ),
    (
        stripe.checkout_completed_basil,
        ("data", "object"),
        [],
        "data.object: expected an object, got array",
    ),
    (
        stripe.subscription_deleted_basil,
        (*CHECKOUT, "ended_at"),
        "soon",
        "data.object.ended_at: expected an integer, got str",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "billing_reason"),
        ["manual"],
        "data.object.billing_reason: expected a string, got array",
    ),
    # missing and null required fields
    (
        stripe.invoice_paid_pre_basil,
        (*CHECKOUT, "amount_paid"),
        DELETE,
        "data.object.amount_paid: missing",
    ),
    (
        stripe.invoice_paid_pre_basil,
        (*CHECKOUT, "amount_paid"),
        None,
        "data.object.amount_paid: is null",
    ),
    (stripe.checkout_completed_basil, (*CHECKOUT, "mode"), None, "data.object.mode: is null"),
    (stripe.charge_refunded_basil, (*CHECKOUT, "id"), DELETE, "data.object.id: missing"),
    (stripe.charge_refunded_basil, ("id",), "", "id: expected an id, got an empty string"),
    (stripe.charge_refunded_basil, ("data",), DELETE, "data: missing"),
    (stripe.charge_refunded_basil, ("type",), DELETE, "type: missing"),
    (stripe.charge_refunded_basil, ("livemode",), DELETE, "livemode: missing"),
    # negative amounts and times Stripe never sends
    (
        stripe.charge_refunded_basil,
        (*CHECKOUT, "amount_refunded"),
        -1,
        "data.object.amount_refunded: expected an integer >= 0, got -1",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "amount_paid"),
        -7621,
        "data.object.amount_paid: expected an integer >= 0, got -7621",
    ),
    (
        stripe.checkout_completed_pre_basil,
        (*CHECKOUT, "total_details", "amount_tax"),
        -1,
        "data.object.total_details.amount_tax: expected an integer >= 0, got -1",
    ),
    (
        stripe.checkout_completed_pre_basil,
        (*CHECKOUT, "amount_total"),
        -100,
        "data.object.amount_total: expected an integer >= 0, got -100",
    ),
    (
        stripe.subscription_deleted_pre_basil,
        ("created",),
        -5,
        "created: expected an integer >= 0, got -5",
    ),
    # integers beyond 64 bits
    (
        stripe.charge_refunded_pre_basil,
        (*CHECKOUT, "amount"),
        2**63,
        "data.object.amount: integer outside the 64-bit range",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "total"),
        -(2**63) - 1,
        "data.object.total: integer outside the 64-bit range",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "total"),
        10**400,
        "data.object.total: integer outside the 64-bit range",
    ),
    # ids that are neither strings nor objects with an id
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "customer"),
        42,
        "data.object.customer: expected an id or an object, got int",
    ),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "customer"),
        {"object": "customer"},
        "data.object.customer.id: missing",
    ),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "subscription"),
        {"id": 7},
        "data.object.subscription.id: expected a string, got int",
    ),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "invoice"),
        "",
        "data.object.invoice: expected an id, got an empty string",
    ),
    # currencies not in Stripe's form
    (
        stripe.charge_refunded_basil,
        (*CHECKOUT, "currency"),
        "JPY",
        "data.object.currency: expected a lower-case three-letter code, got 'JPY'",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "currency"),
        "",
        "data.object.currency: expected a lower-case three-letter code, got ''",
    ),
    # nested paths are named down to the list index
    (
        stripe.invoice_paid_basil,
        (*INVOICE_LINES, 1, "period", "start"),
        "x",
        "data.object.lines.data[1].period.start: expected an integer, got str",
    ),
    (
        stripe.invoice_paid_basil,
        (*INVOICE_LINES, 1, "parent", "subscription_item_details", "proration"),
        "false",
        "data.object.lines.data[1].parent.subscription_item_details.proration: "
        "expected a boolean, got str",
    ),
    (
        stripe.invoice_paid_basil,
        (*INVOICE_LINES, 1, "parent", "subscription_item_details"),
        None,
        "data.object.lines.data[1].parent.subscription_item_details: is null",
    ),
    (
        stripe.invoice_paid_pre_basil,
        (*INVOICE_LINES, 0),
        "il_1",
        "data.object.lines.data[0]: expected an object, got str",
    ),
    (
        stripe.invoice_paid_pre_basil,
        (*INVOICE_LINES, 2, "proration"),
        DELETE,
        "data.object.lines.data[2].proration: missing",
    ),
    (
        stripe.invoice_paid_pre_basil,
        (*INVOICE_LINES, 2, "period"),
        DELETE,
        "data.object.lines.data[2].period: missing",
    ),
    (
        stripe.invoice_paid_pre_basil,
        ("data", "object", "lines", "data"),
        {},
        "data.object.lines.data: expected an array, got object",
    ),
    (
        stripe.invoice_paid_basil,
        (*CHECKOUT, "payments", "data", 0, "payment", "payment_intent"),
        7,
        "data.object.payments.data[0].payment.payment_intent: expected an id or an object, got int",
    ),
    # not an event of a handled type, or not the object the type announces
    (
        stripe.charge_refunded_basil,
        ("type",),
        "customer.created",
        "type: unhandled event type 'customer.created'",
    ),
    (stripe.charge_refunded_basil, ("type",), 42, "type: expected a string, got int"),
    (
        stripe.charge_refunded_basil,
        ("object",),
        "v2.core.event",
        "object: expected 'event', got 'v2.core.event'",
    ),
    (stripe.charge_refunded_basil, ("object",), DELETE, "object: missing"),
    (
        stripe.checkout_completed_basil,
        (*CHECKOUT, "object"),
        "invoice",
        "data.object.object: expected 'checkout.session', got 'invoice'",
    ),
]


@pytest.mark.parametrize(
    ("factory", "path", "value", "message"),
    MALFORMED,
    ids=[f"{'.'.join(map(str, case[1]))}={case[2]!r:.20}" for case in MALFORMED],
)
def test_a_malformed_field_is_refused_with_its_path_and_problem(
    factory: Callable[[], Payload], path: Path, value: object, message: str
) -> None:
    with pytest.raises(EventParseError) as caught:
        parse_with(factory(), path, value)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("", "body: invalid JSON", id="empty"),
        pytest.param("{", "body: invalid JSON", id="truncated"),
        pytest.param('{"id": "evt_1",}', "body: invalid JSON", id="trailing-comma"),
        pytest.param('{"amount": NaN}', "body: invalid JSON (the constant NaN", id="nan"),
        pytest.param(
            '{"amount": -Infinity}', "body: invalid JSON (the constant -Infinity", id="inf"
        ),
        pytest.param("[" * 100_000 + "]" * 100_000, "body: invalid JSON", id="deep-nesting"),
        pytest.param('{"amount": ' + "9" * 5000 + "}", "body: invalid JSON", id="huge-integer"),
        pytest.param("\ufeff{}", "body: invalid JSON", id="byte-order-mark"),
        pytest.param(b'{"id": "evt_\xff"}', "body: not UTF-8", id="not-utf8"),
        pytest.param('{"id": "evt_1"}'.encode("utf-16"), "body: not UTF-8", id="utf16"),
        pytest.param("[]", "body: expected a JSON object, got array", id="array"),
        pytest.param("null", "body: expected a JSON object, got null", id="null"),
        pytest.param('"event"', "body: expected a JSON object, got str", id="string"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused(raw: str | bytes, message: str) -> None:
    with pytest.raises(EventParseError, match=r"^" + message.replace("(", r"\(")):
        parse_event(raw)


def test_an_unhandled_type_is_quoted_shortened_in_the_message() -> None:
    with pytest.raises(EventParseError) as caught:
        parse_with(stripe.charge_refunded_basil(), ("type",), "x" * 10_000)
    assert len(str(caught.value)) < 200


def test_an_event_parse_error_is_a_domain_error() -> None:
    assert issubclass(EventParseError, DomainError)


# --- nothing but EventParseError ever escapes ---------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**63 + 2)
    | st.integers(min_value=-(2**63) - 2, max_value=-(2**63) + 2)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["", "usd", "evt_1", "subscription", "subscription_item_details", "event"])
)
json_values = st.recursive(
    _scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def _parses_or_refuses(raw: str | bytes) -> None:
    try:
        event = parse_event(raw)
    except EventParseError:
        return
    assert isinstance(
        event, CheckoutSessionCompleted | InvoicePaid | ChargeRefunded | SubscriptionDeleted
    )


@settings(max_examples=300)
@given(
    json_values.map(json.dumps)
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | st.builds(
        lambda kind, rest: json.dumps({**rest, "object": "event", "type": kind}),
        st.sampled_from(
            sorted(
                {
                    "checkout.session.completed",
                    "invoice.paid",
                    "charge.refunded",
                    "customer.subscription.deleted",
                }
            )
        ),
        st.dictionaries(st.sampled_from(["id", "created", "livemode", "data"]), json_values),
    )
)
def test_any_json_or_bytes_either_parses_or_raises_event_parse_error(raw: str | bytes) -> None:
    _parses_or_refuses(raw)


def _paths(value: object, prefix: Path = ()) -> list[Path]:
    """Every path into a JSON value, the root excluded."""
    children: list[tuple[str | int, object]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    found: list[Path] = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


@st.composite
def mutated_payloads(draw: st.DrawFn) -> Payload:
    payload = draw(st.sampled_from(sorted(stripe.ALL)).map(lambda name: stripe.ALL[name]()))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        value = draw(st.just(DELETE) | json_values)
        if value is DELETE and isinstance(path[-1], int):
            value = None  # a list item is replaced, never removed, to keep indexes meaningful
        payload = mutated(payload, path, value)
    return payload


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_payloads())
def test_any_mutation_of_a_valid_event_either_parses_or_raises_event_parse_error(
    payload: Payload,
) -> None:
    _parses_or_refuses(json.dumps(payload))
