"""The console's replay and discard buttons, run in the web process by workers.replay.

A replay runs the dead letter's event through the real pipeline in this process, so the
process needs the workers' context (sessions, the secret box for Stripe lookups): it is set
at the first action, and the worker modules are imported only then.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from sqlalchemy import Engine

from storage.crypto import SecretBox
from storage.db import make_session_factory
from traaaction.ops import ActionError, ReplayOutcome


class PipelineActions:
    def __init__(
        self, engine: Engine, *, secret_box: SecretBox | None, stripe_api_base: str
    ) -> None:
        self._engine = engine
        self._secret_box = secret_box
        self._stripe_api_base = stripe_api_base
        self._ready = False
        self._lock = threading.Lock()

    def _prepare(self) -> None:
        with self._lock:
            if self._ready:
                return
            from workers import context

            context.configure(
                context.WorkerContext(
                    factory=make_session_factory(self._engine),
                    secret_box=self._secret_box,
                    stripe_api_base=self._stripe_api_base,
                )
            )
            self._ready = True

    def replay(self, dead_letter_id: str, *, dry_run: bool) -> ReplayOutcome:
        self._prepare()
        from workers.replay import ReplayError, replay_dead_letter

        try:
            return replay_dead_letter(dead_letter_id, dry_run=dry_run)
        except ReplayError as exc:
            raise ActionError(str(exc)) from exc

    def discard(self, dead_letter_ids: Sequence[str], reason: str) -> list[str]:
        self._prepare()
        from workers.replay import ReplayError, discard_dead_letters

        try:
            return discard_dead_letters(dead_letter_ids, reason)
        except ReplayError as exc:
            raise ActionError(str(exc)) from exc
