"""A progress bar on standard error, for commands that work through many items.

Drawn only for a person watching: never with --json, never when standard error is not a
terminal (a pipe, a log file, CI). Standard output stays the result's alone. Without a bar,
the tracker's methods do nothing, so commands call them unconditionally:

    with progress("replaying", total=len(ids), enabled=not as_json) as bar:
        for batch in batches:
            ...
            bar.advance(len(batch))

`total=None` (not known in advance: a paginated listing) draws a pulsing bar and a count.
rich is imported only when a bar is drawn, to keep the CLI quick to start.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID


class Tracker:
    """What a command reports its progress to; a no-op when no bar is drawn."""

    def __init__(self, bar: Progress | None = None, task: TaskID | None = None) -> None:
        self._bar = bar
        self._task = task

    @property
    def drawn(self) -> bool:
        return self._bar is not None

    def advance(self, n: int = 1) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, n)

    def update(self, *, description: str | None = None, total: int | None = None) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=description, total=total)


@contextmanager
def progress(
    description: str,
    *,
    total: int | None = None,
    enabled: bool = True,
    console: Console | None = None,
) -> Iterator[Tracker]:
    """A bar on standard error while the block runs, removed at its end (the result follows).

    `enabled=False` (pass `not as_json`) or a standard error that is not a terminal: no bar.
    `console`: where to draw instead (tests), regardless of standard error.
    """
    if not enabled or (console is None and not sys.stderr.isatty()):
        yield Tracker()
        return

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console if console is not None else Console(stderr=True),
        transient=True,
    )
    with bar:
        yield Tracker(bar, bar.add_task(description, total=total))
