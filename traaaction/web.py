"""The web process: the ingress application under uvicorn, built from settings.

`python -m traaaction.web --host H --port P` is what `traaaction serve` execs into once it
has applied migrations against configured servers: a fresh interpreter that loads the
ingress and nothing of the CLI, the migrations or the embedded servers, so the process
serving webhooks stays small (its resident memory is a benchmark target).
"""

from __future__ import annotations

import sys

# structlog imports rich, when it is installed (the CLI's progress bars), only to draw
# exceptions in colour on a terminal; the web process never does, and rich costs it about
# 3 MB of its 100 MB budget. Marked missing here, before anything imports structlog.
sys.modules.setdefault("rich", None)  # type: ignore[arg-type]

import argparse
import gc
from typing import Any

from pydantic import SecretStr
from sqlalchemy import Engine
from starlette.applications import Starlette

from config.logs import configure_logging
from config.settings import ConfigError, Settings, load_settings
from ingress.app import IngressOptions, create_app
from ingress.webhook import WebhookLimits
from storage.crypto import SecretBox
from storage.db import make_engine

#: seconds in-flight requests get to finish after SIGTERM
GRACEFUL_SHUTDOWN = 25


def ingress_options(settings: Settings) -> IngressOptions:
    return IngressOptions(
        limits=WebhookLimits(
            max_body=settings.max_body_bytes,
            body_timeout=settings.body_timeout,
            tolerance=settings.signature_tolerance,
        ),
        readiness_timeout=settings.readiness_timeout,
        enqueue_timeout=settings.enqueue_timeout,
        endpoint_cache_ttl=settings.endpoint_cache_ttl,
    )


def mount_console(
    app: Starlette,
    *,
    token: SecretStr | None,
    engine: Engine,
    redis_url: str,
    secret_box: SecretBox,
    stripe_api_base: str,
) -> None:
    """The operator console at /ops when OPS_TOKEN is set; without it, /ops answers 404.

    Only a small shim is loaded here: the console (Jinja2, its pages, the replay pipeline) is
    imported and built at its first request, so the webhook route and the memory of a process
    whose console is never opened are unchanged.
    """
    if token is None:
        return
    from traaaction.ops import ConsoleConfig, mount

    mount(
        app,
        ConsoleConfig(
            token=token,
            engine=engine,
            redis_url=redis_url,
            secret_box=secret_box,
            stripe_api_base=stripe_api_base,
        ),
    )


def _config_options(host: str, port: int) -> dict[str, Any]:
    return {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": False,
        "lifespan": "on",
        # No WebSocket route here: "auto" would import a WebSocket library for nothing.
        "ws": "none",
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
    }


def _freeze() -> None:
    # Everything loaded by now (modules, the app) lives as long as the process: frozen, it is
    # left out of the collector's full passes, which would otherwise walk hundreds of
    # thousands of objects and stall every request in flight for tens of milliseconds.
    gc.collect()
    gc.freeze()


def run_app(app: Starlette, *, host: str, port: int) -> None:
    """Serve with the settings every web process uses (and bench/baselines.py mirrors)."""
    import uvicorn

    config = uvicorn.Config(app, **_config_options(host, port))
    _freeze()
    uvicorn.Server(config).run()


def _settings() -> Settings:
    try:
        settings = load_settings()
        if settings.database_url is None or settings.redis_url is None:
            raise ConfigError("DATABASE_URL and REDIS_URL: required by the web process")
        if settings.master_keys is None:
            raise ConfigError("TRAAACTION_KEYS: required by the web process")
    except ConfigError as exc:
        print(f"traaaction: error: {exc}", file=sys.stderr)
        sys.exit(1)
    return settings


def build_app() -> Starlette:
    """The web process's application, from the environment (also uvicorn's factory for each
    of its WEB_CONCURRENCY worker processes)."""
    settings = _settings()
    configure_logging(settings.log_level, settings.log_format)
    if settings.database_url is None or settings.redis_url is None or not settings.master_keys:
        # `traaaction serve` resolves all three before it execs this process.
        raise SystemExit("DATABASE_URL, REDIS_URL and TRAAACTION_KEYS are required here")
    engine = make_engine(settings.database_url, application_name="traaaction-ingress")
    secret_box = SecretBox(settings.master_keys)
    app = create_app(
        engine=engine,
        redis_url=settings.redis_url,
        secret_box=secret_box,
        options=ingress_options(settings),
    )
    mount_console(
        app,
        token=settings.ops_token,
        engine=engine,
        redis_url=settings.redis_url,
        secret_box=secret_box,
        stripe_api_base=settings.stripe_api_base,
    )
    return app


def _build_frozen_app() -> Starlette:
    app = build_app()
    _freeze()
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m traaaction.web")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    concurrency = _settings().web_concurrency
    if concurrency == 1:
        run_app(build_app(), host=args.host, port=args.port)
        return
    import uvicorn

    # Several processes on one socket: uvicorn's supervisor starts WEB_CONCURRENCY workers,
    # each building the app itself (a fresh interpreter: nothing shared but the socket),
    # restarts any that dies, and passes SIGTERM on for a graceful stop.
    uvicorn.run(
        "traaaction.web:_build_frozen_app",
        factory=True,
        workers=concurrency,
        **_config_options(args.host, args.port),
    )


if __name__ == "__main__":
    main()
