from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from domain.errors import DomainError
from storage import ids
from storage.models import Click
from storage.repositories import partners

#: the shape of the ids this service makes (and the ledger's lookups accept)
CLICK_ID = re.compile(r"^clk_[a-z2-7]{26}$")


def create(session: Session, *, partner_id: str, click_id: str | None = None) -> Click:
    """A click; `click_id`: one the tracking redirect already handed out (recorded late)."""
    if click_id is not None and not CLICK_ID.match(click_id):
        raise DomainError(f"click id {click_id!r} is not of the form clk_ + 26 base32 characters")
    partner = partners.get(session, partner_id)
    click = Click(
        id=click_id or ids.click_id(), workspace_id=partner.workspace_id, partner_id=partner.id
    )
    session.add(click)
    session.flush()
    return click


def find_in_workspace(session: Session, *, workspace_id: str, click_id: str) -> Click | None:
    """The click with this tracClickId in this workspace; another workspace's click is None."""
    query = select(Click).where(Click.workspace_id == workspace_id, Click.id == click_id)
    return session.scalars(query).one_or_none()
