"""commissions hold / release through the console script, and mark-paid refusing a hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Commission
from tests.cli.conftest import RecordingCli
from tests.storage.ledger_rows import chain, commission


def seed(database_url: str) -> tuple[str, str, str, str]:
    """(workspace, APPROVED past its hold, PENDING inside it, PAID)."""
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            c = chain(session)
            past = datetime.now(UTC) - timedelta(days=1)
            approved = commission(session, c, status="APPROVED", hold_until=past).id
            pending = commission(session, c, status="PENDING").id
            paid = commission(session, c, status="PAID", hold_until=past).id
            return c.workspace_id, approved, pending, paid
    finally:
        engine.dispose()


def test_a_manual_hold_blocks_payment_and_release_restores_by_hold_until(
    cli: RecordingCli, database_url: str
) -> None:
    workspace_id, approved, pending, _ = seed(database_url)
    held = cli.json("commissions", "hold", approved)
    assert (held["status"], held["reason"]) == ("ON_HOLD", "manual")
    assert cli.json("commissions", "hold", pending)["status"] == "ON_HOLD"
    listed = cli.json("commissions", "list", "--workspace", workspace_id, "--status", "ON_HOLD")
    assert {r["id"] for r in listed} == {approved, pending}

    message = cli.fails("commissions", "mark-paid", approved)
    assert message.startswith("ON_HOLD commissions are never paid")
    assert f"{approved} (manual)" in message

    # Past its holding period it comes back APPROVED, inside it PENDING.
    assert cli.json("commissions", "release", approved)["status"] == "APPROVED"
    released = cli.json("commissions", "release", pending)
    assert (released["status"], released["reason"]) == ("PENDING", None)
    [paid] = cli.json("commissions", "mark-paid", approved)
    assert paid["status"] == "PAID"


def test_hold_refuses_what_is_not_pending_or_approved_and_release_a_disputed_hold(
    cli: RecordingCli, database_url: str
) -> None:
    _, approved, _, paid = seed(database_url)
    assert cli.fails("commissions", "hold", paid) == (
        f"only PENDING or APPROVED commissions can be held; {paid} is PAID"
    )
    assert cli.fails("commissions", "release", approved) == (
        f"{approved} is APPROVED, not ON_HOLD: nothing to release"
    )
    assert cli.fails("commissions", "hold", "com_nope") == "no such commission: com_nope"
    engine = make_engine(database_url)
    try:
        with Session(engine) as session, session.begin():
            session.execute(
                update(Commission)
                .where(Commission.id == approved)
                .values(status="ON_HOLD", reason="disputed")
            )
    finally:
        engine.dispose()
    message = cli.fails("commissions", "release", approved)
    assert "released when Stripe closes the dispute" in message
