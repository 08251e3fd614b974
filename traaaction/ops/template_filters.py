"""The Jinja2 filters of the console's templates: instants, ages and sizes, as people read them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def when(value: datetime | None) -> str:
    """An instant in UTC, to the second ("2026-03-01 12:00:00 UTC"); "" for none."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def age(seconds: float | None) -> str:
    """A duration in its two largest units ("1 min 38 s", "3 d 4 h"); "" for none."""
    if seconds is None:
        return ""
    whole = int(seconds)
    if whole < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def size(count: int) -> str:
    """A number of bytes in B, KiB or MiB."""
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / 1024 / 1024:.1f} MiB"


#: name in the templates -> filter
TEMPLATE_FILTERS: dict[str, Callable[..., Any]] = {"when": when, "age": age, "size": size}
