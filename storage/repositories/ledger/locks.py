"""Advisory locks per Stripe object: the events of a workspace that touch the same
subscription, payment intent or charge run one after the other, never interleaved."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy.orm import Session

from storage.db import driver_connection

LOCK = "SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%(keys)s::bigint[]) AS k"


def lock_ids(workspace_id: str, keys: Iterable[str]) -> list[int]:
    """The advisory lock ids of the keys, in the order they are taken (sorted by key, so two
    events never wait for each other's locks in opposite orders: no deadlock)."""
    return [
        int.from_bytes(
            hashlib.blake2b(f"{workspace_id}|{key}".encode(), digest_size=8).digest(),
            "big",
            signed=True,
        )
        for key in sorted(set(keys))
    ]


def lock_keys(session: Session, workspace_id: str, keys: Iterable[str]) -> None:
    """Take the keys' transaction-scoped advisory locks (`kind:value` strings), sorted."""
    ids = lock_ids(workspace_id, keys)
    if ids:
        driver_connection(session).execute(LOCK, {"keys": ids})
