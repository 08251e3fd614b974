"""`traaaction send-test-event`: a signed test event through the real ingress and workers.

Like `stripe trigger`, without Stripe: builds a realistic event (traaaction/stripe_payloads/),
signs it with the endpoint's newest active signing secret (opened from the database with the
master keys; never printed), POSTs it to the endpoint's URL, then waits for the event log's
verdict and shows the commissions it made (the sending and the waiting: cli/_sending.py).
"""

from __future__ import annotations

import shlex
import time
from datetime import UTC, datetime
from typing import Any

import click

from domain.months import add_months
from storage.models import WebhookEndpoint
from storage.repositories import endpoints
from traaaction import stripe_payloads as sp
from traaaction.cli._common import CliError, emit, json_option, runtime
from traaaction.cli._sending import (
    Verdict,
    await_verdict,
    commissions_of,
    newest_active_secret,
    parsed_answer,
    post,
    refusal,
    sign_now,
)
from traaaction.cli.endpoints import endpoint_url

#: settled outcomes that mean the pipeline did its work (exit 0)
GOOD = ("processed", "skipped", "duplicate", "ignored")
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

#: skip reasons this command's own options explain
_SKIP_HINTS = {
    "missing_click_id": "no --click-id: `traaaction click create --partner PRT` makes one",
    "unknown_click_id": "no click with that id in workspace {workspace}",
    "unattributed": (
        "no processed checkout has this subscription: send one with --mode subscription, "
        "then this event with its --subscription"
    ),
    "unlinked_charge": (
        "no commission has this payment intent: pass --payment-intent of a sale or an "
        "invoice sent before"
    ),
}


# --- building -----------------------------------------------------------------------------------


def _check_options(event_type: str, given: dict[str, Any]) -> None:
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


# --- output -------------------------------------------------------------------------------------


def _commission_line(c: dict[str, Any]) -> str:
    month = f" month {c['month']}" if c["month"] else ""
    reason = f" ({c['reason']})" if c["reason"] else ""
    mode = "" if c["livemode"] else " [test]"
    return (
        f"  {c['id']}  {c['kind']}{month}  {c['status']}{reason}  {c['amount']} {c['currency']}"
        f"  on a sale of {c['sale_amount']} {c['sale_currency']}  partner {c['partner_id']}{mode}"
    )


def human(data: dict[str, Any], wait: float) -> str:
    ids = ", ".join(f"{k} {v}" for k, v in data["ids"].items() if k != "event")
    lines = [
        f"sent {data['type']} {data['event_id']} to {data['url']}",
        f"  test mode (livemode false), API version {data['api_version']}, signed with secret "
        f"{data['secret_id']} (...{data['secret_last4']})",
        f"  ids: {ids}",
        f"ingress: {data['status_code']} {data['ingress_status'] or ''}".rstrip(),
    ]
    outcome, waited = data["outcome"], data["waited"]
    if wait == 0:
        lines.append(
            "outcome: not waited for (--wait 0); see "
            f"`traaaction events list --workspace {data['workspace_id']}`"
        )
    elif outcome is None:
        lines.append(
            f"outcome: none after {waited:.0f} s: the ingress accepted the event, but no worker "
            "has processed it: is `traaaction worker` (or `traaaction run`) running, with the "
            "same DATABASE_URL and REDIS_URL as the ingress?"
        )
    elif outcome == "failed":
        error = (data["detail"] or {}).get("error") or ""
        lines.append(
            f"outcome: failed, attempt {data['attempt']} ({data['reason']}: {error}), still "
            f"unsettled after {waited:.0f} s; it is retried with backoff (see `traaaction "
            f"events list --workspace {data['workspace_id']}` and `traaaction dlq list`)"
        )
    else:
        why = f" {data['reason']}" if data["reason"] else ""
        lines.append(f"outcome: {outcome}{why} (after {waited:.1f} s)")
        if outcome == "skipped" and data["reason"] in _SKIP_HINTS:
            lines.append("  " + _SKIP_HINTS[data["reason"]].format(workspace=data["workspace_id"]))
        if outcome == "dead_lettered":
            lines.append("  the workers gave up on it: see `traaaction dlq list`")
        lines.extend(_commission_line(c) for c in data["commissions"])
        if outcome == "processed" and not data["commissions"]:
            lines.append("  no commission changed")
    if data["next"]:
        lines.append("next, to continue the scenario:")
        lines.extend(f"  {step}" for step in data["next"])
    return "\n".join(lines)


# --- the command --------------------------------------------------------------------------------

_amount = click.IntRange(0, sp.MAX_AMOUNT)


