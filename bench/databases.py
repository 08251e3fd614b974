"""The bench's databases: fresh PostgreSQL databases, and one Redis database it owns.

PostgreSQL: each run (or each measurement) gets a database of its own on the server of
DATABASE_URL, dropped on exit whatever happens, so a benchmark never sees another's rows.
Redis: each benchmark has a default database, or REDIS_URL's; it is flushed at the start,
between measurements and at the end, so `claim_redis` refuses a REDIS_URL database holding
keys that are neither the service's nor the bench's.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import redis
from sqlalchemy.engine import make_url

from bench.processes import BenchError
from workers.contract import NAMESPACE

DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def sqlalchemy_url(url: str) -> str:
    if url.startswith(("postgres://", "postgresql://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def conninfo(url: str) -> str:
    """A libpq URL (what psycopg.connect takes) for a SQLAlchemy or libpq URL."""
    return sqlalchemy_url(url).replace("postgresql+psycopg://", "postgresql://", 1)


def postgres_url() -> str:
    return os.environ.get("DATABASE_URL") or DEFAULT_POSTGRES_URL


def database_name(url: str) -> str:
    name = make_url(url).database
    assert name is not None
    return name


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """A new database on the server of `server_url`, dropped on exit (whatever happens)."""
    name = f"traaaction_bench_{secrets.token_hex(6)}"
    base = sqlalchemy_url(server_url)
    with psycopg.connect(conninfo(base), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo(base), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def claim_redis(client: redis.Redis, *, given: bool, force: bool) -> None:
    """Flush the bench's Redis database, refusing one that holds keys of something else."""
    if given and not force:
        foreign = [
            key
            for key in client.scan_iter(count=1000)
            if not key.startswith((f"{NAMESPACE}:".encode(), b"bench:"))
        ]
        if foreign:
            raise BenchError(
                "REDIS_URL's database holds keys that are not the service's or the bench's "
                f"(e.g. {foreign[0]!r}); the bench flushes it: pass --flush-redis to allow that"
            )
    client.flushdb()


def text_of(value: bytes | str) -> str:
    """A Redis reply as text (the client answers bytes)."""
    return value.decode() if isinstance(value, bytes) else value
