"""What the console's tests stand on: a shop with a click, dead letters as a failure leaves them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from domain.programs import PercentReward, ProgramTerms
from storage.db import make_session_factory, unit_of_work
from storage.models import Commission, DeadLetter
from storage.repositories import clicks, dead_letters, endpoints, partners, programs, workspaces
from traaaction import stripe_payloads
from workers.contract import ROUTES

#: an operator token as `openssl rand -hex 32` makes one
TOKEN = "3f1c9a7be04d4b2f8e6a5d1c0b9e8f7a6d5c4b3a29180716f5e4d3c2b1a09f8e"

FAILED_AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Shop:
    engine: Engine
    workspace_id: str
    endpoint_id: str
    click_id: str

    def checkout_body(self, session_id: str) -> str:
        return stripe_payloads.checkout_session_completed(
            session_id=session_id, click_id=self.click_id
        ).text

    def dead_letter(
        self,
        body: str,
        *,
        error_class: str = "OperationalError",
        error_message: str = "connection to server was lost",
        traceback: str = 'File "workers/pipeline.py", line 1, in process\n    raise',
        attempts: int = 12,
        failed_at: datetime = FAILED_AT,
    ) -> str:
        """Record a dead letter for this body, as the log writer would; returns its id."""
        parsed = json.loads(body)
        route = ROUTES[parsed["type"]]
        kwargs = stripe_payloads.delivery(
            body, workspace_id=self.workspace_id, endpoint_id=self.endpoint_id
        )
        kwargs.pop("body")
        message = {
            "queue_name": route.queue_name,
            "actor_name": route.actor_name,
            "args": [],
            "kwargs": kwargs,
            "options": {"retries": attempts - 1},
            "message_id": f"msg-{parsed['id']}",
            "message_timestamp": int(failed_at.timestamp() * 1000),
        }
        record = dead_letters.DeadLetterRecord(
            workspace_id=self.workspace_id,
            endpoint_id=self.endpoint_id,
            stripe_event_id=parsed["id"],
            event_type=parsed["type"],
            livemode=parsed["livemode"],
            actor_name=route.actor_name,
            queue_name=route.queue_name,
            message_id=str(message["message_id"]),
            message=message,
            body=body,
            error_class=error_class,
            error_message=error_message,
            traceback=traceback,
            attempts=attempts,
            first_failed_at=failed_at - timedelta(minutes=30),
            last_failed_at=failed_at,
        )
        with unit_of_work(make_session_factory(self.engine)) as session:
            dead_letters.record(session, [record])
            found = session.scalar(
                select(DeadLetter.id).where(
                    DeadLetter.workspace_id == self.workspace_id,
                    DeadLetter.stripe_event_id == parsed["id"],
                )
            )
        assert found is not None
        return found

    def commissions(self) -> list[Commission]:
        with Session(self.engine) as session:
            return list(
                session.scalars(
                    select(Commission).where(Commission.workspace_id == self.workspace_id)
                )
            )

    def status(self, dead_letter_id: str) -> tuple[str, str | None]:
        with Session(self.engine) as session:
            letter = session.get(DeadLetter, dead_letter_id)
            assert letter is not None
            return letter.status, letter.status_reason


def make_shop(engine: Engine, name: str = "Shop") -> Shop:
    with unit_of_work(make_session_factory(engine)) as session:
        ws = workspaces.create(session, name=name)
        endpoint = endpoints.create(session, workspace_id=ws.id)
        program = programs.create(
            session,
            workspace_id=ws.id,
            name="P",
            terms=ProgramTerms(PercentReward(1000), recurring_months=12),
        )
        partner = partners.create(session, workspace_id=ws.id, program_id=program.id, name="Jane")
        click = clicks.create(session, partner_id=partner.id)
        return Shop(engine, ws.id, endpoint.id, click.id)


def count_commissions(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.scalar(select(func.count()).select_from(Commission)) or 0)


_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None, "no CSRF field on the page"
    return found.group(1)
