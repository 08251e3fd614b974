"""The log writer: moves event-log records from the Redis stream into PostgreSQL, in batches.

The ingress never waits on PostgreSQL for the rows it produces (duplicate, ignored, rejected);
it adds them to the stream `traaaction:eventlog` in the same Redis script as its enqueue. Each
worker process runs one LogWriter thread, a consumer in the group `logwriter`: it reads up to
`batch` entries at a time, inserts them in one statement, then acknowledges them. A crash
between insert and acknowledge redelivers the entries; their stream ids are unique in the
table (`source_id`), so no row is written twice. Entries a dead consumer left unacknowledged
are claimed after `claim_idle_ms`.

It also reads the dead-letter stream (workers/outcomes.py): each entry there becomes a
`dead_letters` row and a `dead_lettered` log row, written in the same transaction as the
batch. That stream is never trimmed, so a dead letter waits in Redis, however long
PostgreSQL is away, until its row is committed.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import psycopg
import redis
from sqlalchemy.orm import Session, sessionmaker

from config.logs import get_logger
from domain.envelope import is_account_id
from storage.db import unit_of_work
from storage.repositories import dead_letters
from storage.repositories.dead_letters import DeadLetterRecord
from storage.repositories.event_log import LogRow, insert_rows
from workers.contract import DEAD_LETTER_STREAM, EVENT_LOG_STREAM, QUARANTINE_STREAM

log = get_logger(__name__)

GROUP = "logwriter"
#: entries per read and per INSERT
BATCH = 1000
#: milliseconds a read blocks when the stream is empty (bounds how fast the thread stops)
BLOCK_MS = 500
#: milliseconds after which another consumer's unacknowledged entries are taken over
CLAIM_IDLE_MS = 60_000

Entry = tuple[bytes, dict[bytes, bytes]]
#: the streams read, and the prefix of their entries' ids in source_id (two streams can hand
#: out the same entry id)
STREAMS = {EVENT_LOG_STREAM: "", DEAD_LETTER_STREAM: "dl:"}


def _time(millis_or_seconds: Any) -> datetime | None:
    if not isinstance(millis_or_seconds, int | float) or isinstance(millis_or_seconds, bool):
        return None
    seconds = millis_or_seconds / 1000 if millis_or_seconds > 10**11 else millis_or_seconds
    return datetime.fromtimestamp(seconds, UTC)


def _account(record: dict[str, Any]) -> str | None:
    """The record's Connect account (`stripe_account`), if it holds one: records written
    before there was one, and the ingress' own, have none."""
    value = record.get("stripe_account")
    return value if is_account_id(value) else None


def entry_to_row(entry_id: str, fields: dict[bytes, bytes]) -> LogRow | None:
    """One stream entry as a log row; None for an entry this code cannot read (logged)."""
    outcome = fields.get(b"o", b"").decode(errors="replace")
    try:
        record = orjson.loads(fields.get(b"r", b"{}"))
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    common: dict[str, Any] = {
        "workspace_id": record.get("workspace_id"),
        "endpoint_id": record.get("endpoint_id"),
        "source_id": entry_id,
        "stripe_account": _account(record),
    }
    if outcome in {"duplicate", "ignored"}:
        return LogRow(
            outcome,
            stripe_event_id=record.get("stripe_event_id"),
            event_type=record.get("event_type"),
            livemode=record.get("livemode"),
            created_at=_time(record.get("received_at")),
            **common,
        )
    if outcome == "rejected":
        return LogRow(
            "rejected",
            reason=record.get("reason"),
            count=max(1, int(record.get("count", 1))),
            detail={
                "client_samples": record.get("client_samples", []),
                "window_start": record.get("window_start"),
                "first_seen": record.get("first_seen"),
                "last_seen": record.get("last_seen"),
            },
            created_at=_time(record.get("first_seen")),
            **common,
        )
    if outcome in {"failed", "dead_lettered"}:
        return LogRow(
            outcome,
            stripe_event_id=record.get("stripe_event_id"),
            event_type=record.get("event_type"),
            livemode=record.get("livemode"),
            reason=record.get("reason"),
            attempt=record.get("attempt"),
            detail=record.get("detail"),
            created_at=_time(record.get("at")),
            **common,
        )
    return None


