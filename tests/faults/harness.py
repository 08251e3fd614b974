"""The machinery of the fault tests: a shop, signed events, a Stripe-like sender, the real
processes (`traaaction serve`, `traaaction worker`), and the ledger read back at the end.

Every fault test runs the service as it is deployed: the ingress and the workers are separate
processes started from the installed console script, against a PostgreSQL and a Redis the test
controls. The sender behaves as Stripe does: it signs every attempt afresh, and retries a
delivery that got no answer or a 503 until it gets a 200 (sooner than Stripe, which waits
minutes, so the tests stay short). At the end the tests read the ledger, the event log, the
dead letters and the queues, never just the absence of errors.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import psutil
import psycopg
import redis

from domain.programs import PercentReward, ProgramTerms
from ingress.signature import sign
from storage.crypto import SecretBox, parse_master_keys
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import clicks, endpoints, partners, programs, workspaces
from tests.conftest import base_env
from traaaction import stripe_payloads as ev
from traaaction.embedded import EmbeddedRedis
from workers.contract import DEAD_LETTER_STREAM, EVENT_LOG_STREAM, NAMESPACE, ROUTES, queue_key

TRAAACTION = str(Path(sys.executable).parent / "traaaction")
CHECKOUT_QUEUE = queue_key(ROUTES["checkout.session.completed"].queue_name)
HEARTBEATS = f"{NAMESPACE}:__heartbeats__"
#: the program of every fault test's shop: 20 % of the sale
PERCENT_BPS = 2000

T = TypeVar("T")


def conninfo(database_url: str) -> str:
    return database_url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- The shop -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    secret: str

    @property
    def path(self) -> str:
        return f"/api/webhooks/{self.id}"


@dataclass(frozen=True, slots=True)
class Shop:
    database_url: str
    keys: str  # TRAAACTION_KEYS
    workspace_id: str
    endpoints: tuple[Endpoint, ...]
    click_ids: tuple[str, ...]

    @property
    def endpoint(self) -> Endpoint:
        return self.endpoints[0]


def seed_shop(
    database_url: str, keys: str, *, endpoint_count: int = 1, click_count: int = 20
) -> Shop:
    """One workspace (a 20 % program, a partner with `click_count` clicks) and its webhook
    endpoints, each with a signing secret of its own, in a migrated database."""
    engine = make_engine(database_url, pool_size=1, application_name="traaaction-faults")
    box = SecretBox(parse_master_keys(keys))
    try:
        with unit_of_work(make_session_factory(engine)) as session:
            ws = workspaces.create(session, name="Fault shop")
            program = programs.create(
                session,
                workspace_id=ws.id,
                name="Faults",
                terms=ProgramTerms(PercentReward(PERCENT_BPS)),
            )
            partner = partners.create(
                session, workspace_id=ws.id, program_id=program.id, name="Partner"
            )
            click_ids = tuple(
                clicks.create(session, partner_id=partner.id).id for _ in range(click_count)
            )
            made = []
            for _ in range(endpoint_count):
                ep = endpoints.create(session, workspace_id=ws.id)
                secret = "whsec_" + secrets.token_urlsafe(24)
                endpoints.add_secret(session, box, endpoint_id=ep.id, secret=secret)
                made.append(Endpoint(ep.id, secret))
            return Shop(database_url, keys, ws.id, tuple(made), click_ids)
    finally:
        engine.dispose()


# --- Events ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """A one-off payment's checkout.session.completed: exactly one SALE commission."""

    event_id: str
    session_id: str
    amount: int
    body: bytes


def checkout_events(shop: Shop, count: int) -> list[Event]:
    """`count` distinct payment-mode checkouts, each naming one of the shop's clicks."""
    tag = secrets.token_hex(4)
    now = int(time.time())
    out = []
    for n in range(count):
        session_id = f"cs_test_a1{tag}{n:06d}"
        amount = 1_000 + 100 * (n % 50)
        parsed = ev.checkout_session_completed(
            session_id=session_id,
            click_id=shop.click_ids[n % len(shop.click_ids)],
            amount=amount,
            payment_intent=f"pi_3{tag}{n:06d}",
            customer=f"cus_{tag}{n:06d}",
            created=now,
        ).body
        parsed["id"] = f"evt_1{tag}{n:06d}"
        out.append(Event(parsed["id"], session_id, amount, json.dumps(parsed).encode()))
    return out


