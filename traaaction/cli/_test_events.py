"""What `traaaction send-test-event` sends: the event of each type its options describe, and
the commands that continue the scenario (the command itself: cli/send_test_event.py)."""

from __future__ import annotations

import shlex
from typing import Any

import click

from domain.months import add_months
from traaaction import stripe_payloads as sp

DEFAULT_AMOUNT = 10_000

_CHECKOUTS = (sp.CHECKOUT_COMPLETED, sp.ASYNC_PAYMENT_SUCCEEDED, sp.ASYNC_PAYMENT_FAILED)
_DISPUTES = (sp.DISPUTE_CREATED, sp.DISPUTE_CLOSED)
#: the events about a charge after its payment (what names the charge and its payment intent)
_CHARGE_EVENTS = (sp.CHARGE_REFUNDED, sp.REFUND_UPDATED, *_DISPUTES)

#: option -> the event types it applies to
_APPLIES: dict[str, tuple[str, ...]] = {
    "click_id": _CHECKOUTS,
    "mode": _CHECKOUTS,
    "payment_status": (sp.CHECKOUT_COMPLETED,),
    "session": _CHECKOUTS,
    "amount": (*_CHECKOUTS, sp.INVOICE_PAID, *_CHARGE_EVENTS),
    "tax": (*_CHECKOUTS, sp.INVOICE_PAID),
    "currency": (*_CHECKOUTS, sp.INVOICE_PAID, *_CHARGE_EVENTS),
    "customer": (*_CHECKOUTS, sp.INVOICE_PAID, sp.CHARGE_REFUNDED, sp.SUBSCRIPTION_DELETED),
    "subscription": (*_CHECKOUTS, sp.INVOICE_PAID, sp.SUBSCRIPTION_DELETED),
    "payment_intent": (*_CHECKOUTS, sp.INVOICE_PAID, *_CHARGE_EVENTS),
    "invoice": (*_CHECKOUTS, sp.INVOICE_PAID),
    "charge": _CHARGE_EVENTS,
    "billing_reason": (sp.INVOICE_PAID,),
    "month": (sp.INVOICE_PAID,),
    "refunded": (sp.CHARGE_REFUNDED,),
    "refund": (sp.REFUND_UPDATED,),
    "dispute": _DISPUTES,
    "status": (sp.REFUND_UPDATED, *_DISPUTES),
}

#: --status: what each type takes, its default first
STATUSES: dict[str, tuple[str, ...]] = {
    sp.REFUND_UPDATED: ("failed", *(s for s in sp.REFUND_STATUSES if s != "failed")),
    sp.DISPUTE_CREATED: sp.DISPUTE_OPEN_STATUSES,
    sp.DISPUTE_CLOSED: ("lost", *(s for s in sp.DISPUTE_CLOSED_STATUSES if s != "lost")),
}
#: every value --status takes (click's choice; check_options narrows it to the type's)
ALL_STATUSES = tuple(dict.fromkeys(s for statuses in STATUSES.values() for s in statuses))

# --- building -----------------------------------------------------------------------------------


