"""`traaaction program create`, `partner create` and `click create`."""

from __future__ import annotations

import pytest

from tests.cli.conftest import RecordingCli, new_workspace


def test_program_create_records_the_reward_and_duration_asked_for(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    create = ("program", "create", "--workspace", workspace_id, "--name")

    percent = cli.json(*create, "Standard", "--percent", "12.5")
    assert percent["id"].startswith("prg_")
    assert percent == {
        "id": percent["id"],
        "workspace_id": workspace_id,
        "name": "Standard",
        "reward_kind": "percent",
        "percent_bps": 1250,
        "flat_amount": None,
        "currency": None,
        "recurring_months": 12,
        "lifetime": False,
        "holding_days": 30,
        "click_window_days": 90,
        "first_purchase_only": False,
    }

    flat = cli.json(*create, "Flat", "--flat", "500", "--currency", "USD")
    assert flat["reward_kind"] == "flat"
    assert (flat["flat_amount"], flat["currency"], flat["percent_bps"]) == (500, "usd", None)
    assert (flat["recurring_months"], flat["holding_days"]) == (12, 30)

    lifetime = cli.json(*create, "Forever", "--percent", "5", "--lifetime")
    assert (lifetime["recurring_months"], lifetime["lifetime"]) == (None, True)

    once = cli.json(
        *create, "Once", "--percent", "100", "--recurring-months", "1", "--holding-days", "0"
    )
    assert (once["percent_bps"], once["recurring_months"], once["lifetime"]) == (10_000, 1, False)
    assert once["holding_days"] == 0

    assert len({percent["id"], flat["id"], lifetime["id"], once["id"]}) == 4


def test_program_create_takes_the_click_window_and_first_purchase_only(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    create = ("program", "create", "--workspace", workspace_id, "--percent", "10", "--name")
    strict = cli.json(*create, "Strict", "--click-window-days", "30", "--first-purchase-only")
    assert (strict["click_window_days"], strict["first_purchase_only"]) == (30, True)
    for bad in ("0", "3651"):
        message = cli.fails(*create, "Bad", "--click-window-days", bad)
        assert f"click window must be 1..3650 days, got {bad}" in message


def test_a_partner_joins_a_program_and_gets_clicks_of_its_workspace(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    program = cli.json(
        "program", "create", "--workspace", workspace_id, "--name", "P", "--percent", "10"
    )
    partner = cli.json(
        "partner",
        "create",
        "--workspace",
        workspace_id,
        "--program",
        program["id"],
        "--name",
        " Jane ",
    )
    assert partner["id"].startswith("prt_")
    assert partner == {
        "id": partner["id"],
        "workspace_id": workspace_id,
        "program_id": program["id"],
        "name": "Jane",
        "email": None,
    }

    click = cli.json("click", "create", "--partner", partner["id"])
    assert click["id"].startswith("clk_")
    assert click == {"id": click["id"], "partner_id": partner["id"], "workspace_id": workspace_id}

    human = cli.ok("click", "create", "--partner", partner["id"]).stdout
    assert human.startswith("click clk_")
    assert human.endswith(" created (use it as metadata.tracClickId)\n")
    assert click["id"] not in human  # a new click each time

    # A click the tracking redirect made, recorded late, keeps its id; a malformed one is refused.
    late = "clk_" + "q" * 26
    recorded = cli.json("click", "create", "--partner", partner["id"], "--id", late)
    assert recorded["id"] == late
    refused = cli("click", "create", "--partner", partner["id"], "--id", "clk_NOPE")
    assert refused.code == 1
    assert "clk_ + 26 base32 characters" in refused.stderr


def test_partner_create_refuses_a_program_of_another_workspace_or_an_unknown_one(
    cli: RecordingCli,
) -> None:
    acme = new_workspace(cli, "Acme")
    globex = new_workspace(cli, "Globex")
    acme_program = cli.json(
        "program", "create", "--workspace", acme, "--name", "P", "--percent", "10"
    )["id"]
    partner = ("partner", "create", "--name", "Jane", "--json")

    foreign = cli.fails(*partner, "--workspace", globex, "--program", acme_program)
    assert foreign == f"program {acme_program!r} not found in workspace {globex}"
    unknown = cli.fails(*partner, "--workspace", acme, "--program", "prg_doesnotexist")
    assert unknown == "program 'prg_doesnotexist' not found"


def test_program_create_refuses_more_recurring_months_than_a_lifetime(
    cli: RecordingCli,
) -> None:
    workspace_id = new_workspace(cli)
    message = cli.fails(
        "program",
        "create",
        "--workspace",
        workspace_id,
        "--name",
        "P",
        "--percent",
        "10",
        "--recurring-months",
        "3000000000",
        "--json",
    )
    assert message == "recurring months must be at most 1200 (use --lifetime for no limit)"


@pytest.mark.parametrize(
    ("options", "expected", "code"),
    [
        pytest.param(
            ("--percent", "10", "--flat", "500", "--currency", "usd"),
            "give exactly one of --percent or --flat",
            1,
            id="percent-and-flat",
        ),
        pytest.param((), "give exactly one of --percent or --flat", 1, id="neither"),
        pytest.param(
            ("--percent", "12.345"), "percent '12.345' has more than two decimals", 1, id="3dp"
        ),
        pytest.param(("--percent", "0"), "percent '0' must be greater than 0", 1, id="zero"),
        pytest.param(("--flat", "500"), "--flat needs --currency", 1, id="flat-no-currency"),
        pytest.param(
            ("--percent", "10", "--currency", "usd"),
            "--currency goes with --flat only",
            1,
            id="currency-with-percent",
        ),
        pytest.param(
            ("--percent", "10", "--recurring-months", "0"),
            "--recurring-months must be at least 1",
            1,
            id="zero-months",
        ),
        pytest.param(
            ("--percent", "10", "--lifetime", "--recurring-months", "6"),
            "give at most one of --recurring-months or --lifetime",
            1,
            id="lifetime-and-months",
        ),
        pytest.param(
            ("--flat", "abc", "--currency", "usd"),
            "Invalid value for '--flat': 'abc' is not a valid integer",
            2,
            id="flat-not-a-number",
        ),
    ],
)
def test_program_create_refuses_inconsistent_terms_before_looking_up_the_workspace(
    cli: RecordingCli, options: tuple[str, ...], expected: str, code: int
) -> None:
    # An unknown workspace: only a check made before the database can produce `expected`.
    message = cli.fails(
        "program",
        "create",
        "--workspace",
        "ws_doesnotexist",
        "--name",
        "P",
        *options,
        "--json",
        code=code,
    )
    assert message.startswith(expected), message
