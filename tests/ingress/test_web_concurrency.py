"""WEB_CONCURRENCY: the web process serves from several uvicorn workers on one socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest
import redis

from tests.conftest import base_env, free_port
from tests.ingress.conftest import Fixture, event_body, queued_messages, signed

pytestmark = pytest.mark.slow


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - local
        return int(response.status)


def test_two_worker_processes_serve_and_stop_gracefully(
    world: Fixture,
    database_url: str,
    redis_url: str,
    redis_client: redis.Redis,
    master_key_value: str,
    tmp_path: Path,
) -> None:
    ep = world.endpoint()
    port = free_port()
    env = {
        **base_env(),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "TRAAACTION_KEYS": master_key_value,
        "WEB_CONCURRENCY": "2",
        "LOG_FORMAT": "json",
    }
    with (tmp_path / "web.log").open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "traaaction.web", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2):  # noqa: S310
                    break
            except (urllib.error.URLError, OSError):
                assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()
                time.sleep(0.2)
        # uvicorn's supervisor spawns its workers with multiprocessing (spawn_main).
        children = psutil.Process(proc.pid).children()
        servers = [c for c in children if "spawn_main" in " ".join(c.cmdline())]
        assert len(servers) == 2, [c.cmdline() for c in children]
        for n in range(20):
            body = event_body(f"evt_conc_{n}")
            assert post(f"{base}{ep.path}", body, signed(body)) == 200
        assert len(queued_messages(redis_client)) == 20
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        code = proc.wait(timeout=40)
    assert code == 0, (tmp_path / "web.log").read_text()
