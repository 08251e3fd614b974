"""The schema, as SQLAlchemy models. Alembic migrations under storage/migrations create it.

Constraints state what must never happen, so that a bug cannot write it:
- composite foreign keys (x_id, workspace_id) keep every row in its parent's workspace (no
  partner in another workspace's program, no click of another workspace's partner);
- CHECKs keep rewards exact (basis points 1..10000, flat amounts positive with a currency).
Dashboards read some of these tables directly; docs/dashboard.md lists that contract.
"""

from storage.models.accounts import (
    Click,
    EndpointSecret,
    Link,
    Partner,
    PartnerPromotionCode,
    Program,
    WebhookEndpoint,
    Workspace,
)
from storage.models.base import NAMING_CONVENTION, Base
from storage.models.ledger import (
    ATTRIBUTION_SOURCES,
    COMMISSION_KINDS,
    COMMISSION_STATUSES,
    LOG_OUTCOMES,
    AppliedEvent,
    Attribution,
    Commission,
    ParkedEvent,
    SubscriptionEnd,
)
from storage.models.records import (
    DEAD_LETTER_STATUSES,
    DeadLetter,
    EventPayload,
    WebhookEventLog,
    WorkspaceApiKey,
)

__all__ = [
    "ATTRIBUTION_SOURCES",
    "COMMISSION_KINDS",
    "COMMISSION_STATUSES",
    "DEAD_LETTER_STATUSES",
    "LOG_OUTCOMES",
    "NAMING_CONVENTION",
    "AppliedEvent",
    "Attribution",
    "Base",
    "Click",
    "Commission",
    "DeadLetter",
    "EndpointSecret",
    "EventPayload",
    "Link",
    "ParkedEvent",
    "Partner",
    "PartnerPromotionCode",
    "Program",
    "SubscriptionEnd",
    "WebhookEndpoint",
    "WebhookEventLog",
    "Workspace",
    "WorkspaceApiKey",
]
