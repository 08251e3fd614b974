"""The real web process (`python -m traaaction.web`, uvicorn) for tests that need real sockets.

Its standard error (the JSON logs) goes to a file that tests read after stopping it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import base_env, free_port


@dataclass
class WebProcess:
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @classmethod
    def start(cls, env: dict[str, str], log: Path) -> WebProcess:
        port = free_port()
        with log.open("wb") as sink:
            process = subprocess.Popen(
                [sys.executable, "-m", "traaaction.web", "--port", str(port)],
                env={**base_env(), "LOG_FORMAT": "json", **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
        web = cls(process, port, log)
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{web.base}/healthz", timeout=2):  # noqa: S310
                    return web
            except (urllib.error.URLError, OSError):
                if process.poll() is not None or time.monotonic() > deadline:
                    web.stop()
                    raise AssertionError("web process failed:\n" + log.read_text()) from None
                time.sleep(0.1)

    def stop(self) -> str:
        """SIGTERM, wait; returns everything it wrote."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        return self.log.read_text(errors="replace")

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """The status and raw bytes of one HTTP response (until the server closes or the body ends)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        None,
    )
    while length is not None and len(rest) < length:
        chunk = sock.recv(65_536)
        if not chunk:
            break
        rest += chunk
    return status, head + b"\r\n\r\n" + rest
