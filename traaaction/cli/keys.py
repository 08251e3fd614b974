from __future__ import annotations

import click

from storage.crypto import format_master_key, generate_master_key
from storage.db import unit_of_work
from storage.repositories import api_keys, endpoints
from traaaction.cli._common import CliError, emit, json_option, runtime


@click.group(short_help="Master keys that encrypt the stored secrets.")
def keys() -> None:
    """Master keys that encrypt the stored secrets (TRAAACTION_KEYS)."""


@keys.command("generate", short_help="Print a new key for TRAAACTION_KEYS.")
@click.option("--id", "key_id", help="Key id (default: k + 8 random hex digits).")
@json_option
def keys_generate(key_id: str | None, as_json: bool) -> None:
    """Print a new key: one line that TRAAACTION_KEYS takes as it is.

    To rotate, put the new key first: TRAAACTION_KEYS=NEW,OLD, restart, run `keys rotate`,
    then drop OLD.
    """
    try:
        value = format_master_key(generate_master_key(key_id))
    except ValueError as exc:
        raise CliError(f"--id: {exc}") from None
    emit(as_json, {"key": value}, value)


@keys.command("rotate", short_help="Re-encrypt every secret under the current key.")
@json_option
def keys_rotate(as_json: bool) -> None:
    """Re-encrypt every stored secret under the first (current) key of TRAAACTION_KEYS."""
    with runtime() as rt:
        box = rt.secret_box
        with unit_of_work(rt.session_factory) as session:
            changed = endpoints.reseal_all(session, box) + api_keys.reseal_all(session, box)
    emit(
        as_json,
        {"rotated": changed, "key_id": box.current_key_id},
        f"re-encrypted {changed} secret(s) under key {box.current_key_id}",
    )
