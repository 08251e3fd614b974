"""Failed attempts and dead letters become event-log rows, through a real Dramatiq worker."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import dramatiq
import orjson
import pytest
import redis
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from config.logs import configure_logging
from config.settings import LogFormat
from domain.programs import PercentReward, ProgramTerms
from storage.db import make_engine, make_session_factory
from storage.models import DeadLetter, WebhookEventLog
from tests.ingress.conftest import log_records
from tests.workers.conftest import make_shop
from traaaction import stripe_payloads as ev
from workers import context, retry
from workers.actors._declare import declare
from workers.broker import make_broker
from workers.contract import DEAD_LETTER_STREAM
from workers.log_writer import LogWriter


@pytest.fixture
def checkout_actor(
    redis_url: str, redis_client: redis.Redis
) -> Iterator[dramatiq.Actor[..., None]]:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    actor = declare("checkout.session.completed")
    worker = dramatiq.Worker(broker, worker_timeout=50, worker_threads=1)
    worker.start()
    try:
        yield actor
    finally:
        worker.stop()
        broker.close()


def dead_letter_records(client: redis.Redis) -> list[dict[str, Any]]:
    entries = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrange(DEAD_LETTER_STREAM))
    return [orjson.loads(fields[b"r"]) for _, fields in entries]


def wait_for_record(client: redis.Redis, outcome: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = (
            dead_letter_records(client)
            if outcome == "dead_lettered"
            else log_records(client, outcome)
        )
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {outcome} record")


def test_a_malformed_payload_is_dead_lettered_at_once_and_logged(
    database_url: str, redis_client: redis.Redis, checkout_actor: dramatiq.Actor[..., None]
) -> None:
    engine: Engine = make_engine(database_url)
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    try:
        kwargs = ev.delivery(
            ev.checkout_session_completed(session_id="cs_1", click_id=None).text,
            workspace_id="ws_x",
        )
        kwargs["body"] = "{not json"
        checkout_actor.send(**kwargs)
        record = wait_for_record(redis_client, "dead_lettered")
        assert (record["reason"], record["attempt"]) == ("EventParseError", 1)
        assert record["detail"]["will_retry"] is False
        assert record["stripe_event_id"] == kwargs["event_id"]
        assert record["body"] == "{not json"
        assert "body" not in record["message"]["kwargs"]
        LogWriter(redis_client, make_session_factory(engine)).drain()
        with Session(engine) as session:
            [row] = session.scalars(select(WebhookEventLog)).all()
            [letter] = session.scalars(select(DeadLetter)).all()
        assert (row.outcome, row.reason, row.attempt, row.workspace_id) == (
            "dead_lettered",
            "EventParseError",
            1,
            "ws_x",
        )
        # The dead letter, durable and complete enough to replay.
        assert (letter.status, letter.error_class, letter.attempts) == (
            "open",
            "EventParseError",
            1,
        )
        assert (letter.workspace_id, letter.stripe_event_id) == ("ws_x", kwargs["event_id"])
        assert letter.body == "{not json"
        assert letter.actor_name == "checkout_session_completed"
        assert "EventParseError" in letter.traceback
        assert letter.first_failed_at <= letter.last_failed_at
        # Everything left Redis' dead-letter stream once its row was committed.
        assert redis_client.xpending(DEAD_LETTER_STREAM, "logwriter")["pending"] == 0
    finally:
        engine.dispose()


def test_a_transient_failure_is_logged_as_failed_and_will_retry(
    redis_client: redis.Redis, checkout_actor: dramatiq.Actor[..., None]
) -> None:
    unreachable = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
    context.configure(context.WorkerContext(factory=make_session_factory(unreachable)))
    try:
        body = ev.checkout_session_completed(session_id="cs_2", click_id=None).text
        checkout_actor.send(**ev.delivery(body, workspace_id="ws_y"))
        record = wait_for_record(redis_client, "failed")
        assert record["reason"] == "OperationalError"
        assert record["attempt"] == 1
        assert record["detail"]["will_retry"] is True
        assert json.loads(body)["id"] == record["stripe_event_id"]
    finally:
        unreachable.dispose()


class FlakyFactory:
    """A session factory whose first `failures` sessions connect to a closed port (a real
    OperationalError, as when PostgreSQL restarts), then the real database."""

    def __init__(self, real: Any, failures: int) -> None:
        self._real = real
        self._unreachable_engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none")
        self._unreachable = make_session_factory(self._unreachable_engine)
        self.failures = failures
        self.calls = 0

    def __call__(self) -> Session:
        self.calls += 1
        if self.calls <= self.failures:
            return self._unreachable()
        real: Session = self._real()
        return real


def wait_for(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_a_transient_failure_is_retried_and_then_succeeds(
    database_url: str, redis_client: redis.Redis, checkout_actor: dramatiq.Actor[..., None]
) -> None:
    engine = make_engine(database_url)
    shop = make_shop(engine, ProgramTerms(PercentReward(1000)))
    flaky = FlakyFactory(make_session_factory(engine), failures=1)
    context.configure(context.WorkerContext(factory=cast(Any, flaky)))
    writer = LogWriter(redis_client, make_session_factory(engine))
    try:
        body = ev.checkout_session_completed(session_id="cs_r", click_id=shop.click_id).text
        checkout_actor.send(**ev.delivery(body, workspace_id=shop.workspace_id))
        wait_for(lambda: len(shop.commissions()) == 1)
        writer.drain()
        # (The processed row is written with the commission; the failed one by the log writer.)
        outcomes = sorted((r.attempt or 0, r.outcome) for r in shop.log())
        assert outcomes == [(1, "failed"), (2, "processed")]
        assert flaky.calls == 2
    finally:
        engine.dispose()


def test_retries_exhausted_make_a_dead_letter_and_a_log_row_per_attempt(
    database_url: str,
    redis_client: redis.Redis,
    checkout_actor: dramatiq.Actor[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Two retries instead of fifteen (1-2 s, then 2-4 s), so the test ends in seconds.
    monkeypatch.setattr(retry, "MAX_RETRIES", 2)
    engine = make_engine(database_url)
    shop = make_shop(engine, ProgramTerms(PercentReward(1000)))
    flaky = FlakyFactory(make_session_factory(engine), failures=100)
    context.configure(context.WorkerContext(factory=cast(Any, flaky)))
    writer = LogWriter(redis_client, make_session_factory(engine))
    body = ev.checkout_session_completed(session_id="cs_x", click_id=shop.click_id).text
    try:
        checkout_actor.send(**ev.delivery(body, workspace_id=shop.workspace_id))
        wait_for(lambda: bool(dead_letter_records(redis_client)))
        writer.drain()
        assert [(r.outcome, r.attempt, r.reason) for r in shop.log()] == [
            ("failed", 1, "OperationalError"),
            ("failed", 2, "OperationalError"),
            ("dead_lettered", 3, "OperationalError"),
        ]
        with Session(engine) as session:
            [letter] = session.scalars(select(DeadLetter)).all()
        assert (letter.status, letter.attempts, letter.error_class) == (
            "open",
            3,
            "OperationalError",
        )
        assert letter.body == body
        # At least the two backoffs (1 s and 2 s) between the first and the last failure.
        assert (letter.last_failed_at - letter.first_failed_at).total_seconds() >= 3
        assert shop.commissions() == []
    finally:
        engine.dispose()


def test_log_lines_carry_the_message_context_and_never_the_payload(
    database_url: str,
    redis_client: redis.Redis,
    checkout_actor: dramatiq.Actor[..., None],
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = make_engine(database_url)
    shop = make_shop(engine, ProgramTerms(PercentReward(1000)))
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    configure_logging("INFO", LogFormat.JSON)
    marker = "cus_PAYLOAD_MARKER_7f3a"
    try:
        good = ev.delivery(
            ev.checkout_session_completed(
                session_id="cs_log", click_id=shop.click_id, customer=marker
            ).text,
            workspace_id=shop.workspace_id,
        )
        bad = ev.delivery(
            ev.checkout_session_completed(session_id="cs_log2", click_id=None).text,
            workspace_id=shop.workspace_id,
        )
        bad["body"] = '{"broken": "' + marker + '"'
        checkout_actor.send(**good)
        checkout_actor.send(**bad)
        wait_for(lambda: bool(dead_letter_records(redis_client)) and len(shop.commissions()) == 1)
        time.sleep(0.2)  # the failure's log line follows the dead letter's record
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
        engine.dispose()
    lines = [json.loads(x) for x in err.splitlines() if x.startswith("{")]
    [processed] = [x for x in lines if x["event"] == "event.processed"]
    assert processed["actor"] == "checkout_session_completed"
    assert (processed["event_id"], processed["attempt"]) == (good["event_id"], 1)
    assert processed["workspace_id"] == shop.workspace_id
    assert processed["outcome"] == "processed"
    assert processed["message_id"]
    [failure] = [x for x in lines if "Failed to process message" in x["event"]]
    assert bad["event_id"] in failure["event"]
    # Neither the event's contents nor the broken body reach a log line.
    assert marker not in err
