from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
import redis
from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.testclient import TestClient

from ingress.app import IngressOptions, create_app
from storage.crypto import SecretBox
from storage.db import make_engine
from tests.ops.world import TOKEN, Shop, csrf_of, make_shop
from traaaction.ops import ConsoleConfig, mount


@dataclass
class Clock:
    """The console's wall clock, moved by the tests."""

    now: float

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def shop(engine: Engine) -> Shop:
    return make_shop(engine)


@pytest.fixture
def clock() -> Clock:
    return Clock(time.time())


AppFactory = Callable[..., Starlette]


@pytest.fixture
def make_app(
    engine: Engine, redis_url: str, secret_box: SecretBox, clock: Clock, redis_client: redis.Redis
) -> AppFactory:
    """The web process' app (the ingress) with the console mounted, as traaaction.web does."""

    def build(token: str = TOKEN, **overrides: Any) -> Starlette:
        app = create_app(
            engine=engine,
            redis_url=redis_url,
            secret_box=secret_box,
            options=IngressOptions(enqueue_timeout=1.0),
        )
        config = ConsoleConfig(
            token=SecretStr(token),
            engine=engine,
            redis_url=redis_url,
            secret_box=secret_box,
            clock=clock,
        )
        mount(app, replace(config, **overrides))
        return app

    return build


@pytest.fixture
def app(make_app: AppFactory) -> Starlette:
    return make_app()


@pytest.fixture
def client(app: Starlette) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as test_client:
        yield test_client


def sign_in(client: TestClient, token: str = TOKEN) -> str:
    """Sign in through the form; returns the session's CSRF token."""
    response = client.post("/ops/login", data={"token": token})
    assert response.status_code == 303, response.text
    page = client.get("/ops/")
    assert page.status_code == 200
    return csrf_of(page.text)


@pytest.fixture
def signed_in(client: TestClient) -> str:
    """`client` holds a session; the value is its CSRF token."""
    return sign_in(client)
