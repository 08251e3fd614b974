"""The Dramatiq broker: Redis, the project's namespace, the middleware every actor runs under.

Worker death (issue #5). Dramatiq's Redis broker keeps each fetched message's id in an ack set
of the worker process that fetched it (`traaaction:__acks__.<broker_id>.<queue>`) until that
process acks it, and every broker command a process sends records its heartbeat (its broker_id
scored with its clock, in the sorted set `traaaction:__heartbeats__`). A process killed with
`kill -9` leaves its in-flight and prefetched messages in its ack sets; they return to their
queues only when some process runs *maintenance*: the unacked messages of every process whose
heartbeat is older than the heartbeat timeout are pushed back onto their queues.

Dramatiq runs maintenance inside its dispatch script, at random: with probability
maintenance_chance / 1,000,000 per command (default 1,000: 0.1 %), and only for the queue of
that command. With its default 60 s timeout, a requeue came about 5 minutes after a kill in one
trial, and nothing bounds it. Maintenance on every command (maintenance_chance = 1,000,000)
would bound it, and its scan of the heartbeats is cheap (measured here: 8 us more Redis time
per command, about 0.2 % of a Redis core for two idle worker processes), but for each dead
process it finds, Dramatiq's maintenance also runs `KEYS <namespace>:__acks__.<broker_id>*`,
again on every run until each queue the process had messages in has been maintained. KEYS
walks the whole database, where the ingress keeps 4 days of idempotency keys: measured here,
61 ms with 100,000 keys and 1.3 s with 1,000,000, with Redis answering no one meanwhile.
Random maintenance spreads those calls out; maintenance on every command would chain them
(about 8 for a process killed with messages of one queue) into seconds of Redis refusing
everyone, the ingress included.

So Dramatiq's maintenance is off (maintenance_chance = 0) and `Maintenance` runs our own,
without KEYS: every worker process runs `maintain()` at boot and then every
MAINTENANCE_INTERVAL, one Lua script that, for each process whose heartbeat is older than
HEARTBEAT_TIMEOUT_MS, moves the ids of its ack sets (for every queue we know: the four of
workers.contract.ROUTES and any other declared one, each with its delay queue) back onto their
queues, deletes those ack sets and the heartbeat, and expires dead letters older than
DEAD_MESSAGE_TTL_MS (the other half of Dramatiq's maintenance). A run is one script call of tens
of microseconds; scripts are atomic, so processes running it together never requeue a message
twice.

Worst case, from `kill -9` to the message being processed by another process:

- the dead process' last heartbeat is at or before the kill: it counts as dead at most
  HEARTBEAT_TIMEOUT_MS = 30 s after the kill;
- any live worker process (a survivor, or the killed one's replacement, which maintains at
  boot) runs maintenance within MAINTENANCE_INTERVAL = 1 s after that: requeued by 31 s;
- the message goes to the head of its queue: an idle consumer polls at least every 0.1 s
  (`traaaction worker` sets dramatiq_worker_timeout=100; 1 s under plain `dramatiq`), a busy
  one takes it as soon as one of its prefetch slots frees.

About 31 s, a quarter of the 2 minutes promised; tests/workers/test_worker_death.py measures it
with these very values.

Why not shorter: a live process must never look dead, or its in-flight messages would be run
a second time (harmless, events apply exactly once, but not something normal operation may
do). A live process heartbeats with every command: each of its 8 consumers (4 queues, 4 delay
queues) fetches at least every 0.1 s (1 s under plain `dramatiq`) unless its prefetch is full,
and every ack heartbeats too. Silence would take all its threads stuck for the whole time *and*
every consumer full, delay queues included (1,000 x threads delayed messages each): in practice
a live process is never silent for more than 0.1 s (1 s). 30 s is 300 times that, and absorbs
what makes a live process look silent without being dead: a stop-the-world pause of a VM or
container, clocks that differ between hosts (heartbeats carry each process' own wall clock, as
in Dramatiq), a blocked Redis. A Redis outage silences everyone: consumers reconnect every 3 s
(dramatiq_restart_delay) once Redis is back, and a process that lost Redis passes no verdict
until it has been back for HEARTBEAT_TIMEOUT_MS, so an outage alone never requeues a live
process' messages.

Redis going away under a live process. Dramatiq leaves two ways to lose an accepted event
there, and a crash of Redis a third, all shown by tests/faults/test_redis_restart.py and
closed by `Broker`:

- a consumer thread that loses Redis drops the delayed messages it holds in memory (retries
  fetched from a delay queue, waiting for their backoff) and starts again 3 s later; their ids
  stay in this process' ack set, and since the process lives on, maintenance never requeues
  them: they would wait until the process stops. So each time a consumer of a delay queue is
  made (at boot, and after each such error), `Broker.consume` first puts the ids of this
  process' ack set of that queue back at its head. None of them is held then: only that
  queue's consumer thread holds or acks them, and it is making a new consumer.
- a fetch that Redis ran but never answered (killed after its script moved the ids to this
  process' ack set and wrote that to its append-only file, before the reply left) raises a
  connection error in the consumer thread: the ids are in the ack set and in no thread's
  hands, so the same would happen to them. So each time a consumer of a queue is made after
  the first, `Broker.consume` puts back the ids of that ack set that this process does not
  hold: `_Consumer` tells the broker each message it hands out, and each one acked or
  nacked; the rest (fetched, never handed out) were lost with the reply. Only that queue's
  consumer thread fetches, and it is making the new consumer, so nothing is fetched
  meanwhile; worker threads acking meanwhile only shrink the ack set.
- a failed attempt whose retry cannot be enqueued (Redis unreachable) is acknowledged anyway
  once Redis is back (Dramatiq logs the failed enqueue and moves on). `Broker.enqueue` makes a
  retry wait for Redis instead, in the worker thread, as Dramatiq's own ack does
  (workers/outcomes.py's `until_written`); the other enqueue, a delayed message moved to its
  queue by the consumer thread, raises Dramatiq's ConnectionClosed, so that the thread takes
  it as the connection error it is (the first point) rather than as an unexpected one (whose
  handling tries to requeue the delayed messages with Redis away, and kills the thread).
"""

