"""The hub's memory of recent events, so a client whose link dropped can ask
for exactly what it missed instead of starting over."""

from __future__ import annotations

from collections import deque
from typing import Final

from blocksight_tui.events import Event, EventType

HISTORY_SIZE: Final = 1000


class EventHistory:
    """The last `size` events with their serialized frames, oldest first.

    Sequence numbers are consecutive (the bus numbers every event it
    publishes), so whether a gap is still covered is a comparison of numbers.
    """

    def __init__(self, last_seq: int = 0, size: int = HISTORY_SIZE) -> None:
        self._items: deque[tuple[Event, str]] = deque(maxlen=size)
        # The newest sequence number the history has heard of, buffered or not.
        self._last_seq = last_seq

    def __len__(self) -> int:
        return len(self._items)

    @property
    def last_seq(self) -> int:
        return self._last_seq

    def append(self, event: Event, frame: str) -> None:
        self._items.append((event, frame))
        self._last_seq = event.seq

    def since(
        self, last_seq: int, until: int, types: frozenset[EventType]
    ) -> list[tuple[int, str]] | None:
        """The (seq, frame) of each event of `types` with last_seq < seq <= until,
        oldest first; None when some of them are no longer kept (or `last_seq`
        is one this history never issued)."""
        first_kept = self._items[0][0].seq if self._items else self._last_seq + 1
        if last_seq < first_kept - 1 or last_seq > self._last_seq:
            return None
        return [
            (event.seq, frame)
            for event, frame in self._items
            if last_seq < event.seq <= until and event.type in types
        ]
