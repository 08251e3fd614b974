"""The shared progress bar: drawn on a terminal only, never with --json, never on stdout."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from traaaction.cli._progress import progress


def test_a_bar_is_drawn_where_a_person_watches() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100)
    with progress("listing events", console=console) as bar:
        assert bar.drawn
        bar.advance(100)
        bar.advance(50)
        bar.update(description="150 done")
    drawn = screen.getvalue()
    assert "150 done" in drawn
    assert "150/?" in drawn  # no total: a count


def test_a_known_total_is_shown_against_the_count() -> None:
    screen = io.StringIO()
    with progress("replaying", total=8, console=Console(file=screen, force_terminal=True)) as bar:
        bar.advance(3)
    assert "3/8" in screen.getvalue()


def test_nothing_is_drawn_with_json_or_off_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    screen = io.StringIO()
    with progress("x", enabled=False, console=Console(file=screen, force_terminal=True)) as bar:
        assert not bar.drawn
        bar.advance(5)  # a no-op, so commands call it unconditionally
        bar.update(description="y", total=9)
    with progress("x") as bar:  # pytest's standard error is not a terminal
        assert not bar.drawn
        bar.advance()
    assert screen.getvalue() == ""
    assert capsys.readouterr() == ("", "")
