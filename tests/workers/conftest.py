from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from domain.programs import FlatReward, PercentReward, ProgramTerms
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Commission, WebhookEventLog
from storage.repositories import clicks, partners, programs, workspaces
from traaaction import stripe_payloads
from workers import context
from workers.contract import Delivery
from workers.pipeline import Outcome, process

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Shop:
    engine: Engine
    workspace_id: str
    program_id: str
    partner_id: str
    click_id: str

    def deliver(self, body: str, *, workspace_id: str | None = None) -> Outcome:
        kwargs = stripe_payloads.delivery(body, workspace_id=workspace_id or self.workspace_id)
        return process(Delivery.from_kwargs(kwargs), attempt=1)

    def commissions(self) -> list[Commission]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Commission)
                    .where(Commission.workspace_id == self.workspace_id)
                    .order_by(Commission.created_at, Commission.id)
                )
            )

    def log(self) -> list[WebhookEventLog]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(WebhookEventLog)
                    .where(WebhookEventLog.workspace_id == self.workspace_id)
                    .order_by(WebhookEventLog.id)
                )
            )


def ticking() -> Callable[[], datetime]:
    """A clock one second further at every event, so entries have a creation order."""
    ticks = itertools.count()
    return lambda: NOW + timedelta(seconds=next(ticks))


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    context.configure(context.WorkerContext(factory=make_session_factory(engine), clock=ticking()))
    try:
        yield engine
    finally:
        engine.dispose()


def make_shop(engine: Engine, terms: ProgramTerms, name: str = "Shop") -> Shop:
    with unit_of_work(make_session_factory(engine)) as session:
        ws = workspaces.create(session, name=name)
        program = programs.create(session, workspace_id=ws.id, name="P", terms=terms)
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="Jane")
        click = clicks.create(session, partner_id=partner.id)
        return Shop(engine, ws.id, program.id, partner.id, click.id)


@pytest.fixture
def shop(engine: Engine) -> Shop:
    """A workspace whose program pays 10 % for 12 months, with one partner and one click."""
    return make_shop(engine, ProgramTerms(PercentReward(1000), recurring_months=12))


@pytest.fixture
def flat_shop(engine: Engine) -> Shop:
    return make_shop(engine, ProgramTerms(FlatReward(500, "eur"), recurring_months=3), "Flat")


def entries(shop: Shop) -> list[tuple[Any, ...]]:
    return [(c.kind, c.month, c.status, c.amount, c.reason) for c in shop.commissions()]
