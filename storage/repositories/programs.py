from __future__ import annotations

from sqlalchemy.orm import Session

from domain.programs import FlatReward, PercentReward, ProgramTerms, normalize_currency
from storage import ids
from storage.errors import InvariantViolation, NotFound
from storage.models import Program
from storage.repositories import workspaces


def create(session: Session, *, workspace_id: str, name: str, terms: ProgramTerms) -> Program:
    workspaces.get(session, workspace_id)
    program = Program(
        id=ids.program_id(),
        workspace_id=workspace_id,
        name=workspaces.clean_name(name, "program"),
        recurring_months=terms.recurring_months,
        holding_days=terms.holding_days,
        click_window_days=terms.click_window_days,
        first_purchase_only=terms.first_purchase_only,
    )
    match terms.reward:
        case PercentReward(bps=bps):
            program.reward_kind, program.percent_bps = "percent", bps
        case FlatReward(amount=amount, currency=currency):
            program.reward_kind, program.flat_amount = "flat", amount
            program.currency = normalize_currency(currency)
    session.add(program)
    session.flush()
    return program


def get(session: Session, program_id: str) -> Program:
    program = session.get(Program, program_id)
    if program is None:
        raise NotFound("program", program_id)
    return program


def terms_of(program: Program) -> ProgramTerms:
    return make_terms(
        program.reward_kind,
        program.percent_bps,
        program.flat_amount,
        program.currency,
        program.recurring_months,
        program.holding_days,
        program.click_window_days,
        program.first_purchase_only,
    )


def make_terms(
    reward_kind: str,
    percent_bps: int | None,
    flat_amount: int | None,
    currency: str | None,
    recurring_months: int | None,
    holding_days: int,
    click_window_days: int,
    first_purchase_only: bool,
) -> ProgramTerms:
    """A program's terms from its columns (as `terms_of`, for a row read without the ORM)."""
    # The programs table's CHECKs make these NULLs impossible; a row without them is a
    # broken invariant, named, never a bare assert (python -O removes those).
    if reward_kind == "percent":
        if percent_bps is None:
            raise InvariantViolation("a percent program without percent_bps")
        reward: PercentReward | FlatReward = PercentReward(percent_bps)
    else:
        if flat_amount is None or currency is None:
            raise InvariantViolation("a flat program without its amount or currency")
        reward = FlatReward(flat_amount, currency)
    return ProgramTerms(
        reward, recurring_months, holding_days, click_window_days, first_purchase_only
    )
