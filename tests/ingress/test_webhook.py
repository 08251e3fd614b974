"""POST /api/webhooks/{endpoint_id} against real PostgreSQL and Redis."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import dramatiq
import httpx2
import orjson
import pytest
import redis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from storage.db import make_session_factory, unit_of_work
from storage.repositories import endpoints
from tests.ingress.conftest import Fixture, event_body, log_records, queued_messages, signed
from workers.contract import ROUTES


def test_a_signed_event_is_queued_with_its_raw_body(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    body = event_body("evt_raw", extra={"metadata": {"tracClickId": "clk_ü ✓"}})
    response = client.post(ep.path, content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json() == {"received": True, "id": "evt_raw", "status": "queued"}
    [message] = queued_messages(redis_client)
    decoded = dramatiq.Message.decode(orjson.dumps(message))
    route = ROUTES["checkout.session.completed"]
    assert (decoded.queue_name, decoded.actor_name) == (route.queue_name, route.actor_name)
    kwargs = decoded.kwargs
    assert kwargs["body"].encode() == body  # exactly the bytes Stripe signed
    assert kwargs["endpoint_id"] == ep.endpoint_id
    assert kwargs["workspace_id"] == ep.workspace_id
    assert (kwargs["event_id"], kwargs["event_type"], kwargs["livemode"]) == (
        "evt_raw",
        "checkout.session.completed",
        False,
    )


@pytest.mark.parametrize("event_type", sorted(ROUTES))
def test_each_handled_type_goes_to_its_own_queue(
    client: TestClient, world: Fixture, redis_client: redis.Redis, event_type: str
) -> None:
    ep = world.endpoint()
    body = event_body("evt_t", event_type)
    assert client.post(ep.path, content=body, headers=signed(body)).status_code == 200
    [message] = queued_messages(redis_client)
    assert message["queue_name"] == ROUTES[event_type].queue_name


def test_a_sequential_duplicate_is_answered_200_and_not_queued_again(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    body = event_body("evt_dup")
    first = client.post(ep.path, content=body, headers=signed(body))
    # Stripe signs every attempt afresh: a new timestamp, the same event id.
    second = client.post(ep.path, content=body, headers=signed(body, at=int(time.time()) - 5))
    assert first.json()["status"] == "queued"
    assert second.status_code == 200
    assert second.json()["status"] == "duplicate"
    assert len(queued_messages(redis_client)) == 1
    [record] = log_records(redis_client, "duplicate")
    assert record["stripe_event_id"] == "evt_dup"
    assert record["workspace_id"] == ep.workspace_id


def test_concurrent_duplicates_queue_exactly_one_message(
    app: Starlette, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    body = event_body("evt_twice")

    async def deliver_concurrently() -> list[httpx2.Response]:
        transport = httpx2.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx2.AsyncClient(transport=transport, base_url="http://test") as http,
        ):
            return list(
                await asyncio.gather(
                    *(http.post(ep.path, content=body, headers=signed(body)) for _ in range(8))
                )
            )

    responses = asyncio.run(deliver_concurrently())
    assert [r.status_code for r in responses] == [200] * 8
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["duplicate"] * 7 + ["queued"]
    assert len(queued_messages(redis_client)) == 1


def test_the_same_event_id_on_two_endpoints_is_two_deliveries(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    a, b = world.endpoint(), world.endpoint()
    body = event_body("evt_shared")
    for ep in (a, b):
        assert client.post(ep.path, content=body, headers=signed(body)).json()["status"] == "queued"
    assert len(queued_messages(redis_client)) == 2


def test_an_unhandled_type_is_200_ignored_and_logged(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    body = event_body("evt_pi", "payment_intent.created")
    response = client.post(ep.path, content=body, headers=signed(body))
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert queued_messages(redis_client) == []
    [record] = log_records(redis_client, "ignored")
    assert record["event_type"] == "payment_intent.created"


def test_unknown_and_disabled_endpoints_get_the_same_404(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    with unit_of_work(make_session_factory(world.engine)) as session:
        endpoints.set_enabled(session, ep.endpoint_id, False)
    body = event_body()
    disabled = client.post(ep.path, content=body, headers=signed(body))
    unknown = client.post("/api/webhooks/ep_" + "a" * 32, content=body, headers=signed(body))
    garbage = client.post("/api/webhooks/../../etc", content=body, headers=signed(body))
    assert disabled.status_code == unknown.status_code == 404
    assert disabled.content == unknown.content
    assert garbage.status_code == 404
    assert queued_messages(redis_client) == []


# Headers as templates: `{now}` is filled in when the test runs, not when it is collected
# (a long suite runs some tests more than the 300 s tolerance after collecting them).
@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing_signature_header"),
        ("nonsense", "malformed_signature_header"),
        ("t={now},v0=abc", "no_v1_signature"),
        ("t={now},v1=" + "0" * 64, "no_matching_signature"),
        ("t={hour_ago},v1=" + "0" * 64, "timestamp_out_of_tolerance"),
    ],
)
def test_a_bad_signature_is_400_naming_why_and_nothing_is_queued(
    client: TestClient,
    world: Fixture,
    redis_client: redis.Redis,
    header: str | None,
    reason: str,
) -> None:
    ep = world.endpoint()
    now = int(time.time())
    headers = {"Stripe-Signature": header.format(now=now, hour_ago=now - 3600)} if header else {}
    response = client.post(ep.path, content=event_body(), headers=headers)
    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert queued_messages(redis_client) == []
    assert redis_client.keys("traaaction:seen:*") == []


def test_rejections_are_aggregated_for_the_event_log(
    app: Starlette, client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    for _ in range(50):
        client.post(ep.path, content=event_body(), headers=signed(event_body(), "whsec_wrong"))
    assert client.portal is not None
    client.portal.call(app.state.rejections.flush)
    [record] = log_records(redis_client, "rejected")
    assert record["reason"] == "no_matching_signature"
    assert record["count"] == 50
    assert record["endpoint_id"] == ep.endpoint_id
    assert record["workspace_id"] == ep.workspace_id
    assert record["client_samples"] == ["203.0.113.7"]


def test_a_secret_of_workspace_a_does_not_open_workspace_b(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    world.endpoint("whsec_workspace_a_secret", name="A")
    b = world.endpoint("whsec_workspace_b_secret", name="B")
    body = event_body()
    response = client.post(b.path, content=body, headers=signed(body, "whsec_workspace_a_secret"))
    assert response.status_code == 400
    assert response.json() == {"error": "no_matching_signature"}
    assert queued_messages(redis_client) == []


def test_two_active_secrets_each_verify_and_an_expired_one_does_not(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint("whsec_live_secret_1")
    with unit_of_work(make_session_factory(world.engine)) as session:
        endpoints.add_secret(
            session, world.box, endpoint_id=ep.endpoint_id, secret="whsec_test_secret_2"
        )
        endpoints.add_secret(
            session,
            world.box,
            endpoint_id=ep.endpoint_id,
            secret="whsec_rolled_old_3",
            expires_at=datetime.now(UTC) - timedelta(seconds=1),
        )
    for n, secret in enumerate(["whsec_live_secret_1", "whsec_test_secret_2"]):
        body = event_body(f"evt_s{n}")
        assert client.post(ep.path, content=body, headers=signed(body, secret)).status_code == 200
    body = event_body("evt_expired")
    expired = client.post(ep.path, content=body, headers=signed(body, "whsec_rolled_old_3"))
    assert expired.status_code == 400
    assert len(queued_messages(redis_client)) == 2


def test_a_secret_added_after_caching_is_accepted_at_once(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint("whsec_first_secret")
    body = event_body("evt_before")
    assert (
        client.post(ep.path, content=body, headers=signed(body, "whsec_first_secret")).status_code
        == 200
    )
    time.sleep(1.1)  # the minimum interval between forced refreshes of one endpoint
    with unit_of_work(make_session_factory(world.engine)) as session:
        endpoints.add_secret(
            session, world.box, endpoint_id=ep.endpoint_id, secret="whsec_second_secret"
        )
    body = event_body("evt_after")
    response = client.post(ep.path, content=body, headers=signed(body, "whsec_second_secret"))
    assert response.status_code == 200


def test_an_endpoint_without_secrets_refuses_everything(client: TestClient, world: Fixture) -> None:
    ep = world.endpoint(None)
    body = event_body()
    response = client.post(ep.path, content=body, headers=signed(body, "whsec_anything"))
    assert response.status_code == 400
    assert response.json() == {"error": "no_active_secret"}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "invalid_json"),
        (
            orjson.dumps(
                {
                    "id": "evt_234",
                    "object": "v2.core.event",
                    "type": "x",
                    "livemode": True,
                    "created": "2022-02-15T00:27:45.330Z",
                }
            ),
            "thin_event",
        ),
        (
            orjson.dumps(
                {"id": "evt_1", "object": "event", "type": "x", "livemode": "no", "created": 1}
            ),
            "missing_or_invalid_livemode",
        ),
    ],
)
def test_a_verified_but_malformed_body_is_400_naming_why(
    client: TestClient, world: Fixture, redis_client: redis.Redis, body: bytes, reason: str
) -> None:
    ep = world.endpoint()
    response = client.post(ep.path, content=body, headers=signed(body))
    assert response.status_code == 400
    assert response.json() == {"error": reason}
    assert queued_messages(redis_client) == []


def test_a_body_over_the_cap_is_413_by_declared_length(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()
    big = b"x" * (1024 * 1024 + 1)
    response = client.post(ep.path, content=big, headers=signed(big))
    assert response.status_code == 413
    assert queued_messages(redis_client) == []


def test_a_chunked_body_over_the_cap_is_413(
    client: TestClient, world: Fixture, redis_client: redis.Redis
) -> None:
    ep = world.endpoint()

    def chunks() -> object:
        for _ in range(20):
            yield b"y" * 65536

    response = client.post(ep.path, content=chunks(), headers=signed(b""))  # type: ignore[arg-type]
    assert response.status_code == 413


def test_metrics_count_outcomes_and_enqueue_batches(client: TestClient, world: Fixture) -> None:
    ep = world.endpoint()
    body = event_body("evt_m")
    client.post(ep.path, content=body, headers=signed(body))
    client.post(ep.path, content=body, headers={})
    text = client.get("/metrics").text
    assert 'traaaction_ingress_requests_total{outcome="queued"} 1.0' in text
    assert (
        'traaaction_ingress_requests_total{outcome="rejected_missing_signature_header"} 1.0' in text
    )
    assert "traaaction_ingress_enqueue_batch_size_count 1.0" in text
    assert "traaaction_ingress_request_seconds_bucket" in text
