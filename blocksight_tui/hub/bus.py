"""The in-process event bus: stamps events, keeps the latest of each type, fans out.

Listeners are plain callables run synchronously on publish, so they must not
block: the hub only queues pre-serialized frames, the orchestrator only swaps
immutable state. A listener that raises is logged and skipped; it never stops
the others or the publisher.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

from blocksight_tui.events import (
    EVENT_TYPES,
    Event,
    EventType,
    Payload,
    SourceInfo,
    make_event,
)

log = logging.getLogger(__name__)

Listener = Callable[[Event], None]


class EventBus:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._seq = 0
        self._latest: dict[EventType, Event] = {}
        self._listeners: list[Listener] = []

    @property
    def last_seq(self) -> int:
        return self._seq

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def latest(self, types: Iterable[EventType] = EVENT_TYPES) -> list[Event]:
        """The latest event of each type that has one, oldest first."""
        found = [self._latest[t] for t in types if t in self._latest]
        return sorted(found, key=lambda e: e.seq)

    def latest_of(self, event_type: EventType) -> Event | None:
        return self._latest.get(event_type)

    def publish(
        self,
        event_type: EventType,
        data: Payload | None,
        source: SourceInfo,
        *,
        dedupe: bool = True,
    ) -> Event | None:
        """Stamp and deliver an event. With `dedupe`, an event equal in data and
        source to the latest of its type is dropped, so nothing downstream redraws
        for a poll that changed nothing. Returns the event, or None if dropped."""
        previous = self._latest.get(event_type)
        if dedupe and previous is not None and previous.data == data and previous.source == source:
            return None
        self._seq += 1
        event = make_event(event_type, data, source, seq=self._seq, ts=self._clock())
        self._latest[event_type] = event
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("bus listener %r failed on %s", listener, event_type)
        return event
