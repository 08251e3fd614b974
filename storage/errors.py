from __future__ import annotations


class StorageError(Exception):
    """Base of the errors repositories raise for the caller to report."""


class NotFound(StorageError):
    """Raised when a referenced row does not exist (in the given workspace)."""

    def __init__(self, kind: str, ident: str, *, workspace_id: str | None = None) -> None:
        where = f" in workspace {workspace_id}" if workspace_id else ""
        super().__init__(f"{kind} {ident!r} not found{where}")
        self.kind = kind
        self.ident = ident


class InvariantViolation(StorageError):
    """The ledger or the database answered in a way the rules rule out (a commission without
    its attribution, a statement that returned no row where one always comes back): retrying
    would fail the same way, so the event goes to the dead letters for an operator."""
