"""What every adapter hands the scheduler: named polls that return publications.

An adapter turns its own failures into publications with a non-ok source state,
so the scheduler never needs to know what a node or an API is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from blocksight_tui.adapters.resilience import BreakerState
from blocksight_tui.events import EventType, Payload, SourceInfo

Wake = Callable[..., None]
"""Asks the scheduler to run the named polls now (all of them with no name)."""


@dataclass(frozen=True)
class Publication:
    type: EventType
    data: Payload | None
    source: SourceInfo


@dataclass(frozen=True)
class Poll:
    name: str
    interval: float
    run: Callable[[], Awaitable[list[Publication]]]


class Adapter(Protocol):
    name: str

    def polls(self) -> list[Poll]: ...

    async def start(self, wake: Wake) -> None: ...

    async def close(self) -> None: ...


@runtime_checkable
class HasCircuits(Protocol):
    """An adapter whose breakers (or sessions) /metrics reports."""

    def circuits(self) -> dict[str, BreakerState]: ...


class LastGood:
    """Remembers the last good payload of each type, so a failing source can
    say "stale" with the old value instead of going blank."""

    def __init__(self, source_name: str) -> None:
        self._source_name = source_name
        self._payloads: dict[EventType, Payload] = {}

    def latest(self, event_type: EventType) -> Payload | None:
        return self._payloads.get(event_type)

    def ok(self, event_type: EventType, data: Payload, detail: str | None = None) -> Publication:
        """A good payload; `detail` says which server or build answered."""
        self._payloads[event_type] = data
        return Publication(
            event_type, data, SourceInfo(name=self._source_name, detail=detail)
        )

    def failed(self, event_type: EventType, reason: str) -> Publication:
        data = self._payloads.get(event_type)
        state = "stale" if data is not None else "unavailable"
        return Publication(
            event_type, data, SourceInfo(name=self._source_name, state=state, reason=reason)
        )

    def unavailable(self, event_type: EventType, reason: str) -> Publication:
        """The source cannot give this figure at all (not merely failing now)."""
        self._payloads.pop(event_type, None)
        return Publication(
            event_type, None, SourceInfo(name=self._source_name, state="unavailable", reason=reason)
        )
