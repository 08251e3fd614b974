"""Public identifiers: a short type prefix and at least 128 random bits, base32 (lower case).

Random rather than sequential so that ids reveal nothing (how many merchants, which order) and
cannot be guessed: an endpoint id is part of a URL anyone can POST to.
"""

from __future__ import annotations

import base64
import secrets

#: bytes of randomness per id kind; endpoint ids are URLs on the public internet, so 160 bits
_ENTROPY = {"ep": 20}
_DEFAULT_ENTROPY = 16


def new_id(prefix: str) -> str:
    raw = secrets.token_bytes(_ENTROPY.get(prefix, _DEFAULT_ENTROPY))
    return f"{prefix}_{base64.b32encode(raw).decode().rstrip('=').lower()}"


def workspace_id() -> str:
    return new_id("ws")


def endpoint_id() -> str:
    return new_id("ep")


def secret_id() -> str:
    return new_id("sec")


def program_id() -> str:
    return new_id("prg")


def partner_id() -> str:
    return new_id("prt")


def click_id() -> str:
    return new_id("clk")
