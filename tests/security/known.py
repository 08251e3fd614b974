"""Known secret values, and the forms in which a leak of them would show.

A leak is rarely the value as configured: a key is stored as base64 and might be printed as
hex, a token might be base64-encoded into a header. `forms()` lists every form searched for.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable

#: fragments shorter than this could occur by chance (in an id, a timestamp)
MIN_FRAGMENT = 12

SIGNING_SECRET_A = "whsec_AaQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwXk3b7"
SIGNING_SECRET_B = "whsec_BbX1m2N3b4V5c6X7z8L9k0J1h2G3f4D5s6A7"
RESTRICTED_KEY = "rk_test_51HsEcReTrEsTrIcTeDkEy0123456789abcdef"
OPS_TOKEN = "9b1e6f0c2d4a48e7b3c5a1f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a2f1e0d9"


def forms(secret: str) -> set[str]:
    """The secret, its significant part, and their base64 (both alphabets, with and without
    padding) and hex encodings; for a TRAAACTION_KEYS entry also the raw key's encodings."""
    parts = {secret, secret.removeprefix("whsec_").removeprefix("rk_test_")}
    raw: list[bytes] = [p.encode() for p in parts]
    key_id, sep, material = secret.partition(":")
    if sep and key_id and len(material) == 43:  # a master key, id:base64url
        parts.add(material)
        raw.append(base64.urlsafe_b64decode(material + "="))
    found = set(parts)
    for data in raw:
        for encoded in (base64.b64encode(data), base64.urlsafe_b64encode(data)):
            text = encoded.decode()
            found |= {text, text.rstrip("=")}
        found |= {data.hex(), data.hex().upper()}
    return {f for f in found if len(f) >= MIN_FRAGMENT}


def leaks(text: str, secrets: Iterable[str]) -> list[str]:
    """The forms of any of `secrets` that appear in text (empty: nothing leaked)."""
    return sorted({f for secret in secrets for f in forms(secret) if f in text})
