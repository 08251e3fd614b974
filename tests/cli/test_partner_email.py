"""`traaaction partner create --email`: the partner's own address, for self-referral checks."""

from __future__ import annotations

from sqlalchemy import select

from storage.db import make_engine, make_session_factory
from storage.models import Partner
from tests.cli.conftest import RecordingCli, new_workspace


def new_program(cli: RecordingCli, workspace_id: str) -> str:
    program_id: str = cli.json(
        "program", "create", "--workspace", workspace_id, "--name", "P", "--percent", "10"
    )["id"]
    return program_id


def stored_email(cli: RecordingCli, partner_id: str) -> str | None:
    engine = make_engine(cli.env["DATABASE_URL"], pool_size=1)
    try:
        with make_session_factory(engine)() as session:
            return session.scalars(select(Partner.email).where(Partner.id == partner_id)).one()
    finally:
        engine.dispose()


def test_the_email_is_stored_as_written_without_surrounding_spaces(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    program_id = new_program(cli, workspace_id)
    create = ("partner", "create", "--workspace", workspace_id, "--program", program_id)

    jane = cli.json(*create, "--name", "Jane", "--email", "  Jane.Doe+aff@Example.COM ")
    assert jane == {
        "id": jane["id"],
        "workspace_id": workspace_id,
        "program_id": program_id,
        "name": "Jane",
        "email": "Jane.Doe+aff@Example.COM",
    }
    assert stored_email(cli, jane["id"]) == "Jane.Doe+aff@Example.COM"

    anonymous = cli.json(*create, "--name", "Bob")
    assert anonymous["email"] is None
    assert stored_email(cli, anonymous["id"]) is None

    human = cli.ok(*create, "--name", "Ada", "--email", "ada@example.org")
    assert human.stdout.startswith("partner prt_")


#: one address is expected: a name, half an address or two addresses are refused
MALFORMED = [
    "jane",
    "@example.com",
    "jane@",
    "jane@example",
    "jane doe@example.com",
    "jane@example.com, bob@example.com",
    "jane@@example.com",
    "jane@example..com",
    "jane@.example.com",
    "",
]


def test_a_malformed_email_is_refused_in_words(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    program_id = new_program(cli, workspace_id)
    create = ("partner", "create", "--workspace", workspace_id, "--program", program_id)
    for email in MALFORMED:
        message = cli.fails(*create, "--name", "Jane", "--email", email, "--json")
        assert message == (
            f"the partner email {email.strip()!r} is not an address like name@example.com"
        )


def test_an_email_longer_than_the_database_allows_is_refused(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    program_id = new_program(cli, workspace_id)
    email = "j" * 300 + "@" + "e" * 20 + ".com"
    message = cli.fails(
        "partner", "create", "--workspace", workspace_id, "--program", program_id,
        "--name", "Jane", "--email", email,
    )  # fmt: skip
    assert message == "the partner email is longer than 320 characters"
