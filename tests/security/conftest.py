"""One database per module, and the operator console's fixtures from tests/ops on it.

Each test makes workspaces of its own, so tests can share a database: a database per test
costs its creation and, at the end of the run, its drop. The console's fixtures (an app with
the console mounted, a shop with dead letters, a signed-in client) are tests/ops' own; modules
here that need another `engine`, `app` or `client` define their own, which take precedence.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from storage.db import make_engine
from tests.conftest import DatabaseFactory
from tests.ops.conftest import app, client, clock, make_app, shop, signed_in

__all__ = ["app", "client", "clock", "make_app", "shop", "signed_in"]


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


@pytest.fixture
def engine(module_engine: Engine) -> Engine:
    return module_engine