from __future__ import annotations

import threading
from typing import Any

import dramatiq
import redis
from dramatiq import Message, Middleware
from dramatiq.broker import Consumer, MessageProxy
from dramatiq.brokers.redis import RedisBroker, _RedisConsumer
from dramatiq.common import current_millis
from dramatiq.errors import ConnectionClosed
from dramatiq.middleware import CurrentMessage

from config.logs import get_logger
from workers import outcomes
from workers.contract import NAMESPACE, ROUTES
from workers.outcomes import REDIS_DOWN, until_written

log = get_logger(__name__)

#: ms without a heartbeat after which a worker process counts as dead (reasoning above)
HEARTBEAT_TIMEOUT_MS = 30_000
#: seconds between two maintenance runs in each worker process
MAINTENANCE_INTERVAL = 1.0
#: ms a dead-lettered message is kept (Dramatiq's default, 7 days)
DEAD_MESSAGE_TTL_MS = 7 * 24 * 3600 * 1000
#: dead letters expired per queue and run, to bound the script's time
_EXPIRE_BATCH = 1000

# KEYS[1]: the namespace. ARGV: the heartbeat cutoff (ms; older is dead, -1: judge none), the
# dead-letter cutoff (ms), the expiry batch, then the queue names (delay queues included). The
# key layout is Dramatiq's (brokers/redis/dispatch.lua). The ids go to the head of their queue
# (Dramatiq's requeue appends): they have waited longest. Returns {broker_id, requeued, ...}
# for every dead worker process removed.
_MAINTAIN = """
local ns = KEYS[1]
local dead_before, expired_before, batch = tonumber(ARGV[1]), tonumber(ARGV[2]),
    tonumber(ARGV[3])
local heartbeats = ns .. ":__heartbeats__"
local out = {}
for _, worker in ipairs(redis.call("ZRANGEBYSCORE", heartbeats, 0, dead_before)) do
  local requeued = 0
  for i = 4, #ARGV do
    local queue = ns .. ":" .. ARGV[i]
    local acks = ns .. ":__acks__." .. worker .. "." .. ARGV[i]
    for _, id in ipairs(redis.call("SMEMBERS", acks)) do
      if redis.call("HEXISTS", queue .. ".msgs", id) == 1 then
        redis.call("LPUSH", queue, id)
        requeued = requeued + 1
      end
    end
    redis.call("DEL", acks)
  end
  redis.call("ZREM", heartbeats, worker)
  out[#out + 1] = worker
  out[#out + 1] = requeued
end
for i = 4, #ARGV do
  if string.sub(ARGV[i], -3) ~= ".DQ" then
    local xq = ns .. ":" .. ARGV[i] .. ".XQ"
    local expired = redis.call("ZRANGEBYSCORE", xq, 0, expired_before, "LIMIT", 0, batch)
    if #expired > 0 then
      redis.call("ZREM", xq, unpack(expired))
      redis.call("HDEL", xq .. ".msgs", unpack(expired))
    end
  end
end
return out
"""


