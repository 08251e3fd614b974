"""The fact upserts keep, in PostgreSQL, the fact the domain's merge keeps: whatever order
the facts are written in, the loaded facts equal domain.charge_losses' merge of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from domain.charge_losses import FactCommand
from storage.db import make_engine
from storage.repositories import workspaces
from storage.repositories.ledger import charge_facts, charge_writes
from storage.repositories.ledger.context import EventContext
from tests.domain.test_charge_losses import facts_lists, merged


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    try:
        yield engine
    finally:
        engine.dispose()


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(facts=facts_lists, data=st.data())
def test_the_stored_facts_are_the_domain_s_merge_in_any_order(
    engine: Engine, facts: list[FactCommand], data: st.DataObject
) -> None:
    with Session(engine) as session, session.begin():
        ws = workspaces.create(session, name="Facts")
        ctx = EventContext(
            ws.id, "ep_1", "evt_1", "charge.refunded", False, "{}", datetime.now(UTC)
        )
        for fact in data.draw(st.permutations(facts)):
            charge_writes.record_fact(session, ctx, fact)
        session.flush()
        assert charge_facts.load_facts(session, ws.id, "ch_1") == merged(facts)
