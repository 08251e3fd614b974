"""docs/dashboard.md and the schema agree: every documented column exists, with its index."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from storage.models import Base

DOC = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


def documented_columns(table: str) -> set[str]:
    section = DOC.read_text().split(f"## `{table}`", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names |= set(re.findall(r"`([a-z_]+)`", line.split("|")[1]))
    return names


@pytest.mark.parametrize("table", ["commissions", "webhook_event_log"])
def test_every_documented_column_exists(table: str) -> None:
    documented = documented_columns(table)
    assert len(documented) >= 10
    assert documented <= set(Base.metadata.tables[table].columns.keys())


def test_the_minimum_contract_of_the_issue_is_documented() -> None:
    assert {
        "id", "workspace_id", "program_id", "partner_id", "click_id", "kind", "month", "status",
        "amount", "sale_amount", "currency", "livemode", "reason", "reverses_commission_id",
        "checkout_session_id", "subscription_id", "invoice_id", "payment_intent_id",
        "customer_id", "created_at", "updated_at",
    } <= documented_columns("commissions")  # fmt: skip
    assert {
        "id", "workspace_id", "endpoint_id", "stripe_event_id", "event_type", "livemode",
        "outcome", "reason", "attempt", "created_at", "commission_ids",
    } <= documented_columns("webhook_event_log")  # fmt: skip


def test_every_index_the_doc_names_exists() -> None:
    named = set(re.findall(r"\b(ix_[a-z_]+)\b", DOC.read_text()))
    existing = {ix.name for table in Base.metadata.tables.values() for ix in table.indexes}
    assert named
    assert named <= existing
