"""Operator recovery: replay or discard dead letters, re-run a logged event, or preview either.

Replays run the event through the very pipeline the actors run (workers.pipeline.process), in
the calling process (the CLI, the operator console), so the operator sees the outcome at once.
What makes them safe to run twice, or from two terminals at once, is what makes webhook
deliveries safe: the event's advisory locks, its record in applied_events and the business
keys of what it creates, all in the one transaction that also closes the dead letter. A dead
letter whose event was applied meanwhile is closed as `duplicate`.

`workers.context.configure()` must have been called in the process (the CLI and the console
do it with the settings' database and master keys).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.logs import get_logger, redact
from domain.envelope import is_account_id
from domain.events import EventParseError
from storage.db import unit_of_work
from storage.models import DeadLetter, EventPayload
from storage.repositories import dead_letters
from storage.repositories.event_log import LogRow, insert_rows
from workers.context import current
from workers.contract import Delivery, Replay
from workers.failures import DeadLetterNow
from workers.pipeline import Preview, preview, process
from workers.retry import is_permanent

log = get_logger(__name__)

#: characters of an error kept in a result and in the dead letter
MAX_ERROR = 300


class ReplayError(Exception):
    """The replay cannot start (unknown id, nothing retained); one line for the operator."""


@dataclass(frozen=True, slots=True)
class ReplayResult:
    dead_letter_id: str | None
    stripe_event_id: str
    event_type: str
    #: processed | skipped | duplicate | failed | not_open (already replayed or discarded)
    #: | planned (a dry run that would run the event)
    outcome: str
    reason: str | None = None
    commission_ids: tuple[str, ...] = ()
    #: a dry run: the commands the domain decided, each {"command": name, **fields}
    planned: tuple[dict[str, Any], ...] = ()
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "dead_letter_id": self.dead_letter_id,
            "stripe_event_id": self.stripe_event_id,
            "event_type": self.event_type,
            "outcome": self.outcome,
            "reason": self.reason,
            "commission_ids": list(self.commission_ids),
            "planned": list(self.planned),
            "error": self.error,
        }


def _plain(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def describe(command: Any) -> dict[str, Any]:
    """A command the domain decided, as plain data: {"command": "CreateCommission", ...}."""
    is_instance = dataclasses.is_dataclass(command) and not isinstance(command, type)
    fields = dataclasses.asdict(command) if is_instance else {}
    return {"command": type(command).__name__, **_plain(fields)}


def _livemode_of(body: str) -> bool:
    """The envelope's livemode, for a delivery rebuilt from what PostgreSQL kept (a body the
    ingress verified and parsed); False when it cannot be read: the frame takes the event's
    own livemode from its payload, and a payload that does not parse fails there, by name."""
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    return isinstance(root, dict) and root.get("livemode") is True


def _delivery(letter: DeadLetter) -> Delivery:
    kwargs = letter.message.get("kwargs") or {}
    api_version = kwargs.get("api_version") if isinstance(kwargs, dict) else None
    return Delivery(
        workspace_id=letter.workspace_id,
        endpoint_id=letter.endpoint_id,
        event_id=letter.stripe_event_id,
        event_type=letter.event_type,
        livemode=(
            letter.livemode if isinstance(letter.livemode, bool) else _livemode_of(letter.body)
        ),
        body=letter.body,
        api_version=api_version if isinstance(api_version, str) else None,
        replay=Replay(dead_letter_id=letter.id),
    )


def _error_text(exc: BaseException) -> str:
    return redact(" ".join(f"{type(exc).__name__}: {exc}".split()))[:MAX_ERROR]


def _run(delivery: Delivery, *, dead_letter_id: str | None, dry_run: bool) -> ReplayResult:
    event_id, event_type = delivery.event_id, delivery.event_type
    if dry_run:
        try:
            seen: Preview = preview(delivery)
        except (EventParseError, DeadLetterNow) as exc:
            return ReplayResult(dead_letter_id, event_id, event_type, "failed",
                                error=_error_text(exc))  # fmt: skip
        return ReplayResult(
            dead_letter_id,
            event_id,
            event_type,
            "duplicate" if seen.outcome == "duplicate" else "planned",
            reason=seen.skip if seen.outcome != "duplicate" else "already_applied",
            planned=tuple(describe(c) for c in seen.commands),
        )
    try:
        outcome = process(delivery)
    except Exception as exc:
        error = _error_text(exc)
        _record_failure(delivery, dead_letter_id, exc, error)
        log.warning(
            "replay.failed",
            event_id=event_id,
            workspace_id=delivery.workspace_id,
            endpoint_id=delivery.endpoint_id,
            error=type(exc).__name__,
        )
        return ReplayResult(dead_letter_id, event_id, event_type, "failed", error=error)
    return ReplayResult(
        dead_letter_id,
        event_id,
        event_type,
        outcome.outcome,
        reason=outcome.reason,
        commission_ids=outcome.commission_ids,
    )


def _account_of(body: str) -> str | None:
    """The body's Connect account, as the ingress recorded it on the event's other rows;
    None for the platform's own, or a body that does not parse (the failure says why)."""
    try:
        root = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    account = root.get("account") if isinstance(root, dict) else None
    return account if is_account_id(account) else None