def _queues(broker: RedisBroker) -> list[str]:
    names: set[str] = {route.queue_name for route in ROUTES.values()}
    names |= set(broker.get_declared_queues())
    return sorted(names) + sorted(f"{name}.DQ" for name in names)


def maintain(
    broker: RedisBroker, *, now_ms: int | None = None, judge: bool = True
) -> dict[str, int]:
    """One maintenance run: the messages of dead worker processes back onto their queues.

    Returns the number of messages requeued for each dead process removed. `judge=False` only
    expires dead letters (see Maintenance: no verdicts right after a Redis outage).
    """
    now = current_millis() if now_ms is None else now_ms
    client: redis.Redis = broker.client
    found = client.register_script(_MAINTAIN)(
        keys=[broker.namespace],
        args=[
            now - HEARTBEAT_TIMEOUT_MS if judge else -1,
            now - DEAD_MESSAGE_TTL_MS,
            _EXPIRE_BATCH,
            *_queues(broker),
        ],
    )
    pairs: list[Any] = list(found)
    dead = {
        (worker.decode() if isinstance(worker, bytes) else str(worker)): int(count)
        for worker, count in zip(pairs[::2], pairs[1::2], strict=True)
    }
    for worker, count in dead.items():
        # A process stopped cleanly left nothing unacked; a killed one did.
        (log.warning if count else log.info)(
            "broker.dead_worker_removed", broker_id=worker, requeued=count
        )
    return dead


class Maintenance(Middleware):
    """Runs `maintain()` in every worker process: at boot, then every MAINTENANCE_INTERVAL.

    After this process lost Redis, it passes no verdict until it has been back for
    HEARTBEAT_TIMEOUT_MS: the other processes' heartbeats stopped during the outage too, and
    their consumers reconnect up to 3 s after Redis returns (dramatiq_restart_delay).
    """

    def __init__(self, interval: float = MAINTENANCE_INTERVAL) -> None:
        self._interval = interval
        self._failing = False
        self._back_since: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self, broker: RedisBroker, *, now_ms: int | None = None) -> dict[str, int]:
        now = current_millis() if now_ms is None else now_ms
        judge = not self._failing and (
            self._back_since is None or now - self._back_since >= HEARTBEAT_TIMEOUT_MS
        )
        try:
            dead = maintain(broker, now_ms=now, judge=judge)
        except redis.RedisError:
            self._failing = True
            raise
        if self._failing:
            self._failing, self._back_since = False, now
        return dead

    def after_worker_boot(self, broker: object, worker: object) -> None:
        if not isinstance(broker, RedisBroker):
            raise TypeError(f"broker maintenance needs a RedisBroker, got {type(broker).__name__}")
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(broker,), name="broker-maintenance", daemon=True
        )
        self._thread.start()

    def before_worker_shutdown(self, broker: object, worker: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5.0)

    def _loop(self, broker: RedisBroker) -> None:
        while True:
            try:
                self.run_once(broker)
            except Exception as exc:  # Redis away: the next run tries again
                log.warning("broker.maintenance_failed", error=type(exc).__name__)
            if self._stop.wait(self._interval):
                return


