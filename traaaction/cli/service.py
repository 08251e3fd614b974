"""Long-running commands: serve (ingress), worker (Dramatiq), scheduler, and run (all of them)."""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

import click

from config.logs import get_logger
from storage.schema import upgrade
from traaaction.cli._common import settings
from traaaction.cli.endpoints import WEBHOOK_PATH
from traaaction.processes import ProcessGroup
from traaaction.runtime import Runtime

if TYPE_CHECKING:
    from collections.abc import Callable

    from workers.scheduler import TickResult

log = get_logger(__name__)

#: seconds `run` waits for the web process to answer /readyz before giving up
READY_TIMEOUT = 90.0
_host = click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
_port = click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))


@click.command("serve", short_help="Run the ingress (HTTP) after applying migrations.")
@_host
@_port
def serve(host: str, port: int) -> None:
    """Run the ingress (HTTP) after applying pending migrations."""
    from ingress.app import create_app
    from traaaction.web import ingress_options, mount_console, run_app

    current = settings(service=True)
    with Runtime(current, application_name="traaaction-ingress") as rt:
        upgrade(rt.engine)
        env = {**os.environ, **rt.child_environment()}
        if not (current.embedded_postgres or current.embedded_redis):
            rt.close()
            # Servers configured: replace this process with a lean one that loads only the
            # ingress (same pid, so process managers and signals are unaffected).
            argv = [sys.executable, "-m", "traaaction.web", "--host", host, "--port", str(port)]
            os.execve(sys.executable, argv, env)  # noqa: S606 - our own interpreter and module
        # The embedded default: this process owns the servers, so it serves in-process.
        app = create_app(
            engine=rt.engine,
            redis_url=rt.redis_url,
            secret_box=rt.secret_box,
            options=ingress_options(current),
        )
        mount_console(
            app,
            token=current.ops_token,
            engine=rt.engine,
            redis_url=rt.redis_url,
            secret_box=rt.secret_box,
            stripe_api_base=current.stripe_api_base,
        )
        run_app(app, host=host, port=port)


@click.command("worker", short_help="Run the Dramatiq workers and their log writers.")
def worker() -> None:
    """Run the Dramatiq workers (processes and threads from WORKER_PROCESSES/WORKER_THREADS)."""
    import tempfile

    current = settings(service=True)
    with (
        Runtime(current, application_name="traaaction-worker") as rt,
        tempfile.TemporaryDirectory(prefix="traaaction-metrics-") as metrics_dir,
    ):
        rt.ensure_schema()
        # Dramatiq's consumers poll an idle queue with a backoff up to this many ms (default
        # 1000): 100 keeps a commission within the promised second of its webhook.
        env = {
            **os.environ,
            **rt.child_environment(),
            "dramatiq_worker_timeout": "100",
            # Every worker process keeps its metrics' values in files here; the metrics server
            # adds them up (workers/metrics.py). Fresh at each start, removed at exit.
            "PROMETHEUS_MULTIPROC_DIR": metrics_dir,
        }
        group = ProcessGroup(env)
        group.install_signal_handlers()
        if current.worker_metrics_port:
            group.start(
                "metrics",
                [
                    sys.executable, "-m", "traaaction.worker_metrics",
                    "--port", str(current.worker_metrics_port),
                ],
            )  # fmt: skip
        group.start(
            "dramatiq",
            [
                sys.executable, "-m", "dramatiq", "workers.main",
                "--processes", str(current.worker_processes),
                "--threads", str(current.worker_threads),
            ],
        )  # fmt: skip
        code = group.wait()
    sys.exit(code)


def _wait_ready(url: str, group: ProcessGroup) -> bool:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline and not group.stopping and group.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own URL
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    return False


@click.command("run", short_help="Run the whole service on this machine until Ctrl-C.")
@_host
@_port
def run(host: str, port: int) -> None:
    """Run all of Traaaction on this machine, until Ctrl-C.

    It starts, in this order:

    \b
    - an embedded PostgreSQL when DATABASE_URL is unset, an embedded Redis
      when REDIS_URL is unset (data in TRAAACTION_DATA_DIR, default .traaaction);
    - the migrations (as `traaaction db upgrade`);
    - the ingress (`traaaction serve`: the web process, for webhooks, and
      the operator console at /ops when OPS_TOKEN is set);
    - the workers (`traaaction worker`: the Dramatiq processes, each with
      its log writer, which moves event-log records and dead letters from
      Redis into PostgreSQL; and the metrics server, WORKER_METRICS_PORT);
    - the scheduler (`traaaction scheduler`: approvals after the holding
      period, retention).

    Once the ingress is ready it prints the webhook URL and the commands to try next.
    Ctrl-C (or SIGTERM) stops all of it, the embedded servers included; the next start
    finds their data again.
    """
    current = settings(service=True)
    base_url = (
        current.public_base_url
        if "public_base_url" in current.model_fields_set
        else f"http://{host}:{port}"
    )
    with Runtime(current, application_name="traaaction-run") as rt:
        upgrade(rt.engine)
        env = {**os.environ, **rt.child_environment(), "PUBLIC_BASE_URL": base_url}
        group = ProcessGroup(env)
        group.install_signal_handlers()
        me = [sys.executable, "-m", "traaaction"]
        group.start("web", [*me, "serve", "--host", host, "--port", str(port)])
        group.start("worker", [*me, "worker"])
        group.start("scheduler", [*me, "scheduler"])
        if _wait_ready(f"http://{host}:{port}/readyz", group):
            click.echo(_banner(base_url, rt))
        code = group.wait()
    sys.exit(code)


