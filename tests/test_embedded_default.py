"""The README's first command: `traaaction run` on a machine with no servers configured."""

from __future__ import annotations

import json
import os
import signal
import stat
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
from traaaction.embedded import EmbeddedRedis

pytestmark = pytest.mark.slow

TRAAACTION = str(Path(sys.executable).parent / "traaaction")


def _ready(url: str, process: subprocess.Popen[str], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, (
            f"exited early: {process.stderr.read() if process.stderr else ''}"
        )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise AssertionError(f"{url} never answered 200")


def _start(workdir: Path, env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [TRAAACTION, "run", "--port", str(port)],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _ready(f"http://127.0.0.1:{port}/readyz", process)
    return process


def _stop(process: subprocess.Popen[str]) -> str:
    process.send_signal(signal.SIGTERM)
    out, _err = process.communicate(timeout=90)
    assert process.returncode == 0, _err[-2000:]
    return out


def _servers_of(data_dir: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(data_dir) in cmdline and ("postgres" in cmdline or "redis-server" in cmdline):
            found.append(proc)
    return found


def test_run_starts_from_an_empty_directory_and_keeps_its_data_across_restarts(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / ".traaaction"
    env = {**base_env(), "LOG_FORMAT": "json"}
    port = free_port()

    first = _start(tmp_path, env, port)
    try:
        created = subprocess.run(
            [TRAAACTION, "workspace", "create", "--name", "Kept", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        workspace_id = json.loads(created.stdout)["id"]
        kept_redis = redis.Redis.from_url(EmbeddedRedis(data_dir / "redis").url)
        kept_redis.set("traaaction:test:kept", "yes")
        kept_redis.close()
        key_file = data_dir / "master.key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key_before = key_file.read_text()
    finally:
        banner = _stop(first)

    assert f"http://127.0.0.1:{port}/api/webhooks/{{endpointId}}" in banner
    assert _servers_of(data_dir) == [], "embedded servers left running after stop"

    second = _start(tmp_path, env, port)
    try:
        listed = subprocess.run(
            [TRAAACTION, "workspace", "list", "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        assert workspace_id in {w["id"] for w in json.loads(listed.stdout)}
        client = redis.Redis.from_url(EmbeddedRedis(data_dir / "redis").url)
        assert client.get("traaaction:test:kept") == b"yes"
        client.close()
        assert (data_dir / "master.key").read_text() == key_before
    finally:
        _stop(second)
    assert _servers_of(data_dir) == []
    assert not os.path.exists(data_dir / "postgres" / "postmaster.pid")
