"""traaaction reconcile: queue the events Stripe kept that this service never saw."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import click

from traaaction.cli._common import CliError, emit, json_option, parse_instant, runtime
from traaaction.cli._progress import progress

if TYPE_CHECKING:
    from traaaction.reconcile import Report

#: how long Stripe keeps events (traaaction.reconcile.RETENTION; not imported here, as it
#: loads the stripe package, which every other command would then wait for)
RETENTION_DAYS = 30
_DURATION = re.compile(r"^(\d{1,7})([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
#: seconds the command waits for Redis
REDIS_TIMEOUT = 10.0


def parse_since(value: str, now: datetime) -> datetime:
    """`--since`: a duration back from now (30m, 6h, 3d) or an ISO 8601 instant, within the
    30 days Stripe keeps events."""
    text = value.strip()
    match = _DURATION.match(text)
    if match is not None:
        amount, unit = int(match[1]), match[2]
        if amount == 0:
            raise CliError(f"--since: {text!r} is no time at all; try 3d")
        span = timedelta(**{_UNITS[unit]: amount})
        if span > timedelta(days=RETENTION_DAYS):
            raise CliError(
                f"--since: {text} reaches past the {RETENTION_DAYS} days Stripe keeps events; "
                f"{RETENTION_DAYS}d at most"
            )
        return now - span
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise CliError(
            f"--since: {value!r} is neither a duration like 30m, 6h or 3d nor an ISO 8601 date-time"
        ) from None
    instant = parse_instant(text, "--since")  # and refuses one without a time zone
    if instant > now:
        raise CliError(f"--since: {text} is in the future")
    if now - instant > timedelta(days=RETENTION_DAYS):
        raise CliError(
            f"--since: {text} is more than {RETENTION_DAYS} days ago; Stripe keeps events "
            f"for {RETENTION_DAYS} days"
        )
    return instant


def _human(report: Report) -> str:
    invalid = f", {report.invalid} invalid (not queued)" if report.invalid else ""
    lines = [
        f"{report.listed} event(s) listed since {report.since:%Y-%m-%d %H:%M:%S} UTC: "
        f"{report.seen} already seen, {report.queued} queued{invalid} "
        f"(workspace {report.workspace_id}, endpoint {report.endpoint_id})"
    ]
    for e in report.events:
        if e.outcome.value in ("queued", "invalid"):
            why = f" ({e.reason})" if e.reason else ""
            lines.append(f"{e.outcome.value}{why}  {e.type or '-'}  {e.id or '-'}")
    return "\n".join(lines)


@click.command("reconcile", short_help="Queue the events Stripe kept that never arrived.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option(
    "--since",
    required=True,
    help="How far back: 30m, 6h, 3d (30d at most: Stripe keeps events 30 days), "
    "or an ISO 8601 date-time.",
)
@click.option(
    "--endpoint",
    "endpoint_id",
    help="Queue as deliveries to this endpoint; needed only if the workspace has several enabled.",
)
@json_option
def reconcile(workspace_id: str, since: str, endpoint_id: str | None, as_json: bool) -> None:
    """Queue the events Stripe kept that this service never saw.

    Lists the workspace's checkout.session.completed, invoice.paid, charge.refunded and
    customer.subscription.deleted events from Stripe's Events API, with the key stored by
    `traaaction workspace set-stripe-key` (it needs read access to events), and queues those
    neither the ingress nor the workers have seen, as webhook deliveries: running it again
    queues nothing twice. For deliveries lost to an outage, or never sent.
    """
    import redis

    from traaaction.reconcile import ReconcileError, reconcile_workspace

    start = parse_since(since, datetime.now(UTC))
    with runtime() as rt:
        client = redis.Redis.from_url(
            rt.redis_url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT
        )
        try:
            with progress("listing Stripe events", enabled=not as_json) as bar:

                def on_page(listed: int, report: Report) -> None:
                    bar.advance(listed)
                    bar.update(description=f"{report.queued} queued, {report.seen} already seen")

                report = reconcile_workspace(
                    factory=rt.session_factory,
                    box=rt.secret_box,
                    client=client,
                    api_base=rt.settings.stripe_api_base,
                    workspace_id=workspace_id,
                    since=start,
                    endpoint_id=endpoint_id,
                    on_page=on_page,
                )
        except ReconcileError as exc:
            raise CliError(str(exc)) from None
        finally:
            client.close()
    data: dict[str, Any] = report.as_dict()
    emit(as_json, data, _human(report))
