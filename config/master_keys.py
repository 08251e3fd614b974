"""TRAAACTION_KEYS: the master keys' format, parsed and written without showing key material.

In the bottom module because the settings parse them at start-up; storage.crypto derives the
per-workspace keys from them.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from dataclasses import dataclass

#: bytes; AES-256
MASTER_KEY_SIZE = 32
#: \Z, not $: `$` would also accept a trailing newline in a key id
_KEY_ID = re.compile(r"^[A-Za-z0-9_.-]{1,32}\Z")


@dataclass(frozen=True, slots=True)
class MasterKey:
    """One entry of TRAAACTION_KEYS. `repr` never shows the key material."""

    key_id: str
    key: bytes

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self.key_id!r}, key=<redacted>)"


def parse_master_keys(value: str) -> tuple[MasterKey, ...]:
    """Parse `id:base64key[,id:base64key...]`. Error messages never contain key material."""
    entries = [part.strip() for part in value.split(",") if part.strip()]
    if not entries:
        raise ValueError("no key given; expected id:base64key[,id:base64key...]")
    keys: list[MasterKey] = []
    for position, entry in enumerate(entries, start=1):
        key_id, sep, encoded = entry.partition(":")
        if not sep:
            raise ValueError(f"entry {position} is not of the form id:base64key")
        if not _KEY_ID.match(key_id):
            raise ValueError(f"entry {position}: key id must be 1-32 of A-Z a-z 0-9 _ . -")
        try:
            raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except (binascii.Error, ValueError):
            raise ValueError(f"key {key_id!r} is not valid base64") from None
        if len(raw) != MASTER_KEY_SIZE:
            raise ValueError(f"key {key_id!r} must decode to 32 bytes, got {len(raw)}")
        if any(k.key_id == key_id for k in keys):
            raise ValueError(f"key id {key_id!r} appears twice")
        keys.append(MasterKey(key_id, raw))
    return tuple(keys)


def format_master_key(key: MasterKey) -> str:
    """One key as TRAAACTION_KEYS takes it: `id:base64url` (no padding)."""
    encoded = base64.urlsafe_b64encode(key.key).decode().rstrip("=")
    return f"{key.key_id}:{encoded}"


def generate_master_key(key_id: str | None = None) -> MasterKey:
    """A fresh random key; its id defaults to `k` + 8 random hex digits (unique in practice)."""
    kid = key_id or f"k{secrets.token_hex(4)}"
    if not _KEY_ID.match(kid):
        raise ValueError("key id must be 1-32 of A-Z a-z 0-9 _ . -")
    return MasterKey(kid, os.urandom(MASTER_KEY_SIZE))
