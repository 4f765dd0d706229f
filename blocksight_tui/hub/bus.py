"""The in-process event bus: stamps events, keeps the latest of each type, fans out.

Listeners are plain callables run synchronously on publish, so they must not
block: the hub only queues pre-serialized frames, the orchestrator only swaps
immutable state. A listener that raises is logged and skipped; it never stops
the others or the publisher.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
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
        # Per type and source: Core's tip and an Electrum server's tip are
        # both "the latest tip.height", and a client wants both.
        self._latest: dict[tuple[EventType, str], Event] = {}
        self._listeners: list[Listener] = []
        self.published: Counter[EventType] = Counter()

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
        """The latest event of each type from each source, oldest first."""
        wanted = set(types)
        found = [e for (t, _), e in self._latest.items() if t in wanted]
        return sorted(found, key=lambda e: e.seq)

    def latest_of(self, event_type: EventType, source: str | None = None) -> Event | None:
        """The latest of a type from `source`, or from any source."""
        if source is not None:
            return self._latest.get((event_type, source))
        found = [e for (t, _), e in self._latest.items() if t == event_type]
        return max(found, key=lambda e: e.seq) if found else None

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
        key = (event_type, source.name)
        previous = self._latest.get(key)
        if dedupe and previous is not None and previous.data == data and previous.source == source:
            return None
        self._seq += 1
        event = make_event(event_type, data, source, seq=self._seq, ts=self._clock())
        self._latest[key] = event
        self.published[event_type] += 1
        for listener in tuple(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("bus listener %r failed on %s", listener, event_type)
        return event
