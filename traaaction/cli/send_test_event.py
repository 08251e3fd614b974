"""`traaaction send-test-event`: a signed test event through the real ingress and workers.

Like `stripe trigger`, without Stripe: builds a realistic event (traaaction/stripe_fixtures.py),
signs it with the endpoint's newest active signing secret (opened from the database with the
master keys; never printed), POSTs it to the endpoint's URL, then waits for the event log's
verdict and shows the commissions it made.
"""

from __future__ import annotations

import json
import shlex
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from domain.months import add_months
from ingress.signature import sign
from storage.models import Commission, EndpointSecret, WebhookEndpoint, WebhookEventLog
from storage.repositories import endpoints
from traaaction import stripe_fixtures as fx
from traaaction.cli._common import CliError, emit, json_option, runtime
from traaaction.cli.endpoints import endpoint_url
from traaaction.cli.ledger import commission_view

#: seconds the ingress has to answer the POST
POST_TIMEOUT = 10.0
#: seconds between two looks at the event log
POLL_INTERVAL = 0.1
#: event-log outcomes that settle a delivery (`failed` will be retried; `rejected` never
#: names an event id)
SETTLED = ("processed", "skipped", "duplicate", "ignored", "dead_lettered")
#: settled outcomes that mean the pipeline did its work (exit 0)
GOOD = ("processed", "skipped", "duplicate", "ignored")
DEFAULT_AMOUNT = 10_000
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks) traaaction-send-test-event"

#: option -> the event types it applies to
_APPLIES: dict[str, tuple[str, ...]] = {
    "click_id": (fx.CHECKOUT_COMPLETED,),
    "mode": (fx.CHECKOUT_COMPLETED,),
    "amount": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID, fx.CHARGE_REFUNDED),
    "tax": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID),
    "currency": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID, fx.CHARGE_REFUNDED),
    "customer": fx.EVENT_TYPES,
    "subscription": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID, fx.SUBSCRIPTION_DELETED),
    "payment_intent": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID, fx.CHARGE_REFUNDED),
    "invoice": (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID),
    "charge": (fx.CHARGE_REFUNDED,),
    "billing_reason": (fx.INVOICE_PAID,),
    "month": (fx.INVOICE_PAID,),
    "refunded": (fx.CHARGE_REFUNDED,),
}

