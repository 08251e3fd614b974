"""What `traaaction send-test-event` sends: the event of each type its options describe, and
the commands that continue the scenario (the command itself: cli/send_test_event.py)."""

from __future__ import annotations

import shlex
from typing import Any

import click

from domain.months import add_months
from traaaction import stripe_payloads as sp

DEFAULT_AMOUNT = 10_000

#: option -> the event types it applies to
_APPLIES: dict[str, tuple[str, ...]] = {
    "click_id": (sp.CHECKOUT_COMPLETED,),
    "mode": (sp.CHECKOUT_COMPLETED,),
    "amount": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID, sp.CHARGE_REFUNDED),
    "tax": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID),
    "currency": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID, sp.CHARGE_REFUNDED),
    "customer": sp.EVENT_TYPES,
    "subscription": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID, sp.SUBSCRIPTION_DELETED),
    "payment_intent": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID, sp.CHARGE_REFUNDED),
    "invoice": (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID),
    "charge": (sp.CHARGE_REFUNDED,),
    "billing_reason": (sp.INVOICE_PAID,),
    "month": (sp.INVOICE_PAID,),
    "refunded": (sp.CHARGE_REFUNDED,),
}

# --- building -----------------------------------------------------------------------------------


def check_options(event_type: str, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if value is not None and event_type not in _APPLIES[name]:
            flag = "--" + name.replace("_", "-")
            takes = ", ".join(t for t in sp.EVENT_TYPES if t in _APPLIES[name])
            raise click.UsageError(f"{flag} does not go with --type {event_type} (only {takes})")


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
    if event_type == sp.CHECKOUT_COMPLETED:
        return sp.checkout_session_completed(
            mode=o["mode"] or "payment",
            amount=amount,
            tax=o["tax"] or 0,
            currency=o["currency"] or "usd",
            click_id=o["click_id"],
            payment_intent=_id(o["payment_intent"]),
            subscription=_id(o["subscription"]),
            invoice=_id(o["invoice"]),
            **common,
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
    return sp.customer_subscription_deleted(subscription=_id(o["subscription"]), **common)


def next_steps(
    built: sp.BuiltEvent, options: dict[str, Any], *, endpoint_id: str, extra: list[str]
) -> list[str]:
    """Commands that send the events that follow this one: a renewal, a refund, a deletion."""
    ids, obj = built.ids, built.body["data"]["object"]
    if built.type not in (sp.CHECKOUT_COMPLETED, sp.INVOICE_PAID):
        return []

    def command(event_type: str, *args: str) -> str:
        return shlex.join(["traaaction", "send-test-event", endpoint_id, "--type", event_type,
                           *args, "--customer", ids["customer"], *extra])  # fmt: skip

    if built.type == sp.CHECKOUT_COMPLETED:
        amount, tax, month = obj["amount_total"], obj["total_details"]["amount_tax"], 1
    else:
        amount, tax = obj["amount_paid"], obj["total"] - obj["total_excluding_tax"]
        month = invoice_month(options)
    money = ["--amount", str(amount)]
    if obj["currency"] != "usd":
        money += ["--currency", obj["currency"]]
    steps = []
    if "payment_intent" in ids:
        steps.append(command(sp.CHARGE_REFUNDED, "--payment-intent", ids["payment_intent"], *money))
    if "subscription" in ids:
        renewal = ["--subscription", ids["subscription"], "--month", str(month + 1), *money]
        steps.append(command(sp.INVOICE_PAID, *renewal, *(["--tax", str(tax)] if tax else [])))
        steps.append(command(sp.SUBSCRIPTION_DELETED, "--subscription", ids["subscription"]))
    return steps
