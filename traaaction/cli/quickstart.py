"""`traaaction quickstart`: a workspace ready to earn a commission, in one command.

For a first look (and demos): a workspace with a percent program, one partner and one of
their clicks, an endpoint, and a signing secret generated here, so that
`traaaction send-test-event` can sign deliveries at once. To receive Stripe's own events,
add Stripe's secret to the endpoint (`traaaction endpoint add-secret`); nothing else changes.
"""

from __future__ import annotations

import secrets

import click

from domain.programs import PercentReward, ProgramTerms, format_bps, parse_percent
from storage.db import unit_of_work
from storage.repositories import clicks, endpoints, partners, programs, workspaces
from traaaction.cli._common import emit, json_option, runtime
from traaaction.cli.endpoints import endpoint_url
from workers.contract import HANDLED_TYPES


@click.command("quickstart", short_help="Create a workspace ready to earn a commission.")
@click.option("--name", default="My shop", show_default=True, help="The workspace's name.")
@click.option(
    "--percent", default="20", show_default=True, help="The program's percent of each sale."
)
@json_option
def quickstart(name: str, percent: str, as_json: bool) -> None:
    """Create a workspace, program, partner, click and endpoint with a test signing secret."""
    bps = parse_percent(percent)  # a DomainError names what is wrong, in one line
    # A local secret in Stripe's format: `send-test-event` signs with it; Stripe never sees it.
    test_secret = "whsec_" + secrets.token_urlsafe(32)
    with runtime() as rt:
        box = rt.secret_box
        with unit_of_work(rt.session_factory) as session:
            ws = workspaces.create(session, name=name)
            program = programs.create(
                session,
                workspace_id=ws.id,
                name="Partners",
                terms=ProgramTerms(PercentReward(bps)),
            )
            partner = partners.create(
                session, workspace_id=ws.id, program_id=program.id, name="First partner"
            )
            click_row = clicks.create(session, partner_id=partner.id)
            ep = endpoints.create(session, workspace_id=ws.id)
            secret = endpoints.add_secret(session, box, endpoint_id=ep.id, secret=test_secret)
            data = {
                "workspace_id": ws.id,
                "program_id": program.id,
                "percent": format_bps(bps),
                "partner_id": partner.id,
                "click_id": click_row.id,
                "endpoint_id": ep.id,
                "url": endpoint_url(rt.settings.public_base_url, ep.id),
                "secret_last4": secret.last4,
            }
    human = "\n".join(
        [
            f"workspace {data['workspace_id']} ({name})",
            f"program   {data['program_id']}: {data['percent']} % of each sale",
            f"partner   {data['partner_id']}, their click {data['click_id']}",
            f"endpoint  {data['endpoint_id']}: {data['url']}",
            f"          with a local test signing secret (...{data['secret_last4']})",
            "next:",
            f"  traaaction send-test-event {data['endpoint_id']} "
            f"--type checkout.session.completed --click-id {data['click_id']}",
            "to receive Stripe's events: register the URL in Stripe, selecting these events: "
            + ", ".join(HANDLED_TYPES)
            + f"; then `traaaction endpoint add-secret {data['endpoint_id']}` "
            "with its signing secret",
        ]
    )
    emit(as_json, data, human)
