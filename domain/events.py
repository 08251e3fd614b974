"""The four Stripe webhook events the rules act on, parsed into typed, frozen values.

One deployment receives two payload shapes: API version 2025-03-31.basil moved an invoice's
subscription, payments and line details, and accounts upgrade at their own pace. The parsers
read the shape from the fields present, not from `api_version`, so that later versions with
the basil shape (and their unknown names) need no list here.

Everything malformed raises EventParseError naming the field and the problem; no other
exception escapes parse_event. Only the fields the rules use are read and checked; the rest of
the payload is ignored, whatever it holds.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from domain.errors import DomainError

#: Stripe's integers are 64-bit; anything beyond is not something Stripe sent
_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1
#: Unix seconds of 3000-01-01T00:00:00Z. Stripe's times are about now; a later one is not
#: something Stripe sent, and the date arithmetic on times (datetimes, month numbers) must not
#: overflow: such an event is refused here, once, rather than failing at every retry.
_MAX_TIMESTAMP = 32_503_680_000
_CURRENCY = re.compile(r"[a-z]{3}")
#: characters of an unexpected value quoted in an error message
_QUOTE_LIMIT = 80


class EventParseError(DomainError):
    """The body is not an event this service can act on; the message names field and problem."""


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


# --- typed reading of JSON objects ------------------------------------------------------------


def _kind(value: object) -> str:
    """The name an error message gives a JSON value's type ("str", "bool", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def _quote(text: str) -> str:
    return repr(text[:_QUOTE_LIMIT] + ("..." if len(text) > _QUOTE_LIMIT else ""))


class _Fields:
    """A JSON object and its path from the event's root, with readers that check types.

    Required readers refuse a missing key and null alike; optional ones return None for both,
    since Stripe omits some nullable fields and sends null for others.
    """

    __slots__ = ("_path", "_values")

    def __init__(self, values: dict[str, object], path: str) -> None:
        self._values = values
        self._path = path

    def _where(self, key: str) -> str:
        return f"{self._path}.{key}" if self._path else key

    def error(self, key: str, problem: str) -> EventParseError:
        return EventParseError(f"{self._where(key)}: {problem}")

    def raw(self, key: str) -> object:
        return self._values.get(key)

    def has(self, key: str) -> bool:
        return key in self._values

    def _required(self, key: str) -> object:
        value = self._values.get(key)
        if value is None:
            raise self.error(key, "missing" if key not in self._values else "is null")
        return value

    def _check_int(self, key: str, value: object, minimum: int, maximum: int) -> int:
        # bool is an int subclass in Python: `true` must not pass for 1
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, f"expected an integer, got {_kind(value)}")
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise self.error(key, "integer outside the 64-bit range")
        if value < minimum:
            raise self.error(key, f"expected an integer >= {minimum}, got {value}")
        if value > maximum:
            raise self.error(key, f"expected an integer <= {maximum}, got {value}")
        return value

    def integer(self, key: str, *, minimum: int = _INT64_MIN, maximum: int = _INT64_MAX) -> int:
        return self._check_int(key, self._required(key), minimum, maximum)

    def optional_integer(
        self, key: str, *, minimum: int = _INT64_MIN, maximum: int = _INT64_MAX
    ) -> int | None:
        value = self._values.get(key)
        return None if value is None else self._check_int(key, value, minimum, maximum)

    def timestamp(self, key: str) -> int:
        """Unix seconds, from 1970 to before the year 3000."""
        return self.integer(key, minimum=0, maximum=_MAX_TIMESTAMP)

    def optional_timestamp(self, key: str) -> int | None:
        return self.optional_integer(key, minimum=0, maximum=_MAX_TIMESTAMP)

    def _check_str(self, key: str, value: object) -> str:
        if not isinstance(value, str):
            raise self.error(key, f"expected a string, got {_kind(value)}")
        return value

    def string(self, key: str) -> str:
        return self._check_str(key, self._required(key))

    def optional_string(self, key: str) -> str | None:
        value = self._values.get(key)
        return None if value is None else self._check_str(key, value)

    def identifier(self, key: str) -> str:
        value = self.string(key)
        if not value:
            raise self.error(key, "expected an id, got an empty string")
        return value

    def boolean(self, key: str) -> bool:
        value = self._required(key)
        if not isinstance(value, bool):
            raise self.error(key, f"expected a boolean, got {_kind(value)}")
        return value

    def currency(self, key: str) -> str:
        value = self.string(key)
        if not _CURRENCY.fullmatch(value):
            raise self.error(key, f"expected a lower-case three-letter code, got {_quote(value)}")
        return value

    def optional_currency(self, key: str) -> str | None:
        return None if self._values.get(key) is None else self.currency(key)

    def constant(self, key: str, expected: str) -> None:
        value = self.string(key)
        if value != expected:
            raise self.error(key, f"expected {expected!r}, got {_quote(value)}")

    def _check_object(self, key: str, value: object) -> _Fields:
        if not isinstance(value, dict):
            raise self.error(key, f"expected an object, got {_kind(value)}")
        return _Fields(value, self._where(key))

    def child(self, key: str) -> _Fields:
        return self._check_object(key, self._required(key))

    def optional_child(self, key: str) -> _Fields | None:
        value = self._values.get(key)
        return None if value is None else self._check_object(key, value)

    def children(self, key: str) -> list[_Fields]:
        """A required array of objects, each named by its index ("lines.data[2]")."""
        value = self._required(key)
        if not isinstance(value, list):
            raise self.error(key, f"expected an array, got {_kind(value)}")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self.error(f"{key}[{index}]", f"expected an object, got {_kind(item)}")
            items.append(_Fields(item, self._where(f"{key}[{index}]")))
        return items

    def reference(self, key: str) -> str | None:
        """An optional id, given as a string or as the expanded object that has it as "id"."""
        value = self._values.get(key)
        if value is None:
            return None
        if isinstance(value, dict):
            return self._check_object(key, value).identifier("id")
        if isinstance(value, str):
            return self.identifier(key)
        raise self.error(key, f"expected an id or an object, got {_kind(value)}")


