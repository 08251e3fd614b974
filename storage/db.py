"""Engines and the unit of work. Repositories never commit: the caller's unit of work does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast

import psycopg
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

#: seconds a pooled connection may have been idle and still be handed out without a ping
PING_AFTER_IDLE = 1.0


def make_engine(
    database_url: str, *, pool_size: int = 5, application_name: str = "traaaction"
) -> Engine:
    engine = create_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        connect_args={
            "application_name": application_name,
            "connect_timeout": 5,
            # A worker whose host died holds its advisory locks until PostgreSQL notices the
            # connection is gone: the server's TCP keepalives (set for this session) make
            # that about a minute, not the kernel's two hours, so the event another worker
            # picked up again is not blocked that long. The client's own keepalives notice a
            # dead server as fast.
            "options": "-c tcp_keepalives_idle=30 -c tcp_keepalives_interval=10"
            " -c tcp_keepalives_count=3",
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        },
    )
    _ping_idle_connections(engine)
    return engine


def _ping_idle_connections(engine: Engine) -> None:
    """Like `pool_pre_ping`, but only for connections idle for a while.

    A connection handed out again within PING_AFTER_IDLE of its last use was alive then; one
    idle for longer (the server may have restarted or dropped it meanwhile) is pinged first
    and replaced if dead. A busy worker would otherwise pay two round trips (BEGIN, SELECT 1)
    per transaction for pings that cannot fail. A connection that dies in use fails that
    transaction (retried), and SQLAlchemy then replaces it and every connection as old.
    """

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info[_IDLE_SINCE] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_AFTER_IDLE:
            return  # new, or just used
        try:
            cursor = dbapi_connection.cursor()
            try:
                cursor.execute("SELECT 1")
            finally:
                cursor.close()
        except psycopg.Error as exc:
            # The pool drops this connection and hands out another (a new one if need be).
            raise DisconnectionError from exc


_IDLE_SINCE = "traaaction.idle_since"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed if the block completes, rolled back if it raises."""
    with factory() as session, session.begin():
        yield session


_DRIVER_CONNECTION = "traaaction.driver_connection"


def driver_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection of the session's transaction.

    For the workers' hot path: statements sent on it directly run in the same transaction,
    without SQLAlchemy's per-statement work, and can be pipelined (`pipelined`).
    """
    transaction = session.get_transaction()
    cached = session.info.get(_DRIVER_CONNECTION)
    if cached is not None and transaction is not None and cached[0] is transaction:
        conn: psycopg.Connection[Any] = cached[1]
        return conn
    conn = cast(Any, session.connection().connection.driver_connection)
    if not isinstance(conn, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(conn).__name__}")
    # Looking it up costs more than most statements: remembered for this transaction.
    session.info[_DRIVER_CONNECTION] = (session.get_transaction(), conn)
    return conn


@contextmanager
def pipelined(session: Session) -> Iterator[psycopg.Connection[Any]]:
    """Send the statements of the block in one round trip (psycopg's pipeline mode).

    Only statements sent on the yielded connection may run in the block, and their results
    may be read only after it: they all arrive together when it ends. An error in any of them
    is raised when the block ends, and aborts the transaction as it would have anyway.
    """
    conn = driver_connection(session)
    with conn.pipeline():
        yield conn
