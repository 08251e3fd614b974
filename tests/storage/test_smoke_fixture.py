from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import Cli


def test_db_session_sees_the_migrated_schema(db_session: Session) -> None:
    tables = set(db_session.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname='public'")))
    assert {"workspaces", "webhook_endpoints", "endpoint_secrets", "programs", "partners", "clicks"} <= tables


def test_cli_creates_a_workspace(cli: Cli) -> None:
    result = cli.ok("workspace", "create", "--name", "Shop", "--json")
    assert result.json()["id"].startswith("ws_")
