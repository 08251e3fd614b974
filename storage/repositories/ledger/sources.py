"""What the workspace knows of the things a sale names (domain.referral_sources): its clicks,
its partners' promotion codes, and the customer's earlier attribution.

Clicks, partners, programs and promotion codes are never changed by events, so their read
may ride with the event's first statement (`named_read`). Attributions are written by events,
under the customer's lock: `earlier_read` goes after the locks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.decisions import AttributionSource, Referral
from domain.referral_sources import Candidate, Sources
from storage.errors import InvariantViolation
from storage.repositories import clicks
from storage.repositories.ledger.applied_once import Read
from storage.repositories.programs import make_terms

#: one row, one column: a JSON array of [kind, click, clicked_at, partner, program, terms...],
#: the clicks first in the order named, then the promotion codes in the order named (NULL
#: when none is the workspace's)
_NAMED = """
SELECT json_agg(json_build_array(x.kind, x.click_id, x.clicked_at, x.partner_id, x.program_id,
    x.reward_kind, x.percent_bps, x.flat_amount, x.currency, x.recurring_months,
    x.holding_days, x.click_window_days, x.first_purchase_only) ORDER BY x.kind, x.position)
FROM (
    SELECT 'click' AS kind, array_position(%(clicks)s::text[], c.id) AS position, c.id AS click_id,
        floor(extract(epoch FROM c.created_at))::bigint AS clicked_at, p.id AS partner_id,
        g.id AS program_id, g.reward_kind, g.percent_bps, g.flat_amount, g.currency,
        g.recurring_months, g.holding_days, g.click_window_days, g.first_purchase_only
    FROM clicks c
    JOIN partners p ON p.id = c.partner_id AND p.workspace_id = c.workspace_id
    JOIN programs g ON g.id = p.program_id AND g.workspace_id = p.workspace_id
    WHERE c.workspace_id = %(ws)s AND c.id = ANY(%(clicks)s::text[])
    UNION ALL
    SELECT 'code', array_position(%(codes)s::text[], pc.promotion_code_id), NULL, NULL, p.id,
        g.id, g.reward_kind, g.percent_bps, g.flat_amount, g.currency, g.recurring_months,
        g.holding_days, g.click_window_days, g.first_purchase_only
    FROM partner_promotion_codes pc
    JOIN partners p ON p.id = pc.partner_id AND p.workspace_id = pc.workspace_id
    JOIN programs g ON g.id = p.program_id AND g.workspace_id = p.workspace_id
    WHERE pc.workspace_id = %(ws)s AND pc.promotion_code_id = ANY(%(codes)s::text[])
) AS x
"""

#: the customer's earliest attribution in the workspace, other than the sale's own (its
#: checkout session's, or its subscription's)
_EARLIER = """
SELECT a.click_id, a.partner_id, a.program_id, g.reward_kind, g.percent_bps, g.flat_amount,
    g.currency, g.recurring_months, g.holding_days, g.click_window_days, g.first_purchase_only
FROM attributions a
JOIN programs g ON g.id = a.program_id AND g.workspace_id = a.workspace_id
WHERE a.workspace_id = %(ws)s AND a.customer_id = %(customer)s
  AND (%(session)s::text IS NULL OR a.checkout_session_id IS DISTINCT FROM %(session)s)
  AND (%(subscription)s::text IS NULL OR a.subscription_id IS DISTINCT FROM %(subscription)s)
ORDER BY a.created_at, a.id
LIMIT 1
"""


def named_read(workspace_id: str, click_ids: Sequence[str], codes: Sequence[str]) -> Read:
    """The clicks and promotion codes of the workspace among those named (decode with
    `named_of`). Click ids not of this service's shape are left out: unknown at once."""
    return Read(
        _NAMED,
        {
            "ws": workspace_id,
            "clicks": [c for c in click_ids if clicks.CLICK_ID.match(c)],
            "codes": list(codes),
        },
    )


def _referral(click: str | None, partner: str, program: str, terms: Sequence[Any]) -> Referral:
    kind, bps, flat, currency, months, holding, window, first_only = terms
    return Referral(
        click,
        partner,
        program,
        make_terms(kind, bps, flat, currency, months, holding, window, bool(first_only)),
    )


def named_of(
    row: tuple[Any, ...] | None, click_sources: dict[str, AttributionSource]
) -> tuple[tuple[Candidate, ...], tuple[Candidate, ...]]:
    """The riding read's row as (clicks, promotion codes); `click_sources` says where the sale
    named each click id."""
    entries = row[0] if row is not None else None
    found_clicks: list[Candidate] = []
    found_codes: list[Candidate] = []
    for entry in entries or ():
        kind, click, clicked_at, partner, program, *terms = entry
        referral = _referral(click, partner, program, terms)
        if kind == "click":
            source = click_sources.get(click)
            if source is None:
                raise InvariantViolation(f"a click read back that the sale did not name: {click}")
            found_clicks.append(Candidate(source, referral, int(clicked_at)))
        else:
            found_codes.append(Candidate(AttributionSource.PROMOTION_CODE, referral))
    return tuple(found_clicks), tuple(found_codes)


def earlier_read(
    workspace_id: str,
    customer_id: str,
    *,
    checkout_session_id: str | None = None,
    subscription_id: str | None = None,
) -> Read:
    """The customer's earlier attribution (decode with `earlier_of`); after the locks."""
    return Read(
        _EARLIER,
        {
            "ws": workspace_id,
            "customer": customer_id,
            "session": checkout_session_id,
            "subscription": subscription_id,
        },
    )


def earlier_of(row: tuple[Any, ...] | None) -> Candidate | None:
    if row is None:
        return None
    click, partner, program, *terms = row
    return Candidate(AttributionSource.CUSTOMER, _referral(click, partner, program, terms))


def sources_of(
    named: tuple[Any, ...] | None,
    earlier: tuple[Any, ...] | None,
    click_sources: dict[str, AttributionSource],
) -> Sources:
    found_clicks, found_codes = named_of(named, click_sources)
    return Sources(
        named_clicks=bool(click_sources),
        clicks=found_clicks,
        promotion_codes=found_codes,
        earlier=earlier_of(earlier),
    )
