from __future__ import annotations

import threading
import time

import psycopg.errors
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import ProgrammingError

from storage.db import make_engine
from storage.models import Base
from storage.schema import (
    SchemaBehind,
    SchemaState,
    alembic_config,
    ensure_current,
    schema_state,
    upgrade,
)
from tests.conftest import DatabaseFactory

#: every table the models declare; the migrations must create exactly these
TABLES = set(Base.metadata.tables)
#: tables other programs read (dashboards, operators): they must exist whatever else changes
CONTRACT_TABLES = {
    "workspaces",
    "webhook_endpoints",
    "programs",
    "partners",
    "clicks",
    "commissions",
    "webhook_event_log",
}
#: the advisory lock key storage/migrations/env.py takes around migrations
MIGRATION_LOCK = 7_244_915_001


def tables(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        names = conn.scalars(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        return set(names)


def schema_shape(conn: Connection) -> set[tuple[str, str, str]]:
    """Every constraint and index of the public schema, as PostgreSQL prints them."""
    constraints = conn.execute(
        text(
            "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)"
            " FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace"
            " WHERE n.nspname = 'public' AND c.conrelid::regclass::text <> 'alembic_version'"
        )
    )
    indexes = conn.execute(
        text(
            "SELECT tablename, indexname, indexdef FROM pg_indexes"
            " WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
        )
    )
    return {(a, b, c) for a, b, c in constraints} | {(a, b, c) for a, b, c in indexes}


def test_a_brand_new_database_has_no_schema_version(empty_engine: Engine) -> None:
    state = schema_state(empty_engine)
    assert state.current is None
    assert state.head
    assert not state.up_to_date
    assert tables(empty_engine) == set()


def test_ensure_current_on_an_empty_database_says_to_run_db_upgrade(
    empty_engine: Engine,
) -> None:
    with pytest.raises(SchemaBehind, match="no schema yet") as caught:
        ensure_current(empty_engine)
    assert "`traaaction db upgrade`" in str(caught.value)


def test_upgrade_brings_an_empty_database_to_head_with_every_table(
    empty_engine: Engine,
) -> None:
    state = upgrade(empty_engine)
    assert state.current == state.head
    assert state.up_to_date
    assert schema_state(empty_engine) == state
    assert tables(empty_engine) == TABLES | {"alembic_version"}
    assert CONTRACT_TABLES <= TABLES
    ensure_current(empty_engine)


def test_upgrade_twice_changes_nothing(empty_engine: Engine) -> None:
    first = upgrade(empty_engine)
    with empty_engine.connect() as conn:
        shape = schema_shape(conn)
    assert upgrade(empty_engine) == first
    with empty_engine.connect() as conn:
        assert schema_shape(conn) == shape
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1


def test_downgrade_to_base_removes_the_schema_and_upgrade_rebuilds_it(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)
    with empty_engine.connect() as conn:
        shape = schema_shape(conn)

    command.downgrade(alembic_config(empty_engine), "base")
    assert schema_state(empty_engine).current is None
    assert tables(empty_engine) & TABLES == set()
    with pytest.raises(SchemaBehind, match="no schema yet"):
        ensure_current(empty_engine)

    state = upgrade(empty_engine)
    assert state.up_to_date
    assert tables(empty_engine) == TABLES | {"alembic_version"}
    with empty_engine.connect() as conn:
        assert schema_shape(conn) == shape


def test_the_models_match_the_migrations(database_url: str) -> None:
    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "compare_server_default": True}
            )
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_models_create_the_same_constraints_and_indexes_as_the_migrations(
    databases: DatabaseFactory, database_url: str
) -> None:
    """Autogenerate does not compare CHECK constraints; PostgreSQL's own definitions do."""
    migrated = make_engine(database_url, pool_size=1)
    from_models = make_engine(databases.create(), pool_size=1)
    try:
        Base.metadata.create_all(from_models)
        with migrated.connect() as a, from_models.connect() as b:
            migrated_shape, models_shape = schema_shape(a), schema_shape(b)
        assert migrated_shape == models_shape
        assert ("programs", "ck_programs_reward") in {(t, n) for t, n, _ in migrated_shape}
    finally:
        migrated.dispose()
        from_models.dispose()


