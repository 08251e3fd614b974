"""What every command shares: the --json option, output, errors, and the runtime."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

from config.logs import configure_logging
from config.settings import Settings, load_settings
from traaaction.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])


class CliError(click.ClickException):
    """Raised for bad input or a failed operation; printed as one line, exit status 1."""


def json_option(func: F) -> F:
    return click.option(
        "--json", "as_json", is_flag=True, help="Print JSON on stdout (logs stay on stderr)."
    )(func)


def emit(as_json: bool, data: Any, human: str | None = None) -> None:
    """Print a result: JSON when asked for, else the human line (or JSON, pretty)."""
    if as_json:
        click.echo(json.dumps(data, default=_json_default, separators=(",", ":")))
    elif human is not None:
        click.echo(human)
    else:
        click.echo(json.dumps(data, default=_json_default, indent=2))


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def settings(*, service: bool = False) -> Settings:
    """Load settings and configure logging.

    One-shot commands log warnings and errors only unless LOG_LEVEL is set: their output is
    the result. Services (run, serve, worker) log at LOG_LEVEL (default INFO).
    """
    current = load_settings()
    level = current.log_level
    if not service and "log_level" not in current.model_fields_set:
        level = "WARNING"
    configure_logging(level, current.log_format)
    return current


@contextmanager
def runtime(*, check_schema: bool = True) -> Iterator[Runtime]:
    """A Runtime for one command; with check_schema, refuse to work on an old schema."""
    with Runtime(settings(), application_name="traaaction-cli") as rt:
        if check_schema:
            rt.ensure_schema()
        yield rt


def parse_instant(value: str, option: str) -> datetime:
    """An ISO 8601 instant with an explicit offset ("2026-12-01T00:00:00Z")."""
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise CliError(f"{option}: {value!r} is not an ISO 8601 date-time") from None
    if parsed.tzinfo is None:
        raise CliError(f"{option}: {value!r} has no time zone; add Z or an offset like +01:00")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 9999-12-31T23:00:00-05:00 is past the year 9999 in UTC
        raise CliError(f"{option}: {value!r} is out of range") from None
