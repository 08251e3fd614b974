"""Fixtures of the fault tests: a Redis of their own (embedded, append-only file on, in the
test's directory, so a test can stop and restart it) and the service's processes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.conftest import free_port
from tests.faults.harness import (
    Processes,
    Shop,
    fresh_heartbeats,
    seed_shop,
    service_env,
    wait_until,
)
from traaaction.embedded import EmbeddedRedis


@dataclass
class Stack:
    """One shop, its Redis and the service's processes, all this test's own."""

    shop: Shop
    redis_server: EmbeddedRedis
    redis: redis.Redis
    processes: Processes
    port: int

    def workers(self, name: str, *, processes: int = 2, threads: int = 4) -> None:
        """Start one `traaaction worker` (a group: its CLI, Dramatiq's master, `processes`
        worker processes of `threads` threads) and wait until all of them poll Redis."""
        before = fresh_heartbeats(self.redis)
        self.processes.start(
            name,
            "worker",
            env={"WORKER_PROCESSES": str(processes), "WORKER_THREADS": str(threads)},
        )
        wait_until(
            lambda: len(fresh_heartbeats(self.redis) - before) >= processes,
            90,
            f"the {processes} processes of {name} to poll Redis",
            self.processes,
        )

    def worker_ids(self) -> set[str]:
        return fresh_heartbeats(self.redis)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path / "redis")
    server.attach()
    try:
        yield server
    finally:
        server.detach()


@pytest.fixture
def make_stack(
    own_redis: EmbeddedRedis, master_key_value: str, tmp_path: Path
) -> Iterator[Callable[..., Stack]]:
    """make_stack(database_url, endpoint_count=1): seed a shop in that (migrated) database and
    return its stack; every process started is stopped at the end of the test."""
    made: list[Stack] = []

    def make(database_url: str, *, endpoint_count: int = 1) -> Stack:
        shop = seed_shop(database_url, master_key_value, endpoint_count=endpoint_count)
        env = service_env(shop, own_redis.url, tmp_path / "data")
        stack = Stack(
            shop=shop,
            redis_server=own_redis,
            redis=redis.Redis.from_url(own_redis.url, socket_timeout=5),
            processes=Processes(env, tmp_path / "logs"),
            port=free_port(),
        )
        made.append(stack)
        return stack

    yield make
    for stack in made:
        stack.processes.stop_all()
        stack.redis.close()
