from __future__ import annotations

from sqlalchemy.orm import Session

from storage import ids
from storage.errors import NotFound
from storage.models import Partner
from storage.repositories import programs, workspaces


def create(session: Session, *, workspace_id: str, program_id: str, name: str) -> Partner:
    workspaces.get(session, workspace_id)
    program = programs.get(session, program_id)
    if program.workspace_id != workspace_id:
        # The composite foreign key would refuse it too; this says so in words.
        raise NotFound("program", program_id, workspace_id=workspace_id)
    partner = Partner(
        id=ids.partner_id(),
        workspace_id=workspace_id,
        program_id=program_id,
        name=workspaces.clean_name(name, "partner"),
    )
    session.add(partner)
    session.flush()
    return partner


def get(session: Session, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("partner", partner_id)
    return partner
