from __future__ import annotations

import sys

import click

from storage.db import unit_of_work
from storage.repositories import api_keys, workspaces
from traaaction.cli._common import CliError, emit, json_option, runtime


@click.group(short_help="Workspaces: one per merchant.")
def workspace() -> None:
    """Workspaces: one per merchant; everything else belongs to one."""


@workspace.command("create", short_help="Create a workspace.")
@click.option("--name", required=True, help="A name for people (1-200 characters).")
@json_option
def workspace_create(name: str, as_json: bool) -> None:
    """Create a workspace."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        ws = workspaces.create(session, name=name)
        data = {"id": ws.id, "name": ws.name}
    emit(as_json, data, f"workspace {data['id']} created")


@workspace.command("list", short_help="List the workspaces.")
@json_option
def workspace_list(as_json: bool) -> None:
    """List the workspaces."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows = [
            {"id": w.id, "name": w.name, "created_at": w.created_at}
            for w in workspaces.list_all(session)
        ]
    emit(as_json, rows, "\n".join(f"{r['id']}  {r['name']}" for r in rows) or "no workspaces")


@workspace.command("set-stripe-key", short_help="Store its Stripe API key, read from stdin.")
@click.argument("workspace_id")
@json_option
def workspace_set_stripe_key(workspace_id: str, as_json: bool) -> None:
    """Store the workspace's Stripe restricted API key, read from standard input.

    Optional. With it, a refund of a basil-shaped invoice (which names no payment intent) is
    matched through Stripe's invoice payments, and `traaaction reconcile` can list missed
    events. Read access to invoices and events is enough.
    """
    key = _read_key()
    with runtime() as rt:
        box = rt.secret_box
        with unit_of_work(rt.session_factory) as session:
            tail = api_keys.set_key(session, box, workspace_id=workspace_id, key=key)
    emit(
        as_json,
        {"workspace_id": workspace_id, "last4": tail},
        f"Stripe API key (...{tail}) stored for {workspace_id}",
    )


def _read_key() -> str:
    if sys.stdin is None:
        raise CliError("the API key is read from standard input, which is closed")
    if sys.stdin.isatty():
        value: str = click.prompt("Stripe restricted API key (rk_...)", hide_input=True, err=True)
        return value
    return sys.stdin.read()
