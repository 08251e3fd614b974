"""The Stripe webhook events the rules act on, parsed into typed, frozen values.

One deployment receives two payload shapes: API version 2025-03-31.basil moved an invoice's
subscription, payments and line details, and accounts upgrade at their own pace. The parsers
read the shape from the fields present, not from `api_version`, so that later versions with
the basil shape (and their unknown names) need no list here. API 2025-09-30.clover removed
Checkout's `currency_conversion` (domain.adaptive_pricing reads a session with or without
it); no other clover change to the fields read here is known. tests/fixtures/stripe holds a
clover payload of every handled type.

Everything malformed raises EventParseError naming the field and the problem; no other
exception escapes parse_event. Only the fields the rules use are read and checked; the rest of
the payload is ignored, whatever it holds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from domain.adaptive_pricing import sale_amounts
from domain.envelope import Envelope, read_envelope
from domain.json_fields import EventParseError, Fields, load, quote
from domain.promotion_codes import checkout_promotion_codes, invoice_promotion_codes

__all__ = [
    "ChargeRefunded",
    "CheckoutSessionCompleted",
    "EventParseError",
    "InvoicePaid",
    "StripeEvent",
    "SubscriptionDeleted",
    "parse_charge_refunded",
    "parse_checkout_session_async_payment_failed",
    "parse_checkout_session_async_payment_succeeded",
    "parse_checkout_session_completed",
    "parse_customer_subscription_deleted",
    "parse_event",
    "parse_invoice_paid",
]


# --- the parsed events ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CheckoutSessionCompleted:
    event_id: str
    created: int
    livemode: bool
    session_id: str
    mode: str
    payment_status: str
    amount_total: int | None  # null in setup mode
    amount_tax: int  # total_details.amount_tax; 0 when absent
    currency: str | None  # null in setup mode
    customer_id: str | None
    subscription_id: str | None
    payment_intent_id: str | None
    invoice_id: str | None
    click_id: str | None  # metadata.tracClickId as sent; blank is for the rules to judge
    #: as sent (Payment Links and Pricing Tables pass a click id here); None if not a string
    #: or empty (Stripe's own "not set")
    client_reference_id: str | None = None
    #: Adaptive Pricing: what the customer paid in their own currency (None when they paid in
    #: the merchant's); amount_total, amount_tax and currency above are always the merchant's
    #: (domain.adaptive_pricing)
    presentment_amount: int | None = None
    presentment_currency: str | None = None
    #: `discounts[].promotion_code`, in order (domain.promotion_codes)
    promotion_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InvoicePaid:
    event_id: str
    created: int
    livemode: bool
    invoice_id: str
    billing_reason: str | None
    amount_paid: int
    total: int  # may be negative (credits)
    total_excluding_tax: int | None
    currency: str
    customer_id: str | None
    subscription_id: str | None
    payment_intent_ids: tuple[str, ...]
    charge_id: str | None
    #: the earliest period.start of a non-proration subscription line: the period paid for
    service_period_start: int | None
    #: the invoice's own period; for a renewal, period_end is the new period's start
    period_end: int | None
    period_start: int | None
    #: `tracClickId` of the subscription's metadata as Stripe copies it onto the invoice
    #: (basil: parent.subscription_details.metadata; before: subscription_details.metadata);
    #: None if absent or not a string
    subscription_click_id: str | None = None
    #: the promotion codes of the invoice's discounts, in order (domain.promotion_codes)
    promotion_codes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ChargeRefunded:
    event_id: str
    created: int
    livemode: bool
    charge_id: str
    payment_intent_id: str | None
    amount: int
    amount_refunded: int  # cumulative over every refund of the charge
    currency: str
    customer_id: str | None
    invoice_id: str | None  # before basil only


@dataclass(frozen=True, slots=True)
class SubscriptionDeleted:
    event_id: str
    created: int
    livemode: bool
    subscription_id: str
    customer_id: str | None
    ended_at: int | None
    canceled_at: int | None


StripeEvent = CheckoutSessionCompleted | InvoicePaid | ChargeRefunded | SubscriptionDeleted


# --- the parsers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Envelope:
    event_id: str
    created: int
    livemode: bool


def _parse_checkout(envelope: _Envelope, session: Fields) -> CheckoutSessionCompleted:
    """`checkout.session.completed` (and `.async_payment_succeeded` / `.async_payment_failed`,
    which carry the same object): data.object is a Checkout Session, the same in both shapes.

    Reads id, mode, payment_status, amount_total (null in setup mode), currency (null in setup
    mode), total_details.amount_tax (total_details null or absent, or its tax null: 0), the
    references customer, subscription, payment_intent and invoice (id strings or expanded
    objects, each nullable), metadata.tracClickId and client_reference_id (each kept only if a
    string), discounts[].promotion_code. Adaptive Pricing's currency_conversion (before
    2025-03-31 sessions, gone from API 2025-09-30.clover) or presentment_details (later
    sessions): the amounts kept are the merchant's, the customer's beside them
    (domain.adaptive_pricing).
    """
    totals = session.optional_child("total_details")
    amount_tax = totals.optional_integer("amount_tax", minimum=0) if totals else None
    sale = sale_amounts(session, amount_tax or 0)
    metadata = session.optional_child("metadata")
    click_id = metadata.raw("tracClickId") if metadata else None
    reference = session.raw("client_reference_id")
    return CheckoutSessionCompleted(
        event_id=envelope.event_id,
        created=envelope.created,
        livemode=envelope.livemode,
        session_id=session.identifier("id"),
        mode=session.string("mode"),
        payment_status=session.string("payment_status"),
        amount_total=sale.amount_total,
        amount_tax=sale.amount_tax,
        currency=sale.currency,
        customer_id=session.reference("customer"),
        subscription_id=session.reference("subscription"),
        payment_intent_id=session.reference("payment_intent"),
        invoice_id=session.reference("invoice"),
        click_id=click_id if isinstance(click_id, str) else None,
        client_reference_id=reference if isinstance(reference, str) and reference else None,
        presentment_amount=sale.presentment_amount,
        presentment_currency=sale.presentment_currency,
        promotion_codes=checkout_promotion_codes(session),
    )


def _invoice_subscription(invoice: Fields) -> str | None:
    """`subscription` before basil; `parent.subscription_details.subscription` from basil on."""
    legacy = invoice.reference("subscription")
    if legacy is not None:
        return legacy
    parent = invoice.optional_child("parent")
    details = parent.optional_child("subscription_details") if parent else None
    return details.reference("subscription") if details else None


def _subscription_click_id(invoice: Fields) -> str | None:
    """`tracClickId` of the subscription's metadata that Stripe copies onto its invoices:
    `parent.subscription_details.metadata` from basil on, `subscription_details.metadata`
    before (each may be absent or null)."""
    parent = invoice.optional_child("parent")
    basil = parent.optional_child("subscription_details") if parent else None
    details = basil if basil is not None else invoice.optional_child("subscription_details")
    metadata = details.optional_child("metadata") if details else None
    value = metadata.raw("tracClickId") if metadata else None
    return value if isinstance(value, str) else None


def _invoice_payment_intents(invoice: Fields) -> tuple[str, ...]:
    """`payment_intent` before basil; `payments.data[].payment.payment_intent` from basil on.

    Basil's `payments` is often absent from webhook payloads: then there is none to report.
    """
    found: list[str] = []
    legacy = invoice.reference("payment_intent")
    if legacy is not None:
        found.append(legacy)
    payments = invoice.optional_child("payments")
    for entry in payments.children("data") if payments else []:
        payment = entry.optional_child("payment")
        intent = payment.reference("payment_intent") if payment else None
        if intent is not None and intent not in found:
            found.append(intent)
    return tuple(found)


def _is_subscription_line(line: Fields) -> bool:
    """A line for the subscription's own period, not a proration and not an invoice item.

    Basil lines carry `parent` (type "subscription_item_details" with
    `subscription_item_details.proration`); older lines carry `type` ("subscription" or
    "invoiceitem") and `proration`.
    """
    if line.has("parent"):
        parent = line.optional_child("parent")
        if parent is None or parent.string("type") != "subscription_item_details":
            return False
        return not parent.child("subscription_item_details").boolean("proration")
    return line.string("type") == "subscription" and not line.boolean("proration")


def _service_period_start(invoice: Fields) -> int | None:
    """The earliest `period.start` among the subscription lines of `lines.data`, if any."""
    lines = invoice.optional_child("lines")
    starts = [
        line.child("period").timestamp("start")
        for line in (lines.children("data") if lines else [])
        if _is_subscription_line(line)
    ]
    return min(starts, default=None)


def _parse_invoice(envelope: _Envelope, invoice: Fields) -> InvoicePaid:
    """`invoice.paid`: data.object is an Invoice, in either shape.

    Both: id, billing_reason, amount_paid, total (may be negative), total_excluding_tax,
    currency, customer, period_start, period_end, lines.data[].period.start, the promotion
    codes of discount/discounts, the subscription metadata's tracClickId.
    Before basil: subscription, payment_intent, charge, and lines typed by `type`/`proration`.
    From basil: parent.subscription_details.subscription, payments.data[].payment
    .payment_intent (when included), and lines typed by `parent`.
    """
    return InvoicePaid(
        event_id=envelope.event_id,
        created=envelope.created,
        livemode=envelope.livemode,
        invoice_id=invoice.identifier("id"),
        billing_reason=invoice.optional_string("billing_reason"),
        amount_paid=invoice.integer("amount_paid", minimum=0),
        total=invoice.integer("total"),
        total_excluding_tax=invoice.optional_integer("total_excluding_tax"),
        currency=invoice.currency("currency"),
        customer_id=invoice.reference("customer"),
        subscription_id=_invoice_subscription(invoice),
        payment_intent_ids=_invoice_payment_intents(invoice),
        charge_id=invoice.reference("charge"),
        service_period_start=_service_period_start(invoice),
        period_end=invoice.optional_timestamp("period_end"),
        period_start=invoice.optional_timestamp("period_start"),
        subscription_click_id=_subscription_click_id(invoice),
        promotion_codes=invoice_promotion_codes(invoice),
    )


def _parse_charge(envelope: _Envelope, charge: Fields) -> ChargeRefunded:
    """`charge.refunded`: data.object is a Charge.

    Reads id, payment_intent, amount, amount_refunded (cumulative), currency, customer, and
    invoice, which basil removed (then None).
    """
    return ChargeRefunded(
        event_id=envelope.event_id,
        created=envelope.created,
        livemode=envelope.livemode,
        charge_id=charge.identifier("id"),
        payment_intent_id=charge.reference("payment_intent"),
        amount=charge.integer("amount", minimum=0),
        amount_refunded=charge.integer("amount_refunded", minimum=0),
        currency=charge.currency("currency"),
        customer_id=charge.reference("customer"),
        invoice_id=charge.reference("invoice"),
    )


def _parse_subscription(envelope: _Envelope, subscription: Fields) -> SubscriptionDeleted:
    """`customer.subscription.deleted`: data.object is a Subscription, the same in both shapes.

    Reads id, customer, ended_at and canceled_at (both nullable).
    """
    return SubscriptionDeleted(
        event_id=envelope.event_id,
        created=envelope.created,
        livemode=envelope.livemode,
        subscription_id=subscription.identifier("id"),
        customer_id=subscription.reference("customer"),
        ended_at=subscription.optional_timestamp("ended_at"),
        canceled_at=subscription.optional_timestamp("canceled_at"),
    )


_E = TypeVar("_E", bound=StripeEvent)
_Parser = Callable[[_Envelope, Fields], StripeEvent]

#: event type -> (data.object.object, parser)
_PARSERS: dict[str, tuple[str, _Parser]] = {
    "checkout.session.completed": ("checkout.session", _parse_checkout),
    "checkout.session.async_payment_succeeded": ("checkout.session", _parse_checkout),
    "checkout.session.async_payment_failed": ("checkout.session", _parse_checkout),
    "invoice.paid": ("invoice", _parse_invoice),
    "charge.refunded": ("charge", _parse_charge),
    "customer.subscription.deleted": ("subscription", _parse_subscription),
}


def _parse(
    root: Fields, envelope: Envelope, object_name: str, parser: Callable[[_Envelope, Fields], _E]
) -> _E:
    data_object = root.child("data").child("object")
    data_object.constant("object", object_name)
    return parser(_Envelope(envelope.id, envelope.created, envelope.livemode), data_object)


def _root(body: str | bytes) -> tuple[Fields, Envelope]:
    root = load(body)
    return root, read_envelope(root)  # the ingress' reader: the two never disagree


def parse_event(body: str | bytes) -> StripeEvent:
    """Parse a raw Stripe event body (a snapshot event, object "event") into its typed value.

    The envelope gives id, created, livemode and type; data.object must be the object the
    type is about. Raises EventParseError, and nothing else, for anything malformed or for a
    type the rules do not handle.
    """
    root, envelope = _root(body)
    if envelope.type not in _PARSERS:
        raise root.error("type", f"unhandled event type {quote(envelope.type)}")
    object_name, parser = _PARSERS[envelope.type]
    return _parse(root, envelope, object_name, parser)


def _typed(
    event_type: str, object_name: str, parser: Callable[[_Envelope, Fields], _E]
) -> Callable[[str | bytes], _E]:
    """The parser of one event type: parse_event's checks, and the body's type must be it."""

    def parse(body: str | bytes) -> _E:
        root, envelope = _root(body)
        if envelope.type != event_type:
            raise root.error("type", f"expected {event_type!r}, got {quote(envelope.type)}")
        return _parse(root, envelope, object_name, parser)

    parse.__name__ = "parse_" + event_type.replace(".", "_")
    parse.__doc__ = f"Parse a {event_type} body (EventParseError for anything else)."
    return parse


parse_checkout_session_completed = _typed(
    "checkout.session.completed", "checkout.session", _parse_checkout
)
#: the delayed payment of a session that completed unpaid: the same Checkout Session object
parse_checkout_session_async_payment_succeeded = _typed(
    "checkout.session.async_payment_succeeded", "checkout.session", _parse_checkout
)
parse_checkout_session_async_payment_failed = _typed(
    "checkout.session.async_payment_failed", "checkout.session", _parse_checkout
)
parse_invoice_paid = _typed("invoice.paid", "invoice", _parse_invoice)
parse_charge_refunded = _typed("charge.refunded", "charge", _parse_charge)
parse_customer_subscription_deleted = _typed(
    "customer.subscription.deleted", "subscription", _parse_subscription
)
