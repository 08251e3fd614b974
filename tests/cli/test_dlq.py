"""`traaaction dlq ...` and `traaaction events replay`, run as an operator runs them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from domain.programs import PercentReward, ProgramTerms
from storage.db import make_engine, make_session_factory, unit_of_work
from storage.models import Click
from tests.conftest import Cli
from tests.workers.conftest import Shop, make_shop
from tests.workers.test_recovery import dead_letter
from traaaction import stripe_payloads as ev
from workers import context


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    engine: Engine = make_engine(database_url)
    # The tests' own deliveries (Shop.deliver) run the pipeline in this process.
    context.configure(context.WorkerContext(factory=make_session_factory(engine)))
    try:
        yield make_shop(engine, ProgramTerms(PercentReward(1000), recurring_months=12))
    finally:
        engine.dispose()


def test_list_show_and_filters(cli: Cli, shop: Shop) -> None:
    dl = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_1", click_id=shop.click_id).text
    )
    other = dead_letter(
        shop,
        ev.checkout_session_completed(session_id="cs_2", click_id=shop.click_id).text,
        error="Timeout",
    )

    listed = cli.ok("dlq", "list", "--json").json()
    assert {x["id"] for x in listed} == {dl, other}
    assert all(x["status"] == "open" and "body" not in x for x in listed)
    assert [x["id"] for x in cli.ok("dlq", "list", "--reason", "Timeout", "--json").json()] == [
        other
    ]
    assert cli.ok("dlq", "list", "--workspace", "ws_nobody", "--json").json() == []
    assert cli.ok("dlq", "list", "--since", "1h", "--json").json() == []  # failed in February
    assert len(cli.ok("dlq", "list", "--since", "2026-01-31T00:00:00Z", "--json").json()) == 2
    human = cli.ok("dlq", "list").stdout
    assert dl in human
    assert "OperationalError after 16 attempt(s)" in human

    shown = cli.ok("dlq", "show", dl, "--json").json()
    assert (shown["id"], shown["error_class"], shown["attempts"]) == (dl, "OperationalError", 16)
    assert '"cs_1"' in shown["body"]
    assert "Traceback" in cli.ok("dlq", "show", dl).stdout

    missing = cli("dlq", "show", "dl_nope")
    assert missing.code == 1
    assert "no dead letter dl_nope" in missing.stderr
    bad = cli("dlq", "list", "--since", "yesterday")
    assert bad.code == 1
    assert "--since" in bad.stderr


def test_replay_dry_run_then_replay_then_again(cli: Cli, shop: Shop) -> None:
    dl = dead_letter(
        shop,
        ev.checkout_session_completed(
            session_id="cs_3", click_id=shop.click_id, amount=12_345
        ).text,
    )

    dry = cli.ok("dlq", "replay", dl, "--dry-run", "--json").json()
    assert dry["dry_run"] is True
    [planned] = dry["results"]
    assert planned["outcome"] == "planned"
    [create] = [c for c in planned["planned"] if c["command"] == "CreateCommission"]
    assert (create["kind"], create["amount"]) == ("SALE", 1_235)  # 10 % rounded half up
    assert shop.commissions() == []
    human = cli.ok("dlq", "replay", dl, "--dry-run").stdout
    assert "would create a SALE commission of 1235 usd on a sale of 12345 usd" in human

    done = cli.ok("dlq", "replay", dl, "--json").json()
    [result] = done["results"]
    [commission] = shop.commissions()
    assert (result["outcome"], result["commission_ids"]) == ("processed", [commission.id])
    assert done["counts"] == {"processed": 1}

    again = cli.ok("dlq", "replay", dl, "--json").json()
    assert again["results"][0]["outcome"] == "not_open"
    assert len(shop.commissions()) == 1
    assert cli.ok("dlq", "list", "--json").json() == []
    replayed = cli.ok("dlq", "list", "--status", "replayed", "--json").json()
    assert [(x["id"], x["status_reason"]) for x in replayed] == [(dl, "processed")]


def test_replay_all_with_filters_and_discard(cli: Cli, shop: Shop) -> None:
    a = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_a", click_id=shop.click_id).text
    )
    b = dead_letter(
        shop,
        ev.checkout_session_completed(session_id="cs_b", click_id=shop.click_id).text,
        error="Timeout",
    )
    c = dead_letter(
        shop, ev.checkout_session_completed(session_id="cs_c", click_id=shop.click_id).text
    )

    out = cli.ok("dlq", "discard", c, "--reason", "sandbox noise", "--json").json()
    assert out == {"discarded": [c], "not_open": []}
    twice = cli("dlq", "discard", c, "--reason", "again", "--json")
    assert twice.code == 1
    assert twice.json()["not_open"] == [c]
    assert cli("dlq", "discard", a).code == 2  # --reason is required

    done = cli.ok("dlq", "replay", "--all", "--reason", "OperationalError", "--json").json()
    assert [r["dead_letter_id"] for r in done["results"]] == [a]
    rest = cli.ok("dlq", "replay", "--all", "--workspace", shop.workspace_id, "--json").json()
    assert [r["dead_letter_id"] for r in rest["results"]] == [b]
    assert len(shop.commissions()) == 2  # a and b; c was discarded

    usage = cli("dlq", "replay", a, "--all")
    assert usage.code == 1
    assert "not both" in usage.stderr
    assert "go with --all" in cli("dlq", "replay", a, "--type", "invoice.paid").stderr


def test_events_replay_after_fixing_a_click(cli: Cli, shop: Shop) -> None:
    late_click = "clk_" + "b" * 26
    body = ev.checkout_session_completed(
        session_id="cs_late", click_id=late_click, amount=5_000
    ).text
    assert shop.deliver(body).reason == "unknown_click_id"
    event_id = ev.delivery(body, workspace_id=shop.workspace_id)["event_id"]
    with unit_of_work(make_session_factory(shop.engine)) as session:
        session.add(
            Click(id=late_click, workspace_id=shop.workspace_id, partner_id=shop.partner_id)
        )

    dry = cli.ok("events", "replay", event_id, "--dry-run", "--json").json()
    assert dry["outcome"] == "planned"
    assert shop.commissions() == []

    result = cli.ok("events", "replay", event_id, "--json").json()
    assert result["outcome"] == "processed"
    assert len(result["commission_ids"]) == 1
    assert cli.ok("events", "replay", event_id, "--json").json()["commission_ids"] == []
    assert len(shop.commissions()) == 1
    log = cli.ok("events", "list", "--workspace", shop.workspace_id, "--json").json()
    assert [x["outcome"] for x in log if x["stripe_event_id"] == event_id].count("processed") == 2

    gone = cli("events", "replay", "evt_unknown", "--json")
    assert gone.code == 1
    assert "no payload retained" in gone.json()["error"]