def _record_failure(
    delivery: Delivery, dead_letter_id: str | None, exc: BaseException, error: str
) -> None:
    """A failed replay: a `failed` log row, and the dead letter (still open) says why."""
    context = current()
    now = context.clock()
    detail: dict[str, Any] = {"will_retry": False, "error": error}
    if dead_letter_id is not None:
        detail["replay_of"] = dead_letter_id
    else:
        detail["replay"] = "forced"
    try:
        with unit_of_work(context.factory) as session:
            insert_rows(
                session,
                [
                    LogRow(
                        "failed",
                        workspace_id=delivery.workspace_id,
                        endpoint_id=delivery.endpoint_id,
                        stripe_event_id=delivery.event_id,
                        event_type=delivery.event_type,
                        livemode=delivery.livemode,
                        reason=type(exc).__name__,
                        detail={**detail, "permanent": is_permanent(exc)},
                        stripe_account=_account_of(delivery.body),
                    )
                ],
            )
            if dead_letter_id is not None:
                letter = session.get(DeadLetter, dead_letter_id)
                if letter is not None and letter.status == "open":
                    letter.error_class = type(exc).__name__
                    letter.error_message = error
                    letter.attempts += 1
                    letter.last_failed_at = now
                    letter.updated_at = now
    except Exception as db_exc:  # the database may be why the replay failed
        log.warning("replay.failure_not_recorded", error=type(db_exc).__name__)


def replay_dead_letter(dead_letter_id: str, *, dry_run: bool = False) -> ReplayResult:
    """Run one dead letter's event again (or preview it); closes it unless it fails again."""
    context = current()
    with context.factory() as session:
        letter = dead_letters.get(session, dead_letter_id)
        if letter is None:
            raise ReplayError(f"no dead letter {dead_letter_id}")
        if letter.status != "open":
            return ReplayResult(
                letter.id,
                letter.stripe_event_id,
                letter.event_type,
                "not_open",
                reason=letter.status,
            )
        delivery = _delivery(letter)
    return _run(delivery, dead_letter_id=dead_letter_id, dry_run=dry_run)


def replay_dead_letters(
    filters: dead_letters.Filters, *, dry_run: bool = False
) -> tuple[int, Generator[ReplayResult, None, None]]:
    """(how many, their results as each ends): every open dead letter matching `filters`,
    oldest failure first.

    Interrupting stops between two events (the one running rolls back); running it again
    resumes with those still open. Two runs at once are safe: each event applies once."""
    context = current()
    with context.factory() as session:
        matching = dead_letters.search(session, dataclasses.replace(filters, status="open"),
                                       limit=None)  # fmt: skip
        ids = [letter.id for letter in reversed(matching)]

    def results() -> Generator[ReplayResult, None, None]:
        for dead_letter_id in ids:
            yield replay_dead_letter(dead_letter_id, dry_run=dry_run)

    return len(ids), results()


def discard_dead_letters(ids: Sequence[str], reason: str) -> list[str]:
    """Close open dead letters without running them; returns the ids that were open."""
    if not reason.strip():
        raise ReplayError("a reason is required to discard")
    context = current()
    with unit_of_work(context.factory) as session:
        return dead_letters.discard(session, ids, reason.strip(), now=context.clock())


def replay_event(
    stripe_event_id: str, *, workspace_id: str | None = None, dry_run: bool = False
) -> ReplayResult:
    """Run a logged event again from its retained payload (after fixing a click, say), even
    though it was applied: what it already created is not created twice (business keys).

    An event that was dead-lettered has no retained payload (it never applied): its dead
    letter is replayed instead."""
    context = current()
    with context.factory() as session:
        payloads = _payloads(session, stripe_event_id, workspace_id)
        if len(payloads) > 1:
            raise ReplayError(
                f"{stripe_event_id} was received by several workspaces "
                f"({', '.join(p.workspace_id for p in payloads)}): add --workspace"
            )
        if not payloads:
            letter = _dead_letter_of(session, stripe_event_id, workspace_id)
            if letter is not None:
                letter_id = letter.id
            else:
                raise ReplayError(
                    f"no payload retained for {stripe_event_id}: never received here, or "
                    f"older than PAYLOAD_RETENTION_DAYS"
                )
        else:
            payload = payloads[0]
            letter_id = None
            delivery = Delivery(
                workspace_id=payload.workspace_id,
                endpoint_id=payload.endpoint_id,
                event_id=payload.stripe_event_id,
                event_type=payload.event_type,
                livemode=_livemode_of(payload.body),
                body=payload.body,
                replay=Replay(force=True),
            )
    if letter_id is not None:
        return replay_dead_letter(letter_id, dry_run=dry_run)
    return _run(delivery, dead_letter_id=None, dry_run=dry_run)


def _payloads(
    session: Session, stripe_event_id: str, workspace_id: str | None
) -> list[EventPayload]:
    query = select(EventPayload).where(EventPayload.stripe_event_id == stripe_event_id)
    if workspace_id is not None:
        query = query.where(EventPayload.workspace_id == workspace_id)
    return list(session.scalars(query))


def _dead_letter_of(
    session: Session, stripe_event_id: str, workspace_id: str | None
) -> DeadLetter | None:
    query = select(DeadLetter).where(DeadLetter.stripe_event_id == stripe_event_id)
    if workspace_id is not None:
        query = query.where(DeadLetter.workspace_id == workspace_id)
    found = list(session.scalars(query.limit(2)))
    return found[0] if len(found) == 1 else None


def oldest_open(session: Session) -> datetime | None:
    """When the oldest open dead letter last failed (for the console's overview)."""
    value = session.scalar(
        select(func.min(DeadLetter.last_failed_at)).where(DeadLetter.status == "open")
    )
    return value if isinstance(value, datetime) else None
