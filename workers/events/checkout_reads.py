"""What a checkout session's events read before they decide (completed and its delayed
payment alike): what the session names, resolved in the workspace; its subscription's end;
its subscription's attribution if an invoice recorded it first.

Clicks and promotion codes ride with the event's first statement (events never change them);
the rest is written under the session's locks (subscription, customer) and is read after them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from domain.attribution import InvoiceAttribution, click_candidates
from domain.decisions import AttributionSource
from domain.events import CheckoutSessionCompleted
from domain.referral_sources import Sources
from storage.db import driver_connection
from storage.repositories.ledger import loaders, sources
from storage.repositories.ledger.applied_once import Preloaded, Read
from workers.events.base import Reads, keys


@dataclass(frozen=True, slots=True)
class CheckoutState:
    sources: Sources
    subscription_ended_at: int | None
    invoice_attribution: InvoiceAttribution | None


def session_keys(event: CheckoutSessionCompleted) -> tuple[str, ...]:
    """What a session's events lock: the session (its completion and its delayed payment are
    applied one after the other), its subscription, its payment intent, and its customer
    (whose earlier attribution a repeat purchase reads)."""
    return keys(
        ("checkout_session", event.session_id),
        ("subscription", event.subscription_id),
        ("payment_intent", event.payment_intent_id),
        ("customer", event.customer_id),
    )


def named_clicks(event: CheckoutSessionCompleted) -> dict[str, AttributionSource]:
    """The click ids the session names and where, in the attribution order."""
    return dict(click_candidates(event))


def checkout_reads(event: CheckoutSessionCompleted, workspace_id: str) -> Reads:
    clicks = named_clicks(event)
    riding = (
        sources.named_read(workspace_id, list(clicks), event.promotion_codes)
        if clicks or event.promotion_codes
        else None
    )
    after: list[Read] = []
    if event.subscription_id:
        after.append(loaders.subscription_end_read(workspace_id, event.subscription_id))
        after.append(loaders.invoice_attribution_read(workspace_id, event.subscription_id))
    if event.customer_id:
        after.append(
            sources.earlier_read(
                workspace_id,
                event.customer_id,
                checkout_session_id=event.session_id,
                subscription_id=event.subscription_id,
            )
        )
    return Reads(riding=riding, after_locks=tuple(after))


def _decode(
    event: CheckoutSessionCompleted,
    riding: tuple[Any, ...] | None,
    after: tuple[tuple[Any, ...] | None, ...],
) -> CheckoutState:
    rows = iter(after)
    ended_at = attribution = None
    if event.subscription_id:
        ended_at = loaders.subscription_end_of(next(rows))
        attribution = loaders.invoice_attribution_of(next(rows))
    earlier = next(rows) if event.customer_id else None
    return CheckoutState(
        sources=sources.sources_of(riding, earlier, named_clicks(event)),
        subscription_ended_at=ended_at,
        invoice_attribution=attribution,
    )


def load_checkout_state(
    session: Session,
    workspace_id: str,
    event: CheckoutSessionCompleted,
    preloaded: Preloaded | None,
) -> CheckoutState:
    """From the reads that rode with the first statement, or by running them now."""
    if preloaded is not None:
        return _decode(event, preloaded.riding, preloaded.after_locks)
    reads = checkout_reads(event, workspace_id)
    pg = driver_connection(session)

    def run(read: Read) -> tuple[Any, ...] | None:
        row = pg.execute(read.sql, {"ws": workspace_id, **read.params}).fetchone()
        return tuple(row) if row is not None else None

    riding = run(reads.riding) if reads.riding is not None else None
    return _decode(event, riding, tuple(run(read) for read in reads.after_locks))
