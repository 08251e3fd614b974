"""The endpoint directory: cached lookups, stale-while-error, single flight, bounded memory.

The loader here is a plain function standing in for PostgreSQL: what is under test is the
cache's behaviour, which needs a loader that can be made to fail and counted.
"""

from __future__ import annotations

import asyncio
import base64
import threading

import pytest

from ingress.directory import DirectoryUnavailable, EndpointDirectory, EndpointState

EP = "ep_" + "a" * 32
OTHER = "ep_" + "b" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Loader:
    def __init__(self) -> None:
        self.calls = 0
        self.fail = False
        self.known: dict[str, EndpointState] = {}
        self.gate: threading.Event | None = None

    def __call__(self, endpoint_id: str) -> EndpointState | None:
        self.calls += 1
        if self.gate is not None:
            self.gate.wait(5)
        if self.fail:
            raise ConnectionError("database down")
        return self.known.get(endpoint_id)


def _endpoint_id(n: int) -> str:
    return "ep_" + base64.b32encode(n.to_bytes(20, "big")).decode().lower()


def state(secret: str = "whsec_a", expires: float | None = None) -> EndpointState:  # noqa: S107
    return EndpointState(EP, "ws_1", True, ((secret, expires),))


def test_a_known_endpoint_is_loaded_once_then_served_from_memory() -> None:
    loader, clock = Loader(), Clock()
    loader.known[EP] = state()
    directory = EndpointDirectory(loader, clock=clock)

    async def scenario() -> None:
        for _ in range(100):
            assert await directory.get(EP) == state()

    asyncio.run(scenario())
    assert loader.calls == 1


def test_ids_not_shaped_like_endpoint_ids_never_reach_the_database() -> None:
    loader = Loader()
    directory = EndpointDirectory(loader)
    for bad in ["", "ep_short", "EP_" + "a" * 32, "ep_" + "a" * 31 + "!", "../../etc/passwd"]:
        assert asyncio.run(directory.get(bad)) is None
    assert loader.calls == 0


def test_unknown_ids_are_cached_negatively() -> None:
    loader, clock = Loader(), Clock()
    directory = EndpointDirectory(loader, clock=clock, negative_ttl=30)

    async def scenario() -> None:
        for _ in range(50):
            assert await directory.get(OTHER) is None

    asyncio.run(scenario())
    assert loader.calls == 1


def test_a_stale_entry_answers_at_once_and_is_refreshed_in_the_background() -> None:
    loader, clock = Loader(), Clock()
    loader.known[EP] = state("whsec_old")
    directory = EndpointDirectory(loader, clock=clock, ttl=30)

    async def scenario() -> tuple[EndpointState | None, EndpointState | None]:
        await directory.get(EP)
        loader.known[EP] = state("whsec_new")
        clock.now += 31
        stale = await directory.get(EP)
        await asyncio.sleep(0.2)  # the background refresh runs in a thread
        return stale, await directory.get(EP)

    stale, fresh = asyncio.run(scenario())
    assert stale == state("whsec_old")
    assert fresh == state("whsec_new")


def test_a_database_outage_keeps_serving_what_is_cached() -> None:
    loader, clock = Loader(), Clock()
    loader.known[EP] = state()
    directory = EndpointDirectory(loader, clock=clock, ttl=30)

    async def scenario() -> list[EndpointState | None]:
        await directory.get(EP)
        loader.fail = True
        answers = []
        for _ in range(3):
            clock.now += 60
            answers.append(await directory.get(EP))
            await asyncio.sleep(0.05)
        return answers

    assert asyncio.run(scenario()) == [state()] * 3


def test_an_endpoint_never_seen_during_an_outage_is_unavailable_not_unknown() -> None:
    loader = Loader()
    loader.fail = True
    directory = EndpointDirectory(loader)
    with pytest.raises(DirectoryUnavailable):
        asyncio.run(directory.get(EP))


def test_concurrent_misses_share_one_lookup() -> None:
    loader = Loader()
    loader.known[EP] = state()
    loader.gate = threading.Event()
    directory = EndpointDirectory(loader)

    async def scenario() -> list[EndpointState | None]:
        waiting = [asyncio.ensure_future(directory.get(EP)) for _ in range(20)]
        await asyncio.sleep(0.05)
        assert loader.gate is not None
        loader.gate.set()
        return list(await asyncio.gather(*waiting))

    assert asyncio.run(scenario()) == [state()] * 20
    assert loader.calls == 1


def test_forced_refreshes_are_rate_limited_per_endpoint() -> None:
    loader, clock = Loader(), Clock()
    loader.known[EP] = state()
    directory = EndpointDirectory(loader, clock=clock, min_refresh_interval=1.0)

    async def scenario() -> None:
        await directory.get(EP)
        for _ in range(100):  # a flood of bad signatures
            await directory.refresh_now(EP)
        clock.now += 1.5
        await directory.refresh_now(EP)

    asyncio.run(scenario())
    assert loader.calls == 2


def test_memory_is_bounded_by_max_entries() -> None:
    loader = Loader()
    directory = EndpointDirectory(loader, max_entries=100)

    async def scenario() -> None:
        for n in range(1000):
            await directory.get(_endpoint_id(n))

    asyncio.run(scenario())
    assert len(directory) == 100


def test_expired_secrets_stop_verifying_at_their_expiry() -> None:
    endpoint = EndpointState(EP, "ws_1", True, (("whsec_a", 2000.0), ("whsec_b", None)))
    assert endpoint.active_secrets(1999.9) == ["whsec_a", "whsec_b"]
    assert endpoint.active_secrets(2000.0) == ["whsec_b"]


def test_the_repr_never_shows_secrets() -> None:
    assert "whsec_a" not in repr(state("whsec_a"))
