from __future__ import annotations

import click

from storage.db import unit_of_work
from storage.repositories import workspaces
from traaaction.cli._common import emit, json_option, runtime


@click.group()
def workspace() -> None:
    """Workspaces: one per merchant; everything else belongs to one."""


@workspace.command("create")
@click.option("--name", required=True, help="A name for people (1-200 characters).")
@json_option
def workspace_create(name: str, as_json: bool) -> None:
    """Create a workspace."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        ws = workspaces.create(session, name=name)
        data = {"id": ws.id, "name": ws.name}
    emit(as_json, data, f"workspace {data['id']} created")


@workspace.command("list")
@json_option
def workspace_list(as_json: bool) -> None:
    """List the workspaces."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        rows = [
            {"id": w.id, "name": w.name, "created_at": w.created_at}
            for w in workspaces.list_all(session)
        ]
    emit(as_json, rows, "\n".join(f"{r['id']}  {r['name']}" for r in rows) or "no workspaces")
