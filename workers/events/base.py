"""What an event module provides, and what the frame gets from it.

An event type's module subclasses `EventModule[Event, State]` and says, for its type only:
how its body parses (`parse`, a pure domain parser), which Stripe objects it locks (`keys`),
which reads may ride in the event's first round trip (`reads`), what state it loads (`load`)
and what it decides (`decide`, calling the pure rules of domain/). The frame (workers/pipeline)
never sees the typed event: `prepare` binds a parsed event to those steps as a `Prepared`, the
one shape every event type has, so nothing in the frame is special to any type.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session

from domain.decisions import Command, Decision
from storage.repositories.ledger.applied_once import Preloaded, Read
from storage.repositories.ledger.context import EventContext


class ParsedEvent(Protocol):
    """What the frame needs of every parsed event (the domain's event values all have it)."""

    @property
    def event_id(self) -> str: ...

    @property
    def livemode(self) -> bool: ...


Event = TypeVar("Event", bound=ParsedEvent)
State = TypeVar("State")


@dataclass(frozen=True, slots=True)
class Plan:
    """What an event would do: the domain's decision, and the commands that apply it."""

    decision: Decision
    commands: tuple[Command, ...]
    #: the attribution the commands act for, when the loader found it (invoices)
    attribution_id: str | None = None

    @classmethod
    def of(cls, decision: Decision, *, attribution_id: str | None = None) -> Plan:
        return cls(decision, decision.commands, attribution_id)


@dataclass(frozen=True, slots=True)
class Reads:
    """The reads an event's decision needs that can ride with its first statement
    (storage.repositories.ledger.applied_once explains both kinds)."""

    riding: Read | None = None
    after_locks: tuple[Read, ...] = ()


NO_READS = Reads()


@dataclass(frozen=True, slots=True)
class Prepared:
    """One parsed event, bound to its module's steps: all the frame handles."""

    event_id: str
    livemode: bool
    #: `kind:value` of the Stripe objects it reads or changes, locked before anything else
    keys: tuple[str, ...]
    reads: Reads
    #: load (from `Preloaded` when the reads rode with the first statement, else by itself)
    #: and decide, in the event's transaction, its keys locked
    plan: Callable[[Session, EventContext, Preloaded | None], Plan]


class Handler(Protocol):
    """An event module as the frame and the actors see it: a type, and a way to prepare."""

    @property
    def event_type(self) -> str: ...

    def prepare(self, body: str, workspace_id: str) -> Prepared: ...


def keys(*pairs: tuple[str, str | None]) -> tuple[str, ...]:
    """`kind:value` lock keys of the pairs whose value is set."""
    return tuple(f"{kind}:{value}" for kind, value in pairs if value)


class EventModule(ABC, Generic[Event, State]):
    """One Stripe event type's rules on the ledger (see workers/events/__init__.py)."""

    #: the Stripe event type (its queue and actor are named after it: workers.contract)
    event_type: ClassVar[str]

    @abstractmethod
    def parse(self, body: str) -> Event:
        """The typed event (EventParseError when the body is not one)."""

    @abstractmethod
    def keys(self, event: Event) -> Iterable[str]:
        """The lock keys of the Stripe objects the event reads or changes (`keys(...)`)."""

    def reads(self, event: Event, workspace_id: str) -> Reads:
        """The reads that may ride with the event's first statement; none by default."""
        return NO_READS

    @abstractmethod
    def load(
        self, session: Session, ctx: EventContext, event: Event, preloaded: Preloaded | None
    ) -> State:
        """What the decision needs. `preloaded` holds the rows of `reads` when they rode with
        the first statement; None (a released parked event, a dry run): read them here."""

    @abstractmethod
    def decide(self, event: Event, state: State) -> Plan:
        """The decision, from the pure rules of domain/."""

    def prepare(self, body: str, workspace_id: str) -> Prepared:
        """Parse the body once and bind the event to this module's steps."""
        event = self.parse(body)

        def plan(session: Session, ctx: EventContext, preloaded: Preloaded | None) -> Plan:
            return self.decide(event, self.load(session, ctx, event, preloaded))

        return Prepared(
            event_id=event.event_id,
            livemode=event.livemode,
            keys=tuple(self.keys(event)),
            reads=self.reads(event, workspace_id),
            plan=plan,
        )
