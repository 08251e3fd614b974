"""Running child processes as one unit: signals forwarded, one death stops the rest.

`traaaction run` starts the web and worker processes; `traaaction worker` starts Dramatiq's
master process. Either way, SIGINT/SIGTERM to the parent reach the children, the parent waits
for them to finish their work (bounded), and a child that dies takes the unit down with a
non-zero status instead of leaving half a service running.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from types import FrameType

from config.logs import get_logger

log = get_logger(__name__)

#: seconds children get to finish in-flight work after SIGTERM before they are killed
STOP_GRACE = 30.0


class ProcessGroup:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self._children: dict[str, subprocess.Popen[bytes]] = {}
        self._stopping = False

    def start(self, name: str, argv: Sequence[str]) -> None:
        self._children[name] = subprocess.Popen(list(argv), env=self._env)  # noqa: S603
        log.info("process.started", process=name, pid=self._children[name].pid)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("process.stopping", signal=signal.Signals(signum).name)
        self._stopping = True

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)

    def poll(self) -> tuple[str, int] | None:
        """The first child found to have exited, with its status."""
        for name, child in self._children.items():
            status = child.poll()
            if status is not None:
                return name, status
        return None

    @property
    def stopping(self) -> bool:
        return self._stopping

    def wait(self) -> int:
        """Block until a signal or a child's exit; then stop everything. Returns an exit code."""
        code = 0
        while not self._stopping:
            exited = self.poll()
            if exited is not None:
                name, status = exited
                log.error("process.exited", process=name, status=status)
                code = status or 1
                break
            time.sleep(0.2)
        self.stop()
        return code

    def stop(self) -> None:
        for child in self._children.values():
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for name, child in self._children.items():
            try:
                child.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("process.killed", process=name, after_seconds=STOP_GRACE)
                child.kill()
                child.wait()
