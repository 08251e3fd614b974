"""Whatever a client sends, the ingress never answers 5xx and never queues an unverified body."""

from __future__ import annotations

import time

import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.ingress.conftest import Fixture, event_body, queued_messages

_FUZZ = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

timestamps = st.one_of(
    st.integers(min_value=-(10**15), max_value=10**15).map(str),
    st.just(str(int(time.time()))),
    st.text(max_size=12),
)
hexes = st.one_of(st.text(alphabet="0123456789abcdefABCDEF", max_size=70), st.text(max_size=70))
items = st.one_of(
    st.tuples(st.just("t"), timestamps).map("=".join),
    st.tuples(st.sampled_from(["v1", "v0", "V1", " v1", "v2"]), hexes).map("=".join),
    st.text(max_size=30),
)
headers = st.lists(items, max_size=6).map(",".join)
bodies = st.one_of(
    st.binary(max_size=3000),
    st.builds(event_body, st.text(max_size=40), st.text(max_size=40)),
)


def test_random_headers_and_bodies_never_give_5xx_nor_queue_anything(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()

    @_FUZZ
    @given(header=headers, body=bodies)
    def deliver(header: str, body: bytes) -> None:
        # Raw bytes on the wire, as a hostile client would send them.
        response = client.post(
            ep.path, content=body, headers={b"Stripe-Signature": header.encode("utf-8")}
        )
        assert response.status_code in {400, 413}
        assert queued_messages(redis_client) == []
        assert redis_client.keys("traaaction:seen:*") == []

    deliver()
