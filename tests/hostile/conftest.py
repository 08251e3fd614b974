"""The ingress app of tests/ingress/conftest.py, built once per module here.

Hostile-input tests send many deliveries and need no fresh database each: one database and
one app per module, a new endpoint and a flushed Redis per test. (A database per test costs
its creation and, at the end of the run, its drop: about as long as the test itself.)
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ingress.app import IngressOptions, create_app
from storage.crypto import SecretBox, parse_master_keys
from storage.db import make_engine
from tests.conftest import DatabaseFactory
from tests.ingress.conftest import Endpoint, Fixture


@pytest.fixture(scope="module")
def module_database_url(databases: DatabaseFactory, migrated_template: str) -> str:
    return databases.create(template=migrated_template)


@pytest.fixture(scope="module")
def module_engine(module_database_url: str) -> Iterator[Engine]:
    engine = make_engine(module_database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def module_box(master_key_value: str) -> SecretBox:
    return SecretBox(parse_master_keys(master_key_value))


@pytest.fixture(scope="module")
def world(module_engine: Engine, module_box: SecretBox) -> Fixture:
    return Fixture(module_engine, module_box)


@pytest.fixture(scope="module")
def app(module_engine: Engine, redis_url: str, module_box: SecretBox) -> Starlette:
    return create_app(
        engine=module_engine,
        redis_url=redis_url,
        secret_box=module_box,
        options=IngressOptions(enqueue_timeout=1.0),
    )


@pytest.fixture(scope="module")
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, client=("203.0.113.7", 4242)) as test_client:
        yield test_client


@pytest.fixture
def ep(world: Fixture, redis_client: redis.Redis) -> Endpoint:
    """A new endpoint (its own workspace and secret), and Redis flushed (by redis_client)."""
    return world.endpoint()
