"""Redis down: 503 with Retry-After and nothing accepted; Redis back: accepted, nothing lost."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest
import redis
from sqlalchemy import Engine
from starlette.testclient import TestClient

from config.logs import configure_logging
from config.settings import LogFormat
from ingress.app import IngressOptions, create_app
from storage.crypto import SecretBox
from tests.ingress.conftest import Fixture, event_body, queued_messages, signed
from traaaction.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow


def test_the_ingress_answers_503_while_redis_is_down_and_accepts_once_it_is_back(
    tmp_path: Path,
    engine: Engine,
    secret_box: SecretBox,
    world: Fixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("INFO", LogFormat.JSON)
    server = EmbeddedRedis(tmp_path / "redis")
    server.attach()
    ep = world.endpoint()
    app = create_app(
        engine=engine,
        redis_url=server.url,
        secret_box=secret_box,
        options=IngressOptions(enqueue_timeout=1.0),
    )
    try:
        with TestClient(app) as client:
            before = event_body("evt_before")
            assert client.post(ep.path, content=before, headers=signed(before)).status_code == 200

            server.detach()  # stops it: this test is its only user
            during = event_body("evt_during")
            started = time.monotonic()
            refused = client.post(
                ep.path, content=during, headers={**signed(during), "X-Request-Id": "req-42"}
            )
            assert refused.status_code == 503
            assert refused.headers["retry-after"] == "10"
            assert refused.headers["x-request-id"] == "req-42"
            assert time.monotonic() - started < 3
            # One log line for the operator, with what identifies the delivery.
            [line] = [
                json.loads(x)
                for x in capsys.readouterr().err.splitlines()
                if '"webhook.unavailable"' in x
            ]
            assert (line["request_id"], line["reason"], line["event_id"]) == (
                "req-42",
                "queue",
                "evt_during",
            )
            assert line["endpoint_id"] == ep.endpoint_id

            server.attach()
            # Stripe's retry of the refused delivery: accepted now, exactly once.
            retried = client.post(ep.path, content=during, headers=signed(during))
            assert retried.status_code == 200
            assert retried.json()["status"] == "queued"
            check = redis.Redis.from_url(server.url)
            ids = sorted(m["kwargs"]["event_id"] for m in queued_messages(check))
            check.close()
            # evt_before survived the restart (append-only file); evt_during is there once.
            assert ids == ["evt_before", "evt_during"]
    finally:
        server.detach()
        logging.getLogger().handlers.clear()