def entry_to_dead_letter(
    entry_id: str, fields: dict[bytes, bytes]
) -> tuple[LogRow, DeadLetterRecord] | None:
    """One dead-letter stream entry as its log row and dead letter; None if unreadable."""
    try:
        record = orjson.loads(fields.get(b"r", b"{}"))
        last = _time(record["at"])
        first = _time(record.get("first_failed_at")) or last
        if last is None or first is None:
            raise ValueError("no failure time")
        letter = DeadLetterRecord(
            workspace_id=str(record["workspace_id"]),
            endpoint_id=str(record["endpoint_id"]),
            stripe_event_id=str(record["stripe_event_id"]),
            event_type=str(record["event_type"]),
            livemode=record.get("livemode"),
            actor_name=str(record["actor_name"]),
            queue_name=str(record["queue_name"]),
            message_id=str(record["message_id"]),
            message=dict(record["message"]),
            body=str(record["body"]),
            error_class=str(record["reason"]),
            error_message=str(record.get("error_message", "")),
            traceback=str(record.get("traceback", "")),
            attempts=max(1, int(record.get("attempt") or 1)),
            first_failed_at=first,
            last_failed_at=last,
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    row = LogRow(
        "dead_lettered",
        workspace_id=letter.workspace_id,
        endpoint_id=letter.endpoint_id,
        stripe_event_id=letter.stripe_event_id,
        event_type=letter.event_type,
        livemode=letter.livemode,
        stripe_account=_account(record),
        reason=letter.error_class,
        attempt=letter.attempts,
        detail=record.get("detail"),
        source_id=entry_id,
        created_at=last,
    )
    return row, letter


@dataclass(frozen=True, slots=True)
class _Parsed:
    rows: tuple[LogRow, ...]
    letters: tuple[DeadLetterRecord, ...] = ()


def _parse(stream: str, source_id: str, fields: dict[bytes, bytes]) -> _Parsed | None:
    if stream == DEAD_LETTER_STREAM:
        found = entry_to_dead_letter(source_id, fields)
        return _Parsed((found[0],), (found[1],)) if found is not None else None
    row = entry_to_row(source_id, fields)
    return _Parsed((row,)) if row is not None else None


class LogWriter:
    def __init__(
        self,
        client: redis.Redis,
        factory: sessionmaker[Session],
        *,
        consumer: str | None = None,
        batch: int = BATCH,
        block_ms: int = BLOCK_MS,
        claim_idle_ms: int = CLAIM_IDLE_MS,
    ) -> None:
        self._client = client
        self._factory = factory
        self._consumer = consumer or f"{socket.gethostname()}-{threading.get_native_id()}"
        self._batch = batch
        self._block_ms = block_ms
        self._claim_idle_ms = claim_idle_ms
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._group_ready = False

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        for stream in STREAMS:
            try:
                self._client.xgroup_create(stream, GROUP, id="0", mkstream=True)
            except redis.ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
        self._group_ready = True

    def _read(self, block: bool) -> list[tuple[str, Entry]]:
        """(stream, entry) pairs: our own unacknowledged entries first (a previous write
        failed), then new ones, then entries a dead consumer left behind."""
        for start, wait in (("0", None), (">", self._block_ms if block else None)):
            reply = cast(
                list[tuple[bytes, list[Entry]]],
                self._client.xreadgroup(
                    GROUP,
                    self._consumer,
                    dict.fromkeys(STREAMS, start),
                    count=self._batch,
                    block=wait,
                ),
            )
            found = [
                (stream.decode(), entry) for stream, entries in reply or [] for entry in entries
            ]
            if found:
                return found
        claimed: list[tuple[str, Entry]] = []
        for stream in STREAMS:
            reply = self._client.xautoclaim(
                stream, GROUP, self._consumer, self._claim_idle_ms, "0-0", count=self._batch
            )
            claimed += [(stream, entry) for entry in cast(list[Entry], reply[1])]
        return claimed

    def write(self, entries: Sequence[tuple[str, Entry]]) -> int:
        """Insert the entries' rows in one transaction, then acknowledge them.

        An entry that cannot be read, or whose row PostgreSQL refuses (a value it cannot
        store), must neither block the entries after it (a consumer re-reads its own
        unacknowledged entries first) nor be lost: it is copied, as it was, to the quarantine
        stream (never trimmed) and logged, and the others are written without it."""
        parsed: list[tuple[str, str, dict[bytes, bytes], _Parsed | None]] = []
        for stream, (raw_id, fields) in entries:
            entry_id = raw_id.decode()
            found = _parse(stream, STREAMS[stream] + entry_id, fields)
            if found is None:
                log.error("log_writer.unreadable_entry", stream=stream, entry_id=entry_id)
            parsed.append((stream, entry_id, fields, found))
        readable = [p for p in parsed if p[3] is not None]
        written = sum(len(p[3].rows) for p in readable if p[3] is not None)
        try:
            self._commit([p[3] for p in readable if p[3] is not None])
        except psycopg.DatabaseError as exc:
            if not isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
                raise  # the database is away: retried later, nothing acknowledged
            for item in readable:
                try:
                    self._commit([item[3]] if item[3] is not None else [])
                except (psycopg.DataError, psycopg.IntegrityError) as refused:
                    written -= len(item[3].rows) if item[3] is not None else 0
                    log.error(
                        "log_writer.refused_entry",
                        stream=item[0],
                        entry_id=item[1],
                        error=type(refused).__name__,
                    )
                    self._quarantine(item[0], item[1], item[2], type(refused).__name__)
        for stream, entry_id, fields, found in parsed:
            if found is None:
                self._quarantine(stream, entry_id, fields, "unreadable")
        done: dict[str, list[str]] = {}
        for stream, entry_id, _fields, _found in parsed:
            done.setdefault(stream, []).append(entry_id)
        for stream, ids in done.items():
            self._client.xack(stream, GROUP, *ids)
        return written

    def _commit(self, items: Sequence[_Parsed]) -> None:
        with unit_of_work(self._factory) as session:
            insert_rows(session, [row for item in items for row in item.rows])
            dead_letters.record(session, [x for item in items for x in item.letters])

    def _quarantine(self, stream: str, entry_id: str, fields: dict[bytes, bytes], why: str) -> None:
        copy: dict[bytes, bytes] = {
            **fields,
            b"stream": stream.encode(),
            b"entry_id": entry_id.encode(),
            b"why": why.encode(),
        }
        self._client.xadd(QUARANTINE_STREAM, cast(Any, copy))

    def run_once(self, *, block: bool = True) -> int:
        """Read one batch, write it, acknowledge it; returns the rows written."""
        self._ensure_group()
        entries = self._read(block)
        return self.write(entries) if entries else 0

    def drain(self) -> int:
        """Write everything waiting now (for tests and shutdown)."""
        total = 0
        while written := self.run_once(block=False):
            total += written
        return total

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:
                log.warning("log_writer.retrying", error=type(exc).__name__)
                self._stop.wait(1.0)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="log-writer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
