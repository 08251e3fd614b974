"""The affiliate side: programs, partners enrolled in them, and their clicks."""

from __future__ import annotations

import click

from domain.programs import (
    DEFAULT_CLICK_WINDOW_DAYS,
    DEFAULT_HOLDING_DAYS,
    DEFAULT_RECURRING_MONTHS,
    FlatReward,
    PercentReward,
    ProgramTerms,
    format_bps,
    parse_percent,
)
from storage.db import unit_of_work
from storage.repositories import clicks, partners, programs, promotion_codes
from traaaction.cli._common import CliError, emit, json_option, runtime


@click.group(short_help="Commission programs: what partners earn.")
def program() -> None:
    """Commission programs: what partners earn."""


@program.command("create", short_help="Create a program: a percent or a flat amount.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--name", required=True)
@click.option("--percent", help="Percent of the sale before tax, up to two decimals (12.5).")
@click.option("--flat", type=int, help="Flat amount per sale in minor units (500 = $5.00).")
@click.option("--currency", help="Currency of --flat (usd, eur, jpy...).")
@click.option(
    "--recurring-months",
    type=int,
    help=f"Paid months that earn (1 = first payment only; default {DEFAULT_RECURRING_MONTHS}).",
)
@click.option("--lifetime", is_flag=True, help="Every paid month earns, for as long as it lasts.")
@click.option(
    "--holding-days",
    type=int,
    default=DEFAULT_HOLDING_DAYS,
    show_default=True,
    help="Days a commission waits (refund window) before it is approved.",
)
@click.option(
    "--click-window-days",
    type=int,
    default=DEFAULT_CLICK_WINDOW_DAYS,
    show_default=True,
    help="Days after a click during which a sale earns for it (older: click_expired).",
)
@click.option(
    "--first-purchase-only",
    is_flag=True,
    help="Only a customer's first attributed purchase earns; repeats are skipped "
    "repeat_purchase (renewals of the first subscription still earn).",
)
@json_option
def program_create(
    workspace_id: str,
    name: str,
    percent: str | None,
    flat: int | None,
    currency: str | None,
    recurring_months: int | None,
    lifetime: bool,
    holding_days: int,
    click_window_days: int,
    first_purchase_only: bool,
    as_json: bool,
) -> None:
    """Create a program: --percent P, or --flat AMOUNT --currency CUR."""
    if (percent is None) == (flat is None):
        raise CliError("give exactly one of --percent or --flat")
    if percent is not None and currency is not None:
        raise CliError("--currency goes with --flat only (a percent applies to any currency)")
    if flat is not None and currency is None:
        raise CliError("--flat needs --currency")
    if lifetime and recurring_months is not None:
        raise CliError("give at most one of --recurring-months or --lifetime")
    reward: PercentReward | FlatReward = (
        PercentReward(parse_percent(percent))
        if percent is not None
        else FlatReward(flat or 0, currency or "")
    )
    months = None if lifetime else (recurring_months or DEFAULT_RECURRING_MONTHS)
    if recurring_months is not None and recurring_months < 1:
        raise CliError("--recurring-months must be at least 1 (1 = first payment only)")
    terms = ProgramTerms(reward, months, holding_days, click_window_days, first_purchase_only)
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = programs.create(session, workspace_id=workspace_id, name=name, terms=terms)
        reward_text = (
            f"{format_bps(row.percent_bps)} %"
            if row.percent_bps is not None
            else f"{row.flat_amount} {row.currency} (minor units)"
        )
        data = {
            "id": row.id,
            "workspace_id": row.workspace_id,
            "name": row.name,
            "reward_kind": row.reward_kind,
            "percent_bps": row.percent_bps,
            "flat_amount": row.flat_amount,
            "currency": row.currency,
            "recurring_months": row.recurring_months,
            "lifetime": row.recurring_months is None,
            "holding_days": row.holding_days,
            "click_window_days": row.click_window_days,
            "first_purchase_only": row.first_purchase_only,
        }
    emit(as_json, data, f"program {data['id']} created: {reward_text}")


