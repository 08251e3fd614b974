"""Partners' promotion codes against real PostgreSQL (storage/repositories/promotion_codes)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.programs import PercentReward, ProgramTerms
from storage.errors import NotFound
from storage.repositories import partners, programs, promotion_codes, workspaces
from storage.repositories.promotion_codes import PromotionCodeTaken


def _two_partners(session: Session, name: str) -> tuple[str, str, str]:
    workspace = workspaces.create(session, name=name)
    program = programs.create(
        session, workspace_id=workspace.id, name="P", terms=ProgramTerms(PercentReward(3000))
    )
    ada = partners.create(session, workspace_id=workspace.id, program_id=program.id, name="Ada")
    bob = partners.create(session, workspace_id=workspace.id, program_id=program.id, name="Bob")
    return workspace.id, ada.id, bob.id


def test_add_is_idempotent_and_lookup_finds_the_partner(db_session: Session) -> None:
    workspace, ada, _ = _two_partners(db_session, "promo-a")
    first = promotion_codes.add(db_session, partner_id=ada, promotion_code_id=" promo_ADA1 ")
    again = promotion_codes.add(db_session, partner_id=ada, promotion_code_id="promo_ADA1")
    assert (first.created, again.created) == (True, False)
    assert first.promotion_code_id == "promo_ADA1"
    assert promotion_codes.list_codes(db_session, partner_id=ada) == ["promo_ADA1"]
    found = promotion_codes.lookup(
        db_session, workspace_id=workspace, promotion_code_id="promo_ADA1"
    )
    assert found == ada


def test_a_code_another_partner_holds_is_refused_naming_that_partner(db_session: Session) -> None:
    _, ada, bob = _two_partners(db_session, "promo-b")
    promotion_codes.add(db_session, partner_id=ada, promotion_code_id="promo_X")
    with pytest.raises(PromotionCodeTaken, match=ada):
        promotion_codes.add(db_session, partner_id=bob, promotion_code_id="promo_X")
    assert promotion_codes.list_codes(db_session, partner_id=bob) == []


def test_the_same_code_in_two_workspaces_names_two_partners(db_session: Session) -> None:
    first, ada, _ = _two_partners(db_session, "promo-c1")
    second, carl, _ = _two_partners(db_session, "promo-c2")
    promotion_codes.add(db_session, partner_id=ada, promotion_code_id="promo_SHARED")
    promotion_codes.add(db_session, partner_id=carl, promotion_code_id="promo_SHARED")
    assert (
        promotion_codes.lookup(db_session, workspace_id=first, promotion_code_id="promo_SHARED")
        == ada
    )
    assert (
        promotion_codes.lookup(db_session, workspace_id=second, promotion_code_id="promo_SHARED")
        == carl
    )


def test_remove(db_session: Session) -> None:
    workspace, ada, bob = _two_partners(db_session, "promo-d")
    promotion_codes.add(db_session, partner_id=ada, promotion_code_id="promo_R")
    with pytest.raises(NotFound, match="promo_R"):  # held, but by another partner
        promotion_codes.remove(db_session, partner_id=bob, promotion_code_id="promo_R")
    promotion_codes.remove(db_session, partner_id=ada, promotion_code_id="promo_R")
    assert (
        promotion_codes.lookup(db_session, workspace_id=workspace, promotion_code_id="promo_R")
        is None
    )
    with pytest.raises(NotFound, match="promo_R"):
        promotion_codes.remove(db_session, partner_id=ada, promotion_code_id="promo_R")


@pytest.mark.parametrize("bad", ["", "promo_", "coupon_1", "promo_a b", "promo_" + "x" * 201])
def test_malformed_ids_are_refused_before_the_database(db_session: Session, bad: str) -> None:
    _, ada, _ = _two_partners(db_session, f"promo-e-{len(bad)}-{bad[:3]}")
    with pytest.raises(DomainError, match="promotion code id"):
        promotion_codes.add(db_session, partner_id=ada, promotion_code_id=bad)


def test_unknown_partner(db_session: Session) -> None:
    with pytest.raises(NotFound, match="par_missing"):
        promotion_codes.add(db_session, partner_id="par_missing", promotion_code_id="promo_Z")
