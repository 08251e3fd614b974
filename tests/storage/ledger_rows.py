"""Building ledger rows directly, for tests of what reads and transitions them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from domain.programs import PercentReward, ProgramTerms
from storage import ids
from storage.models import Attribution, Commission
from storage.repositories import clicks, partners, programs, workspaces


@dataclass
class Chain:
    workspace_id: str
    program_id: str
    partner_id: str
    click_id: str
    attribution_id: str


def chain(session: Session, *, name: str = "Shop") -> Chain:
    ws = workspaces.create(session, name=name)
    program = programs.create(
        session, workspace_id=ws.id, name="P", terms=ProgramTerms(PercentReward(1000))
    )
    partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="Jane")
    click = clicks.create(session, partner_id=partner.id)
    attribution = Attribution(
        id=ids.new_id("att"),
        workspace_id=ws.id,
        click_id=click.id,
        partner_id=partner.id,
        program_id=program.id,
        livemode=True,
        checkout_session_id=ids.new_id("cs"),
        trial=False,
    )
    session.add(attribution)
    session.flush()
    return Chain(ws.id, program.id, partner.id, click.id, attribution.id)


def commission(
    session: Session,
    c: Chain,
    *,
    status: str = "PENDING",
    amount: int = 1000,
    hold_until: datetime | None = None,
) -> Commission:
    row = Commission(
        id=ids.new_id("com"),
        workspace_id=c.workspace_id,
        program_id=c.program_id,
        partner_id=c.partner_id,
        click_id=c.click_id,
        attribution_id=c.attribution_id,
        kind="SALE",
        status=status,
        amount=amount,
        original_amount=amount,
        currency="usd",
        sale_amount=amount * 10,
        sale_currency="usd",
        livemode=True,
        reason="refunded" if status == "CANCELED" else None,
        business_key=f"checkout:{ids.new_id('cs')}",
        hold_until=hold_until or datetime.now(UTC) + timedelta(days=30),
    )
    session.add(row)
    session.flush()
    return row