# KEYS: this process' ack set of a queue, the queue, its messages; ARGV: the ids this process
# holds. The other ids of the ack set that still have their message go back to the head of
# the queue and leave the ack set.
_REQUEUE_OWN = """
local held = {}
for _, id in ipairs(ARGV) do held[id] = true end
local requeued = 0
for _, id in ipairs(redis.call("SMEMBERS", KEYS[1])) do
  if not held[id] then
    if redis.call("HEXISTS", KEYS[3], id) == 1 then
      redis.call("LPUSH", KEYS[2], id)
      requeued = requeued + 1
    end
    redis.call("SREM", KEYS[1], id)
  end
end
return requeued
"""


class _Consumer(_RedisConsumer):
    """Dramatiq's Redis consumer, telling its broker which fetched messages this process
    holds: from the moment it hands one out until its ack or nack is written."""

    broker: Broker

    def __next__(self) -> MessageProxy | None:
        message: MessageProxy | None = super().__next__()  # type: ignore[no-untyped-call]
        if message is not None:
            self.broker.held(self.queue_name).add(message.options["redis_message_id"])
        return message

    def ack(self, message: MessageProxy) -> None:
        # raises while Redis is away: the message stays held, and in the ack set
        super().ack(message)  # type: ignore[no-untyped-call]
        self.broker.held(self.queue_name).discard(message.options["redis_message_id"])

    def nack(self, message: MessageProxy) -> None:
        super().nack(message)  # type: ignore[no-untyped-call]
        self.broker.held(self.queue_name).discard(message.options["redis_message_id"])


class Broker(RedisBroker):
    """Dramatiq's Redis broker, losing nothing when Redis goes away under a live process
    (see "Redis going away" above)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[no-untyped-call]
        # per queue, the redis message ids this process holds (see _Consumer); sets of str,
        # whose add and discard are atomic under the GIL
        self._held: dict[str, set[str]] = {}
        self._held_lock = threading.Lock()

    @property
    def consumer_class(self) -> type[_Consumer]:
        return _Consumer

    def held(self, queue_name: str) -> set[str]:
        with self._held_lock:
            return self._held.setdefault(queue_name, set())

    def consume(self, queue_name: str, prefetch: int = 1, timeout: int = 5000) -> Consumer:
        if queue_name.endswith(".DQ"):
            # A delay queue's consumer thread keeps what it fetched in memory, and drops it
            # all on a connection error: none of it is held any more.
            self.held(queue_name).clear()
        self._requeue_own(queue_name)
        return super().consume(queue_name, prefetch=prefetch, timeout=timeout)

    def _requeue_own(self, queue_name: str) -> None:
        queue = f"{self.namespace}:{queue_name}"
        acks = f"{self.namespace}:__acks__.{self.broker_id}.{queue_name}"
        client: redis.Redis = self.client
        try:
            requeued = client.register_script(_REQUEUE_OWN)(
                keys=[acks, queue, f"{queue}.msgs"], args=sorted(self.held(queue_name))
            )
        except REDIS_DOWN as exc:
            # Still away: the consumer thread tries again 3 s later; the ack set waits.
            raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]
        if requeued:
            delayed = queue_name.endswith(".DQ")
            event = "broker.delayed_requeued" if delayed else "broker.unheld_requeued"
            log.warning(event, queue=queue_name, requeued=int(requeued))

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        enqueue = super().enqueue
        if delay is not None:  # a retry (this service delays nothing else)
            return until_written(lambda: enqueue(message, delay=delay), "retry")
        try:
            return enqueue(message)
        except REDIS_DOWN as exc:
            raise ConnectionClosed(exc) from None  # type: ignore[no-untyped-call]


def make_broker(redis_url: str) -> RedisBroker:
    broker = Broker(
        url=redis_url,
        namespace=NAMESPACE,
        heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
        dead_message_ttl=DEAD_MESSAGE_TTL_MS,
        # Dramatiq's own maintenance (random, with KEYS) never runs: Maintenance does it.
        maintenance_chance=0,
    )
    # Actors read their attempt number from the message being processed.
    broker.add_middleware(CurrentMessage())
    # Failed attempts and dead letters get their event-log rows.
    outcomes.install(broker)
    # The messages of worker processes that died without acking them go back to their queues.
    broker.add_middleware(Maintenance())
    return broker


def install_broker(redis_url: str) -> RedisBroker:
    broker = make_broker(redis_url)
    dramatiq.set_broker(broker)
    return broker