@click.command("send-test-event", short_help="Send a signed test event and show what became of it.")
@click.argument("endpoint_id", metavar="ENDPOINT")
@click.option(
    "--type",
    "event_type",
    required=True,
    type=click.Choice(sp.EVENT_TYPES),
    help="The event to send.",
)
@click.option("--click-id", help="checkout: metadata.tracClickId (clk_...); none if omitted.")
@click.option(
    "--mode",
    type=click.Choice(["payment", "subscription"]),
    help="checkout: a one-off sale or a subscription's first payment.  [default: payment]",
)
@click.option(
    "--amount",
    type=_amount,
    help="Minor units, tax included: checkout amount_total, invoice amount_paid, the refunded "
    f"charge's amount.  [default: {DEFAULT_AMOUNT}]",
)
@click.option("--tax", type=_amount, help="checkout, invoice: the tax part of --amount.")
@click.option("--currency", help="Lower-case ISO code.  [default: usd]")
@click.option("--customer", help="cus_...: the customer of an earlier event.  [default: new]")
@click.option(
    "--subscription", help="sub_...: a subscription checkout's, for invoice.paid and deletion."
)
@click.option("--payment-intent", help="pi_...: a sale's or an invoice's, to refund it.")
@click.option("--invoice", help="in_...: the invoice id (a checkout's first invoice, say).")
@click.option("--charge", help="refund: ch_..., to refund the same charge again.")
@click.option(
    "--billing-reason",
    type=click.Choice(sp.BILLING_REASONS),
    help="invoice.paid.  [default: subscription_cycle]",
)
@click.option(
    "--month",
    type=click.IntRange(1, 1200),
    help="invoice.paid: the subscription month it pays for, its period starting MONTH-1 months "
    "from now; for a subscription checkout sent now, the RECURRING month it earns.  "
    "[default: 2, or 1 with subscription_create]",
)
@click.option(
    "--refunded",
    type=_amount,
    help="refund: amount_refunded, cumulative over the charge's refunds.  [default: --amount]",
)
@click.option(
    "--api-version",
    default=sp.DEFAULT_API_VERSION,
    show_default=True,
    help=f"The payload shape: basil from 2025-03-31 on, the earlier one before ({sp.PRE_BASIL}).",
)
@click.option("--url", help="Where to POST.  [default: PUBLIC_BASE_URL/api/webhooks/ENDPOINT]")
@click.option(
    "--wait",
    type=click.FloatRange(0, 600),
    default=10.0,
    show_default=True,
    help="Seconds to wait for the workers' outcome; 0: do not wait.",
)
@json_option
def send_test_event(
    endpoint_id: str,
    event_type: str,
    api_version: str,
    url: str | None,
    wait: float,
    as_json: bool,
    **options: Any,
) -> None:
    """Send a signed test-mode event to ENDPOINT and show what became of it.

    Like `stripe trigger`, without Stripe: builds a realistic event of the given type,
    signs it with the endpoint's newest active signing secret, POSTs it to the endpoint's URL,
    then waits for its outcome in the event log and shows the commissions it made. It prints
    the ids it used and the commands that continue the scenario (a renewal, a refund, a
    cancellation).

    It signs with the secret stored in Traaaction: it checks the ingress, the queue, the
    workers and the rules, not that the stored secret is Stripe's (`stripe trigger` does).

    Exit status: 0 when the event was processed, skipped, a duplicate or ignored (or with
    --wait 0, once the ingress accepted it); 1 when the ingress refused it or could not be
    reached, when the workers failed on it, or when no worker settled it within --wait.
    """
    _check_options(event_type, options)
    if url is not None and not url.startswith(("http://", "https://")):
        raise CliError(f"--url: {url!r} is not an http:// or https:// URL")
    try:
        if options["currency"] is not None:
            options["currency"] = _currency(options["currency"])
        built = build_event(event_type, options, api_version=api_version, now=int(time.time()))
    except sp.FixtureError as exc:
        raise CliError(str(exc)) from None
    body = built.encode()
    with runtime() as rt:
        with rt.session_factory() as session:
            endpoint = session.get(WebhookEndpoint, endpoint_id)
            if endpoint is None:
                raise CliError(
                    f"endpoint {endpoint_id!r} not found (`traaaction endpoint list --workspace "
                    "WS` lists a workspace's)"
                )
            if not endpoint.enabled:
                raise CliError(
                    f"endpoint {endpoint_id} is disabled (the ingress answers 404): "
                    f"`traaaction endpoint enable {endpoint_id}`"
                )
            row = newest_active_secret(session, endpoint_id, datetime.now(UTC))
            secret_id, last4, workspace_id = row.id, row.last4, endpoint.workspace_id
            signature = sign_now(endpoints.open_secret(row, rt.secret_box), body)
        target = url or endpoint_url(rt.settings.public_base_url, endpoint_id)
        status, raw, location = post(target, body, signature)
        if status != 200:
            raise CliError(refusal(status, raw, location, url=target, endpoint_id=endpoint_id))
        answer = parsed_answer(raw)
        verdict = (
            await_verdict(
                rt.session_factory,
                workspace_id=workspace_id,
                endpoint_id=endpoint_id,
                event_id=built.id,
                wait=wait,
            )
            if wait > 0
            else Verdict()
        )
        commissions = commissions_of(rt.session_factory, verdict.commission_ids)
    extra = ["--url", url] if url else []
    if api_version != sp.DEFAULT_API_VERSION:
        extra += ["--api-version", api_version]
    data: dict[str, Any] = {
        "event_id": built.id,
        "type": built.type,
        "api_version": api_version,
        "livemode": False,
        "endpoint_id": endpoint_id,
        "workspace_id": workspace_id,
        "url": target,
        "secret_id": secret_id,
        "secret_last4": last4,
        "status_code": status,
        "ingress_status": answer.get("status") if isinstance(answer, dict) else None,
        "outcome": verdict.outcome,
        "reason": verdict.reason,
        "attempt": verdict.attempt,
        "detail": verdict.detail,
        "waited": round(verdict.waited, 3),
        "commission_ids": verdict.commission_ids,
        "commissions": commissions,
        "ids": built.ids,
        "next": next_steps(built, options, endpoint_id=endpoint_id, extra=extra),
    }
    emit(as_json, data, human(data, wait))
    if wait > 0 and verdict.outcome not in GOOD:
        raise SystemExit(1)


def _currency(value: str) -> str:
    """`usd`; `USD` is taken too (Stripe's codes are lower-case)."""
    try:
        return sp.check_currency(value.lower())
    except sp.FixtureError:
        raise CliError(f"--currency: {value!r} is not a three-letter ISO code (usd)") from None
