"""The composition root: turns Settings into connected parts, starting embedded servers lazily.

A CLI command that only needs PostgreSQL never starts Redis; `run` and `serve` need both.
`close()` releases what was opened, and stops embedded servers nobody else uses.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from config.logs import get_logger
from config.settings import ConfigError, Settings
from storage.crypto import SecretBox, format_master_key, parse_master_keys
from storage.db import make_engine, make_session_factory
from storage.schema import ensure_current
from traaaction.embedded import EmbeddedPostgres, EmbeddedRedis, load_or_create_master_key

log = get_logger(__name__)


class Runtime:
    def __init__(self, settings: Settings, *, application_name: str = "traaaction") -> None:
        self.settings = settings
        self.application_name = application_name
        self.data_dir: Path = settings.data_dir.expanduser().resolve()
        self._embedded_pg: EmbeddedPostgres | None = None
        self._embedded_redis: EmbeddedRedis | None = None

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @cached_property
    def database_url(self) -> str:
        if self.settings.database_url is not None:
            return self.settings.database_url
        self._embedded_pg = EmbeddedPostgres(self.data_dir / "postgres")
        self._embedded_pg.attach()
        return self._embedded_pg.url

    @cached_property
    def redis_url(self) -> str:
        if self.settings.redis_url is not None:
            return self.settings.redis_url
        self._embedded_redis = EmbeddedRedis(self.data_dir / "redis")
        self._embedded_redis.attach()
        return self._embedded_redis.url

    @cached_property
    def engine(self) -> Engine:
        return make_engine(self.database_url, application_name=self.application_name)

    @cached_property
    def session_factory(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    @cached_property
    def keys_value(self) -> str:
        """The TRAAACTION_KEYS value in force (the embedded default generates one)."""
        if self.settings.master_keys is not None:
            return ",".join(format_master_key(k) for k in self.settings.master_keys)
        if not self.settings.embedded_postgres:
            raise ConfigError(
                "TRAAACTION_KEYS: required when DATABASE_URL is set "
                "(`traaaction keys generate` prints a value)"
            )
        value, created = load_or_create_master_key(self.data_dir)
        if created:
            log.warning(
                "keys.generated",
                path=str(self.data_dir / "master.key"),
                note="embedded default: back this file up, or set TRAAACTION_KEYS",
            )
        return value

    @cached_property
    def secret_box(self) -> SecretBox:
        if self.settings.master_keys is not None:
            return SecretBox(self.settings.master_keys)
        return SecretBox(parse_master_keys(self.keys_value))

    def ensure_schema(self) -> None:
        """Raise SchemaBehind unless migrations are applied (for commands other than run/serve)."""
        ensure_current(self.engine)

    def child_environment(self) -> dict[str, str]:
        """What child processes need to reach the same servers with the same keys."""
        return {
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "TRAAACTION_KEYS": self.keys_value,
        }

    def close(self) -> None:
        if "engine" in self.__dict__:
            self.engine.dispose()
        for server in (self._embedded_redis, self._embedded_pg):
            if server is not None:
                server.detach()
