"""`traaaction quickstart`: one command to a workspace that can earn a commission."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import make_engine
from storage.models import Click, EndpointSecret, Partner, Program, WebhookEndpoint
from tests.conftest import Cli


def test_quickstart_creates_everything_a_test_event_needs(cli: Cli, database_url: str) -> None:
    data = cli.ok("quickstart", "--name", "Demo shop", "--percent", "12.5", "--json").json()
    assert data["url"] == f"https://hooks.example.test/api/webhooks/{data['endpoint_id']}"
    assert data["percent"] == "12.5"
    engine = make_engine(database_url, pool_size=1)
    try:
        with Session(engine) as session:
            program = session.get(Program, data["program_id"])
            click = session.get(Click, data["click_id"])
            partner = session.get(Partner, data["partner_id"])
            endpoint = session.get(WebhookEndpoint, data["endpoint_id"])
            [secret] = session.scalars(
                select(EndpointSecret).where(EndpointSecret.endpoint_id == data["endpoint_id"])
            ).all()
    finally:
        engine.dispose()
    assert program is not None
    assert program.percent_bps == 1250
    assert click is not None
    assert partner is not None
    assert click.partner_id == partner.id == data["partner_id"]
    assert endpoint is not None
    assert endpoint.enabled
    assert secret.last4 == data["secret_last4"]

    human = cli.ok("quickstart").stdout
    assert "traaaction send-test-event ep_" in human
    assert "whsec_" not in human

    bad = cli("quickstart", "--percent", "12.345")
    assert bad.code == 1
    assert "more than two decimals" in bad.stderr
