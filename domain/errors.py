from __future__ import annotations


class DomainError(ValueError):
    """Raised when a value breaks a business rule; the message says which and why."""
