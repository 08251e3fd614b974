"""PENDING -> APPROVED after the holding period; APPROVED -> PAID, all or none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from domain.errors import DomainError
from storage.repositories import commissions
from tests.storage.ledger_rows import chain, commission

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_only_pending_commissions_past_their_hold_are_approved(db_session: Session) -> None:
    c = chain(db_session)
    due = commission(db_session, c, hold_until=NOW - timedelta(seconds=1))
    exactly = commission(db_session, c, hold_until=NOW)
    later = commission(db_session, c, hold_until=NOW + timedelta(seconds=1))
    canceled = commission(db_session, c, status="CANCELED", hold_until=NOW - timedelta(days=1))
    assert commissions.approve_due(db_session, now=NOW) == 2
    db_session.expire_all()
    assert [due.status, exactly.status, later.status, canceled.status] == [
        "APPROVED",
        "APPROVED",
        "PENDING",
        "CANCELED",
    ]
    assert due.approved_at == NOW
    assert commissions.approve_due(db_session, now=NOW) == 0


def test_mark_paid_moves_approved_commissions_to_paid(db_session: Session) -> None:
    c = chain(db_session)
    a, b = (
        commission(db_session, c, status="APPROVED"),
        commission(db_session, c, status="APPROVED"),
    )
    paid = commissions.mark_paid(db_session, [a.id, b.id, a.id], now=NOW)
    assert sorted(p.id for p in paid) == sorted([a.id, b.id])
    assert {p.status for p in paid} == {"PAID"}
    assert a.paid_at == NOW


@pytest.mark.parametrize("status", ["PENDING", "PAID", "CANCELED"])
def test_mark_paid_changes_nothing_if_one_is_not_approved(db_session: Session, status: str) -> None:
    c = chain(db_session)
    good = commission(db_session, c, status="APPROVED")
    bad = commission(db_session, c, status=status)
    with pytest.raises(DomainError, match=f"{bad.id} \\({status}\\)"):
        commissions.mark_paid(db_session, [good.id, bad.id], now=NOW)
    db_session.expire_all()
    assert good.status == "APPROVED"


def test_mark_paid_names_unknown_ids(db_session: Session) -> None:
    with pytest.raises(DomainError, match="no such commission: com_nope"):
        commissions.mark_paid(db_session, ["com_nope"], now=NOW)
