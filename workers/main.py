"""The module Dramatiq's worker processes import: settings, logging, broker, context, actors.

`traaaction worker` runs `dramatiq workers.main` with the environment it resolved (the URLs of
the embedded servers, when those are in use). Each worker process also runs a log writer
thread (workers.log_writer).
"""

from __future__ import annotations

import redis
from dramatiq import Middleware

from config.logs import configure_logging
from config.settings import load_settings
from storage.crypto import SecretBox
from storage.db import make_engine, make_session_factory
from workers import context
from workers.broker import install_broker
from workers.log_writer import LogWriter

_settings = load_settings()
configure_logging(_settings.log_level, _settings.log_format)
if _settings.redis_url is None or _settings.database_url is None:
    raise SystemExit("REDIS_URL and DATABASE_URL are required here (`traaaction worker` sets them)")
_redis_url: str = _settings.redis_url
_engine = make_engine(
    _settings.database_url,
    pool_size=_settings.worker_threads,
    application_name="traaaction-worker",
)
_factory = make_session_factory(_engine)
context.configure(
    context.WorkerContext(
        factory=_factory,
        secret_box=SecretBox(_settings.master_keys) if _settings.master_keys else None,
        stripe_api_base=_settings.stripe_api_base,
    )
)


class _LogWriterMiddleware(Middleware):
    """Starts one log writer per worker process, and stops it with the process."""

    def __init__(self) -> None:
        self._writer: LogWriter | None = None

    def after_worker_boot(self, broker: object, worker: object) -> None:
        self._writer = LogWriter(redis.Redis.from_url(_redis_url), _factory)
        self._writer.start()

    def before_worker_shutdown(self, broker: object, worker: object) -> None:
        if self._writer is not None:
            self._writer.stop()


broker = install_broker(_redis_url)
broker.add_middleware(_LogWriterMiddleware())

import workers.actors  # noqa: E402,F401 - declares the actors on the broker installed above