def _banner(base_url: str, rt: Runtime) -> str:
    """What `run` prints once the ingress is ready; its commands run as written in a new
    shell, in this directory, whether or not it activated the virtualenv."""
    me, activate = _how_to_type_traaaction()
    where = (
        f"embedded PostgreSQL and Redis in {rt.data_dir}"
        if rt.settings.embedded_postgres or rt.settings.embedded_redis
        else "PostgreSQL and Redis from DATABASE_URL and REDIS_URL"
    )
    next_steps = _aligned(
        [
            (f"{me} quickstart", "a workspace, program, partner, click, endpoint"),
            (f"{me} send-test-event ...", "the command quickstart prints: a commission"),
        ]
    )
    for_stripe = _aligned(
        [
            (f"{me} endpoint create --workspace WS", "prints the URL to register"),
            (f"{me} endpoint add-secret EP", "takes Stripe's signing secret on stdin"),
        ]
    )
    lines = [
        "Traaaction is running (Ctrl-C stops it).",
        f"  webhook URL:  {base_url}{WEBHOOK_PATH.format(endpoint_id='{endpointId}')}",
        f"  readiness:    {base_url}/readyz",
        f"  data:         {where}",
        f"Next, in another terminal, in {shlex.quote(str(Path.cwd()))}:",
        *next_steps,
    ]
    if activate is not None:
        lines.append(f"  (or first `source {activate}`: then `traaaction` alone runs)")
    lines += ["For Stripe:", *for_stripe]
    return "\n".join(lines)


def _aligned(commands: list[tuple[str, str]]) -> list[str]:
    """Indented command lines, their comments (`# ...`, as a shell reads them) aligned."""
    width = max(len(command) for command, _ in commands)
    return [f"  {command:<{width}}  # {comment}" for command, comment in commands]


def _how_to_type_traaaction() -> tuple[str, str | None]:
    """What to type in a new shell for the `traaaction` that runs here, and the virtualenv's
    `activate` script that would make plain `traaaction` work (None: it already does, or
    there is none).

    `traaaction` itself when PATH finds this same executable; else its path (from the current
    directory when it is under it: `.venv/bin/traaaction`); else, without a console script,
    this interpreter's `python -m traaaction`."""
    script = _running_script()
    if script is None:
        return f"{shlex.quote(sys.executable)} -m traaaction", None
    found = shutil.which("traaaction")
    if found is not None and os.path.samefile(found, script):
        return "traaaction", None
    activate = script.parent / "activate"
    shown_activate = shlex.quote(_from_here(activate)) if activate.is_file() else None
    return shlex.quote(_from_here(script)), shown_activate


def _running_script() -> Path | None:
    """The `traaaction` console script this process runs, or else the one beside its
    interpreter (as under `python -m traaaction run`); None when there is none."""
    invoked = Path(sys.argv[0])
    if invoked.name == "traaaction" and invoked.is_file():
        return invoked.absolute()
    beside = Path(sys.executable).parent / "traaaction"
    return beside.absolute() if beside.is_file() else None


def _from_here(path: Path) -> str:
    """The path as a shell runs it from here: relative when under the current directory
    ("./x" rather than "x", which the shell would look up in PATH), else absolute."""
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return str(path)
    return str(relative) if relative.parent != Path() else f"./{relative}"


@click.command("scheduler", short_help="Run the periodic jobs: approvals, retention.")
def scheduler() -> None:
    """Run the periodic jobs (approvals after the holding period, retention) until stopped."""
    import signal
    import threading

    from storage.repositories.retention import Retention
    from workers.scheduler import run_forever

    current = settings(service=True)
    with Runtime(current, application_name="traaaction-scheduler") as rt:
        rt.ensure_schema()
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        log.info("scheduler.started")
        keep = Retention(
            payload_days=current.payload_retention_days, log_days=current.event_log_retention_days
        )
        run_forever(rt.session_factory, stop, keep=keep, on_tick=_heartbeat(rt.redis_url))
        log.info("scheduler.stopped")


def _heartbeat(redis_url: str) -> Callable[[TickResult], None]:
    """After each tick, tell Redis when (the workers' metrics export it for an alert)."""
    import redis

    from workers.contract import SCHEDULER_LAST_TICK

    client = redis.Redis.from_url(redis_url, socket_timeout=2)

    def beat(result: TickResult) -> None:
        try:
            client.set(SCHEDULER_LAST_TICK, int(time.time()))
        except redis.RedisError as exc:
            log.warning("scheduler.heartbeat_failed", error=type(exc).__name__)

    return beat


COMMANDS = (serve, worker, scheduler, run)
