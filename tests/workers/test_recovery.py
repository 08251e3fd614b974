"""Operator recovery (workers/replay.py) against real PostgreSQL: replay, dry run, discard,
events replay, retention. Replays run the real pipeline in this process."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from storage.db import make_session_factory, unit_of_work
from storage.models import (
    AppliedEvent,
    Click,
    DeadLetter,
    EventPayload,
    WebhookEventLog,
)
from storage.repositories import dead_letters
from storage.repositories.dead_letters import DeadLetterRecord, Filters
from storage.repositories.retention import Retention, prune
from tests.workers.conftest import Shop
from traaaction import stripe_payloads as ev
from workers import replay
from workers.replay import ReplayError

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)


def dead_letter(shop: Shop, body: str, *, error: str = "OperationalError") -> str:
    """Record `body` as the workers would have after giving up on it; returns its id."""
    delivery = ev.delivery(body, workspace_id=shop.workspace_id)
    message: dict[str, Any] = {
        "queue_name": "checkout_session_completed",
        "actor_name": "checkout_session_completed",
        "args": [],
        "kwargs": {k: v for k, v in delivery.items() if k != "body"},
        "options": {"retries": 16},
        "message_id": f"msg-{delivery['event_id']}",
        "message_timestamp": 0,
    }
    with unit_of_work(make_session_factory(shop.engine)) as session:
        dead_letters.record(
            session,
            [
                DeadLetterRecord(
                    workspace_id=shop.workspace_id,
                    endpoint_id="ep_test",
                    stripe_event_id=delivery["event_id"],
                    event_type=delivery["event_type"],
                    livemode=False,
                    actor_name="checkout_session_completed",
                    queue_name="checkout_session_completed",
                    message_id=f"msg-{delivery['event_id']}",
                    message=message,
                    body=body,
                    error_class=error,
                    error_message="connection refused",
                    traceback="Traceback ...",
                    attempts=16,
                    first_failed_at=T0,
                    last_failed_at=T0 + timedelta(hours=1),
                )
            ],
        )
        found = session.scalar(
            select(DeadLetter.id).where(DeadLetter.stripe_event_id == delivery["event_id"])
        )
    assert found is not None
    return found


def letter(engine: Engine, dead_letter_id: str) -> DeadLetter:
    with Session(engine) as session:
        found = session.get(DeadLetter, dead_letter_id)
        assert found is not None
        return found


def count(engine: Engine, model: Any) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_replayed_dead_letter_makes_its_commission_once_and_closes(shop: Shop) -> None:
    body = ev.checkout_session_completed(
        session_id="cs_1", click_id=shop.click_id, amount=10_000
    ).text
    dl = dead_letter(shop, body)

    first = replay.replay_dead_letter(dl)

    assert (first.outcome, first.reason) == ("processed", None)
    [commission] = shop.commissions()
    assert first.commission_ids == (commission.id,)
    assert (commission.kind, commission.amount) == ("SALE", 1_000)
    closed = letter(shop.engine, dl)
    assert (closed.status, closed.status_reason) == ("replayed", "processed")
    [row] = [r for r in shop.log() if r.outcome == "processed"]
    assert row.detail == {"replay_of": dl}

    # A second replay: the dead letter is closed; nothing runs, still one commission.
    second = replay.replay_dead_letter(dl)
    assert (second.outcome, second.reason) == ("not_open", "replayed")
    assert len(shop.commissions()) == 1


def test_a_dead_letter_whose_event_was_applied_meanwhile_closes_as_duplicate(shop: Shop) -> None:
    body = ev.checkout_session_completed(session_id="cs_2", click_id=shop.click_id).text
    dl = dead_letter(shop, body)
    shop.deliver(body)  # Stripe's own resend got through meanwhile

    result = replay.replay_dead_letter(dl)

    assert (result.outcome, result.reason) == ("duplicate", "already_applied")
    assert len(shop.commissions()) == 1
    assert (letter(shop.engine, dl).status, letter(shop.engine, dl).status_reason) == (
        "replayed",
        "duplicate",
    )


def test_a_dry_run_tells_what_would_happen_and_writes_nothing(shop: Shop) -> None:
    body = ev.checkout_session_completed(
        session_id="cs_3", click_id=shop.click_id, amount=4_999
    ).text
    dl = dead_letter(shop, body)
    before = {m: count(shop.engine, m) for m in (AppliedEvent, WebhookEventLog, EventPayload)}

    result = replay.replay_dead_letter(dl, dry_run=True)

    assert result.outcome == "planned"
    commands = [c["command"] for c in result.planned]
    assert commands == ["CreateAttribution", "CreateCommission"]
    [create] = [c for c in result.planned if c["command"] == "CreateCommission"]
    assert (create["kind"], create["amount"], create["currency"]) == ("SALE", 500, "usd")
    assert shop.commissions() == []
    assert {m: count(shop.engine, m) for m in before} == before
    assert letter(shop.engine, dl).status == "open"

    # Once applied, a dry run says it would change nothing.
    shop.deliver(body)
    assert replay.replay_dead_letter(dl, dry_run=True).outcome == "duplicate"


def test_a_dry_run_of_a_skip_names_the_reason(shop: Shop) -> None:
    dl = dead_letter(shop, ev.checkout_session_completed(session_id="cs_4", click_id=None).text)
    result = replay.replay_dead_letter(dl, dry_run=True)
    assert (result.outcome, result.reason, result.planned) == ("planned", "missing_click_id", ())


def test_discard_closes_with_its_reason_and_only_open_ones(shop: Shop) -> None:
    dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_5", click_id=shop.click_id).text
    )

    assert replay.discard_dead_letters([dl, "dl_unknown"], "test event from a sandbox") == [dl]
    closed = letter(shop.engine, dl)
    assert (closed.status, closed.status_reason) == ("discarded", "test event from a sandbox")
    assert replay.discard_dead_letters([dl], "again") == []
    assert replay.replay_dead_letter(dl).outcome == "not_open"
    assert shop.commissions() == []
    with pytest.raises(ReplayError, match="reason"):
        replay.discard_dead_letters([dl], "  ")


def test_bulk_replay_resumes_after_an_interruption(shop: Shop) -> None:
    ids = [
        dead_letter(
            shop,
            ev.checkout_session_completed(session_id=f"cs_bulk_{i}", click_id=shop.click_id).text,
        )
        for i in range(3)
    ]
    total, running = replay.replay_dead_letters(Filters(workspace_id=shop.workspace_id))
    assert total == 3
    first = next(running)
    running.close()  # Ctrl-C after the first event
    assert first.outcome == "processed"
    assert len(shop.commissions()) == 1

    total, running = replay.replay_dead_letters(Filters(workspace_id=shop.workspace_id))
    assert total == 2
    assert [r.outcome for r in running] == ["processed", "processed"]
    assert len(shop.commissions()) == 3
    assert {letter(shop.engine, i).status for i in ids} == {"replayed"}


def test_two_concurrent_replays_of_one_dead_letter_apply_it_once(shop: Shop) -> None:
    dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_race", click_id=shop.click_id).text
    )
    results: list[str] = []
    start = threading.Barrier(2)

    def run() -> None:
        start.wait()
        results.append(replay.replay_dead_letter(dl).outcome)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(shop.commissions()) == 1
    assert "processed" in results
    assert sorted(results) in (["duplicate", "processed"], ["not_open", "processed"])


def test_a_replay_that_fails_again_keeps_the_dead_letter_open_with_the_new_error(
    shop: Shop,
) -> None:
    dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_bad", click_id=shop.click_id).text
    )
    # The stored body is unreadable: the replay fails (a permanent failure) and says why.
    with Session(shop.engine) as session, session.begin():
        session.execute(
            text("UPDATE dead_letters SET body = '{not json' WHERE id = :id"), {"id": dl}
        )
    result = replay.replay_dead_letter(dl)
    assert result.outcome == "failed"
    assert result.error is not None
    assert result.error.startswith("EventParseError")
    still = letter(shop.engine, dl)
    assert (still.status, still.error_class, still.attempts) == ("open", "EventParseError", 17)
    [row] = [r for r in shop.log() if r.outcome == "failed"]
    assert row.detail is not None
    assert (row.detail["replay_of"], row.detail["permanent"]) == (dl, True)


def test_a_failed_replay_of_a_connected_accounts_event_logs_its_account(shop: Shop) -> None:
    account = "acct_1Nv0FGQ9RKHgCVdK"
    built = ev.checkout_session_completed(session_id="cs_acct", click_id=shop.click_id)
    payload = {**built.body, "account": account}
    payload["data"] = {"object": {**built.body["data"]["object"], "amount_total": "ten"}}
    dl = dead_letter(shop, orjson.dumps(payload).decode())
    assert replay.replay_dead_letter(dl).outcome == "failed"
    [row] = [r for r in shop.log() if r.outcome == "failed"]
    assert (row.reason, row.stripe_account) == ("EventParseError", account)


def test_events_replay_reruns_a_skipped_event_after_its_click_is_fixed(shop: Shop) -> None:
    missing_click = "clk_" + "a" * 26
    body = ev.checkout_session_completed(
        session_id="cs_late", click_id=missing_click, amount=20_000
    ).text
    assert shop.deliver(body).reason == "unknown_click_id"
    event_id = ev.delivery(body, workspace_id=shop.workspace_id)["event_id"]

    # The click arrives late (the link service's record was delayed).
    with unit_of_work(make_session_factory(shop.engine)) as session:
        session.add(
            Click(id=missing_click, workspace_id=shop.workspace_id, partner_id=shop.partner_id)
        )

    preview = replay.replay_event(event_id, dry_run=True)
    assert preview.outcome == "planned"
    assert [c["command"] for c in preview.planned] == ["CreateAttribution", "CreateCommission"]
    assert shop.commissions() == []

    result = replay.replay_event(event_id)
    assert result.outcome == "processed"
    [commission] = shop.commissions()
    assert (commission.amount, commission.click_id) == (2_000, missing_click)

    # Run again: what it created is not created twice.
    again = replay.replay_event(event_id)
    assert again.commission_ids == ()
    assert len(shop.commissions()) == 1


def test_events_replay_refuses_what_it_no_longer_has(shop: Shop) -> None:
    with pytest.raises(ReplayError, match="no payload retained"):
        replay.replay_event("evt_never_seen")


def test_retention_prunes_old_payloads_logs_and_closed_dead_letters_only(shop: Shop) -> None:
    old_body = ev.checkout_session_completed(session_id="cs_old", click_id=shop.click_id).text
    shop.deliver(old_body)
    new_body = ev.checkout_session_completed(session_id="cs_new", click_id=shop.click_id).text
    shop.deliver(new_body)
    open_dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_open", click_id=shop.click_id).text
    )
    closed_dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_closed", click_id=shop.click_id).text
    )
    replay.discard_dead_letters([closed_dl], "noise")
    old_id = ev.delivery(old_body, workspace_id=shop.workspace_id)["event_id"]
    now = datetime.now(UTC)
    with Session(shop.engine) as session, session.begin():
        ago = {"t": now - timedelta(days=100), "id": old_id}
        session.execute(
            text("UPDATE event_payloads SET received_at = :t WHERE stripe_event_id = :id"), ago
        )
        session.execute(
            text("UPDATE webhook_event_log SET created_at = :t WHERE stripe_event_id = :id"), ago
        )
        session.execute(
            text("UPDATE applied_events SET applied_at = :t WHERE stripe_event_id = :id"), ago
        )
        session.execute(
            text("UPDATE dead_letters SET status_changed_at = :t, last_failed_at = :t"), ago
        )

    deleted = prune(make_session_factory(shop.engine), Retention(30, 90), now=now)

    assert deleted == {
        "event_payloads": 1,
        "webhook_event_log": 1,
        "applied_events": 1,
        "dead_letters": 1,
    }
    with Session(shop.engine) as session:
        payload_ids = set(session.scalars(select(EventPayload.stripe_event_id)))
        letters = set(session.scalars(select(DeadLetter.id)))
    assert old_id not in payload_ids
    assert len(payload_ids) == 1
    assert letters == {open_dl}
    # The ledger itself is never pruned.
    assert len(shop.commissions()) == 2
