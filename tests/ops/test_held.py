"""The overview lists held commissions with their reason."""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from tests.storage.ledger_rows import chain, commission


def test_the_overview_lists_held_commissions_and_their_reason(
    client: TestClient, signed_in: str, engine: Engine
) -> None:
    with Session(engine) as session, session.begin():
        c = chain(session, name="Held")
        disputed = commission(session, c, amount=1500)
        disputed.status, disputed.reason = "ON_HOLD", "disputed"
        manual = commission(session, c, amount=700)
        manual.status, manual.reason = "ON_HOLD", "manual"
        commission(session, c, status="APPROVED")
        ids = (disputed.id, manual.id)
    page = client.get("/ops/").text
    assert '<span id="held-total">2</span>' in page
    held = page.split('id="held"', 1)[1]
    for commission_id, amount, reason in ((ids[0], 1500, "disputed"), (ids[1], 700, "manual")):
        row = held.split(f'id="held-{commission_id}"', 1)[1].split("</tr>", 1)[0]
        assert f"{amount} usd" in row
        assert f'<td class="reason">{reason}</td>' in row
