"""A workspace's optional Stripe API key (restricted, read-only is enough), sealed at rest."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.secrets import last4, validate_api_key
from storage.crypto import Sealed, SecretBox
from storage.models import WorkspaceApiKey
from storage.repositories import workspaces

#: the crypto purpose of Stripe API keys; part of the derived key and the AAD
API_KEY_PURPOSE = "stripe-api-key"
_SECRET_ID = "stripe"  # noqa: S105 - a label in the AAD


def _ids(workspace_id: str) -> dict[str, str]:
    return {
        "purpose": API_KEY_PURPOSE,
        "workspace_id": workspace_id,
        "owner_id": workspace_id,
        "secret_id": _SECRET_ID,
    }


def set_key(session: Session, box: SecretBox, *, workspace_id: str, key: str) -> str:
    """Store (or replace) the key; returns its last four characters."""
    value = validate_api_key(key)
    workspaces.get(session, workspace_id)
    sealed = box.seal(value, **_ids(workspace_id))
    row = {
        "workspace_id": workspace_id,
        "key_id": sealed.key_id,
        "nonce": sealed.nonce,
        "ciphertext": sealed.ciphertext,
        "last4": last4(value),
    }
    statement = insert(WorkspaceApiKey).values(row)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["workspace_id"],
            set_={k: statement.excluded[k] for k in ("key_id", "nonce", "ciphertext", "last4")},
        )
    )
    return last4(value)


def get_key(session: Session, box: SecretBox, workspace_id: str) -> str | None:
    row = session.get(WorkspaceApiKey, workspace_id)
    if row is None:
        return None
    return box.open(Sealed(row.key_id, row.nonce, row.ciphertext), **_ids(workspace_id))


def reseal_all(session: Session, box: SecretBox) -> int:
    """Re-encrypt every API key not sealed under the current key; returns how many changed."""
    rows = list(
        session.scalars(
            select(WorkspaceApiKey)
            .where(WorkspaceApiKey.key_id != box.current_key_id)
            .with_for_update(skip_locked=True)
        )
    )
    for row in rows:
        sealed = box.reseal(Sealed(row.key_id, row.nonce, row.ciphertext), **_ids(row.workspace_id))
        row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    session.flush()
    return len(rows)
