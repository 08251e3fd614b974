"""The processes a benchmark starts, and what it reads about processes (bench/harness.py).

Every server, worker and load generator goes through `Children`: each runs in a session of its
own, so a Ctrl-C reaches the bench alone, which then stops them in order (and kills whatever a
killed process forked). The rest reads processes from the outside: `/proc/<pid>/status`,
readiness URLs, free ports, installed tools.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from contextlib import suppress
from pathlib import Path
from types import FrameType

REPO = Path(__file__).resolve().parent.parent

#: the Debian package of each tool a benchmark may need (`missing_tool` names it)
DEBIAN_PACKAGES = {"wrk": "wrk", "taskset": "util-linux"}


class BenchError(Exception):
    """Raised when the bench cannot run (missing tool, server did not start, ...)."""


class Children:
    """Every process the bench started, so that all of them stop on any exit (Ctrl-C too)."""

    def __init__(self) -> None:
        self._procs: list[subprocess.Popen[bytes]] = []

    def start(
        self, argv: Sequence[str], *, env: dict[str, str], log: Path, cpu: int | None = None
    ) -> subprocess.Popen[bytes]:
        """Start `argv` in the repository, its output appended to `log`, pinned to `cpu`."""
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own argv
                pinned(cpu, argv),
                cwd=REPO,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C reaches the bench only, which then stops them in order.
                start_new_session=True,
            )
        self._procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], *, timeout: float = 30.0) -> None:
        """SIGINT (the services shut down cleanly on it), SIGKILL if that takes too long."""
        if proc.poll() is None:
            with suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        # A process that forked workers (dramatiq) may leave them behind if it was killed.
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc in self._procs:
            self._procs.remove(proc)

    def stop_all(self) -> None:
        for proc in reversed(list(self._procs)):
            self.stop(proc, timeout=10.0)


def _raise_keyboard_interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def install_signal_handlers() -> None:
    """Ctrl-C and SIGTERM both unwind through the bench's clean-up (also when it was started in
    the background by a shell, which would otherwise leave SIGINT ignored)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)


def pinned(cpu: int | None, argv: Sequence[str]) -> list[str]:
    """`argv` run on `cpu` alone (taskset), or anywhere if `cpu` is None (--no-pin)."""
    return ["taskset", "-c", str(cpu), *argv] if cpu is not None else list(argv)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def tail(path: Path, lines: int = 30) -> str:
    """The end of a log, for the error message when a process failed."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90.0) -> None:
    """Wait until `url` answers 200 (the server is up), failing early if the server exited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"the server exited ({proc.returncode}):\n{tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise BenchError(f"the server did not answer {url} within {timeout:.0f} s:\n{tail(log)}")


def work_dir() -> Path:
    """A private temporary directory, in memory when /dev/shm exists; the caller removes it."""
    return Path(
        tempfile.mkdtemp(
            prefix="traaaction-bench-",
            dir="/dev/shm" if Path("/dev/shm").is_dir() else None,  # noqa: S108 - mkdtemp: 0700
        )
    )


def status_kb(pid: int, field_name: str) -> int | None:
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM), None once the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def missing_tool(*names: str) -> str | None:
    """A one-line message naming the first of `names` that is not installed, or None."""
    for name in names:
        if shutil.which(name) is None:
            package = DEBIAN_PACKAGES.get(name, name)
            # taskset only pins processes to CPUs: a run can do without (less steady figures)
            instead = ", or pass --no-pin" if name == "taskset" else ""
            return f"bench: `{name}` is not installed (Debian: apt-get install {package}){instead}"
    return None
