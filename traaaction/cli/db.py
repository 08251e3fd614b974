from __future__ import annotations

import click

from storage.schema import schema_state, upgrade
from traaaction.cli._common import emit, json_option, runtime


@click.group(short_help="The database schema (Alembic migrations).")
def db() -> None:
    """The database schema (Alembic migrations)."""


@db.command("upgrade", short_help="Apply pending migrations (safe to run concurrently).")
@json_option
def db_upgrade(as_json: bool) -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    with runtime(check_schema=False) as rt:
        before = schema_state(rt.engine).current
        after = upgrade(rt.engine).current
    human = (
        f"schema already at {after}"
        if before == after
        else f"schema upgraded from {before or 'empty'} to {after}"
    )
    emit(as_json, {"from": before, "to": after, "changed": before != after}, human)


@db.command("status", short_help="Show the schema revision and the one expected.")
@json_option
def db_status(as_json: bool) -> None:
    """Show the schema revision of the database and the one this code expects."""
    with runtime(check_schema=False) as rt:
        state = schema_state(rt.engine)
    data = {"current": state.current, "head": state.head, "up_to_date": state.up_to_date}
    human = f"schema at {state.current or 'empty'}, code expects {state.head}" + (
        "" if state.up_to_date else ": run `traaaction db upgrade`"
    )
    emit(as_json, data, human)
