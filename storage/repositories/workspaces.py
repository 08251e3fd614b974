from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import DomainError
from storage import ids
from storage.errors import NotFound
from storage.models import Workspace

MAX_NAME_LENGTH = 200


def clean_name(name: str, what: str) -> str:
    value = name.strip()
    if not value:
        raise DomainError(f"the {what} name is empty")
    if len(value) > MAX_NAME_LENGTH:
        raise DomainError(f"the {what} name is longer than {MAX_NAME_LENGTH} characters")
    return value


def create(session: Session, *, name: str) -> Workspace:
    workspace = Workspace(id=ids.workspace_id(), name=clean_name(name, "workspace"))
    session.add(workspace)
    session.flush()
    return workspace


def get(session: Session, workspace_id: str) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise NotFound("workspace", workspace_id)
    return workspace


def list_all(session: Session) -> list[Workspace]:
    return list(session.scalars(select(Workspace).order_by(Workspace.created_at, Workspace.id)))
