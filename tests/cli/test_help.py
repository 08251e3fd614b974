"""`traaaction --help`: each command listed with a whole sentence; `run` says what it starts."""

from __future__ import annotations

import re
from collections.abc import Iterator

import click
import pytest
from click.testing import CliRunner

from traaaction.cli import WholeSentenceGroup, cli

_ROW = re.compile(r"^  (\S+)(?: {2,}(\S.*))?$")
_CONTINUED = re.compile(r"^ {3,}(\S.*)$")


def _listing(help_text: str) -> dict[str, str]:
    """The Commands section of a help page: name -> description, wrapped lines joined."""
    rows: dict[str, list[str]] = {}
    name = None
    lines = iter(help_text.splitlines())
    for line in lines:
        if line == "Commands:":
            break
    for line in lines:
        if not line.strip():
            break
        if row := _ROW.match(line):
            name = row.group(1)
            rows[name] = [row.group(2)] if row.group(2) else []
        elif (more := _CONTINUED.match(line)) and name is not None:
            rows[name].append(more.group(1))
        else:
            raise AssertionError(f"not a row of the listing: {line!r}")
    return {name: " ".join(parts) for name, parts in rows.items()}


def _groups(
    group: click.Group, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], click.Group]]:
    """This group and every group under it, with their command paths."""
    yield path, group
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from _groups(command, (*path, name))


def _help(*args: str, width: int = 80, group: click.Group = cli) -> str:
    result = CliRunner().invoke(
        group, [*args, "--help"], prog_name="traaaction", terminal_width=width
    )
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("width", [80, 50])
def test_every_listed_description_is_a_whole_sentence(width: int) -> None:
    groups = list(_groups(cli))
    assert len(groups) > 5  # the top level, db, dlq, endpoint, ...
    for path, group in groups:
        listing = _listing(_help(*path, width=width))
        shown = {name for name, command in group.commands.items() if not command.hidden}
        assert set(listing) == shown, path
        for name, description in listing.items():
            where = " ".join(("traaaction", *path, name))
            assert not description.endswith("..."), f"{where}: cut short: {description!r}"
            assert description.endswith("."), f"{where}: not a sentence: {description!r}"


def test_the_check_catches_what_click_would_cut_short() -> None:
    """Click alone shortens a long first sentence with "..."; the CLI's group does not."""

    def long_description() -> None:
        """Do a thing whose description is much longer than what fits beside its name."""

    for group_class, cut in ((click.Group, True), (WholeSentenceGroup, False)):
        group = group_class("toy")
        group.add_command(
            click.Command("thing", callback=long_description, help=long_description.__doc__)
        )
        [description] = _listing(_help(group=group, width=50)).values()
        assert description.endswith("...") is cut, (group_class, description)
    assert description == long_description.__doc__


def test_run_says_what_it_starts_and_that_ctrl_c_stops_it() -> None:
    text = " ".join(_help("run").split())
    for part in (
        "an embedded PostgreSQL when DATABASE_URL is unset",
        "an embedded Redis when REDIS_URL is unset",
        "the migrations",
        "the ingress",
        "the workers",
        "its log writer",
        "the scheduler",
        "Ctrl-C (or SIGTERM) stops all of it, the embedded servers included",
    ):
        assert part in text, part
    assert _listing(_help())["run"] == "Run the whole service on this machine until Ctrl-C."