def advisory_lock_waiters(conn: Connection) -> int:
    count = conn.execute(
        text(
            "SELECT count(*) FROM pg_locks l JOIN pg_database d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND NOT l.granted AND d.datname = current_database()"
        )
    ).scalar_one()
    conn.commit()
    assert isinstance(count, int)
    return count


def upgrade_in_threads(engines: list[Engine]) -> tuple[list[threading.Thread], list[object]]:
    """Start one upgrade per engine, all at once; outcomes collect states or exceptions."""
    outcomes: list[object] = []
    start = threading.Barrier(len(engines))

    def run(engine: Engine) -> None:
        start.wait()
        try:
            outcomes.append(upgrade(engine))
        except BaseException as error:  # reported by the test, in its own thread
            outcomes.append(error)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    return threads, outcomes


def test_two_concurrent_upgrades_of_one_fresh_database_both_succeed_and_end_at_head(
    databases: DatabaseFactory,
) -> None:
    url = databases.create()
    engines = [make_engine(url, pool_size=1) for _ in range(2)]
    try:
        threads, outcomes = upgrade_in_threads(engines)
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads)
        assert len(outcomes) == 2
        for outcome in outcomes:
            assert isinstance(outcome, SchemaState), repr(outcome)
            assert outcome.up_to_date
        assert tables(engines[0]) == TABLES | {"alembic_version"}
        with engines[0].connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
    finally:
        for engine in engines:
            engine.dispose()


def test_an_upgrade_waits_for_the_migration_lock_another_connection_holds(
    databases: DatabaseFactory,
) -> None:
    url = databases.create()
    holder_engine, upgrader = make_engine(url, pool_size=1), make_engine(url, pool_size=1)
    try:
        with holder_engine.connect() as holder:
            holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            holder.commit()
            threads, outcomes = upgrade_in_threads([upgrader])
            deadline = time.monotonic() + 20
            while advisory_lock_waiters(holder) < 1 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert advisory_lock_waiters(holder) == 1
            assert tables(holder_engine) == set()
            assert outcomes == []
            holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            holder.commit()
        threads[0].join(timeout=60)
        assert not threads[0].is_alive()
        assert len(outcomes) == 1
        assert isinstance(outcomes[0], SchemaState), repr(outcomes[0])
        assert outcomes[0].up_to_date
        assert tables(holder_engine) == TABLES | {"alembic_version"}
    finally:
        holder_engine.dispose()
        upgrader.dispose()


def test_a_failed_upgrade_reports_the_real_error_and_releases_the_migration_lock(
    empty_engine: Engine, databases: DatabaseFactory
) -> None:
    with empty_engine.begin() as conn:
        conn.execute(text("CREATE TABLE workspaces (squatter integer)"))

    with pytest.raises(ProgrammingError) as caught:
        upgrade(empty_engine)
    assert isinstance(caught.value.orig, psycopg.errors.DuplicateTable)
    assert schema_state(empty_engine).current is None

    # The failing engine is still alive (its connection back in the pool); another process
    # must be able to take the lock all the same.
    url = empty_engine.url.render_as_string(hide_password=False)
    other = make_engine(url, pool_size=1)
    try:
        with other.connect() as conn:
            took = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            assert took.scalar_one() is True
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
            conn.commit()
    finally:
        other.dispose()

    with empty_engine.begin() as conn:
        conn.execute(text("DROP TABLE workspaces"))
    assert upgrade(empty_engine).up_to_date


def test_a_database_stamped_with_an_unknown_revision_is_newer_than_the_code(
    empty_engine: Engine,
) -> None:
    upgrade(empty_engine)
    with empty_engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))

    state = schema_state(empty_engine)
    assert state.current == "ffff_from_the_future"
    assert not state.up_to_date
    with pytest.raises(SchemaBehind, match="newer than this code") as caught:
        ensure_current(empty_engine)
    assert "ffff_from_the_future" in str(caught.value)
    assert state.head in str(caught.value)