#: what an ingress' 4xx/5xx reason means for this command
_HINTS = {
    "no_matching_signature": (
        "it verifies with other secrets than endpoint {endpoint}'s in this command's database: "
        "does it run with the same DATABASE_URL and TRAAACTION_KEYS?"
    ),
    "no_active_secret": (
        "it knows no active secret of endpoint {endpoint}: does it run with the same DATABASE_URL?"
    ),
    "timestamp_out_of_tolerance": (
        "this machine's clock and the ingress' differ by more than its SIGNATURE_TOLERANCE"
    ),
    "unknown_endpoint": (
        "it does not know endpoint {endpoint}, or has it as disabled (an ingress trusts what "
        "it loaded for ENDPOINT_CACHE_TTL seconds): does it run with the same DATABASE_URL?"
    ),
    "temporarily_unavailable": "it could not queue the event: is its Redis up? (see /readyz)",
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


@dataclass
class Verdict:
    """What the event log says of the event, once settled (or the last failure, if not)."""

    outcome: str | None = None
    reason: str | None = None
    attempt: int | None = None
    commission_ids: list[str] = field(default_factory=list)
    detail: dict[str, Any] | None = None
    waited: float = 0.0


# --- building -----------------------------------------------------------------------------------


def _check_options(event_type: str, given: dict[str, Any]) -> None:
    for name, value in given.items():
        if value is not None and event_type not in _APPLIES[name]:
            flag = "--" + name.replace("_", "-")
            takes = ", ".join(t for t in fx.EVENT_TYPES if t in _APPLIES[name])
            raise click.UsageError(f"{flag} does not go with --type {event_type} (only {takes})")


def invoice_month(options: dict[str, Any]) -> int:
    """The subscription month an invoice.paid pays for (`--month`, or its default)."""
    month: int | None = options["month"]
    if month is not None:
        return month
    return 1 if options["billing_reason"] == "subscription_create" else 2


def build_event(
    event_type: str, options: dict[str, Any], *, api_version: str, now: int
) -> fx.BuiltEvent:
    """The event to send, from the command's options (None: the builder's default)."""
    o = options
    amount = DEFAULT_AMOUNT if o["amount"] is None else o["amount"]
    common: dict[str, Any] = {"created": now, "api_version": api_version, "customer": o["customer"]}
    if event_type == fx.CHECKOUT_COMPLETED:
        return fx.checkout_session_completed(
            mode=o["mode"] or "payment",
            amount=amount,
            tax=o["tax"] or 0,
            currency=o["currency"] or "usd",
            click_id=o["click_id"],
            payment_intent=o["payment_intent"],
            subscription=o["subscription"],
            invoice=o["invoice"],
            **common,
        )
    if event_type == fx.INVOICE_PAID:
        return fx.invoice_paid(
            subscription=o["subscription"],
            amount=amount,
            tax=o["tax"] or 0,
            currency=o["currency"] or "usd",
            billing_reason=o["billing_reason"] or "subscription_cycle",
            service_start=add_months(now, invoice_month(o) - 1),
            payment_intent=o["payment_intent"],
            invoice_id=o["invoice"],
            **common,
        )
    if event_type == fx.CHARGE_REFUNDED:
        return fx.charge_refunded(
            payment_intent=o["payment_intent"],
            amount=amount,
            amount_refunded=o["refunded"],
            currency=o["currency"] or "usd",
            charge_id=o["charge"],
            **common,
        )
    return fx.customer_subscription_deleted(subscription=o["subscription"], **common)


def next_steps(
    built: fx.BuiltEvent, options: dict[str, Any], *, endpoint_id: str, extra: list[str]
) -> list[str]:
    """Commands that send the events that follow this one: a renewal, a refund, a deletion."""
    ids, obj = built.ids, built.body["data"]["object"]
    if built.type not in (fx.CHECKOUT_COMPLETED, fx.INVOICE_PAID):
        return []

    def command(event_type: str, *args: str) -> str:
        return shlex.join(["traaaction", "send-test-event", endpoint_id, "--type", event_type,
                           *args, "--customer", ids["customer"], *extra])  # fmt: skip

    if built.type == fx.CHECKOUT_COMPLETED:
        amount, tax, month = obj["amount_total"], obj["total_details"]["amount_tax"], 1
    else:
        amount, tax = obj["amount_paid"], obj["total"] - obj["total_excluding_tax"]
        month = invoice_month(options)
    money = ["--amount", str(amount)]
    if obj["currency"] != "usd":
        money += ["--currency", obj["currency"]]
    steps = []
    if "payment_intent" in ids:
        steps.append(command(fx.CHARGE_REFUNDED, "--payment-intent", ids["payment_intent"], *money))
    if "subscription" in ids:
        renewal = ["--subscription", ids["subscription"], "--month", str(month + 1), *money]
        steps.append(command(fx.INVOICE_PAID, *renewal, *(["--tax", str(tax)] if tax else [])))
        steps.append(command(fx.SUBSCRIPTION_DELETED, "--subscription", ids["subscription"]))
    return steps


# --- signing and sending ------------------------------------------------------------------------


def newest_active_secret(session: Session, endpoint_id: str, now: datetime) -> EndpointSecret:
    active = [
        row
        for row in endpoints.secrets_of(session, endpoint_id)
        if row.expires_at is None or row.expires_at > now
    ]
    if not active:
        raise CliError(
            f"endpoint {endpoint_id} has no active signing secret: add Stripe's with "
            f"`traaaction endpoint add-secret {endpoint_id}`"
        )
    return active[-1]  # secrets_of orders by creation


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is reported, not followed (urllib would turn the POST into a GET)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(url: str, body: bytes, signature: str) -> tuple[int, bytes, str | None]:
    """(status, body, Location) of the ingress' answer; CliError when it cannot be reached."""
    request = urllib.request.Request(  # noqa: S310 - the operator's own ingress URL
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": USER_AGENT,
        },
    )
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=POST_TIMEOUT) as response:
            return response.status, response.read(), None
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), exc.headers.get("Location")
    except (urllib.error.URLError, OSError) as exc:
        cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise CliError(
            f"cannot reach the ingress at {url} ({_why(cause)}): is `traaaction run` or "
            "`traaaction serve` running there? (the URL comes from PUBLIC_BASE_URL; --url "
            "sends elsewhere)"
        ) from None


