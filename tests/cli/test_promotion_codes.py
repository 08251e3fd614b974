"""`traaaction partner add-promotion-code` and `remove-promotion-code`, through the console
script against real PostgreSQL."""

from __future__ import annotations

from tests.cli.conftest import RecordingCli, new_workspace


def _partners(cli: RecordingCli) -> tuple[str, str]:
    workspace_id = new_workspace(cli)
    program = cli.json(
        "program", "create", "--workspace", workspace_id, "--name", "P", "--percent", "10"
    )
    base = ("partner", "create", "--workspace", workspace_id, "--program", program["id"])
    return cli.json(*base, "--name", "Ada")["id"], cli.json(*base, "--name", "Bob")["id"]


def test_add_twice_is_idempotent_and_another_partner_is_refused(cli: RecordingCli) -> None:
    ada, bob = _partners(cli)
    added = cli.json("partner", "add-promotion-code", ada, "promo_1Ab")
    assert added == {
        "partner_id": ada,
        "workspace_id": added["workspace_id"],
        "promotion_code_id": "promo_1Ab",
        "created": True,
    }
    again = cli.json("partner", "add-promotion-code", ada, "promo_1Ab")
    assert again["created"] is False
    human = cli.ok("partner", "add-promotion-code", ada, "promo_1Ab").stdout
    assert human == f"promotion code promo_1Ab already belongs to partner {ada}\n"

    message = cli.fails("partner", "add-promotion-code", bob, "promo_1Ab", "--json")
    assert ada in message
    assert "promo_1Ab" in message


def test_remove_then_remove_again_is_an_error(cli: RecordingCli) -> None:
    ada, bob = _partners(cli)
    cli.json("partner", "add-promotion-code", ada, "promo_R")
    assert "promo_R" in cli.fails("partner", "remove-promotion-code", bob, "promo_R")
    removed = cli.json("partner", "remove-promotion-code", ada, "promo_R")
    assert removed == {"partner_id": ada, "promotion_code_id": "promo_R"}
    assert "not found" in cli.fails("partner", "remove-promotion-code", ada, "promo_R", "--json")
    # free again: another partner may take it
    assert cli.json("partner", "add-promotion-code", bob, "promo_R")["created"] is True


def test_a_malformed_id_is_a_clear_error(cli: RecordingCli) -> None:
    ada, _ = _partners(cli)
    message = cli.fails("partner", "add-promotion-code", ada, "SUMMER10")
    assert "promo_" in message