# --- A Stripe-like sender -------------------------------------------------------------------


@dataclass(slots=True)
class Attempt:
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no HTTP answer (refused, reset, closed)
    answer: str | None  # the 200's "status": queued, duplicate, ignored
    error: str | None


@dataclass(slots=True)
class Delivery:
    """One delivery of an event to an endpoint, with every attempt made for it."""

    event: Event
    endpoint: Endpoint
    #: a Stripe-Signature header computed once and sent as is (copies of one delivery);
    #: None: signed afresh at every attempt, as Stripe signs its retries
    signature: str | None = None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def final(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def accepted(self) -> bool:
        final = self.final
        return final is not None and final.status == 200

    @property
    def accepted_at(self) -> float | None:
        final = self.final
        return final.ended if final is not None and final.status == 200 else None


def deliveries(events: Sequence[Event], endpoint: Endpoint) -> list[Delivery]:
    return [Delivery(event, endpoint) for event in events]


class StripeLike:
    """Posts deliveries over `connections` keep-alive connections, and retries each one that
    got no answer or a 503 (after `retry_delay` seconds) until it gets an answer, for at most
    `give_up_after` seconds. Other answers are final."""

    def __init__(
        self,
        port: int,
        *,
        connections: int = 32,
        retry: bool = True,
        retry_delay: float = 0.2,
        give_up_after: float = 150.0,
        timeout: float = 30.0,
    ) -> None:
        self.port = port
        self.connections = connections
        self.retry = retry
        self.retry_delay = retry_delay
        self.give_up_after = give_up_after
        self.timeout = timeout
        self._lock = threading.Lock()
        self._next = 0
        self.finished = 0
        self.errors: list[BaseException] = []

    def _take(self) -> int:
        with self._lock:
            taken = self._next
            self._next += 1
            return taken

    def _attempt(self, conn: http.client.HTTPConnection, delivery: Delivery) -> Attempt:
        signature = delivery.signature or sign(
            delivery.endpoint.secret, delivery.event.body, int(time.time())
        )
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature,
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        started = time.monotonic()
        try:
            conn.request("POST", delivery.endpoint.path, delivery.event.body, headers)
            response = conn.getresponse()
            data = response.read()
            if response.will_close:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            return Attempt(started, time.monotonic(), None, None, type(exc).__name__)
        answer = None
        if response.status == 200:
            answer = str(json.loads(data)["status"])
        return Attempt(started, time.monotonic(), response.status, answer, None)

    def _deliver(self, conn: http.client.HTTPConnection, delivery: Delivery) -> None:
        first = time.monotonic()
        while True:
            attempt = self._attempt(conn, delivery)
            delivery.attempts.append(attempt)
            retryable = attempt.status is None or attempt.status == 503
            if not (self.retry and retryable):
                return
            if time.monotonic() - first > self.give_up_after:
                return
            time.sleep(self.retry_delay)

    def _run(self, items: Sequence[Delivery], started: float, rate: float | None) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            while (index := self._take()) < len(items):
                if rate is not None:
                    delay = started + index / rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                self._deliver(conn, items[index])
                with self._lock:
                    self.finished += 1
        except BaseException as exc:  # reported by send(): a thread must not die silently
            self.errors.append(exc)
        finally:
            conn.close()

    def start(self, items: Sequence[Delivery], *, rate: float | None = None) -> threading.Thread:
        """Send in the background (`rate`: deliveries started per second at most)."""
        started = time.monotonic()
        threads = [
            threading.Thread(target=self._run, args=(items, started, rate), daemon=True)
            for _ in range(self.connections)
        ]
        for thread in threads:
            thread.start()

        def join_all() -> None:
            for thread in threads:
                thread.join()

        joiner = threading.Thread(target=join_all, daemon=True)
        joiner.start()
        return joiner

    def send(self, items: Sequence[Delivery], *, rate: float | None = None) -> None:
        self.join(self.start(items, rate=rate))

    def join(self, joiner: threading.Thread, timeout: float = 240.0) -> None:
        joiner.join(timeout)
        assert not joiner.is_alive(), "the sender did not finish"
        assert not self.errors, self.errors


def attempts_of(items: Sequence[Delivery]) -> list[Attempt]:
    return [attempt for delivery in items for attempt in delivery.attempts]


def answers(items: Sequence[Delivery]) -> Counter[str]:
    """Every attempt's answer: "200 queued", "503", "error RemoteDisconnected", ..."""
    return Counter(
        (
            f"200 {a.answer}"
            if a.status == 200
            else str(a.status)
            if a.status is not None
            else f"error {a.error}"
        )
        for a in attempts_of(items)
    )


# --- The processes --------------------------------------------------------------------------


def service_env(
    shop: Shop, redis_url: str, data_dir: Path, *, processes: int = 2, threads: int = 4
) -> dict[str, str]:
    """What `traaaction serve` and `traaaction worker` get: configured servers, no embedding."""
    return {
        **base_env(),
        "DATABASE_URL": shop.database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": shop.keys,
        "TRAAACTION_DATA_DIR": str(data_dir),
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "WARNING",
        "WORKER_PROCESSES": str(processes),
        "WORKER_THREADS": str(threads),
        # Port 9191 may be taken on a shared machine; the metrics are not under test here.
        "WORKER_METRICS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }


class Processes:
    """Real service processes, each in a process group (a session) of its own."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        logs.mkdir(parents=True, exist_ok=True)
        self.started: list[subprocess.Popen[bytes]] = []
        self._names: Counter[str] = Counter()

    def start(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self._names[name] += 1
        suffix = f"-{self._names[name]}" if self._names[name] > 1 else ""
        with (self.logs / f"{name}{suffix}.log").open("wb") as log:
            proc = subprocess.Popen(
                [TRAAACTION, *args],
                env={**self.env, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(proc)
        return proc

    def ingress(self, port: int) -> subprocess.Popen[bytes]:
        """`traaaction serve` (it execs into `python -m traaaction.web`: same pid), ready."""
        proc = self.start("ingress", "serve", "--host", "127.0.0.1", "--port", str(port))
        self.wait_ready(port, proc)
        return proc

    def wait_ready(self, port: int, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
        def ready() -> bool:
            assert proc.poll() is None, f"the ingress exited ({proc.returncode})\n{self.tails()}"
            try:
                url = f"http://127.0.0.1:{port}/readyz"
                with urllib.request.urlopen(url, timeout=2) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_until(ready, timeout, "the ingress to answer /readyz", self)

    def kill_group(self, proc: subprocess.Popen[bytes]) -> list[int]:
        """kill -9 the whole process group; returns the pids killed once all are gone."""
        family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

        def gone() -> bool:
            for p in family:
                try:
                    if p.status() != psutil.STATUS_ZOMBIE:
                        return False
                except psutil.NoSuchProcess:
                    pass
            return True

        wait_until(gone, 10, "the killed processes to disappear", self)
        return [p.pid for p in family]

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.started:
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()

    def tails(self, chars: int = 2500) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-chars:]}"
            for path in sorted(self.logs.glob("*.log"))
        )

    def log_lines(self, name_prefix: str, event: str) -> list[dict[str, Any]]:
        """The JSON log lines of the processes named `name_prefix*` for one log event."""
        found = []
        for path in sorted(self.logs.glob(f"{name_prefix}*.log")):
            for line in path.read_text(errors="replace").splitlines():
                if f'"{event}"' in line:
                    with contextlib.suppress(ValueError):
                        found.append(json.loads(line))
        return found


def wait_until(
    predicate: Callable[[], T | None],
    timeout: float,
    what: str,
    processes: Processes | None = None,
    interval: float = 0.1,
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            tails = processes.tails() if processes is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(interval)


def fresh_heartbeats(client: redis.Redis, within_ms: int = 3_000) -> set[str]:
    """Broker ids of the worker processes that talked to Redis within the last `within_ms`."""
    now_ms = int(time.time() * 1000)
    found = cast(list[bytes], client.zrangebyscore(HEARTBEATS, now_ms - within_ms, "+inf"))
    return {_text(worker) for worker in found}


def heartbeat_ids(client: redis.Redis) -> set[str]:
    """Broker ids of every worker process with a heartbeat (maintenance removes the dead)."""
    return {_text(worker) for worker in cast(list[bytes], client.zrange(HEARTBEATS, 0, -1))}


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


# --- Redis: the queues and the log writer's streams -----------------------------------------


def _unwritten(client: redis.Redis, stream: str) -> int:
    """Entries of a stream the log writer has not committed yet (read but not acknowledged,
    or not read)."""
    try:
        groups: list[dict[str, Any]] = client.xinfo_groups(stream)
    except redis.ResponseError:  # no such stream yet
        return 0
    group = next((g for g in groups if _text(g["name"]) == "logwriter"), None)
    if group is None:
        return int(client.xlen(stream))
    last = _text(group["last-delivered-id"])
    newer = cast(list[Any], client.xrange(stream, min=f"({last}", max="+", count=10_000))
    return int(group["pending"]) + len(newer)


def backlog(client: redis.Redis) -> dict[str, int]:
    """What is still to do, by key: messages not acknowledged (queued, in a worker's hands or
    waiting for a retry), dead messages, and event-log entries not yet in PostgreSQL. Nothing
    left: an empty dict."""
    pipe = client.pipeline(transaction=False)
    names = []
    for route in ROUTES.values():
        key = queue_key(route.queue_name)
        for suffix in (".msgs", ".DQ.msgs", ".XQ.msgs"):
            pipe.hlen(key + suffix)
            names.append(route.queue_name + suffix)
    counts = dict(zip(names, (int(n) for n in pipe.execute()), strict=True))
    counts[EVENT_LOG_STREAM] = _unwritten(client, EVENT_LOG_STREAM)
    counts[DEAD_LETTER_STREAM] = _unwritten(client, DEAD_LETTER_STREAM)
    return {name: n for name, n in counts.items() if n}


def ack_set_sizes(client: redis.Redis, broker_ids: set[str]) -> int:
    """Messages held (fetched, not acknowledged) by these worker processes, all queues."""
    total = 0
    for broker_id in broker_ids:
        for route in ROUTES.values():
            for queue in (route.queue_name, f"{route.queue_name}.DQ"):
                total += int(client.scard(f"{NAMESPACE}:__acks__.{broker_id}.{queue}"))
    return total


# --- PostgreSQL: the ledger -----------------------------------------------------------------


@dataclass
class Ledger:
    #: checkout session -> commissions
    commissions: Counter[str]
    kinds: Counter[str]
    #: checkout session -> (amount, sale amount) of its commission
    amounts: dict[str, tuple[int, int]]
    #: Stripe event id -> its event-log rows by outcome
    log: dict[str, Counter[str]]
    #: (outcome, reason) -> rows
    reasons: Counter[tuple[str, str]]
    failed_will_retry: Counter[bool]
    max_processed_attempt: int
    dead_letters: int
    applied_events: int

    def rows(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.log.values())


def read_ledger(database_url: str, workspace_id: str) -> Ledger:
    with psycopg.connect(conninfo(database_url), autocommit=True) as conn:
        commissions: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        amounts = {}
        for session_id, kind, amount, sale in conn.execute(
            "SELECT checkout_session_id, kind, amount, sale_amount FROM commissions"
            " WHERE workspace_id = %s",
            (workspace_id,),
        ):
            commissions[session_id] += 1
            kinds[kind] += 1
            amounts[session_id] = (int(amount), int(sale))
        log: dict[str, Counter[str]] = {}
        reasons: Counter[tuple[str, str]] = Counter()
        for event_id, outcome, reason, rows in conn.execute(
            "SELECT stripe_event_id, outcome, coalesce(reason, ''), sum(count)"
            " FROM webhook_event_log WHERE workspace_id = %s GROUP BY 1, 2, 3",
            (workspace_id,),
        ):
            log.setdefault(str(event_id), Counter())[outcome] += int(rows)
            reasons[(outcome, reason)] += int(rows)
        failed_will_retry: Counter[bool] = Counter()
        for will_retry, rows in conn.execute(
            "SELECT (detail->>'will_retry')::boolean, count(*) FROM webhook_event_log"
            " WHERE workspace_id = %s AND outcome = 'failed' GROUP BY 1",
            (workspace_id,),
        ):
            failed_will_retry[bool(will_retry)] += int(rows)
        row = conn.execute(
            "SELECT coalesce(max(attempt), 0) FROM webhook_event_log"
            " WHERE workspace_id = %s AND outcome = 'processed'",
            (workspace_id,),
        ).fetchone()
        max_attempt = int(row[0]) if row is not None else 0
        # Every dead letter, not only this workspace's: the database is this test's own.
        dead = conn.execute("SELECT count(*) FROM dead_letters").fetchone()
        applied = conn.execute(
            "SELECT count(*) FROM applied_events WHERE workspace_id = %s", (workspace_id,)
        ).fetchone()
    return Ledger(
        commissions=commissions,
        kinds=kinds,
        amounts=amounts,
        log=log,
        reasons=reasons,
        failed_will_retry=failed_will_retry,
        max_processed_attempt=max_attempt,
        dead_letters=int(dead[0]) if dead is not None else -1,
        applied_events=int(applied[0]) if applied is not None else -1,
    )


def processed_count(database_url: str, workspace_id: str) -> int:
    with psycopg.connect(conninfo(database_url), autocommit=True, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT count(*) FROM webhook_event_log"
            " WHERE workspace_id = %s AND outcome = 'processed'",
            (workspace_id,),
        ).fetchone()
    return int(row[0]) if row is not None else 0


def wait_processed(
    shop: Shop,
    client: redis.Redis,
    expected: int,
    timeout: float,
    processes: Processes | None = None,
) -> float:
    """Wait until `expected` events are processed and nothing is left in Redis (messages
    acknowledged, log-writer streams committed); returns the seconds waited."""
    started = time.monotonic()

    def done() -> bool:
        processed = processed_count(shop.database_url, shop.workspace_id)
        return processed >= expected and not backlog(client)

    what = f"{expected} events processed and the queues drained"
    try:
        wait_until(done, timeout, what, processes, 0.25)
    except AssertionError as exc:
        state = (
            f"processed {processed_count(shop.database_url, shop.workspace_id)}/{expected},"
            f" backlog {backlog(client)}"
        )
        raise AssertionError(f"{state}\n{exc}") from None
    return time.monotonic() - started


def assert_exactly_once(
    ledger: Ledger,
    events: Sequence[Event],
    *,
    also_allowed: frozenset[str] = frozenset({"failed", "duplicate"}),
) -> None:
    """Every event: exactly one SALE commission of 20 % for its checkout session, exactly one
    `processed` row; nothing for anything else; no dead letter; only `also_allowed` rows
    besides."""
    sessions = {e.session_id: e for e in events}
    ids = {e.event_id for e in events}
    missing = [s for s in sessions if ledger.commissions[s] == 0]
    doubled = {s: n for s, n in ledger.commissions.items() if n > 1}
    unexpected = [s for s in ledger.commissions if s not in sessions]
    wrong_amount = [
        s
        for s, (amount, sale) in ledger.amounts.items()
        if s in sessions
        and (sale != sessions[s].amount or amount != sessions[s].amount * PERCENT_BPS // 10_000)
    ]
    not_once = {
        e.event_id: dict(ledger.log.get(e.event_id, Counter()))
        for e in events
        if ledger.log.get(e.event_id, Counter())["processed"] != 1
    }
    other_rows = {
        event_id: dict(rows)
        for event_id, rows in ledger.log.items()
        if event_id not in ids or set(rows) - {"processed"} - also_allowed
    }
    problems = {
        "missing commissions": missing[:5],
        "sessions with more than one commission": dict(list(doubled.items())[:5]),
        "unexpected commissions": unexpected[:5],
        "wrong amounts": wrong_amount[:5],
        "events not processed exactly once": dict(list(not_once.items())[:5]),
        "unexpected log rows": dict(list(other_rows.items())[:5]),
    }
    counts = (len(missing), len(doubled), len(unexpected), len(wrong_amount), len(not_once))
    assert counts == (0, 0, 0, 0, 0), (counts, problems)
    assert not other_rows, (len(other_rows), problems)
    assert ledger.kinds == Counter({"SALE": len(events)}), ledger.kinds
    assert ledger.applied_events == len(events)
    assert ledger.dead_letters == 0, f"{ledger.dead_letters} dead letters"
    assert ledger.rows("dead_lettered") == 0


@contextlib.contextmanager
def redis_client(url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        yield client
    finally:
        client.close()


def restart_redis(server: EmbeddedRedis, *, kill: bool, down_for: float) -> dict[str, float]:
    """Stop the embedded Redis (SHUTDOWN, or kill -9 of redis-server), keep it down for
    `down_for` seconds, start it again on its data (the append-only file). Returns timings."""
    stopped_at = time.monotonic()
    if kill:
        pid = int((server.directory / "redis.pid").read_text().strip())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not psutil.pid_exists(pid), 10, "redis-server to die")
    else:
        server.detach()  # the only owner: SHUTDOWN (the append-only file is fsynced)
    down = time.monotonic()
    time.sleep(down_for)
    server.attach()  # starts it again: it loads the append-only file
    return {"stop": down - stopped_at, "down": time.monotonic() - stopped_at}
