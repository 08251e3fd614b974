from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from domain.errors import DomainError
from domain.programs import FlatReward, PercentReward, ProgramTerms
from storage.crypto import DecryptionError, SecretBox, generate_master_key
from storage.errors import NotFound
from storage.models import Click, Partner, Program, WebhookEndpoint, Workspace
from storage.repositories import clicks, endpoints, partners, programs, workspaces

TERMS = ProgramTerms(PercentReward(1250))


def new_secret() -> str:
    """A signing secret shaped like Stripe's: whsec_ and a base64 body."""
    return "whsec_" + base64.b64encode(os.urandom(24)).decode()


@dataclass
class Chain:
    workspace: Workspace
    endpoint: WebhookEndpoint
    program: Program
    partner: Partner
    click: Click


def make_chain(session: Session, name: str) -> Chain:
    workspace = workspaces.create(session, name=name)
    endpoint = endpoints.create(session, workspace_id=workspace.id)
    program = programs.create(session, workspace_id=workspace.id, name="Launch", terms=TERMS)
    partner = partners.create(session, workspace_id=workspace.id, program_id=program.id, name="Ada")
    click = clicks.create(session, partner_id=partner.id)
    return Chain(workspace, endpoint, program, partner, click)


def refused_by(session: Session, sql: str, **params: Any) -> str | None:
    """Run a raw statement that must fail; return the constraint PostgreSQL names.

    A savepoint keeps the session usable after the failure.
    """
    with pytest.raises(IntegrityError) as caught, session.begin_nested():
        session.execute(text(sql), params)
    orig = caught.value.orig
    assert isinstance(orig, psycopg.errors.IntegrityError)
    return orig.diag.constraint_name


def raw_secret_row(session: Session, secret_id: str) -> dict[str, Any]:
    row = session.execute(
        text("SELECT * FROM endpoint_secrets WHERE id = :id"), {"id": secret_id}
    ).mappings()
    return dict(row.one())


def secret_count(session: Session) -> int:
    count = session.execute(text("SELECT count(*) FROM endpoint_secrets")).scalar_one()
    assert isinstance(count, int)
    return count


INSERT_PARTNER = (
    "INSERT INTO partners (id, workspace_id, program_id, name)"
    " VALUES (:id, :workspace_id, :program_id, 'Raw')"
)
INSERT_CLICK = (
    "INSERT INTO clicks (id, workspace_id, partner_id) VALUES (:id, :workspace_id, :partner_id)"
)
INSERT_PROGRAM = (
    "INSERT INTO programs (id, workspace_id, name, reward_kind, percent_bps, flat_amount,"
    " currency, recurring_months, holding_days)"
    " VALUES (:id, :workspace_id, 'Raw', :reward_kind, :percent_bps, :flat_amount, :currency,"
    " :recurring_months, :holding_days)"
)
INSERT_SECRET_COPY = (
    "INSERT INTO endpoint_secrets (id, endpoint_id, workspace_id, key_id, nonce, ciphertext,"
    " last4) SELECT :id, :endpoint_id, :workspace_id, key_id, nonce, ciphertext, last4"
    " FROM endpoint_secrets WHERE id = :source_id"
)


# --- the chain -------------------------------------------------------------------------------


