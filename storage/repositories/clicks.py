from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage import ids
from storage.models import Click
from storage.repositories import partners


def create(session: Session, *, partner_id: str) -> Click:
    partner = partners.get(session, partner_id)
    click = Click(id=ids.click_id(), workspace_id=partner.workspace_id, partner_id=partner.id)
    session.add(click)
    session.flush()
    return click


def find_in_workspace(session: Session, *, workspace_id: str, click_id: str) -> Click | None:
    """The click with this tracClickId in this workspace; another workspace's click is None."""
    query = select(Click).where(Click.workspace_id == workspace_id, Click.id == click_id)
    return session.scalars(query).one_or_none()
