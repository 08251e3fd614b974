"""Typed settings, read once at start-up. The only module that reads the environment.

Every other module receives a `Settings` object (or the few values it needs) from its caller.
A missing or malformed value raises `ConfigError` with one line naming the variable.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from config.master_keys import MasterKey, parse_master_keys


class ConfigError(Exception):
    """Raised when an environment variable is missing or malformed; the message names it."""


class LogFormat(StrEnum):
    AUTO = "auto"  # readable on a terminal, JSON otherwise
    JSON = "json"
    CONSOLE = "console"


#: characters; an operator token shorter than this is refused at start-up
MIN_OPS_TOKEN = 32


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="", case_sensitive=False, extra="ignore", frozen=True
    )

    #: postgresql+psycopg://...; unset = the embedded PostgreSQL in data_dir
    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    #: redis://, rediss:// or unix://; unset = the embedded Redis in data_dir
    redis_url: str | None = Field(default=None, validation_alias="REDIS_URL")
    #: id:base64key,...; unset is allowed only with the embedded default (a key is generated)
    master_keys: Annotated[tuple[MasterKey, ...] | None, NoDecode] = Field(
        default=None, validation_alias="TRAAACTION_KEYS", repr=False
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000", validation_alias="PUBLIC_BASE_URL"
    )
    data_dir: Path = Field(default=Path(".traaaction"), validation_alias="TRAAACTION_DATA_DIR")
    log_level: str = Field(
        default="INFO", validation_alias=AliasChoices("LOG_LEVEL", "TRAAACTION_LOG_LEVEL")
    )
    log_format: LogFormat = Field(
        default=LogFormat.AUTO,
        validation_alias=AliasChoices("LOG_FORMAT", "TRAAACTION_LOG_FORMAT"),
    )
    #: Dramatiq worker processes and threads per process
    worker_processes: int = Field(default=2, ge=1, le=64, validation_alias="WORKER_PROCESSES")
    worker_threads: int = Field(default=8, ge=1, le=256, validation_alias="WORKER_THREADS")
    #: seconds; how long /readyz waits for each dependency
    readiness_timeout: float = Field(default=2.0, gt=0, le=30, validation_alias="READINESS_TIMEOUT")

    #: seconds of clock difference accepted in a Stripe-Signature timestamp, either way
    signature_tolerance: int = Field(
        default=300, ge=1, le=3600, validation_alias="SIGNATURE_TOLERANCE"
    )
    #: bytes; larger webhook bodies get 413 without being read
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, le=64 * 1024 * 1024, validation_alias="MAX_BODY_BYTES"
    )
    #: seconds a client has to send the whole body
    body_timeout: float = Field(default=10.0, gt=0, le=120, validation_alias="BODY_TIMEOUT")
    #: seconds the ingress waits for Redis to confirm an enqueue before answering 503
    enqueue_timeout: float = Field(default=2.0, gt=0, le=30, validation_alias="ENQUEUE_TIMEOUT")
    #: seconds an ingress process trusts what it cached about an endpoint (secrets included)
    endpoint_cache_ttl: float = Field(
        default=30.0, gt=0, le=3600, validation_alias="ENDPOINT_CACHE_TTL"
    )

    #: Stripe's API (refund lookups with a workspace's key); a local stand-in in tests
    stripe_api_base: str = Field(
        default="https://api.stripe.com", validation_alias="STRIPE_API_BASE"
    )

    #: processes of the web tier under one `traaaction serve` (uvicorn workers on one socket)
    web_concurrency: int = Field(default=1, ge=1, le=64, validation_alias="WEB_CONCURRENCY")
    #: the workers' Prometheus metrics server (traaaction/worker_metrics.py); 0: none
    worker_metrics_port: int = Field(
        default=9191, ge=0, le=65535, validation_alias="WORKER_METRICS_PORT"
    )
    #: days the raw body of an applied event is kept for `traaaction events replay`
    payload_retention_days: int = Field(
        default=30, ge=1, le=3650, validation_alias="PAYLOAD_RETENTION_DAYS"
    )
    #: days event-log rows (and the record of applied events) are kept; at least 31, as
    #: `traaaction reconcile` looks back up to 30 days and relies on that record
    event_log_retention_days: int = Field(
        default=90, ge=31, le=3650, validation_alias="EVENT_LOG_RETENTION_DAYS"
    )
    #: the operator console's token (/ops); unset: the console is off
    ops_token: SecretStr | None = Field(default=None, validation_alias="OPS_TOKEN")

    @field_validator("ops_token", mode="before")
    @classmethod
    def _ops_token(cls, value: object) -> object:
        if value is None or value == "":
            return None
        if isinstance(value, str) and len(value) < MIN_OPS_TOKEN:
            # The message never repeats the value: it is a credential.
            raise ValueError(
                f"must be at least {MIN_OPS_TOKEN} characters (try `openssl rand -hex 32`)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if value.startswith(("postgres://", "postgresql://")):
            # Accept the common form, but always talk through psycopg 3.
            value = "postgresql+psycopg://" + value.split("://", 1)[1]
        if not value.startswith("postgresql+psycopg://"):
            raise ValueError("must start with postgresql+psycopg:// (or postgresql://)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("master_keys", mode="before")
    @classmethod
    def _master_keys(cls, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, str):
            return parse_master_keys(value)
        return value

    @field_validator("public_base_url", "stripe_api_base")
    @classmethod
    def _public_base_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL")
        return level

    @property
    def embedded_postgres(self) -> bool:
        return self.database_url is None

    @property
    def embedded_redis(self) -> bool:
        return self.redis_url is None


_ALIASES = {
    "database_url": "DATABASE_URL",
    "redis_url": "REDIS_URL",
    "master_keys": "TRAAACTION_KEYS",
    "public_base_url": "PUBLIC_BASE_URL",
    "data_dir": "TRAAACTION_DATA_DIR",
    "log_level": "LOG_LEVEL",
    "log_format": "LOG_FORMAT",
    "worker_processes": "WORKER_PROCESSES",
    "worker_threads": "WORKER_THREADS",
    "readiness_timeout": "READINESS_TIMEOUT",
    "signature_tolerance": "SIGNATURE_TOLERANCE",
    "max_body_bytes": "MAX_BODY_BYTES",
    "body_timeout": "BODY_TIMEOUT",
    "enqueue_timeout": "ENQUEUE_TIMEOUT",
    "endpoint_cache_ttl": "ENDPOINT_CACHE_TTL",
    "stripe_api_base": "STRIPE_API_BASE",
    "web_concurrency": "WEB_CONCURRENCY",
    "worker_metrics_port": "WORKER_METRICS_PORT",
    "payload_retention_days": "PAYLOAD_RETENTION_DAYS",
    "event_log_retention_days": "EVENT_LOG_RETENTION_DAYS",
    "ops_token": "OPS_TOKEN",
}


def load_settings(**overrides: Any) -> Settings:
    """Read the environment once; raise ConfigError naming the first bad variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else "?"
        name = _ALIASES.get(field, field.upper())
        message = str(first["msg"]).removeprefix("Value error, ")
        # Never echo the input: it may be key material.
        raise ConfigError(f"{name}: {message}") from None
