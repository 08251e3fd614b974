"""Secrets at rest: AES-256-GCM under per-workspace keys derived from the master keys.

Layers, each with its reason:
- Master keys come from TRAAACTION_KEYS (`id:base64key,...`): the first encrypts, every one
  decrypts, so keys rotate without downtime (`traaaction keys rotate` re-encrypts).
- Each (master key, workspace, purpose) gets its own AES key through HKDF-SHA256, so a key
  derived for one workspace opens nothing of another's.
- Each ciphertext carries its row's identity (workspace, owner, secret id) as associated data:
  a ciphertext copied into another row, even of the same workspace, fails to decrypt.
Nothing here logs or formats plaintext; `repr` of key objects hides key material.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from config.master_keys import (
    MASTER_KEY_SIZE,
    MasterKey,
    format_master_key,
    generate_master_key,
    parse_master_keys,
)

__all__ = [
    "MASTER_KEY_SIZE",
    "DecryptionError",
    "MasterKey",
    "Sealed",
    "SecretBox",
    "format_master_key",
    "generate_master_key",
    "parse_master_keys",
]

#: bytes; the GCM nonce size NIST recommends; random per encryption
NONCE_SIZE = 12
_AAD_VERSION = "traaaction/secret/v1"


class DecryptionError(Exception):
    """Raised when a sealed secret cannot be opened: wrong row, unknown key, or tampering."""


@dataclass(frozen=True, slots=True)
class Sealed:
    key_id: str
    nonce: bytes
    ciphertext: bytes


@lru_cache(maxsize=4096)
def _derive(master: bytes, purpose: str, workspace_id: str) -> AESGCM:
    info = f"{_AAD_VERSION}|{purpose}|{workspace_id}".encode()
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master)
    return AESGCM(key)


def _aad(purpose: str, workspace_id: str, owner_id: str, secret_id: str) -> bytes:
    for part in (purpose, workspace_id, owner_id, secret_id):
        if not part or "|" in part:
            raise ValueError("associated data parts must be non-empty and contain no '|'")
    return f"{_AAD_VERSION}|{purpose}|{workspace_id}|{owner_id}|{secret_id}".encode()


class SecretBox:
    """Seals and opens secrets bound to (purpose, workspace, owner, secret id)."""

    def __init__(self, keys: Sequence[MasterKey]) -> None:
        if not keys:
            raise ValueError("at least one master key is needed")
        self._current = keys[0]
        self._by_id = {k.key_id: k for k in keys}

    def __repr__(self) -> str:
        return f"SecretBox(current={self._current.key_id!r}, keys={len(self._by_id)})"

    @property
    def current_key_id(self) -> str:
        return self._current.key_id

    def seal(
        self, plaintext: str, *, purpose: str, workspace_id: str, owner_id: str, secret_id: str
    ) -> Sealed:
        nonce = os.urandom(NONCE_SIZE)
        aead = _derive(self._current.key, purpose, workspace_id)
        ciphertext = aead.encrypt(
            nonce, plaintext.encode(), _aad(purpose, workspace_id, owner_id, secret_id)
        )
        return Sealed(self._current.key_id, nonce, ciphertext)

    def open(
        self, sealed: Sealed, *, purpose: str, workspace_id: str, owner_id: str, secret_id: str
    ) -> str:
        master = self._by_id.get(sealed.key_id)
        if master is None:
            raise DecryptionError(
                f"secret {secret_id} is sealed under key {sealed.key_id!r}, "
                "which is not in TRAAACTION_KEYS"
            )
        aead = _derive(master.key, purpose, workspace_id)
        try:
            plain = aead.decrypt(
                sealed.nonce, sealed.ciphertext, _aad(purpose, workspace_id, owner_id, secret_id)
            )
        except InvalidTag:
            raise DecryptionError(
                f"secret {secret_id} does not decrypt for this row (moved, or tampered with)"
            ) from None
        return plain.decode()

    def reseal(
        self, sealed: Sealed, *, purpose: str, workspace_id: str, owner_id: str, secret_id: str
    ) -> Sealed:
        """Open under whichever key sealed it, seal again under the current key."""
        ids = {
            "purpose": purpose,
            "workspace_id": workspace_id,
            "owner_id": owner_id,
            "secret_id": secret_id,
        }
        return self.seal(self.open(sealed, **ids), **ids)
