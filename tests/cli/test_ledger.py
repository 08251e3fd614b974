"""commissions list / mark-paid and events list, through the console script."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from storage.db import make_engine
from tests.cli.conftest import RecordingCli
from tests.storage.ledger_rows import chain, commission


def seed(database_url: str) -> tuple[str, list[str]]:
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            c = chain(session)
            past = datetime.now(UTC) - timedelta(days=1)
            ids = [
                commission(session, c, status="APPROVED", hold_until=past).id,
                commission(session, c, status="PENDING").id,
            ]
            return c.workspace_id, ids
    finally:
        engine.dispose()


def test_commissions_list_shows_the_ledger_and_filters_by_status(
    cli: RecordingCli, database_url: str
) -> None:
    workspace_id, (approved, pending) = seed(database_url)
    rows = cli.json("commissions", "list", "--workspace", workspace_id)
    assert {r["id"]: r["status"] for r in rows} == {approved: "APPROVED", pending: "PENDING"}
    assert {"amount", "currency", "kind", "month", "partner_id", "livemode"} <= set(rows[0])
    only = cli.json("commissions", "list", "--workspace", workspace_id, "--status", "PENDING")
    assert [r["id"] for r in only] == [pending]


def test_mark_paid_pays_approved_commissions_all_or_none(
    cli: RecordingCli, database_url: str
) -> None:
    workspace_id, (approved, pending) = seed(database_url)
    message = cli.fails("commissions", "mark-paid", approved, pending, "--json")
    assert message == f"only APPROVED commissions can be marked paid; not: {pending} (PENDING)"
    [paid] = cli.json("commissions", "mark-paid", approved)
    assert (paid["id"], paid["status"]) == (approved, "PAID")
    rows = cli.json("commissions", "list", "--workspace", workspace_id, "--status", "PAID")
    assert [r["id"] for r in rows] == [approved]


def test_events_list_of_an_unknown_workspace_is_one_clear_error(cli: RecordingCli) -> None:
    message = cli.fails("events", "list", "--workspace", "ws_nope", "--json")
    assert message == "workspace 'ws_nope' not found"
