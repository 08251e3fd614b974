"""Partners' Stripe promotion codes (docs/commissions.md, "Attribution", source 3).

One partner per code in a workspace (the table's primary key); adding a code the partner
holds already is idempotent, adding one another partner holds is refused naming that partner.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from domain.promotion_codes import check_promotion_code
from storage.errors import NotFound, StorageError
from storage.models import PartnerPromotionCode
from storage.repositories import partners


class PromotionCodeTaken(StorageError):
    """The code names another partner of the workspace already."""

    def __init__(self, promotion_code_id: str, partner_id: str) -> None:
        super().__init__(
            f"promotion code {promotion_code_id!r} already belongs to partner {partner_id!r}"
            " (one partner per code: remove it from that partner first)"
        )
        self.promotion_code_id = promotion_code_id
        self.partner_id = partner_id


@dataclass(frozen=True, slots=True)
class Added:
    workspace_id: str
    partner_id: str
    promotion_code_id: str
    #: False when the partner held the code already (nothing changed)
    created: bool


def add(session: Session, *, partner_id: str, promotion_code_id: str) -> Added:
    """Give the partner the code (DomainError for a malformed id, NotFound for an unknown
    partner, PromotionCodeTaken when another partner of the workspace holds it)."""
    code = check_promotion_code(promotion_code_id)
    partner = partners.get(session, partner_id)
    # ON CONFLICT: two operators adding the same code at once cannot both win, nor fail.
    inserted = session.execute(
        insert(PartnerPromotionCode)
        .values(workspace_id=partner.workspace_id, promotion_code_id=code, partner_id=partner.id)
        .on_conflict_do_nothing(index_elements=["workspace_id", "promotion_code_id"])
        .returning(PartnerPromotionCode.partner_id)
    ).scalar()
    if inserted is not None:
        return Added(partner.workspace_id, partner.id, code, created=True)
    holder = lookup(session, workspace_id=partner.workspace_id, promotion_code_id=code)
    if holder is None:  # removed between the two statements: say so rather than guess
        raise StorageError(f"promotion code {code!r} changed concurrently; try again")
    if holder != partner.id:
        raise PromotionCodeTaken(code, holder)
    return Added(partner.workspace_id, partner.id, code, created=False)


def remove(session: Session, *, partner_id: str, promotion_code_id: str) -> None:
    """Take the code from the partner (NotFound when the partner does not hold it)."""
    code = check_promotion_code(promotion_code_id)
    partner = partners.get(session, partner_id)
    removed = session.execute(
        delete(PartnerPromotionCode)
        .where(
            PartnerPromotionCode.workspace_id == partner.workspace_id,
            PartnerPromotionCode.promotion_code_id == code,
            PartnerPromotionCode.partner_id == partner.id,
        )
        .returning(PartnerPromotionCode.promotion_code_id)
    ).scalar()
    if removed is None:
        raise NotFound(f"promotion code of partner {partner.id}", code)


def list_codes(session: Session, *, partner_id: str) -> list[str]:
    """The partner's codes, oldest first."""
    partner = partners.get(session, partner_id)
    return list(
        session.scalars(
            select(PartnerPromotionCode.promotion_code_id)
            .where(
                PartnerPromotionCode.workspace_id == partner.workspace_id,
                PartnerPromotionCode.partner_id == partner.id,
            )
            .order_by(PartnerPromotionCode.created_at, PartnerPromotionCode.promotion_code_id)
        )
    )


def lookup(session: Session, *, workspace_id: str, promotion_code_id: str) -> str | None:
    """The partner holding the code in the workspace, if one does."""
    return session.scalar(
        select(PartnerPromotionCode.partner_id).where(
            PartnerPromotionCode.workspace_id == workspace_id,
            PartnerPromotionCode.promotion_code_id == promotion_code_id,
        )
    )
