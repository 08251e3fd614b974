"""`traaaction workspace create` and `workspace list`."""

from __future__ import annotations

import re

from tests.cli.conftest import RecordingCli, new_workspace


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


def test_set_stripe_key_reads_the_key_from_stdin_and_shows_only_its_last4(
    cli: RecordingCli,
) -> None:
    workspace_id = new_workspace(cli)
    key = "rk_test_51HaBcDeFgHiJkLmNoPqRsTuV"
    stored = cli.json("workspace", "set-stripe-key", workspace_id, stdin=key + "\n")
    assert stored == {"workspace_id": workspace_id, "last4": "sTuV"}
    # Replacing it is allowed; a malformed key is refused without echoing it.
    cli.json("workspace", "set-stripe-key", workspace_id, stdin="rk_live_ZZZZZZZZZZZZ")
    message = cli.fails(
        "workspace", "set-stripe-key", workspace_id, "--json", stdin="pk_live_oops123456"
    )
    assert message.startswith("a Stripe API key looks like rk_live_")
    assert "pk_live_oops" not in message
