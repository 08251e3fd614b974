from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from ingress.app import IngressOptions, create_app
from storage.crypto import SecretBox
from storage.db import make_engine

CLOSED = "127.0.0.1:1"  # nothing listens on port 1


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP address that accepts connections and never answers (a hung dependency)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                accepted.append(conn)
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    host, port = listener.getsockname()
    try:
        yield f"{host}:{port}"
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


def test_healthz_answers_without_touching_dependencies(secret_box: SecretBox) -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@{CLOSED}/x")
    app = create_app(secret_box=secret_box, engine=engine, redis_url=f"redis://{CLOSED}/0")
    with TestClient(app) as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_200_when_postgres_and_redis_answer(
    shared_engine: Engine, redis_url: str, secret_box: SecretBox
) -> None:
    with TestClient(
        create_app(secret_box=secret_box, engine=shared_engine, redis_url=redis_url)
    ) as client:
        response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"postgres": "ok", "redis": "ok"}}


def test_readyz_is_503_naming_redis_when_redis_is_down(
    shared_engine: Engine, secret_box: SecretBox
) -> None:
    app = create_app(
        secret_box=secret_box,
        engine=shared_engine,
        redis_url=f"redis://{CLOSED}/0",
        options=IngressOptions(readiness_timeout=1),
    )
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["postgres"] == "ok"
    assert checks["redis"] != "ok"


def test_readyz_is_200_degraded_naming_postgres_when_postgres_is_down(
    redis_url: str, secret_box: SecretBox
) -> None:
    engine = make_engine(f"postgresql+psycopg://postgres@{CLOSED}/x")
    app = create_app(
        secret_box=secret_box,
        engine=engine,
        redis_url=redis_url,
        options=IngressOptions(readiness_timeout=1),
    )
    with TestClient(app) as client:
        response = client.get("/readyz")
    # Cached endpoints are still served: the process stays in the load balancer.
    assert response.status_code == 200
    assert response.json()["status"] == "degraded"
    checks = response.json()["checks"]
    assert checks["redis"] == "ok"
    assert checks["postgres"].startswith("error")


def test_readyz_gives_up_on_a_hung_redis_within_its_timeout(
    shared_engine: Engine, silent_server: str, secret_box: SecretBox
) -> None:
    app = create_app(
        secret_box=secret_box,
        engine=shared_engine,
        redis_url=f"redis://{silent_server}/0",
        options=IngressOptions(readiness_timeout=0.5),
    )
    with TestClient(app) as client:
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["checks"]["redis"] in {"timeout", "error: TimeoutError"}
    assert elapsed < 3
