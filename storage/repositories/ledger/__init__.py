"""The ledger side of the rules, split by job; the workers' event frame calls them in order.

- `locks`: the advisory locks that serialize the events touching the same Stripe objects;
- `applied_once`: the event's record in applied_events (taken under its locks), its retained
  payload, and the reads that ride in that first round trip;
- `loaders`: what the decisions read (referrals, a subscription's state, linked commissions);
- `appliers`: the decisions' commands turned into rows (with `statements`, their SQL);
- `parking`: events that wait for their attribution or sale, and their release.

Everything runs in the caller's transaction (the worker's unit of work), with the event's keys
locked first, so two events about one subscription or payment never interleave: one of them
always sees the other's effects.
"""

from storage.repositories.ledger.locks import lock_keys

__all__ = ["lock_keys"]