def test_a_workspace_endpoint_secret_program_partner_and_click_chain_is_stored(
    db_session: Session, secret_box: SecretBox
) -> None:
    workspace = workspaces.create(db_session, name="  Shop  ")
    endpoint = endpoints.create(db_session, workspace_id=workspace.id)
    secret = new_secret()
    stored = endpoints.add_secret(
        db_session, secret_box, endpoint_id=endpoint.id, secret=f" {secret}\n"
    )
    terms = ProgramTerms(PercentReward(1250), recurring_months=None, holding_days=14)
    program = programs.create(db_session, workspace_id=workspace.id, name="Launch", terms=terms)
    partner = partners.create(
        db_session, workspace_id=workspace.id, program_id=program.id, name=" Ada "
    )
    click = clicks.create(db_session, partner_id=partner.id)
    db_session.expire_all()

    assert workspace.id.startswith("ws_")
    assert workspaces.get(db_session, workspace.id).name == "Shop"
    assert workspace in workspaces.list_all(db_session)

    assert endpoints.get(db_session, endpoint.id).workspace_id == workspace.id
    assert endpoint.enabled is True
    assert endpoints.list_for_workspace(db_session, workspace.id) == [endpoint]

    assert stored.id.startswith("sec_")
    assert (stored.endpoint_id, stored.workspace_id) == (endpoint.id, workspace.id)
    assert stored.last4 == secret[-4:]
    assert stored.key_id == secret_box.current_key_id
    assert endpoints.secrets_of(db_session, endpoint.id) == [stored]
    now = datetime.now(UTC)
    active = endpoints.active_secrets(db_session, secret_box, endpoint_id=endpoint.id, now=now)
    assert [(a.secret_id, a.secret, a.expires_at) for a in active] == [(stored.id, secret, None)]

    assert program.id.startswith("prg_")
    loaded = programs.get(db_session, program.id)
    assert (loaded.workspace_id, loaded.name, loaded.reward_kind) == (
        workspace.id,
        "Launch",
        "percent",
    )
    assert programs.terms_of(loaded) == terms

    assert partner.id.startswith("prt_")
    assert partners.get(db_session, partner.id).name == "Ada"
    assert (partner.workspace_id, partner.program_id) == (workspace.id, program.id)

    assert click.id.startswith("clk_")
    assert (click.workspace_id, click.partner_id) == (workspace.id, partner.id)
    found = clicks.find_in_workspace(db_session, workspace_id=workspace.id, click_id=click.id)
    assert found == click


def test_a_flat_program_stores_its_currency_in_lower_case(db_session: Session) -> None:
    workspace = workspaces.create(db_session, name="Shop")
    terms = ProgramTerms(FlatReward(2500, "EUR"), recurring_months=1, holding_days=0)
    program = programs.create(db_session, workspace_id=workspace.id, name="Flat", terms=terms)
    db_session.expire_all()
    loaded = programs.get(db_session, program.id)
    assert (loaded.reward_kind, loaded.flat_amount, loaded.currency) == ("flat", 2500, "eur")
    assert loaded.percent_bps is None
    assert programs.terms_of(loaded) == ProgramTerms(FlatReward(2500, "eur"), 1, 0)


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_a_workspace_name_that_is_empty_or_too_long_is_refused(
    db_session: Session, name: str
) -> None:
    with pytest.raises(DomainError, match="workspace name"):
        workspaces.create(db_session, name=name)


def test_endpoint_ids_start_with_ep_and_carry_at_least_128_random_bits(
    db_session: Session,
) -> None:
    workspace = workspaces.create(db_session, name="Shop")
    ids = [endpoints.create(db_session, workspace_id=workspace.id).id for _ in range(200)]
    assert len(set(ids)) == len(ids)
    for endpoint_id in ids:
        assert re.fullmatch(r"ep_[a-z2-7]+", endpoint_id), endpoint_id
        body = endpoint_id.removeprefix("ep_").upper()
        raw = base64.b32decode(body + "=" * (-len(body) % 8))
        assert len(raw) * 8 >= 128
    # Random, not sequential: even their first 40 bits all differ.
    prefixes = {endpoint_id[: len("ep_") + 8] for endpoint_id in ids}
    assert len(prefixes) == len(ids)


# --- not found -------------------------------------------------------------------------------

UNKNOWN = "nope_0000000000000000000000000"

NOT_FOUND_CASES: dict[str, tuple[str, Callable[[Session, SecretBox], object]]] = {
    "workspace-get": ("workspace", lambda s, b: workspaces.get(s, UNKNOWN)),
    "endpoint-create": ("workspace", lambda s, b: endpoints.create(s, workspace_id=UNKNOWN)),
    "endpoint-list": ("workspace", lambda s, b: endpoints.list_for_workspace(s, UNKNOWN)),
    "endpoint-get": ("endpoint", lambda s, b: endpoints.get(s, UNKNOWN)),
    "endpoint-enable": ("endpoint", lambda s, b: endpoints.set_enabled(s, UNKNOWN, False)),
    "secret-add": (
        "endpoint",
        lambda s, b: endpoints.add_secret(s, b, endpoint_id=UNKNOWN, secret=new_secret()),
    ),
    "secret-expire": (
        "secret",
        lambda s, b: endpoints.expire_secret(s, UNKNOWN, at=datetime.now(UTC)),
    ),
    "program-get": ("program", lambda s, b: programs.get(s, UNKNOWN)),
    "program-create": (
        "workspace",
        lambda s, b: programs.create(s, workspace_id=UNKNOWN, name="P", terms=TERMS),
    ),
    "partner-get": ("partner", lambda s, b: partners.get(s, UNKNOWN)),
    "click-create": ("partner", lambda s, b: clicks.create(s, partner_id=UNKNOWN)),
}


