"""Loads an endpoint's state from PostgreSQL for the directory (runs in a worker thread)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from config.logs import get_logger
from ingress.directory import EndpointState, Loader
from storage.crypto import DecryptionError, SecretBox
from storage.errors import NotFound
from storage.repositories import endpoints

log = get_logger(__name__)


def make_loader(factory: sessionmaker[Session], box: SecretBox) -> Loader:
    def load(endpoint_id: str) -> EndpointState | None:
        with factory() as session:
            try:
                endpoint = endpoints.get(session, endpoint_id)
            except NotFound:
                return None
            now = datetime.now(UTC)
            secrets: list[tuple[str, float | None]] = []
            for row in endpoints.secrets_of(session, endpoint_id):
                if row.expires_at is not None and row.expires_at <= now:
                    continue
                try:
                    value = endpoints.open_secret(row, box)
                except DecryptionError as exc:
                    # One unreadable secret must not take the endpoint's other secrets down.
                    log.error(
                        "endpoint.secret_unreadable",
                        endpoint_id=endpoint_id,
                        workspace_id=endpoint.workspace_id,
                        secret_id=row.id,
                        error=str(exc),
                    )
                    continue
                expires = row.expires_at.timestamp() if row.expires_at is not None else None
                secrets.append((value, expires))
            return EndpointState(
                endpoint.id, endpoint.workspace_id, endpoint.enabled, tuple(secrets)
            )

    return load
