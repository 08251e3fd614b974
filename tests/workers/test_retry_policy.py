"""Which failures are retried (workers/retry.py), with the errors the real parts raise."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import redis
import sqlalchemy.exc
from sqlalchemy import Engine, text

from domain.events import EventParseError, parse_event
from storage.db import make_engine
from storage.errors import InvariantViolation
from workers.failures import DeadLetterNow, MalformedDelivery, RetryLater
from workers.retry import MAX_RETRIES, is_permanent, should_retry
from workers.stripe_api import StripeUnavailable


def raised(engine: Engine, statement: str) -> BaseException:
    with pytest.raises(sqlalchemy.exc.DBAPIError) as caught, engine.begin() as conn:
        conn.execute(text(statement))
    return caught.value


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url, pool_size=1)
    try:
        yield engine
    finally:
        engine.dispose()


def test_permanent_failures_are_dead_lettered_at_once(engine: Engine) -> None:
    with pytest.raises(EventParseError) as parse_error:
        parse_event("{}")
    broken = [
        parse_error.value,
        # A broken invariant: PostgreSQL refuses the row, or the value.
        raised(engine, "INSERT INTO workspaces (id, name) VALUES ('ws_1', '')"),
        raised(engine, "SELECT 'x'::int"),
        # Named by the code, never inferred from an assertion (python -O removes those).
        InvariantViolation("a commission needs its attribution"),
        MalformedDelivery("delivery field 'body': expected a string"),
        DeadLetterNow("waiting cannot fix this"),
    ]
    for exc in broken:
        assert is_permanent(exc), exc
        assert should_retry(0, exc) is False


def test_transient_failures_are_retried_until_the_limit(engine: Engine) -> None:
    unreachable = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none", pool_size=1)
    with pytest.raises(sqlalchemy.exc.OperationalError) as down:
        unreachable.connect()
    unreachable.dispose()
    transient = [
        down.value,
        psycopg.errors.SerializationFailure("could not serialize access"),
        psycopg.errors.DeadlockDetected("deadlock detected"),
        redis.ConnectionError("Connection refused"),
        StripeUnavailable("Stripe answered 503"),
        KeyError("a bug a deploy will fix"),
    ]
    for exc in transient:
        assert not is_permanent(exc), exc
        assert should_retry(0, exc) is True
        assert should_retry(MAX_RETRIES - 1, exc) is True
        assert should_retry(MAX_RETRIES, exc) is False


def test_an_assertion_decides_nothing() -> None:
    """A failed assert is an error nobody foresaw: retried like one, not a dead letter."""
    for exc in (AssertionError("a commission needs its attribution"), RetryLater("busy")):
        assert not is_permanent(exc), exc
        assert should_retry(0, exc) is True