def check_options(event_type: str, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if value is not None and event_type not in _APPLIES[name]:
            flag = "--" + name.replace("_", "-")
            takes = ", ".join(t for t in sp.EVENT_TYPES if t in _APPLIES[name])
            raise click.UsageError(f"{flag} does not go with --type {event_type} (only {takes})")
    status = given.get("status")
    if status is not None and status not in STATUSES[event_type]:
        raise click.UsageError(
            f"--status {status} does not go with --type {event_type} (it takes "
            f"{', '.join(STATUSES[event_type])})"
        )


def invoice_month(options: dict[str, Any]) -> int:
    """The subscription month an invoice.paid pays for (`--month`, or its default)."""
    month: int | None = options["month"]
    if month is not None:
        return month
    return 1 if options["billing_reason"] == "subscription_create" else 2


def _id(value: str | None) -> str | sp.Auto:
    """An id option as the builders take it: not given, a new one (never null)."""
    return sp.AUTO if value is None else value


def build_event(
    event_type: str, options: dict[str, Any], *, api_version: str, now: int
) -> sp.BuiltEvent:
    """The event to send, from the command's options (None: the builder's default)."""
    o = options
    amount = DEFAULT_AMOUNT if o["amount"] is None else o["amount"]
    common: dict[str, Any] = {
        "created": now,
        "api_version": api_version,
        "customer": _id(o["customer"]),
    }
    if event_type in _CHECKOUTS:
        session: dict[str, Any] = {
            "mode": o["mode"] or "payment",
            "amount": amount,
            "tax": o["tax"] or 0,
            "currency": o["currency"] or "usd",
            "click_id": o["click_id"],
            "payment_intent": _id(o["payment_intent"]),
            "subscription": _id(o["subscription"]),
            "invoice": _id(o["invoice"]),
            "session_id": _id(o["session"]),
            **common,
        }
        if event_type == sp.CHECKOUT_COMPLETED:
            return sp.checkout_session_completed(
                payment_status=o["payment_status"] or "paid", **session
            )
        return sp.checkout_session_async_payment(
            succeeded=event_type == sp.ASYNC_PAYMENT_SUCCEEDED, **session
        )
    if event_type == sp.INVOICE_PAID:
        return sp.invoice_paid(
            subscription=_id(o["subscription"]),
            amount=amount,
            tax=o["tax"] or 0,
            currency=o["currency"] or "usd",
            billing_reason=o["billing_reason"] or "subscription_cycle",
            service_start=add_months(now, invoice_month(o) - 1),
            payment_intent=_id(o["payment_intent"]),
            invoice_id=_id(o["invoice"]),
            **common,
        )
    if event_type == sp.CHARGE_REFUNDED:
        return sp.charge_refunded(
            payment_intent=_id(o["payment_intent"]),
            amount=amount,
            amount_refunded=o["refunded"],
            currency=o["currency"] or "usd",
            charge_id=_id(o["charge"]),
            **common,
        )
    if event_type == sp.SUBSCRIPTION_DELETED:
        return sp.customer_subscription_deleted(subscription=_id(o["subscription"]), **common)
    charge: dict[str, Any] = {
        "amount": amount,
        "currency": o["currency"] or "usd",
        "charge_id": _id(o["charge"]),
        "payment_intent": _id(o["payment_intent"]),
        "status": o["status"] or STATUSES[event_type][0],
        "created": now,
        "api_version": api_version,
    }
    if event_type == sp.REFUND_UPDATED:
        return sp.charge_refund_updated(refund_id=_id(o["refund"]), **charge)
    if event_type == sp.DISPUTE_CREATED:
        return sp.charge_dispute_created(dispute_id=_id(o["dispute"]), **charge)
    # charge.dispute.closed
    return sp.charge_dispute_closed(dispute_id=_id(o["dispute"]), opened_at=None, **charge)


def next_steps(
    built: sp.BuiltEvent, options: dict[str, Any], *, endpoint_id: str, extra: list[str]
) -> list[str]:
    """Commands that send the events that follow this one: a delayed payment's outcome, a
    renewal, a refund and its failure, a dispute and its end, a deletion."""
    ids, obj = built.ids, built.body["data"]["object"]

    def command(event_type: str, *args: str) -> str:
        return shlex.join(["traaaction", "send-test-event", endpoint_id, "--type", event_type,
                           *args, *extra])  # fmt: skip

    def of_charge(*names: str) -> list[str]:
        """--charge ch_... --payment-intent pi_...: what later events of the charge name."""
        return [arg for name in names if ids.get(name) for arg in (_flag(name), ids[name])]

    if built.type in _CHARGE_EVENTS:
        money = ["--amount", str(obj["amount_refunded" if built.type == sp.CHARGE_REFUNDED
                                   else "amount"]), *_currency_flag(obj)]  # fmt: skip
        charge = of_charge("charge", "payment_intent")
        if built.type == sp.CHARGE_REFUNDED:
            return [command(sp.REFUND_UPDATED, *charge, *money, "--status", "failed")]
        if built.type == sp.DISPUTE_CREATED:
            dispute = ["--dispute", ids["dispute"], *charge, *money]
            return [
                command(sp.DISPUTE_CLOSED, *dispute, "--status", outcome)
                for outcome in ("won", "lost")
            ]
        return []
    if built.type not in (sp.CHECKOUT_COMPLETED, sp.ASYNC_PAYMENT_SUCCEEDED, sp.INVOICE_PAID):
        return []
    customer = ["--customer", ids["customer"]] if ids.get("customer") else []
    if built.type == sp.INVOICE_PAID:
        amount, tax = obj["amount_paid"], obj["total"] - obj["total_excluding_tax"]
        month = invoice_month(options)
    else:
        amount, tax, month = obj["amount_total"], obj["total_details"]["amount_tax"], 1
    money = ["--amount", str(amount), *_currency_flag(obj)]
    if obj.get("payment_status") == "unpaid":
        # A delayed payment: its outcome carries the same session.
        same = ["--session", obj["id"], "--mode", obj["mode"], *money, *customer]
        same += of_charge("payment_intent", "subscription", "invoice")
        same += ["--click-id", options["click_id"]] if options["click_id"] else []
        same += ["--tax", str(tax)] if tax else []
        return [command(t, *same) for t in (sp.ASYNC_PAYMENT_SUCCEEDED, sp.ASYNC_PAYMENT_FAILED)]
    steps = []
    if "payment_intent" in ids:
        intent = ["--payment-intent", ids["payment_intent"]]
        steps.append(command(sp.CHARGE_REFUNDED, *intent, *money, *customer))
        steps.append(command(sp.DISPUTE_CREATED, *intent, *money))
    if "subscription" in ids:
        renewal = ["--subscription", ids["subscription"], "--month", str(month + 1), *money]
        renewal += ["--tax", str(tax)] if tax else []
        steps.append(command(sp.INVOICE_PAID, *renewal, *customer))
        steps.append(
            command(sp.SUBSCRIPTION_DELETED, "--subscription", ids["subscription"], *customer)
        )
    return steps


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _currency_flag(obj: dict[str, Any]) -> list[str]:
    return ["--currency", obj["currency"]] if obj["currency"] != "usd" else []