def _refuse_constant(name: str) -> object:
    # json accepts NaN and Infinity by default; they are not JSON and Stripe never sends them
    raise EventParseError(f"body: invalid JSON (the constant {name} is not JSON)")


def _load(body: str | bytes) -> _Fields:
    if isinstance(body, str):
        text = body
    else:
        try:
            # Stripe sends UTF-8; json's own detection would also accept UTF-16 and UTF-32
            text = body.decode("utf-8")
        except UnicodeDecodeError as error:
            raise EventParseError(
                f"body: not UTF-8 ({error.reason} at byte {error.start})"
            ) from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except EventParseError:
        raise
    except RecursionError:
        raise EventParseError("body: invalid JSON (nested too deeply)") from None
    except ValueError as error:  # JSONDecodeError, and integers too long to convert
        raise EventParseError(f"body: invalid JSON ({error})") from None
    if not isinstance(value, dict):
        raise EventParseError(f"body: expected a JSON object, got {_kind(value)}")
    return _Fields(value, "")


# --- the parsers ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Envelope:
    event_id: str
    created: int
    livemode: bool


def _parse_checkout(envelope: _Envelope, session: _Fields) -> CheckoutSessionCompleted:
    """`checkout.session.completed`: data.object is a Checkout Session, the same in both shapes.

    Reads id, mode, payment_status, amount_total (null in setup mode), currency (null in setup
    mode), total_details.amount_tax (total_details null or absent, or its tax null: 0), the
    references customer, subscription, payment_intent and invoice (id strings or expanded
    objects, each nullable), and metadata.tracClickId (kept only if a string).
    """
    totals = session.optional_child("total_details")
    amount_tax = totals.optional_integer("amount_tax", minimum=0) if totals else None
    metadata = session.optional_child("metadata")
    click_id = metadata.raw("tracClickId") if metadata else None
    return CheckoutSessionCompleted(
        event_id=envelope.event_id,
        created=envelope.created,
        livemode=envelope.livemode,
        session_id=session.identifier("id"),
        mode=session.string("mode"),
        payment_status=session.string("payment_status"),
        amount_total=session.optional_integer("amount_total", minimum=0),
        amount_tax=amount_tax or 0,
        currency=session.optional_currency("currency"),
        customer_id=session.reference("customer"),
        subscription_id=session.reference("subscription"),
        payment_intent_id=session.reference("payment_intent"),
        invoice_id=session.reference("invoice"),
        click_id=click_id if isinstance(click_id, str) else None,
    )


def _invoice_subscription(invoice: _Fields) -> str | None:
    """`subscription` before basil; `parent.subscription_details.subscription` from basil on."""
    legacy = invoice.reference("subscription")
    if legacy is not None:
        return legacy
    parent = invoice.optional_child("parent")
    details = parent.optional_child("subscription_details") if parent else None
    return details.reference("subscription") if details else None


def _invoice_payment_intents(invoice: _Fields) -> tuple[str, ...]:
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


def _is_subscription_line(line: _Fields) -> bool:
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


def _service_period_start(invoice: _Fields) -> int | None:
    """The earliest `period.start` among the subscription lines of `lines.data`, if any."""
    lines = invoice.optional_child("lines")
    starts = [
        line.child("period").timestamp("start")
        for line in (lines.children("data") if lines else [])
        if _is_subscription_line(line)
    ]
    return min(starts, default=None)


def _parse_invoice(envelope: _Envelope, invoice: _Fields) -> InvoicePaid:
    """`invoice.paid`: data.object is an Invoice, in either shape.

    Both: id, billing_reason, amount_paid, total (may be negative), total_excluding_tax,
    currency, customer, period_start, period_end, lines.data[].period.start.
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
    )


def _parse_charge(envelope: _Envelope, charge: _Fields) -> ChargeRefunded:
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


def _parse_subscription(envelope: _Envelope, subscription: _Fields) -> SubscriptionDeleted:
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


_Parser = Callable[[_Envelope, _Fields], StripeEvent]

#: event type -> (data.object.object, parser)
_PARSERS: dict[str, tuple[str, _Parser]] = {
    "checkout.session.completed": ("checkout.session", _parse_checkout),
    "invoice.paid": ("invoice", _parse_invoice),
    "charge.refunded": ("charge", _parse_charge),
    "customer.subscription.deleted": ("subscription", _parse_subscription),
}


def parse_event(body: str | bytes) -> StripeEvent:
    """Parse a raw Stripe event body (a snapshot event, object "event") into its typed value.

    The envelope gives id, created, livemode and type; data.object must be the object the
    type is about. Raises EventParseError, and nothing else, for anything malformed or for a
    type the rules do not handle.
    """
    root = _load(body)
    root.constant("object", "event")  # thin events ("v2.core.event") are another format
    event_type = root.string("type")
    if event_type not in _PARSERS:
        raise root.error("type", f"unhandled event type {_quote(event_type)}")
    object_name, parser = _PARSERS[event_type]
    envelope = _Envelope(
        event_id=root.identifier("id"),
        created=root.timestamp("created"),
        livemode=root.boolean("livemode"),
    )
    data_object = root.child("data").child("object")
    data_object.constant("object", object_name)
    return parser(envelope, data_object)
