"""Reading the ledger and the event log; marking commissions paid."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from storage.db import unit_of_work
from storage.models import COMMISSION_STATUSES, LOG_OUTCOMES, Commission, WebhookEventLog
from storage.repositories import commissions as ledger
from storage.repositories import event_log, workspaces
from traaaction.cli._common import emit, json_option, runtime

_limit = click.option(
    "--limit", default=100, show_default=True, type=click.IntRange(1, 10_000), help="Rows at most."
)


def commission_view(row: Commission) -> dict[str, Any]:
    return {
        "id": row.id,
        "workspace_id": row.workspace_id,
        "program_id": row.program_id,
        "partner_id": row.partner_id,
        "click_id": row.click_id,
        "kind": row.kind,
        "month": row.month,
        "status": row.status,
        "amount": row.amount,
        "currency": row.currency,
        "sale_amount": row.sale_amount,
        "sale_currency": row.sale_currency,
        "livemode": row.livemode,
        "reason": row.reason,
        "reverses_commission_id": row.reverses_commission_id,
        "checkout_session_id": row.checkout_session_id,
        "subscription_id": row.subscription_id,
        "invoice_id": row.invoice_id,
        "payment_intent_id": row.payment_intent_id,
        "customer_id": row.customer_id,
        "hold_until": row.hold_until,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _commission_line(c: dict[str, Any]) -> str:
    month = f" month {c['month']}" if c["month"] else ""
    mode = "" if c["livemode"] else " [test]"
    reason = f" ({c['reason']})" if c["reason"] else ""
    return (
        f"{c['id']}  {c['kind']}{month}  {c['status']}{reason}  "
        f"{c['amount']} {c['currency']}  partner {c['partner_id']}{mode}"
    )


@click.group(short_help="The commission ledger.")
def commissions() -> None:
    """The commission ledger."""


@commissions.command("list", short_help="List a workspace's commissions, newest first.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--status", type=click.Choice(COMMISSION_STATUSES), help="Only these.")
@_limit
@json_option
def commissions_list(workspace_id: str, status: str | None, limit: int, as_json: bool) -> None:
    """List a workspace's commissions, newest first (amounts in minor units)."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        workspaces.get(session, workspace_id)
        rows = [
            commission_view(c)
            for c in ledger.list_for_workspace(session, workspace_id, status=status, limit=limit)
        ]
    emit(as_json, rows, "\n".join(_commission_line(c) for c in rows) or "no commissions")


@commissions.command("mark-paid", short_help="Mark APPROVED commissions PAID, all or none.")
@click.argument("commission_ids", nargs=-1, required=True)
@json_option
def commissions_mark_paid(commission_ids: tuple[str, ...], as_json: bool) -> None:
    """APPROVED -> PAID, all or none (the payout system's hook)."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows = [
            commission_view(c)
            for c in ledger.mark_paid(session, commission_ids, now=datetime.now(UTC))
        ]
    emit(as_json, rows, f"{len(rows)} commission(s) marked paid")


@commissions.command("hold", short_help="Hold a PENDING or APPROVED commission (manual).")
@click.argument("commission_id")
@json_option
def commissions_hold(commission_id: str, as_json: bool) -> None:
    """PENDING or APPROVED -> ON_HOLD (reason manual): never approved, never paid until
    `commissions release`."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = commission_view(ledger.hold(session, commission_id, now=datetime.now(UTC)))
    emit(as_json, row, _commission_line(row))


@commissions.command("release", short_help="Release a manual hold (PENDING or APPROVED).")
@click.argument("commission_id")
@json_option
def commissions_release(commission_id: str, as_json: bool) -> None:
    """A manual hold -> PENDING inside its holding period, APPROVED after. A disputed hold is
    refused: Stripe's dispute decides it."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = commission_view(ledger.release(session, commission_id, now=datetime.now(UTC)))
    emit(as_json, row, _commission_line(row))


def event_view(row: WebhookEventLog) -> dict[str, Any]:
    return {
        "id": row.id,
        "workspace_id": row.workspace_id,
        "endpoint_id": row.endpoint_id,
        "stripe_event_id": row.stripe_event_id,
        "event_type": row.event_type,
        "livemode": row.livemode,
        "outcome": row.outcome,
        "reason": row.reason,
        "attempt": row.attempt,
        "count": row.count,
        "commission_ids": row.commission_ids,
        "detail": row.detail,
        "created_at": row.created_at,
    }


@click.group(short_help="The event log: what became of every delivery.")
def events() -> None:
    """The webhook event log: what became of every delivery."""


@events.command("list", short_help="List a workspace's event-log rows, newest first.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--outcome", type=click.Choice(LOG_OUTCOMES), help="Only this outcome.")
@_limit
@json_option
def events_list(workspace_id: str, outcome: str | None, limit: int, as_json: bool) -> None:
    """List a workspace's event-log rows, newest first."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        workspaces.get(session, workspace_id)
        rows = [
            event_view(e)
            for e in event_log.list_for_workspace(
                session, workspace_id, outcome=outcome, limit=limit
            )
        ]
    lines = []
    for e in rows:
        why = f" {e['reason']}" if e["reason"] else ""
        times = f" x{e['count']}" if e["count"] > 1 else ""
        made = f" -> {', '.join(e['commission_ids'])}" if e["commission_ids"] else ""
        lines.append(
            f"{e['created_at']:%Y-%m-%d %H:%M:%S}  {e['outcome']}{why}{times}  "
            f"{e['event_type'] or '-'}  {e['stripe_event_id'] or '-'}{made}"
        )
    emit(as_json, rows, "\n".join(lines) or "no events")
