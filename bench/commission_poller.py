"""When each commission became visible in PostgreSQL: a poller thread (bench/latency.py).

Every --poll-interval it asks which commissions became visible since its previous query: rows
whose inserting transaction is at or above that query's snapshot xmin, so that nothing
committed in between is missed. The time a row is first returned is an upper bound of its
commit time; the resolution is the poll cycle (`cycles`). `commissions.created_at` is set at the
start of the worker's transaction: it is noted too, to split the latency, but it is no commit
time.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg

from bench.databases import conninfo

#: newly visible rows only: those whose inserting transaction was not yet visible to the
#: previous query, i.e. whose xid is at or above that query's snapshot xmin (compared modulo
#: 2^32, as xids wrap). The created_at bound only keeps the scan short (its index): it is the
#: newest created_at seen minus --window seconds, and the final check catches any row that a
#: transaction open longer than that made visible unseen.
_POLL = """
WITH snap AS (SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint AS xmin)
SELECT snap.xmin, c.checkout_session_id, c.created_at
FROM snap LEFT JOIN commissions c
  ON c.workspace_id = %(ws)s
 AND c.created_at > %(since)s
 AND ((c.xmin::text::bigint - %(after)s) & 4294967295) < 2147483648
"""


class Poller(threading.Thread):
    """Notes when each commission of a workspace first became visible (`seen`)."""

    def __init__(
        self, database_url: str, workspace_id: str, interval: float, window: float
    ) -> None:
        super().__init__(name="commission-poller", daemon=True)
        self._conninfo = conninfo(database_url)
        self._workspace_id = workspace_id
        self._interval = interval
        self._window = timedelta(seconds=window)
        self._halt = threading.Event()
        #: checkout session id -> (first seen, commission created_at), wall clock seconds
        self.seen: dict[str, tuple[float, float]] = {}
        self.cycles: list[float] = []  # seconds between two answers
        self.query_s: list[float] = []
        self.error: BaseException | None = None

    def stop(self) -> None:
        self._halt.set()
        self.join(10)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the bench
            self.error = exc

    def _run(self) -> None:
        # Not prepared: a generic plan cannot know how recent `since` is, and scans everything.
        with psycopg.connect(self._conninfo, autocommit=True, prepare_threshold=None) as conn:
            row = conn.execute("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").fetchone()
            assert row is not None
            after = int(row[0]) % 2**32
            newest = datetime.now(UTC) - timedelta(minutes=5)
            previous = time.time()
            while not self._halt.is_set():
                started = time.time()
                rows = conn.execute(
                    _POLL,
                    {"ws": self._workspace_id, "since": newest - self._window, "after": after},
                ).fetchall()
                now = time.time()
                self.query_s.append(now - started)
                self.cycles.append(now - previous)
                previous = now
                after = int(rows[0][0]) % 2**32
                for _xmin, session_id, created_at in rows:
                    if session_id is None or session_id in self.seen:
                        continue
                    self.seen[session_id] = (now, created_at.timestamp())
                    newest = max(newest, created_at)
                self._halt.wait(max(0.0, self._interval - (time.time() - started)))