@pytest.mark.parametrize("case", NOT_FOUND_CASES)
def test_an_unknown_id_raises_not_found_naming_what_is_missing(
    db_session: Session, secret_box: SecretBox, case: str
) -> None:
    kind, call = NOT_FOUND_CASES[case]
    with pytest.raises(NotFound) as caught:
        call(db_session, secret_box)
    assert (caught.value.kind, caught.value.ident) == (kind, UNKNOWN)
    assert str(caught.value) == f"{kind} {UNKNOWN!r} not found"


def test_a_partner_in_an_unknown_program_or_workspace_is_not_found(db_session: Session) -> None:
    chain = make_chain(db_session, "Shop")
    with pytest.raises(NotFound, match="program"):
        partners.create(db_session, workspace_id=chain.workspace.id, program_id=UNKNOWN, name="X")
    with pytest.raises(NotFound, match="workspace"):
        partners.create(db_session, workspace_id=UNKNOWN, program_id=chain.program.id, name="X")


# --- workspace isolation ---------------------------------------------------------------------


def test_the_repository_refuses_a_partner_in_another_workspaces_program(
    db_session: Session,
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    with pytest.raises(NotFound, match=f"in workspace {mine.workspace.id}"):
        partners.create(
            db_session,
            workspace_id=mine.workspace.id,
            program_id=theirs.program.id,
            name="Intruder",
        )
    count = db_session.execute(
        text("SELECT count(*) FROM partners WHERE name = 'Intruder'")
    ).scalar_one()
    assert count == 0


def test_the_database_refuses_a_partner_in_another_workspaces_program(
    db_session: Session,
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    constraint = refused_by(
        db_session,
        INSERT_PARTNER,
        id="prt_raw_1",
        workspace_id=mine.workspace.id,
        program_id=theirs.program.id,
    )
    assert constraint == "fk_partners_program_id_workspace_id"
    # The same statement with a consistent workspace is fine, and the session still works.
    db_session.execute(
        text(INSERT_PARTNER),
        {"id": "prt_raw_2", "workspace_id": mine.workspace.id, "program_id": mine.program.id},
    )
    assert partners.get(db_session, "prt_raw_2").program_id == mine.program.id


def test_the_database_refuses_a_click_of_another_workspaces_partner(
    db_session: Session,
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    constraint = refused_by(
        db_session,
        INSERT_CLICK,
        id="clk_raw_1",
        workspace_id=mine.workspace.id,
        partner_id=theirs.partner.id,
    )
    assert constraint == "fk_clicks_partner_id_workspace_id"
    db_session.execute(
        text(INSERT_CLICK),
        {"id": "clk_raw_2", "workspace_id": mine.workspace.id, "partner_id": mine.partner.id},
    )
    found = clicks.find_in_workspace(
        db_session, workspace_id=mine.workspace.id, click_id="clk_raw_2"
    )
    assert found is not None


def test_a_click_created_by_the_repository_belongs_to_its_partners_workspace(
    db_session: Session,
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    click = clicks.create(db_session, partner_id=theirs.partner.id)
    assert click.workspace_id == theirs.workspace.id != mine.workspace.id


def test_the_database_refuses_a_secret_of_another_workspaces_endpoint(
    db_session: Session, secret_box: SecretBox
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    source = endpoints.add_secret(
        db_session, secret_box, endpoint_id=mine.endpoint.id, secret=new_secret()
    )
    constraint = refused_by(
        db_session,
        INSERT_SECRET_COPY,
        id="sec_raw_1",
        endpoint_id=theirs.endpoint.id,
        workspace_id=mine.workspace.id,
        source_id=source.id,
    )
    assert constraint == "fk_endpoint_secrets_endpoint_id_workspace_id"


def test_finding_a_click_in_another_workspace_returns_none(db_session: Session) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    assert (
        clicks.find_in_workspace(
            db_session, workspace_id=mine.workspace.id, click_id=theirs.click.id
        )
        is None
    )
    assert (
        clicks.find_in_workspace(
            db_session, workspace_id=theirs.workspace.id, click_id=theirs.click.id
        )
        == theirs.click
    )
    assert (
        clicks.find_in_workspace(db_session, workspace_id=mine.workspace.id, click_id=UNKNOWN)
        is None
    )


def test_two_endpoints_with_the_same_id_are_refused(db_session: Session) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    sql = "INSERT INTO webhook_endpoints (id, workspace_id) VALUES (:id, :workspace_id)"
    for workspace in (mine.workspace, theirs.workspace):
        constraint = refused_by(db_session, sql, id=mine.endpoint.id, workspace_id=workspace.id)
        assert constraint == "pk_webhook_endpoints"
    db_session.execute(text(sql), {"id": "ep_raw_fresh", "workspace_id": mine.workspace.id})
    assert endpoints.get(db_session, "ep_raw_fresh").enabled is True


# --- program constraints ---------------------------------------------------------------------

VALID_PERCENT = {
    "reward_kind": "percent",
    "percent_bps": 1250,
    "flat_amount": None,
    "currency": None,
    "recurring_months": 12,
    "holding_days": 30,
}
VALID_FLAT = {**VALID_PERCENT, "reward_kind": "flat", "percent_bps": None}
VALID_FLAT.update(flat_amount=500, currency="usd")


@pytest.mark.parametrize(
    ("row", "constraint"),
    [
        pytest.param({**VALID_PERCENT, "percent_bps": 0}, "ck_programs_reward", id="bps-0"),
        pytest.param({**VALID_PERCENT, "percent_bps": 10001}, "ck_programs_reward", id="bps-10001"),
        pytest.param({**VALID_PERCENT, "percent_bps": None}, "ck_programs_reward", id="no-bps"),
        pytest.param({**VALID_FLAT, "currency": None}, "ck_programs_reward", id="flat-no-currency"),
        pytest.param({**VALID_FLAT, "currency": "USD"}, "ck_programs_reward", id="flat-upper"),
        pytest.param({**VALID_FLAT, "flat_amount": 0}, "ck_programs_reward", id="flat-zero"),
        pytest.param(
            {**VALID_FLAT, "flat_amount": None}, "ck_programs_reward", id="flat-no-amount"
        ),
        pytest.param({**VALID_FLAT, "percent_bps": 1250}, "ck_programs_reward", id="flat-and-bps"),
        pytest.param(
            {**VALID_PERCENT, "flat_amount": 500, "currency": "usd"},
            "ck_programs_reward",
            id="percent-and-flat",
        ),
        pytest.param({**VALID_PERCENT, "reward_kind": "shares"}, "ck_programs_reward", id="kind"),
        pytest.param(
            {**VALID_PERCENT, "recurring_months": 0}, "ck_programs_recurring_months", id="months-0"
        ),
        pytest.param(
            {**VALID_PERCENT, "holding_days": -1}, "ck_programs_holding_days", id="holding-neg"
        ),
        pytest.param(
            {**VALID_PERCENT, "holding_days": 3651}, "ck_programs_holding_days", id="holding-3651"
        ),
    ],
)
def test_the_database_refuses_a_program_with_inexact_or_inconsistent_rewards(
    db_session: Session, row: dict[str, object], constraint: str
) -> None:
    workspace = workspaces.create(db_session, name="Shop")
    refused = refused_by(db_session, INSERT_PROGRAM, id="prg_raw", workspace_id=workspace.id, **row)
    assert refused == constraint


@pytest.mark.parametrize(
    "row",
    [
        VALID_PERCENT,
        VALID_FLAT,
        {**VALID_PERCENT, "percent_bps": 1, "recurring_months": None, "holding_days": 0},
        {**VALID_PERCENT, "percent_bps": 10000, "holding_days": 3650},
    ],
    ids=["percent", "flat", "lowest", "highest"],
)
def test_the_database_accepts_a_consistent_raw_program(
    db_session: Session, row: dict[str, object]
) -> None:
    workspace = workspaces.create(db_session, name="Shop")
    db_session.execute(text(INSERT_PROGRAM), {"id": "prg_raw", "workspace_id": workspace.id, **row})
    assert programs.get(db_session, "prg_raw").reward_kind == row["reward_kind"]


# --- secrets at rest -------------------------------------------------------------------------


def test_a_secret_is_stored_encrypted_with_only_its_last_four_characters_in_clear(
    db_session: Session, secret_box: SecretBox
) -> None:
    chain = make_chain(db_session, "Shop")
    secret = new_secret()
    body = secret.removeprefix("whsec_")
    stored = endpoints.add_secret(
        db_session, secret_box, endpoint_id=chain.endpoint.id, secret=secret
    )
    row = raw_secret_row(db_session, stored.id)
    assert row["last4"] == secret[-4:]
    assert bytes(row["nonce"]) != b""
    forbidden_text = [secret, body, body[:-4]]
    forbidden_bytes = [s.encode() for s in forbidden_text] + [base64.b64decode(body)]
    for column, value in row.items():
        if isinstance(value, bytes | memoryview):
            for needle in forbidden_bytes:
                assert needle not in bytes(value), column
        else:
            for text_needle in forbidden_text:
                assert text_needle not in str(value), column
    # The row as PostgreSQL itself would print it (bytea as hex) shows nothing either.
    as_json = db_session.execute(
        text("SELECT row_to_json(s)::text FROM endpoint_secrets s WHERE id = :id"),
        {"id": stored.id},
    ).scalar_one()
    for hex_or_text in [*forbidden_text, secret.encode().hex(), base64.b64decode(body).hex()]:
        assert hex_or_text not in as_json


def test_a_sealed_secret_copied_into_another_workspaces_endpoint_does_not_decrypt(
    db_session: Session, secret_box: SecretBox
) -> None:
    mine, theirs = make_chain(db_session, "Mine"), make_chain(db_session, "Theirs")
    source = endpoints.add_secret(
        db_session, secret_box, endpoint_id=mine.endpoint.id, secret=new_secret()
    )
    their_own = new_secret()
    endpoints.add_secret(db_session, secret_box, endpoint_id=theirs.endpoint.id, secret=their_own)
    now = datetime.now(UTC)
    before = endpoints.active_secrets(
        db_session, secret_box, endpoint_id=theirs.endpoint.id, now=now
    )
    assert [a.secret for a in before] == [their_own]

    db_session.execute(
        text(INSERT_SECRET_COPY),
        {
            "id": "sec_copied",
            "endpoint_id": theirs.endpoint.id,
            "workspace_id": theirs.workspace.id,
            "source_id": source.id,
        },
    )
    with pytest.raises(DecryptionError, match="sec_copied"):
        endpoints.active_secrets(db_session, secret_box, endpoint_id=theirs.endpoint.id, now=now)


def test_active_secrets_exclude_expired_ones_with_expiry_at_now_exclusive(
    db_session: Session, secret_box: SecretBox
) -> None:
    chain = make_chain(db_session, "Shop")
    now = datetime(2030, 6, 1, 12, 0, 0, 123456, tzinfo=UTC)
    expiries = {
        "expired": now - timedelta(microseconds=1),
        "at-now": now,
        "future": now + timedelta(microseconds=1),
        "never": None,
    }
    values = {label: new_secret() for label in expiries}
    for label, expires_at in expiries.items():
        endpoints.add_secret(
            db_session,
            secret_box,
            endpoint_id=chain.endpoint.id,
            secret=values[label],
            expires_at=expires_at,
        )
    active = endpoints.active_secrets(
        db_session, secret_box, endpoint_id=chain.endpoint.id, now=now
    )
    assert sorted(a.secret for a in active) == sorted([values["future"], values["never"]])
    assert {a.secret: a.expires_at for a in active} == {
        values["future"]: expiries["future"],
        values["never"]: None,
    }
    assert len(endpoints.secrets_of(db_session, chain.endpoint.id)) == 4


def test_active_secrets_are_only_those_of_the_endpoint_asked_for(
    db_session: Session, secret_box: SecretBox
) -> None:
    first, second = make_chain(db_session, "First"), make_chain(db_session, "Second")
    mine = new_secret()
    endpoints.add_secret(db_session, secret_box, endpoint_id=first.endpoint.id, secret=mine)
    endpoints.add_secret(
        db_session, secret_box, endpoint_id=second.endpoint.id, secret=new_secret()
    )
    active = endpoints.active_secrets(
        db_session, secret_box, endpoint_id=first.endpoint.id, now=datetime.now(UTC)
    )
    assert [a.secret for a in active] == [mine]


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "   ",
        "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
        "whsec_",
        "whsec_abc def",
        "whsec_" + "a" * 300,
    ],
    ids=["empty", "blank", "no-prefix", "only-prefix", "inner-space", "too-long"],
)
def test_add_secret_refuses_a_malformed_secret_and_writes_nothing(
    db_session: Session, secret_box: SecretBox, secret: str
) -> None:
    chain = make_chain(db_session, "Shop")
    before = secret_count(db_session)
    with pytest.raises(DomainError):
        endpoints.add_secret(db_session, secret_box, endpoint_id=chain.endpoint.id, secret=secret)
    db_session.flush()
    assert secret_count(db_session) == before
    assert endpoints.secrets_of(db_session, chain.endpoint.id) == []


def test_add_secret_refuses_an_expiry_without_a_time_zone_and_writes_nothing(
    db_session: Session, secret_box: SecretBox
) -> None:
    chain = make_chain(db_session, "Shop")
    with pytest.raises(ValueError, match="time zone"):
        endpoints.add_secret(
            db_session,
            secret_box,
            endpoint_id=chain.endpoint.id,
            secret=new_secret(),
            expires_at=datetime(2030, 1, 1),
        )
    db_session.flush()
    assert endpoints.secrets_of(db_session, chain.endpoint.id) == []


def test_reseal_all_moves_every_secret_to_the_current_key_once(db_session: Session) -> None:
    old, new = generate_master_key("old"), generate_master_key("new")
    old_box, rotated, new_only = SecretBox([old]), SecretBox([new, old]), SecretBox([new])
    first, second = make_chain(db_session, "First"), make_chain(db_session, "Second")
    plaintexts: dict[str, str] = {}
    for chain in (first, second, first, second, first):
        value = new_secret()
        row = endpoints.add_secret(db_session, old_box, endpoint_id=chain.endpoint.id, secret=value)
        plaintexts[row.id] = value
    already_new = new_secret()
    current = endpoints.add_secret(
        db_session, rotated, endpoint_id=first.endpoint.id, secret=already_new
    )
    before = {sid: raw_secret_row(db_session, sid) for sid in [*plaintexts, current.id]}
    assert {row["key_id"] for sid, row in before.items() if sid != current.id} == {"old"}

    assert endpoints.reseal_all(db_session, rotated, batch_size=2) == 5
    db_session.expire_all()
    after = {sid: raw_secret_row(db_session, sid) for sid in before}
    assert {row["key_id"] for row in after.values()} == {"new"}
    for sid in plaintexts:
        assert bytes(after[sid]["nonce"]) != bytes(before[sid]["nonce"])
        assert bytes(after[sid]["ciphertext"]) != bytes(before[sid]["ciphertext"])
    assert after[current.id] == before[current.id]

    assert endpoints.reseal_all(db_session, rotated) == 0

    now = datetime.now(UTC)
    opened = {
        a.secret_id: a.secret
        for chain in (first, second)
        for a in endpoints.active_secrets(
            db_session, new_only, endpoint_id=chain.endpoint.id, now=now
        )
    }
    assert opened == {**plaintexts, current.id: already_new}
    with pytest.raises(DecryptionError, match="not in TRAAACTION_KEYS"):
        endpoints.active_secrets(db_session, old_box, endpoint_id=second.endpoint.id, now=now)


def test_set_enabled_turns_an_endpoint_off_and_on(db_session: Session) -> None:
    chain = make_chain(db_session, "Shop")

    def stored_enabled() -> object:
        return db_session.execute(
            text("SELECT enabled FROM webhook_endpoints WHERE id = :id"),
            {"id": chain.endpoint.id},
        ).scalar_one()

    assert stored_enabled() is True
    assert endpoints.set_enabled(db_session, chain.endpoint.id, False).enabled is False
    assert stored_enabled() is False
    assert endpoints.set_enabled(db_session, chain.endpoint.id, True).enabled is True
    assert stored_enabled() is True


def test_expire_secret_stops_the_secret_from_verifying_from_then_on(
    db_session: Session, secret_box: SecretBox
) -> None:
    chain = make_chain(db_session, "Shop")
    kept, rolled = new_secret(), new_secret()
    endpoints.add_secret(db_session, secret_box, endpoint_id=chain.endpoint.id, secret=kept)
    row = endpoints.add_secret(db_session, secret_box, endpoint_id=chain.endpoint.id, secret=rolled)
    at = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

    expired = endpoints.expire_secret(db_session, row.id, at=at)
    assert expired.expires_at == at
    assert raw_secret_row(db_session, row.id)["expires_at"] == at

    def active_at(now: datetime) -> list[str]:
        found = endpoints.active_secrets(
            db_session, secret_box, endpoint_id=chain.endpoint.id, now=now
        )
        return sorted(a.secret for a in found)

    assert active_at(at - timedelta(seconds=1)) == sorted([kept, rolled])
    assert active_at(at) == [kept]
    assert active_at(at + timedelta(days=1)) == [kept]
