"""Alembic environment: online migrations only, on the engine the caller passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from storage.models import Base

#: an arbitrary constant; concurrent `db upgrade` runs (several web processes starting at once)
#: queue on this advisory lock instead of racing
_MIGRATION_LOCK = 7_244_915_001


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    if not isinstance(engine, Engine):  # storage.schema passes one; alembic's CLI does not
        raise TypeError("run the migrations through storage.schema (`traaaction db upgrade`)")
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                transaction_per_migration=True,
                compare_type=True,
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            # After a failed migration the transaction is aborted: end it first, or the unlock
            # fails too (hiding the real error) and the pooled connection keeps the lock.
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
            connection.commit()


run_migrations_online()
