"""Real PostgreSQL and Redis for every test.

With DATABASE_URL / REDIS_URL set (CI sets them to this machine's servers), tests use those
servers; otherwise they start the embedded ones in a temporary directory, exactly as the
service's embedded default does. Either way the run gets fresh databases of its own:

- `migrated_template`: a database migrated to head once per run;
- `database_url`: a clone of it for tests that commit (CLI, processes);
- `db_session`: a transaction on the shared test database, rolled back after each test.
"""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from config.settings import load_settings
from storage.crypto import SecretBox, format_master_key, generate_master_key
from storage.db import make_engine
from storage.schema import upgrade
from traaaction.embedded import EmbeddedPostgres, EmbeddedRedis

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port nothing listens on now, on 127.0.0.1 (for a server a test starts)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _conninfo(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


def _with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL on the PostgreSQL server the run uses (its maintenance database)."""
    configured = load_settings().database_url
    if configured is not None:
        yield configured
        return
    server = EmbeddedPostgres(tmp_path_factory.mktemp("embedded") / "postgres")
    server.attach()
    try:
        yield server.url
    finally:
        server.detach()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    configured = load_settings().redis_url
    if configured is not None:
        yield configured
        return
    server = EmbeddedRedis(tmp_path_factory.mktemp("embedded") / "redis")
    server.attach()
    try:
        yield server.url
    finally:
        server.detach()


@dataclass
class DatabaseFactory:
    """Creates throw-away databases on the test server, dropped at the end of the run."""

    server_url: str
    created: list[str]

    def create(self, *, template: str | None = None, prefix: str = "traaaction_test") -> str:
        name = f"{prefix}_{secrets.token_hex(6)}"
        with psycopg.connect(_conninfo(self.server_url), autocommit=True) as conn:
            template_sql = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{template_sql}')
        self.created.append(name)
        return _with_database(self.server_url, name)

    def drop_all(self) -> None:
        with psycopg.connect(_conninfo(self.server_url), autocommit=True) as conn:
            for name in reversed(self.created):
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def databases(postgres_server_url: str) -> Iterator[DatabaseFactory]:
    factory = DatabaseFactory(postgres_server_url, [])
    try:
        yield factory
    finally:
        factory.drop_all()


@pytest.fixture(scope="session")
def migrated_template(databases: DatabaseFactory) -> str:
    """The name of a database migrated to head, used as a template for clones."""
    url = databases.create(prefix="traaaction_template")
    engine = make_engine(url, pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    name = make_url(url).database
    assert name is not None
    return name


@pytest.fixture
def database_url(databases: DatabaseFactory, migrated_template: str) -> str:
    """A fresh migrated database of this test's own (for code that commits)."""
    return databases.create(template=migrated_template)


@pytest.fixture(scope="session")
def shared_engine(databases: DatabaseFactory, migrated_template: str) -> Iterator[Engine]:
    engine = make_engine(databases.create(template=migrated_template))
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def db_session(shared_engine: Engine) -> Iterator[Session]:
    """A session whose work is rolled back after the test, commits included (savepoints)."""
    with shared_engine.connect() as conn:
        outer = conn.begin()
        session = Session(bind=conn, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture(scope="session")
def master_key_value() -> str:
    return format_master_key(generate_master_key("test1"))


@pytest.fixture
def secret_box(master_key_value: str) -> SecretBox:
    from storage.crypto import parse_master_keys

    return SecretBox(parse_master_keys(master_key_value))


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


@dataclass
class Cli:
    """Runs the installed `traaaction` console script, as an operator would."""

    env: dict[str, str]
    cwd: Path

    def __call__(self, *args: str, stdin: str | None = None, **env: str) -> CliResult:
        proc = subprocess.run(
            [_console_script(), *args],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env={**self.env, **env},
            cwd=self.cwd,
            timeout=120,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, stdin: str | None = None, **env: str) -> CliResult:
        result = self(*args, stdin=stdin, **env)
        assert result.code == 0, f"{args} failed ({result.code}): {result.stderr}"
        return result


def _console_script() -> str:
    script = Path(sys.executable).parent / "traaaction"
    assert script.exists(), "install the project first: pip install -e '.[test]'"
    return str(script)


def base_env() -> dict[str, str]:
    """The environment of this test run, minus everything the service reads."""
    drop = {
        "DATABASE_URL",
        "REDIS_URL",
        "TRAAACTION_KEYS",
        "PUBLIC_BASE_URL",
        "LOG_LEVEL",
        "LOG_FORMAT",
        "TRAAACTION_DATA_DIR",
        "OPS_TOKEN",
        "PAYLOAD_RETENTION_DAYS",
        "EVENT_LOG_RETENTION_DAYS",
    }
    return {k: v for k, v in os.environ.items() if k.upper() not in drop}


@pytest.fixture
def cli(database_url: str, redis_url: str, master_key_value: str, tmp_path: Path) -> Cli:
    env = {
        **base_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "PUBLIC_BASE_URL": "https://hooks.example.test",
        "LOG_FORMAT": "json",
        "TRAAACTION_DATA_DIR": str(tmp_path / "data"),
    }
    return Cli(env, tmp_path)
