"""`traaaction keys generate` and `keys rotate`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from storage.crypto import DecryptionError, SecretBox, parse_master_keys
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.repositories import endpoints
from tests.cli.conftest import RecordingCli, new_endpoint, new_workspace

CLOSED_PORT_URL = "postgresql+psycopg://postgres@127.0.0.1:1/x"


def test_keys_generate_prints_one_line_that_traaaction_keys_accepts_without_a_database(
    cli: RecordingCli,
) -> None:
    result = cli.ok("keys", "generate", "--id", "ops-1", DATABASE_URL=CLOSED_PORT_URL)
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    assert result.stdout == lines[0] + "\n"
    assert result.stderr == ""
    (key,) = parse_master_keys(lines[0])
    assert key.key_id == "ops-1"
    assert len(key.key) == 32


def test_keys_rotate_reseals_secrets_under_the_first_key_so_the_old_one_can_go(
    cli: RecordingCli,
) -> None:
    key_a = cli.env["TRAAACTION_KEYS"]
    workspace_id = new_workspace(cli)
    endpoint_id = new_endpoint(cli, workspace_id)
    secret = "whsec_" + secrets.token_urlsafe(24)
    cli.json("endpoint", "add-secret", endpoint_id, stdin=secret)

    generated = cli.json("keys", "generate")
    assert set(generated) == {"key"}
    key_b = generated["key"]
    (b,) = parse_master_keys(key_b)
    assert key_b != key_a

    rotated = cli.json("keys", "rotate", TRAAACTION_KEYS=f"{key_b},{key_a}")
    assert rotated == {"rotated": 1, "key_id": b.key_id}

    (listed,) = cli.json("endpoint", "list", "--workspace", workspace_id, TRAAACTION_KEYS=key_b)
    assert [s["last4"] for s in listed["secrets"]] == [secret[-4:]]
    again = cli.json("keys", "rotate", TRAAACTION_KEYS=key_b)
    assert again == {"rotated": 0, "key_id": b.key_id}

    # The old key alone opens nothing any more: the CLI says so in one line...
    message = cli.fails("keys", "rotate", "--json", TRAAACTION_KEYS=key_a)
    assert f"sealed under key {b.key_id!r}, which is not in TRAAACTION_KEYS" in message

    # ...and so does the repository the ingress reads secrets with.
    engine = make_engine(cli.env["DATABASE_URL"], pool_size=1)
    try:
        sessions = make_session_factory(engine)
        now = datetime.now(UTC)
        with unit_of_work(sessions) as session:
            (active,) = endpoints.active_secrets(
                session, SecretBox(parse_master_keys(key_b)), endpoint_id=endpoint_id, now=now
            )
            assert active.secret == secret
        with unit_of_work(sessions) as session, pytest.raises(DecryptionError):
            endpoints.active_secrets(
                session, SecretBox(parse_master_keys(key_a)), endpoint_id=endpoint_id, now=now
            )
    finally:
        engine.dispose()
