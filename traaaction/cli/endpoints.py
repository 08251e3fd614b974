from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Any

import click

from storage.db import unit_of_work
from storage.models import EndpointSecret, WebhookEndpoint
from storage.repositories import endpoints
from traaaction.cli._common import CliError, emit, json_option, parse_instant, runtime

#: the public webhook route; part of the contract with merchants' Stripe settings
WEBHOOK_PATH = "/api/webhooks/{endpoint_id}"


def endpoint_url(base_url: str, endpoint_id: str) -> str:
    return base_url.rstrip("/") + WEBHOOK_PATH.format(endpoint_id=endpoint_id)


def _secret_view(row: EndpointSecret, now: datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "last4": row.last4,
        "expires_at": row.expires_at,
        "active": row.expires_at is None or row.expires_at > now,
        "created_at": row.created_at,
    }


def _endpoint_view(row: WebhookEndpoint, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "url": endpoint_url(base_url, row.id),
        "workspace_id": row.workspace_id,
        "enabled": row.enabled,
        "created_at": row.created_at,
    }


@click.group(short_help="Webhook endpoints and their signing secrets.")
def endpoint() -> None:
    """Webhook endpoints (one URL per workspace in Stripe) and their signing secrets."""


@endpoint.command("create", short_help="Create an endpoint; register its URL in Stripe.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@json_option
def endpoint_create(workspace_id: str, as_json: bool) -> None:
    """Create an endpoint; register the printed URL in Stripe."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        data = _endpoint_view(
            endpoints.create(session, workspace_id=workspace_id), rt.settings.public_base_url
        )
    emit(
        as_json,
        data,
        f"endpoint {data['id']} created\nurl: {data['url']}\n"
        f"next: paste Stripe's signing secret with `traaaction endpoint add-secret {data['id']}`",
    )


@endpoint.command("list", short_help="List a workspace's endpoints and their secrets.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@json_option
def endpoint_list(workspace_id: str, as_json: bool) -> None:
    """List a workspace's endpoints with their secrets (last 4 characters only)."""
    now = datetime.now(UTC)
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows = []
        for ep in endpoints.list_for_workspace(session, workspace_id):
            view = _endpoint_view(ep, rt.settings.public_base_url)
            view["secrets"] = [_secret_view(s, now) for s in endpoints.secrets_of(session, ep.id)]
            rows.append(view)
    lines = []
    for ep_view in rows:
        state = "enabled" if ep_view["enabled"] else "disabled"
        lines.append(f"{ep_view['id']}  {state}  {ep_view['url']}")
        for sec in ep_view["secrets"]:
            until = f" until {sec['expires_at'].isoformat()}" if sec["expires_at"] else ""
            status = "active" if sec["active"] else "expired"
            lines.append(f"  {sec['id']}  ...{sec['last4']}  {status}{until}")
    emit(as_json, rows, "\n".join(lines) or "no endpoints")


def _read_secret() -> str:
    if sys.stdin is None:
        raise CliError("the signing secret is read from standard input, which is closed")
    if sys.stdin.isatty():
        value: str = click.prompt("Stripe signing secret (whsec_...)", hide_input=True, err=True)
        return value
    return sys.stdin.read()


@endpoint.command("add-secret", short_help="Add a Stripe signing secret, read from stdin.")
@click.argument("endpoint_id")
@click.option(
    "--expires-at",
    help="When this secret stops verifying (ISO 8601 with offset), e.g. for a rolled secret.",
)
@json_option
def endpoint_add_secret(endpoint_id: str, expires_at: str | None, as_json: bool) -> None:
    """Add a Stripe signing secret, read from standard input (never from the command line).

    Several secrets can be active at once: test and live mode, and a rolled secret's old value
    for its last 24 hours. Running ingress processes pick it up within 30 seconds.
    """
    expiry = parse_instant(expires_at, "--expires-at") if expires_at else None
    if expiry is not None and expiry <= datetime.now(UTC):
        raise CliError(f"--expires-at: {expires_at} is in the past")
    secret = _read_secret()
    with runtime() as rt:
        box = rt.secret_box
        with unit_of_work(rt.session_factory) as session:
            row = endpoints.add_secret(
                session, box, endpoint_id=endpoint_id, secret=secret, expires_at=expiry
            )
            data = {
                "id": row.id,
                "endpoint_id": row.endpoint_id,
                "last4": row.last4,
                "expires_at": row.expires_at,
            }
    emit(as_json, data, f"secret {data['id']} (...{data['last4']}) added to {endpoint_id}")


@endpoint.command("expire-secret", short_help="Stop a secret from verifying, now or later.")
@click.argument("secret_id")
@click.option("--at", "at", help="When it stops verifying (ISO 8601; default: now).")
@json_option
def endpoint_expire_secret(secret_id: str, at: str | None, as_json: bool) -> None:
    """Stop a secret from verifying (after rolling it in Stripe), now or at a given time."""
    when = parse_instant(at, "--at") if at else datetime.now(UTC)
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = endpoints.expire_secret(session, secret_id, at=when)
        data = {"id": row.id, "last4": row.last4, "expires_at": row.expires_at}
    emit(as_json, data, f"secret {secret_id} expires at {when.isoformat()}")


def _set_enabled(endpoint_id: str, enabled: bool, as_json: bool) -> None:
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        ep = endpoints.set_enabled(session, endpoint_id, enabled)
        data = {"id": ep.id, "enabled": ep.enabled}
    emit(as_json, data, f"endpoint {endpoint_id} {'enabled' if enabled else 'disabled'}")


@endpoint.command("disable", short_help="Refuse deliveries to this endpoint (404).")
@click.argument("endpoint_id")
@json_option
def endpoint_disable(endpoint_id: str, as_json: bool) -> None:
    """Refuse deliveries to this endpoint (404, as for an unknown one)."""
    _set_enabled(endpoint_id, False, as_json)


@endpoint.command("enable", short_help="Accept deliveries to this endpoint again.")
@click.argument("endpoint_id")
@json_option
def endpoint_enable(endpoint_id: str, as_json: bool) -> None:
    """Accept deliveries to this endpoint again."""
    _set_enabled(endpoint_id, True, as_json)
