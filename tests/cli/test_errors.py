"""The error contract, across commands: one line on stderr, `{"error"}` with --json, no trace."""

from __future__ import annotations

import psycopg
import pytest

from tests.cli.conftest import RecordingCli, assert_error

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"
A_SECRET = "whsec_" + "Zk3" * 10


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("endpoint", "create", "--workspace", "ws_doesnotexist"),
            "workspace 'ws_doesnotexist' not found",
            id="endpoint-create",
        ),
        pytest.param(
            (
                "program",
                "create",
                "--workspace",
                "ws_doesnotexist",
                "--name",
                "P",
                "--flat",
                "500",
                "--currency",
                "eur",
            ),
            "workspace 'ws_doesnotexist' not found",
            id="program-create",
        ),
        pytest.param(
            ("endpoint", "add-secret", "ep_doesnotexist"),
            "endpoint 'ep_doesnotexist' not found",
            id="endpoint-add-secret",
        ),
        pytest.param(
            ("endpoint", "disable", "ep_doesnotexist"),
            "endpoint 'ep_doesnotexist' not found",
            id="endpoint-disable",
        ),
        pytest.param(
            ("endpoint", "enable", "ep_doesnotexist"),
            "endpoint 'ep_doesnotexist' not found",
            id="endpoint-enable",
        ),
        pytest.param(
            ("endpoint", "expire-secret", "sec_doesnotexist"),
            "secret 'sec_doesnotexist' not found",
            id="endpoint-expire-secret",
        ),
        pytest.param(
            ("click", "create", "--partner", "prt_doesnotexist"),
            "partner 'prt_doesnotexist' not found",
            id="click-create",
        ),
    ],
)
def test_an_unknown_id_is_named_in_one_line(
    cli: RecordingCli, args: tuple[str, ...], expected: str
) -> None:
    assert cli.fails(*args, "--json", stdin=A_SECRET) == expected


@pytest.mark.parametrize(
    ("args", "expected", "code"),
    [
        pytest.param(("frobnicate", "--json"), "No such command 'frobnicate'", 2, id="command"),
        pytest.param(
            ("workspace", "create"), "Missing option '--name'", 2, id="missing-option-no-json"
        ),
        pytest.param(
            ("keys", "generate", "--id", "no spaces", "--json"),
            "--id: key id must be",
            1,
            id="bad-key-id",
        ),
    ],
)
def test_a_usage_error_is_one_line_with_its_own_exit_status(
    cli: RecordingCli, args: tuple[str, ...], expected: str, code: int
) -> None:
    message = cli.fails(*args, code=code)
    assert message.startswith(expected), message


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        pytest.param("TRAAACTION_KEYS", "k1:short", id="keys-short"),
        # one character away from a real key: the message must not echo the rest
        pytest.param("TRAAACTION_KEYS", "{master}A", id="keys-near-miss"),
        pytest.param("DATABASE_URL", "mysql://x", id="database-url"),
    ],
)
def test_a_malformed_environment_variable_is_named_in_one_line(
    cli: RecordingCli, master_key_value: str, variable: str, value: str
) -> None:
    args = ("workspace", "create", "--name", "Acme", "--json")
    env = {variable: value.format(master=master_key_value)}
    message = assert_error(cli(*args, **env), args)
    assert message.startswith(f"{variable}: "), message


@pytest.mark.parametrize("command", ["serve", "run"])
def test_a_long_running_command_with_a_malformed_environment_stops_at_once(
    cli: RecordingCli, command: str
) -> None:
    message = cli.fails(command, DATABASE_URL="mysql://x")
    assert message.startswith("DATABASE_URL: "), message


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("workspace", "create", "--name", "Acme", "--json"), id="workspace-create"),
        pytest.param(("endpoint", "list", "--workspace", "ws_x", "--json"), id="endpoint-list"),
        pytest.param(("keys", "rotate", "--json"), id="keys-rotate"),
        pytest.param(("worker",), id="worker"),
    ],
)
def test_a_command_refuses_a_database_whose_schema_is_behind(
    cli: RecordingCli, empty_database_url: str, args: tuple[str, ...]
) -> None:
    message = cli.fails(*args, DATABASE_URL=empty_database_url)
    assert "`traaaction db upgrade`" in message, message

    conninfo = empty_database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    with psycopg.connect(conninfo) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    assert row == (0,), "the command changed the schema it should have refused"


def test_an_unreachable_database_is_reported_in_one_line(cli: RecordingCli) -> None:
    message = cli.fails(
        "workspace", "create", "--name", "Acme", "--json", DATABASE_URL=CLOSED_PORT_URL
    )
    assert message.startswith("cannot reach PostgreSQL"), message
