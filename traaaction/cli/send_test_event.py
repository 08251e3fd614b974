"""`traaaction send-test-event`: a signed test event through the real ingress and workers.

Like `stripe trigger`, without Stripe: builds a realistic event (traaaction/stripe_payloads/),
signs it with the endpoint's newest active signing secret (opened from the database with the
master keys; never printed), POSTs it to the endpoint's URL, then waits for the event log's
verdict and shows the commissions it made (the sending and the waiting: cli/_sending.py).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import click

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
from traaaction.cli._test_events import (
    ALL_STATUSES,
    DEFAULT_AMOUNT,
    STATUSES,
    build_event,
    check_options,
    next_steps,
)
from traaaction.cli.endpoints import endpoint_url

#: settled outcomes that mean the pipeline did its work (exit 0)
GOOD = ("processed", "skipped", "duplicate", "ignored")

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
        "invoice sent before (the event waits for one, see docs/commissions.md)"
    ),
    "awaiting_payment": (
        "the attribution is recorded; the commission comes with "
        "checkout.session.async_payment_succeeded (the commands below send it)"
    ),
}


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
    "--payment-status",
    type=click.Choice(["paid", "unpaid"]),
    help="checkout.session.completed: unpaid is a delayed payment method (SEPA, ACH), whose "
    "outcome follows as checkout.session.async_payment_succeeded or _failed.  [default: paid]",
)
@click.option(
    "--session",
    help="checkout: cs_..., the session's id (a delayed payment's outcome names its "
    "completion's).  [default: new]",
)
@click.option(
    "--amount",
    type=_amount,
    help="Minor units, tax included: checkout amount_total, invoice amount_paid, the refunded "
    "charge's amount, the updated refund's or the dispute's amount.  "
    f"[default: {DEFAULT_AMOUNT}]",
)
@click.option("--tax", type=_amount, help="checkout, invoice: the tax part of --amount.")
@click.option("--currency", help="Lower-case ISO code.  [default: usd]")
@click.option("--customer", help="cus_...: the customer of an earlier event.  [default: new]")
@click.option(
    "--subscription", help="sub_...: a subscription checkout's, for invoice.paid and deletion."
)
@click.option("--payment-intent", help="pi_...: a sale's or an invoice's, to refund it.")
@click.option("--invoice", help="in_...: the invoice id (a checkout's first invoice, say).")
@click.option(
    "--charge", help="refund, refund update, dispute: ch_..., the charge of an earlier event."
)
@click.option("--refund", help="charge.refund.updated: re_..., the refund.  [default: new]")
@click.option(
    "--dispute",
    help="dispute: dp_..., the dispute that charge.dispute.closed closes.  [default: new]",
)
@click.option(
    "--status",
    type=click.Choice(ALL_STATUSES),
    help="charge.refund.updated: the refund's status "
    f"[default: {STATUSES['charge.refund.updated'][0]}]; charge.dispute.created: how it opens "
    f"[default: {STATUSES['charge.dispute.created'][0]}]; charge.dispute.closed: how it ends "
    f"[default: {STATUSES['charge.dispute.closed'][0]}].",
)
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
    check_options(event_type, options)
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
