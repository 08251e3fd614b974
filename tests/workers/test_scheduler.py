"""The scheduler's tick: one instance at a time does the approvals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory, unit_of_work
from tests.storage.ledger_rows import chain, commission
from workers.scheduler import tick

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_only_one_scheduler_works_at_a_time(database_url: str) -> None:
    engine: Engine = make_engine(database_url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            c = chain(session)
            commission(session, c, hold_until=NOW - timedelta(days=1))
        with engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_xact_lock(7244915002)"))
            assert tick(factory, now=NOW).ran is False
            holder.rollback()
        result = tick(factory, now=NOW)
        assert (result.ran, result.approved) == (True, 1)
    finally:
        engine.dispose()


def test_parked_events_are_dropped_after_their_wait(database_url: str) -> None:
    from storage.models import ParkedEvent
    from storage.repositories import workspaces

    engine: Engine = make_engine(database_url)
    factory: sessionmaker[Session] = make_session_factory(engine)
    try:
        with unit_of_work(factory) as session:
            ws = workspaces.create(session, name="Shop")
            for key, expires in (
                ("sub_old", NOW - timedelta(seconds=1)),
                ("sub_new", NOW + timedelta(days=1)),
            ):
                session.add(
                    ParkedEvent(
                        workspace_id=ws.id,
                        endpoint_id="ep_1",
                        stripe_event_id=f"evt_{key}",
                        event_type="invoice.paid",
                        wait_for="subscription",
                        wait_key=key,
                        body="{}",
                        expires_at=expires,
                    )
                )
        assert tick(factory, now=NOW).expired == 1
        with unit_of_work(factory) as session:
            assert [p.wait_key for p in session.query(ParkedEvent)] == ["sub_new"]
    finally:
        engine.dispose()
