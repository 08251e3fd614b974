"""Migrations: apply them, and tell whether a database's schema matches this code."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

_MIGRATIONS = Path(__file__).parent / "migrations"
#: alembic's `context` and `op` are process-wide proxies: two threads running migrations at
#: once would tear down each other's environment. Across processes, env.py's advisory lock.
_UPGRADE_LOCK = threading.Lock()


class SchemaBehind(Exception):
    """Raised when the database's schema is older (or newer) than this code expects."""


@dataclass(frozen=True, slots=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    # env.py uses this engine rather than a URL, so no password is ever copied into a config.
    config.attributes["engine"] = engine
    return config


def schema_state(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config(engine))
    head = script.get_current_head()
    if head is None:
        raise RuntimeError("no migrations found in storage/migrations: a broken install")
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return SchemaState(current=current, head=head)


def upgrade(engine: Engine, revision: str = "head") -> SchemaState:
    """Apply pending migrations. Safe to run from several processes (advisory lock) or threads
    at once."""
    with _UPGRADE_LOCK:
        command.upgrade(alembic_config(engine), revision)
    return schema_state(engine)


def ensure_current(engine: Engine) -> None:
    """Raise SchemaBehind with a one-line explanation unless the schema is at head."""
    state = schema_state(engine)
    if state.up_to_date:
        return
    script = ScriptDirectory.from_config(alembic_config(engine))
    if state.current is None:
        raise SchemaBehind("the database has no schema yet: run `traaaction db upgrade`")
    known = {rev.revision for rev in script.walk_revisions()}
    if state.current not in known:
        raise SchemaBehind(
            f"the database schema ({state.current}) is newer than this code ({state.head}): "
            "deploy the newer code"
        )
    raise SchemaBehind(
        f"the database schema is behind ({state.current}, code expects {state.head}): "
        "run `traaaction db upgrade`"
    )