@click.group(short_help="Partners who refer sales, one program each.")
def partner() -> None:
    """Partners: people who refer sales, each enrolled in one program."""


@partner.command("create", short_help="Enroll a partner in a program.")
@click.option("--workspace", "workspace_id", required=True, help="Workspace id (ws_...).")
@click.option("--program", "program_id", required=True, help="Program id (prg_...).")
@click.option("--name", required=True)
@click.option(
    "--email",
    help="The partner's own address: a sale to a customer with it (any case) is held "
    "ON_HOLD as a self-referral.",
)
@json_option
def partner_create(
    workspace_id: str, program_id: str, name: str, email: str | None, as_json: bool
) -> None:
    """Enroll a partner in a program of the same workspace."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = partners.create(
            session, workspace_id=workspace_id, program_id=program_id, name=name, email=email
        )
        data = {
            "id": row.id,
            "workspace_id": row.workspace_id,
            "program_id": row.program_id,
            "name": row.name,
            "email": row.email,
        }
    emit(as_json, data, f"partner {data['id']} created")


@partner.command("add-promotion-code", short_help="A Stripe promotion code names the partner.")
@click.argument("partner_id")
@click.argument("promotion_code_id")
@json_option
def partner_add_promotion_code(partner_id: str, promotion_code_id: str, as_json: bool) -> None:
    """Register PROMOTION_CODE_ID (Stripe's promo_... id, not the code customers type) as
    the partner's. One partner per code in a workspace; adding it again to the same partner
    changes nothing.

    A checkout (or, before Stripe's basil API, an invoice) whose discounts name the code
    earns for the partner when no live click names someone first (docs/commissions.md,
    "Attribution", source 3)."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        added = promotion_codes.add(
            session, partner_id=partner_id, promotion_code_id=promotion_code_id
        )
        data = {
            "partner_id": added.partner_id,
            "workspace_id": added.workspace_id,
            "promotion_code_id": added.promotion_code_id,
            "created": added.created,
        }
    state = "added to" if added.created else "already belongs to"
    emit(as_json, data, f"promotion code {added.promotion_code_id} {state} partner {partner_id}")


@partner.command("remove-promotion-code", short_help="The promotion code no longer names them.")
@click.argument("partner_id")
@click.argument("promotion_code_id")
@json_option
def partner_remove_promotion_code(partner_id: str, promotion_code_id: str, as_json: bool) -> None:
    """Stop crediting the partner for the promotion code (commissions made stay)."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        promotion_codes.remove(session, partner_id=partner_id, promotion_code_id=promotion_code_id)
    data = {"partner_id": partner_id, "promotion_code_id": promotion_code_id.strip()}
    emit(as_json, data, f"promotion code {data['promotion_code_id']} removed from {partner_id}")


@click.group("click", short_help="Clicks on partners' links, recorded by hand.")
def click_group() -> None:
    """Clicks on partners' links (in production the tracking redirect makes them)."""


@click_group.command("create", short_help="Record a click (its id goes in checkout metadata).")
@click.option("--partner", "partner_id", required=True, help="Partner id (prt_...).")
@click.option(
    "--id",
    "click_id",
    help="The click's id, when the tracking redirect already made it (a click recorded late).",
)
@json_option
def click_create(partner_id: str, click_id: str | None, as_json: bool) -> None:
    """Record a click; its id is the tracClickId to put in checkout metadata."""
    with runtime() as rt, unit_of_work(rt.session_factory) as session:
        row = clicks.create(session, partner_id=partner_id, click_id=click_id)
        data = {"id": row.id, "partner_id": row.partner_id, "workspace_id": row.workspace_id}
    emit(as_json, data, f"click {data['id']} created (use it as metadata.tracClickId)")
