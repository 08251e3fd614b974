"""`traaaction workspace create` and `workspace list`."""

from __future__ import annotations

import re

from tests.cli.conftest import RecordingCli


def test_created_workspaces_are_listed_in_creation_order_with_their_names(
    cli: RecordingCli,
) -> None:
    first = cli.json("workspace", "create", "--name", "  Acme Inc  ")
    assert set(first) == {"id", "name"}
    assert first["id"].startswith("ws_")
    assert first["name"] == "Acme Inc"  # surrounding blanks are not part of a name

    human = cli.ok("workspace", "create", "--name", "Globex")
    match = re.fullmatch(r"workspace (ws_[a-z0-9]+) created\n", human.stdout)
    assert match is not None, human.stdout
    second_id = match.group(1)
    assert second_id != first["id"]

    listed = cli.json("workspace", "list")
    assert [(w["id"], w["name"]) for w in listed] == [
        (first["id"], "Acme Inc"),
        (second_id, "Globex"),
    ]
    assert all(w["created_at"] for w in listed)

    lines = cli.ok("workspace", "list").stdout.splitlines()
    assert lines == [f"{first['id']}  Acme Inc", f"{second_id}  Globex"]
