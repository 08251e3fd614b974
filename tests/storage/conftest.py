from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from storage.db import make_engine
from tests.conftest import DatabaseFactory


@pytest.fixture
def empty_engine(databases: DatabaseFactory) -> Iterator[Engine]:
    """An engine on a brand new database: no tables, no alembic_version."""
    engine = make_engine(databases.create(), pool_size=2)
    try:
        yield engine
    finally:
        engine.dispose()
