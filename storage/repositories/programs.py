from __future__ import annotations

from sqlalchemy.orm import Session

from domain.programs import FlatReward, PercentReward, ProgramTerms, normalize_currency
from storage import ids
from storage.errors import NotFound
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
    if program.reward_kind == "percent":
        assert program.percent_bps is not None
        reward: PercentReward | FlatReward = PercentReward(program.percent_bps)
    else:
        assert program.flat_amount is not None
        assert program.currency is not None
        reward = FlatReward(program.flat_amount, program.currency)
    return ProgramTerms(reward, program.recurring_months, program.holding_days)
