"""Which partner a sale is for: the sources a sale can name, tried in their order
(docs/commissions.md, "Attribution").

The loaders find what the workspace knows of each thing the sale names (a click, a partner's
promotion code, the customer's earlier attribution); `choose` applies the rules to that, with
no I/O: the first click inside its program's window, else the first promotion code of a
partner, else the customer's earlier attribution; then first-purchase-only.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.decisions import AttributionSource, Referral, SkipReason

SECONDS_PER_DAY = 86_400


@dataclass(frozen=True, slots=True)
class Candidate:
    """A partner that something the sale names points to, as the workspace knows it."""

    source: AttributionSource
    referral: Referral
    #: when the click was made (Unix seconds): clicks only
    clicked_at: int | None = None


@dataclass(frozen=True, slots=True)
class Sources:
    """What a sale names, resolved in the workspace, each kind in the sale's own order."""

    #: whether the sale named any click id at all (for the reason when none is of the workspace)
    named_clicks: bool = False
    #: the named clicks that are clicks of the workspace
    clicks: tuple[Candidate, ...] = ()
    #: the named promotion codes that are a partner's in the workspace
    promotion_codes: tuple[Candidate, ...] = ()
    #: the customer's earliest attribution in the workspace but this sale's own, if any
    earlier: Candidate | None = None


@dataclass(frozen=True, slots=True)
class Chosen:
    referral: Referral
    source: AttributionSource


def click_expired(candidate: Candidate, sale_at: int) -> bool:
    """Older than its program's click window at the sale's time: more than
    `click_window_days` x 86,400 seconds before it (exactly that old still earns)."""
    if candidate.clicked_at is None:
        return False
    window = candidate.referral.terms.click_window_days * SECONDS_PER_DAY
    return sale_at - candidate.clicked_at > window


def choose(sources: Sources, sale_at: int) -> Chosen | SkipReason:
    """The referral and its source, or why the sale earns for no one.

    An expired click falls through to the later sources; only when none of them names a
    partner is the sale skipped `click_expired`. A repeat purchase (the customer has an
    earlier attribution) of a first-purchase-only program is skipped `repeat_purchase`,
    whichever source named it.
    """
    live = [c for c in sources.clicks if not click_expired(c, sale_at)]
    found = next(iter(live), None) or next(iter(sources.promotion_codes), None) or sources.earlier
    if found is None:
        if sources.clicks:
            return SkipReason.CLICK_EXPIRED
        return SkipReason.UNKNOWN_CLICK_ID if sources.named_clicks else SkipReason.MISSING_CLICK_ID
    if sources.earlier is not None and found.referral.terms.first_purchase_only:
        return SkipReason.REPEAT_PURCHASE
    return Chosen(found.referral, found.source)
