from __future__ import annotations

import re

from sqlalchemy.orm import Session

from domain.errors import DomainError
from storage import ids
from storage.errors import NotFound
from storage.models import Partner
from storage.repositories import programs, workspaces

#: what the database allows (migration 0008's check): RFC 5321's longest path
MAX_EMAIL_LENGTH = 320
#: one @, something before it, a dotted domain after it, no spaces or control characters: the
#: mistakes an operator makes (a name, a missing domain, two addresses pasted), not RFC 5322
_EMAIL = re.compile(r"[^\s@\x00-\x1f\x7f]+@[^\s@\x00-\x1f\x7f.]+(\.[^\s@\x00-\x1f\x7f.]+)+")


def clean_email(email: str) -> str:
    """The address as given (case kept: it is how the partner writes it), without surrounding
    spaces; DomainError when it is not one address. Comparisons with a customer's email
    case-fold both sides (`str.casefold`)."""
    value = email.strip()
    if len(value) > MAX_EMAIL_LENGTH:
        raise DomainError(f"the partner email is longer than {MAX_EMAIL_LENGTH} characters")
    if not _EMAIL.fullmatch(value):
        raise DomainError(f"the partner email {value!r} is not an address like name@example.com")
    return value


def create(
    session: Session,
    *,
    workspace_id: str,
    program_id: str,
    name: str,
    email: str | None = None,
) -> Partner:
    """`email`: the partner's own address, so that their own purchases are held as
    self-referrals; None when not known."""
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
        email=clean_email(email) if email is not None else None,
    )
    session.add(partner)
    session.flush()
    return partner


def get(session: Session, partner_id: str) -> Partner:
    partner = session.get(Partner, partner_id)
    if partner is None:
        raise NotFound("partner", partner_id)
    return partner
