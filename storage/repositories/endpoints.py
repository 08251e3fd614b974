"""Webhook endpoints and their signing secrets (sealed with storage.crypto)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from domain.secrets import last4, validate_signing_secret
from storage import ids
from storage.crypto import Sealed, SecretBox
from storage.errors import NotFound
from storage.models import EndpointSecret, WebhookEndpoint
from storage.repositories import workspaces

#: the crypto purpose of endpoint signing secrets; part of the derived key and the AAD
SIGNING_SECRET_PURPOSE = "endpoint-signing-secret"  # noqa: S105 - a label


def create(session: Session, *, workspace_id: str) -> WebhookEndpoint:
    workspaces.get(session, workspace_id)
    endpoint = WebhookEndpoint(id=ids.endpoint_id(), workspace_id=workspace_id, enabled=True)
    session.add(endpoint)
    session.flush()
    session.refresh(endpoint)
    return endpoint


def get(session: Session, endpoint_id: str) -> WebhookEndpoint:
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("endpoint", endpoint_id)
    return endpoint


def set_enabled(session: Session, endpoint_id: str, enabled: bool) -> WebhookEndpoint:
    endpoint = get(session, endpoint_id)
    endpoint.enabled = enabled
    session.flush()
    return endpoint


def list_for_workspace(session: Session, workspace_id: str) -> list[WebhookEndpoint]:
    workspaces.get(session, workspace_id)
    query = (
        select(WebhookEndpoint)
        .where(WebhookEndpoint.workspace_id == workspace_id)
        .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
    )
    return list(session.scalars(query))


def _ids(row: EndpointSecret) -> dict[str, str]:
    return {
        "purpose": SIGNING_SECRET_PURPOSE,
        "workspace_id": row.workspace_id,
        "owner_id": row.endpoint_id,
        "secret_id": row.id,
    }


def add_secret(
    session: Session,
    box: SecretBox,
    *,
    endpoint_id: str,
    secret: str,
    expires_at: datetime | None = None,
) -> EndpointSecret:
    """Seal and store a signing secret. Raises DomainError for a malformed secret."""
    value = validate_signing_secret(secret)
    if expires_at is not None and expires_at.tzinfo is None:
        raise ValueError("expires_at must carry a time zone")
    endpoint = get(session, endpoint_id)
    row = EndpointSecret(
        id=ids.secret_id(),
        endpoint_id=endpoint.id,
        workspace_id=endpoint.workspace_id,
        last4=last4(value),
        expires_at=expires_at,
    )
    sealed = box.seal(value, **_ids(row))
    row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
    session.add(row)
    session.flush()
    session.refresh(row)
    return row


def secrets_of(session: Session, endpoint_id: str) -> list[EndpointSecret]:
    """Metadata of every secret of an endpoint (sealed; nothing decrypted)."""
    query = (
        select(EndpointSecret)
        .where(EndpointSecret.endpoint_id == endpoint_id)
        .order_by(EndpointSecret.created_at, EndpointSecret.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True, slots=True)
class ActiveSecret:
    secret_id: str
    secret: str
    expires_at: datetime | None

    def __repr__(self) -> str:
        return f"ActiveSecret(secret_id={self.secret_id!r}, secret=<redacted>)"


def open_secret(row: EndpointSecret, box: SecretBox) -> str:
    """Decrypt one stored secret (raises DecryptionError if it is not this row's)."""
    return box.open(Sealed(row.key_id, row.nonce, row.ciphertext), **_ids(row))


def active_secrets(
    session: Session, box: SecretBox, *, endpoint_id: str, now: datetime
) -> list[ActiveSecret]:
    """The decrypted secrets that still verify at `now` (expiry is exclusive)."""
    query = select(EndpointSecret).where(
        EndpointSecret.endpoint_id == endpoint_id,
        or_(EndpointSecret.expires_at.is_(None), EndpointSecret.expires_at > now),
    )
    return [
        ActiveSecret(row.id, open_secret(row, box), row.expires_at)
        for row in session.scalars(query)
    ]


def expire_secret(session: Session, secret_id: str, *, at: datetime) -> EndpointSecret:
    row = session.get(EndpointSecret, secret_id)
    if row is None:
        raise NotFound("secret", secret_id)
    row.expires_at = at
    session.flush()
    return row


def reseal_all(session: Session, box: SecretBox, *, batch_size: int = 500) -> int:
    """Re-encrypt every secret not sealed under the current key; return how many changed.

    Rows are locked while rewritten, so two concurrent rotations do not fight over one row.
    """
    changed = 0
    while True:
        query = (
            select(EndpointSecret)
            .where(EndpointSecret.key_id != box.current_key_id)
            .order_by(EndpointSecret.id)
            .limit(batch_size)
            .with_for_update(skip_locked=True)
        )
        rows = list(session.scalars(query))
        if not rows:
            return changed
        for row in rows:
            sealed = box.reseal(Sealed(row.key_id, row.nonce, row.ciphertext), **_ids(row))
            row.key_id, row.nonce, row.ciphertext = sealed.key_id, sealed.nonce, sealed.ciphertext
        session.flush()
        changed += len(rows)
