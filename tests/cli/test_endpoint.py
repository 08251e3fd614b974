"""`traaaction endpoint create | list | add-secret | expire-secret | disable | enable`."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pytest

from storage.crypto import format_master_key, generate_master_key
from tests.cli.conftest import PUBLIC_BASE_URL, RecordingCli, new_endpoint, new_workspace


def signing_secret() -> str:
    """A fresh value shaped like Stripe's (whsec_ and URL-safe characters)."""
    return "whsec_" + secrets.token_urlsafe(24)


def test_an_endpoint_goes_through_its_whole_life_with_secrets_shown_by_last4_only(
    cli: RecordingCli,
) -> None:
    workspace_id = new_workspace(cli)
    created = cli.json("endpoint", "create", "--workspace", workspace_id)
    endpoint_id = created["id"]
    assert endpoint_id.startswith("ep_")
    assert created["url"] == PUBLIC_BASE_URL + "/api/webhooks/" + endpoint_id
    assert created["workspace_id"] == workspace_id
    assert created["enabled"] is True

    human = cli.ok("endpoint", "create", "--workspace", workspace_id).stdout.splitlines()
    other_id = human[0].removeprefix("endpoint ").removesuffix(" created")
    assert human == [
        f"endpoint {other_id} created",
        f"url: {PUBLIC_BASE_URL}/api/webhooks/{other_id}",
        f"next: paste Stripe's signing secret with `traaaction endpoint add-secret {other_id}`",
    ]

    first_secret, second_secret = signing_secret(), signing_secret()
    first = cli.json("endpoint", "add-secret", endpoint_id, stdin=first_secret + "\n")
    assert first["id"].startswith("sec_")
    assert first["last4"] == first_secret[-4:]
    assert first["endpoint_id"] == endpoint_id
    assert first["expires_at"] is None

    second = cli.json(
        "endpoint",
        "add-secret",
        endpoint_id,
        "--expires-at",
        "2099-01-01T01:00:00+01:00",
        stdin=second_secret,
    )
    assert second["last4"] == second_secret[-4:]
    assert second["expires_at"] == "2099-01-01T00:00:00+00:00"  # stored in UTC

    expired = cli.json("endpoint", "expire-secret", first["id"])
    assert expired["id"] == first["id"]
    assert expired["last4"] == first["last4"]
    assert datetime.fromisoformat(expired["expires_at"]) <= datetime.now(UTC)

    assert cli.json("endpoint", "disable", endpoint_id) == {"id": endpoint_id, "enabled": False}

    listed = cli.json("endpoint", "list", "--workspace", workspace_id)
    assert [e["id"] for e in listed] == [endpoint_id, other_id]
    assert [e["enabled"] for e in listed] == [False, True]
    assert listed[0]["url"] == created["url"]
    assert [(s["id"], s["last4"], s["active"]) for s in listed[0]["secrets"]] == [
        (first["id"], first_secret[-4:], False),
        (second["id"], second_secret[-4:], True),
    ]
    assert listed[0]["secrets"][1]["expires_at"] == "2099-01-01T00:00:00+00:00"
    assert listed[1]["secrets"] == []

    assert cli.json("endpoint", "enable", endpoint_id) == {"id": endpoint_id, "enabled": True}


def test_add_secret_refuses_an_empty_or_non_stripe_secret_and_stores_nothing(
    cli: RecordingCli,
) -> None:
    workspace_id = new_workspace(cli)
    endpoint_id = new_endpoint(cli, workspace_id)

    empty = cli.fails("endpoint", "add-secret", endpoint_id, "--json", stdin="")
    assert "empty" in empty
    not_stripe = cli.fails(
        "endpoint", "add-secret", endpoint_id, "--json", stdin="sk_test_" + secrets.token_hex(12)
    )
    assert "whsec_" in not_stripe

    (listed,) = cli.json("endpoint", "list", "--workspace", workspace_id)
    assert listed["secrets"] == []


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        pytest.param(
            ("add-secret", "ep_doesnotexist", "--expires-at", "2099-01-01T00:00:00"),
            "--expires-at: '2099-01-01T00:00:00' has no time zone",
            id="expires-at-without-time-zone",
        ),
        pytest.param(
            ("add-secret", "ep_doesnotexist", "--expires-at", "2020-01-01T00:00:00Z"),
            "--expires-at: 2020-01-01T00:00:00Z is in the past",
            id="expires-at-in-the-past",
        ),
        pytest.param(
            ("add-secret", "ep_doesnotexist", "--expires-at", "next tuesday"),
            "--expires-at: 'next tuesday' is not an ISO 8601 date-time",
            id="expires-at-garbage",
        ),
        pytest.param(
            ("add-secret", "ep_doesnotexist", "--expires-at", "9999-12-31T23:00:00-05:00"),
            "--expires-at: '9999-12-31T23:00:00-05:00' is out of range",
            id="expires-at-beyond-year-9999-in-utc",
        ),
        pytest.param(
            ("expire-secret", "sec_doesnotexist", "--at", "0001-01-01T00:00:00+01:00"),
            "--at: '0001-01-01T00:00:00+01:00' is out of range",
            id="at-before-year-1-in-utc",
        ),
    ],
)
def test_a_bad_instant_is_refused_before_anything_else_is_looked_at(
    cli: RecordingCli, args: tuple[str, ...], expected: str
) -> None:
    message = cli.fails("endpoint", *args, "--json", stdin=signing_secret())
    assert message.startswith(expected), message


def test_a_signing_secret_never_appears_in_clear_even_at_debug_level(cli: RecordingCli) -> None:
    workspace_id = new_workspace(cli)
    endpoint_id = new_endpoint(cli, workspace_id)
    secret = signing_secret()
    body = secret.removeprefix("whsec_")
    new_key = format_master_key(generate_master_key("rotated"))
    debug = {"LOG_LEVEL": "DEBUG"}

    added = cli.ok("endpoint", "add-secret", endpoint_id, stdin=secret, **debug)
    assert f"(...{secret[-4:]}) added to {endpoint_id}" in added.stdout
    listed_json = cli.ok("endpoint", "list", "--workspace", workspace_id, "--json", **debug)
    listed_human = cli.ok("endpoint", "list", "--workspace", workspace_id, **debug)
    assert f"...{secret[-4:]}  active" in listed_human.stdout
    rotated = cli.ok(
        "keys",
        "rotate",
        "--json",
        TRAAACTION_KEYS=f"{new_key},{cli.env['TRAAACTION_KEYS']}",
        **debug,
    )
    assert '"rotated":1' in rotated.stdout  # the secret was decrypted and sealed again

    results = [added, listed_json, listed_human, rotated]
    assert any(r.stderr for r in results), "DEBUG logging produced nothing to look through"
    for result in results:
        for text in (result.stdout, result.stderr):
            assert secret not in text
            assert body not in text