def _why(cause: object) -> str:
    if isinstance(cause, ConnectionRefusedError):
        return "connection refused"
    if isinstance(cause, socket.gaierror):
        return "unknown host"
    if isinstance(cause, TimeoutError | socket.timeout):
        return f"no answer within {POST_TIMEOUT:g} s"
    if isinstance(cause, OSError) and cause.strerror:
        return cause.strerror.lower()
    return str(cause) or type(cause).__name__


def _answer(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def refusal(status: int, raw: bytes, location: str | None, *, url: str, endpoint_id: str) -> str:
    """The error line for an answer other than 200."""
    answer = _answer(raw)
    reason = answer.get("error") if isinstance(answer, dict) else None
    head = f"the ingress at {url} answered {status}"
    if location:
        return f"{head}, a redirect to {location}: send there with --url"
    if not isinstance(reason, str):
        text = " ".join(raw.decode("utf-8", "replace").split())[:120]
        return f"{head} ({text or 'no body'}): is that Traaaction's ingress?"
    hint = _HINTS.get(reason)
    return f"{head} {reason}" + (f": {hint.format(endpoint=endpoint_id)}" if hint else "")


# --- waiting ------------------------------------------------------------------------------------


def await_verdict(
    factory: sessionmaker[Session],
    *,
    workspace_id: str,
    endpoint_id: str,
    event_id: str,
    wait: float,
) -> Verdict:
    """Poll the event log until the event settles or `wait` seconds pass."""
    started = time.monotonic()
    query = (
        select(WebhookEventLog)
        .where(
            WebhookEventLog.workspace_id == workspace_id,
            WebhookEventLog.endpoint_id == endpoint_id,
            WebhookEventLog.stripe_event_id == event_id,
        )
        .order_by(WebhookEventLog.id)
    )
    while True:
        with factory() as session:
            rows = list(session.scalars(query))
        settled = [r for r in rows if r.outcome in SETTLED]
        latest = settled[-1] if settled else (rows[-1] if rows else None)
        elapsed = time.monotonic() - started
        if settled or elapsed >= wait:
            if latest is None:
                return Verdict(waited=elapsed)
            return Verdict(
                outcome=latest.outcome,
                reason=latest.reason,
                attempt=latest.attempt,
                commission_ids=list(latest.commission_ids),
                detail=latest.detail,
                waited=elapsed,
            )
        time.sleep(min(POLL_INTERVAL, max(0.0, wait - elapsed)))


def commissions_of(factory: sessionmaker[Session], ids: list[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    with factory() as session:
        rows = {c.id: c for c in session.scalars(select(Commission).where(Commission.id.in_(ids)))}
    return [commission_view(rows[i]) for i in ids if i in rows]


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

_amount = click.IntRange(0, fx.MAX_AMOUNT)


@click.command("send-test-event")
@click.argument("endpoint_id", metavar="ENDPOINT")
@click.option(
    "--type",
    "event_type",
    required=True,
    type=click.Choice(fx.EVENT_TYPES),
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
    type=click.Choice(fx.BILLING_REASONS),
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
    default=fx.DEFAULT_API_VERSION,
    show_default=True,
    help=f"The payload shape: basil from 2025-03-31 on, the earlier one before ({fx.PRE_BASIL}).",
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
    except fx.FixtureError as exc:
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
            signature = _sign(endpoints.open_secret(row, rt.secret_box), body)
        target = url or endpoint_url(rt.settings.public_base_url, endpoint_id)
        status, raw, location = post(target, body, signature)
        if status != 200:
            raise CliError(refusal(status, raw, location, url=target, endpoint_id=endpoint_id))
        answer = _answer(raw)
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
    if api_version != fx.DEFAULT_API_VERSION:
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
        return fx.check_currency(value.lower())
    except fx.FixtureError:
        raise CliError(f"--currency: {value!r} is not a three-letter ISO code (usd)") from None


def _sign(secret: str, body: bytes) -> str:
    """The Stripe-Signature header (v1: HMAC-SHA256 of `{timestamp}.{body}`)."""
    return sign(secret, body, int(time.time()))
