"""One Dramatiq actor per handled Stripe event type, declared from the event modules.

Importing this package declares them on the broker installed by workers.main: each takes its
name and queue from workers.contract (the type's dots as underscores) and runs the frame.
"""

from __future__ import annotations

import dramatiq

from workers.actors._declare import declare
from workers.events import MODULES

#: event type -> its actor
ACTORS: dict[str, dramatiq.Actor[..., None]] = {
    event_type: declare(event_type) for event_type in MODULES
}
