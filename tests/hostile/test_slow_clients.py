"""Slow, stalled and oversized bodies over real sockets, against the real web process (uvicorn).

BODY_TIMEOUT is 1 s and MAX_BODY_BYTES 64 KiB here so that each case takes about a second.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import orjson
import pytest
import redis
from sqlalchemy import Engine

from storage.crypto import SecretBox
from tests.hostile.web import WebProcess, read_response
from tests.ingress.conftest import Endpoint, Fixture, queued_messages, signed

pytestmark = pytest.mark.slow

BODY_TIMEOUT = 1.0
MAX_BODY = 64 * 1024


@pytest.fixture(scope="module")
def web(
    module_database_url: str,
    redis_url: str,
    master_key_value: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[WebProcess]:
    env = {
        "DATABASE_URL": module_database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
        "MAX_BODY_BYTES": str(MAX_BODY),
    }
    process = WebProcess.start(env, tmp_path_factory.mktemp("web") / "web.log")
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def endpoint(module_engine: Engine, module_box: SecretBox) -> Endpoint:
    return Fixture(module_engine, module_box).endpoint()


def _event(event_id: str) -> bytes:
    return orjson.dumps(
        {
            "id": event_id,
            "object": "event",
            "type": "checkout.session.completed",
            "livemode": False,
            "api_version": "2025-03-31.basil",
            "created": int(time.time()),
            "data": {"object": {"id": "cs_1", "object": "checkout.session"}},
        }
    )


def _head(ep: Endpoint, body: bytes, *, length: int | None = None, chunked: bool = False) -> bytes:
    lines = [
        f"POST {ep.path} HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        f"Stripe-Signature: {signed(body, ep.secret)['Stripe-Signature']}",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {length or len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_body_trickling_in_is_cut_off_with_408_after_the_body_timeout(
    web: WebProcess, endpoint: Endpoint, redis_client: redis.Redis
) -> None:
    body = _event("evt_slowloris")
    with web.connect() as sock:
        sock.sendall(_head(endpoint, body))
        started = time.monotonic()
        sock.settimeout(0.05)
        status = 0
        for byte in body:  # one byte every 50 ms: the whole body would take many seconds
            try:
                sock.sendall(bytes([byte]))
                status, _ = read_response(sock)
                break
            except TimeoutError:
                continue
            except OSError:  # the server closed the connection after answering
                break
        sock.settimeout(5)
        if not status:
            status, _ = read_response(sock)
        elapsed = time.monotonic() - started
    assert status == 408
    assert BODY_TIMEOUT - 0.1 < elapsed < BODY_TIMEOUT + 1.5
    assert queued_messages(redis_client) == []


def test_a_declared_body_that_never_comes_gets_408(web: WebProcess, endpoint: Endpoint) -> None:
    with web.connect() as sock:
        sock.sendall(_head(endpoint, b"", length=500))
        started = time.monotonic()
        status, raw = read_response(sock)
    assert (status, orjson.loads(raw.partition(b"\r\n\r\n")[2])) == (408, {"error": "body_timeout"})
    assert time.monotonic() - started < BODY_TIMEOUT + 1.5


def test_a_declared_length_over_the_cap_gets_413_at_once_without_the_body(
    web: WebProcess, endpoint: Endpoint
) -> None:
    with web.connect() as sock:
        sock.sendall(_head(endpoint, b"", length=50 * 1024 * 1024))
        started = time.monotonic()
        status, raw = read_response(sock)
    assert status == 413
    assert orjson.loads(raw.partition(b"\r\n\r\n")[2])["error"] == "body_too_large"
    assert time.monotonic() - started < 0.5 * BODY_TIMEOUT


def test_a_chunked_body_over_the_cap_gets_413(web: WebProcess, endpoint: Endpoint) -> None:
    with web.connect() as sock:
        sock.sendall(_head(endpoint, b"", chunked=True))
        chunk = b"x" * 16_384
        status = 0
        try:
            for _ in range(MAX_BODY // len(chunk) + 4):
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        except OSError:
            pass  # the server answered and closed before taking it all
        status, _ = read_response(sock)
    assert status == 413


@pytest.mark.parametrize(
    "length", [b"abc", b"-5", b"1e3", b"\xef\xbc\x91\xef\xbc\x92", b"18446744073709551617"]
)
def test_a_malformed_content_length_is_a_4xx(
    web: WebProcess, endpoint: Endpoint, length: bytes
) -> None:
    body = _event("evt_bad_length")
    head = _head(endpoint, body).replace(
        f"Content-Length: {len(body)}".encode(), b"Content-Length: " + length
    )
    with web.connect() as sock:
        sock.sendall(head + body)
        status, _ = read_response(sock)
    assert 400 <= status < 500


def test_stalled_clients_do_not_hold_up_a_good_delivery(
    web: WebProcess, endpoint: Endpoint, redis_client: redis.Redis
) -> None:
    stalled: list[socket.socket] = []
    try:
        for _ in range(50):
            sock = web.connect()
            sock.sendall(_head(endpoint, b"", length=1000) + b"{")
            stalled.append(sock)
        body = _event("evt_meanwhile")
        answers: list[int] = []

        def post() -> None:
            with web.connect() as sock:
                sock.sendall(_head(endpoint, body) + body)
                answers.append(read_response(sock)[0])

        started = time.monotonic()
        thread = threading.Thread(target=post)
        thread.start()
        thread.join(timeout=5)
        assert answers == [200]
        # Answered before the first stalled client could even be cut off.
        assert time.monotonic() - started < BODY_TIMEOUT
        assert [m["kwargs"]["event_id"] for m in queued_messages(redis_client)] == ["evt_meanwhile"]
        # ...and each stalled one is answered 408 in its turn.
        for sock in stalled:
            sock.settimeout(BODY_TIMEOUT + 2)
            assert read_response(sock)[0] == 408
    finally:
        for sock in stalled:
            sock.close()
