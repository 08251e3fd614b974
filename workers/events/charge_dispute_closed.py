"""charge.dispute.closed: workers/events/charge_dispute.py has the rule of every dispute event."""

from __future__ import annotations

from domain.charge_events import parse_charge_dispute_closed
from workers.events.charge_dispute import ChargeDisputeModule

MODULE = ChargeDisputeModule("charge.dispute.closed", parse_charge_dispute_closed)
